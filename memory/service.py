"""The service facade: the one interface the CLI, API, app and Slack bot use.

It owns the store, the search index and the embedder, runs ingestors (redacting their
records and committing them at checkpoints), keeps the index in step with the graph
through the store's outbox, and answers searches, node pages, lineage and stats.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from ingest.base import IngestReport, Ingestor, available_ingestors
from memory.embeddings import CachedEmbedder, Embedder, EmbeddingCache, make_embedder
from memory.answer import NOBODY_BELOW, Answer, confidence, summarize
from memory.access import hash_token, new_token, project_filter, require, visible
from memory.entities import (
    LOCAL_ADMIN, ApiToken, Checkpoint, Edge, Event, EventRecord, Node, Principal, Record, Scope, SourceState,
)
from memory.errors import BackendUnavailable, Conflict, InvalidConfig, InvalidQuery, NotFound, Unauthorized
from memory.index import Hit, SearchIndex, SearchResult, build_document
from memory.index.documents import DOCUMENT_EDGES_IN, DOCUMENT_EDGES_OUT
from memory.index.embedded import EmbeddedIndex
from memory.query import Compare, FieldRef, In, SearchQuery, all_of, parse_where
from memory.query.ast import Expr
from memory.query.natural import Vocabulary, as_search, parse_question
from memory.query.terms import Concept, TermIndex, concepts
from memory.redact import redact_records
from memory.settings import Settings
from memory.store import GraphStore, Lineage, MigrationResult, SqlGraphStore, StoreStats, migrate
from memory.service_digest import DigestVerbs, SimilarRuns
from memory.similar import RunProfile, Similarity
from memory.service_why import WhyVerbs
from memory.why import Diff, WhyReport

__all__ = ["Answer", "Diff", "RunProfile", "Similarity", "SimilarRuns", "Hit", "IngestReport", "Lineage", "MemoryService", "MemoryStats", "NodeView", "SearchResult", "WhyReport", "list_sources"]

#: node kinds that get no search document (they are found through their neighbours)
UNINDEXED_KINDS = frozenset({"person", "code_version"})

ProgressCallback = Callable[[str, int], None]


@dataclass(frozen=True)
class NodeView:
    node: Node
    neighbours: list[tuple[Edge, Node]]
    events: list[Event]


@dataclass
class MemoryStats:
    store: StoreStats
    indexed_documents: int | None
    index_bytes: int | None
    index_backend: str
    index_error: str | None = None
    #: indexed documents without a vector of ``vector_model`` (searchable by BM25 only until embedded)
    vectors_pending: int | None = None
    vector_model: str = ""


#: how long the names learned from the memory are reused (scanning 10k runs takes ~0.8 s)
VOCABULARY_TTL_S = 300

def open_index(settings: Settings, backend: str | None = None) -> SearchIndex:
    """The search index the settings select (``backend`` overrides the setting)."""
    chosen = backend or settings.search_backend
    if chosen == "embedded":
        return EmbeddedIndex(settings.index_path)
    if chosen == "elasticsearch":
        try:
            from memory.index.elastic import ElasticsearchIndex
        except ImportError:
            raise InvalidConfig(
                "XMEM_SEARCH_BACKEND=elasticsearch needs the Elasticsearch client",
                hint="pip install 'experiment-memory[elasticsearch]'",
            ) from None
        secret = lambda value: value.get_secret_value() if value else None  # noqa: E731
        return ElasticsearchIndex(
            settings.elasticsearch_url,
            alias=settings.elasticsearch_index,
            username=settings.elasticsearch_username,
            password=secret(settings.elasticsearch_password),
            api_key=secret(settings.elasticsearch_api_key),
        )
    raise InvalidConfig(f"unknown search backend {chosen!r}", hint="set XMEM_SEARCH_BACKEND to embedded or elasticsearch")


def list_sources() -> dict[str, str | None]:
    """Every source system the memory can ingest, with the reason when one is unavailable."""
    return {name: info.error for name, info in available_ingestors().items()}


class MemoryService(WhyVerbs, DigestVerbs):
    def __init__(
        self,
        settings: Settings,
        *,
        store: GraphStore | None = None,
        index: SearchIndex | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or SqlGraphStore(settings.resolved_database_url)
        self.index = index or open_index(settings)
        self.embedder = CachedEmbedder(embedder or make_embedder(settings), EmbeddingCache(settings.home / "embeddings.sqlite"))
        self._vocabulary: tuple[float, dict[str, list[str]], list[Node]] | None = None
        self._terms: tuple[dict[str, list[str]], TermIndex] | None = None
        self._chat_pair: tuple[Any, Any] | None = None
        self._indexing = threading.Lock()
        self._index_wanted = threading.Event()
        self._embedding = threading.Lock()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None

    def close(self) -> None:
        self._stopping.set()
        if self._worker is not None:
            self._worker.join(timeout=60)  # it stops after the step it is embedding
        self.index.close()
        self.store.close()
        if self.embedder.cache:
            self.embedder.cache.close()

    def __enter__(self) -> "MemoryService":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- ingestion
    def make_ingestor(self, system: str, config: dict[str, Any], report: IngestReport) -> Ingestor:
        info = available_ingestors().get(system)
        if info is None:
            raise InvalidConfig(f"no ingestor named {system!r}", hint="see `xmem ingest --help` for the sources")
        if info.ingestor is None:
            raise InvalidConfig(f"the {system} ingestor is unavailable: {info.error}")
        from pydantic import ValidationError

        try:
            parsed = info.ingestor.config_class(**config)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidConfig(f"{system}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
        return info.ingestor(parsed, report)

    def ingest(
        self,
        ingestor: Ingestor,
        *,
        on_progress: ProgressCallback | None = None,
        principal: Principal = LOCAL_ADMIN,
        index: bool = True,
        vectors: bool = True,
        record_sync: bool = True,
    ) -> IngestReport:
        """Run one ingestor to completion in two phases.

        1. Graph and BM25: each checkpoint's records are committed with the cursor, then their
           documents are indexed at once (searchable by BM25; vectors already computed for the same
           text are attached from the embedding cache).
        2. Vectors: the index's vector backlog is embedded (:meth:`embed_pending`), unless
           ``vectors=False`` leaves it to ``xmem reindex --pending`` or the API's background worker.

        ``index=False`` leaves the documents queued (see :meth:`index_soon`); ``record_sync=False``
        skips the per-source sync record (the push receiver, called once per request).
        """
        require(principal, Scope.ingest)
        report = ingestor.report
        started = time.perf_counter()
        embed_before = (self.embedder.computed, self.embedder.seconds)
        try:
            ingestor.check()
            report.source_key = ingestor.source_key
            state = (
                self.store.get_source_state(ingestor.source_key)
                if ingestor.uses_source_state
                else SourceState(source_key=ingestor.source_key)
            )
            cursor = dict(state.cursor)
            batch: list[Record] = []
            shown = time.monotonic()
            for record in redact_records(ingestor.records(state)):
                if isinstance(record, Checkpoint):
                    self._commit(ingestor, batch, record.cursor, report)
                    cursor = record.cursor
                    batch = []
                    if index:
                        self._index_after_commit(report)
                else:
                    batch.append(record)
                if on_progress and time.monotonic() - shown > 0.2:
                    on_progress("read", report.read)
                    shown = time.monotonic()
            self._commit(ingestor, batch, None, report)
            if index:
                self._index_after_commit(report)
            report.searchable_seconds = round(time.perf_counter() - started, 3)
            if index and vectors and not report.index_unavailable:
                self._embed_after_ingest(report, on_progress)
            elif index and not report.index_unavailable:
                report.vectors_pending = self.vector_backlog()
            report.embedded = self.embedder.computed - embed_before[0]
            report.embed_seconds = round(self.embedder.seconds - embed_before[1], 3)
            report.seconds = round(time.perf_counter() - started, 3)
            if record_sync:
                self.store.finish_sync(ingestor.source_key, ingestor.system, report.as_dict(), cursor)
        finally:
            ingestor.close()
            if index and not report.index_unavailable:
                try:
                    self.index.flush()
                except BackendUnavailable:
                    pass
        return report

    def _embed_after_ingest(self, report: IngestReport, on_progress: ProgressCallback | None) -> None:
        def progress(done: int, total: int) -> None:
            report.vectors_total = total
            if on_progress:
                on_progress("embedded", done)

        try:
            report.vectors_total = self.vector_backlog()
            report.vectors_pending = self.embed_pending(on_progress=progress)
        except BackendUnavailable as exc:
            report.index_unavailable = str(exc)
            report.warn("search index unavailable", f"{exc.message}; run `xmem reindex --pending` to embed the rest")

    def _index_after_commit(self, report: IngestReport) -> None:
        """Index what the graph committed; if the index is down, the documents stay queued."""
        self._vocabulary = None  # new names (frameworks, datasets…) become words the parser and concepts know
        if report.index_unavailable:
            return
        try:
            report.indexed += self.index_pending()
        except BackendUnavailable as exc:
            report.index_unavailable = str(exc)
            report.warn(
                "search index unavailable",
                f"{exc.message}; the graph is committed and the documents are queued — run `xmem reindex --pending`",
            )

    def _commit(self, ingestor: Ingestor, batch: Sequence[Record], cursor: dict[str, Any] | None, report: IngestReport) -> None:
        if not batch and cursor is None:
            return
        if ingestor.derives_from_events:
            self._derive(ingestor, ingestor.subjects(batch), report, batch, cursor)
        else:
            self._count(report, self.store.apply(ingestor.source_key, ingestor.system, batch, cursor))

    @staticmethod
    def _count(report: IngestReport, result: Any) -> None:
        report.new += result.new
        report.changed += result.changed
        report.unchanged += result.unchanged
        report.deleted += result.deleted
        report.edges += result.edges
        report.events += result.events

    def _derive(
        self,
        ingestor: Ingestor,
        subjects: Sequence[str],
        report: IngestReport,
        batch: Sequence[Record] = (),
        cursor: dict[str, Any] | None = None,
    ) -> None:
        """Fold each subject's whole event history (stored, plus the events of ``batch``) into its
        records, committed together with ``batch``; fold again until no writer raced us.

        Another writer (a concurrent request, another server process) may commit events of the
        same subject between our read and our write; re-reading after the write and folding
        again while the history grew guarantees the last write of a subject saw all its events.
        """
        todo, pending = list(subjects), list(batch)
        for _ in range(20):
            history: dict[str, list[Event]] = {}
            for urn in todo:
                incoming = [Event(urn=r.urn, kind=r.kind, at=r.at, payload=r.payload)
                            for r in pending if isinstance(r, EventRecord) and r.urn == urn]
                history[urn] = _distinct_events([*self.store.list_events(urn), *incoming])
            records = list(redact_records(ingestor.derive(history))) if history else []
            self._count(report, self.store.apply(ingestor.source_key, ingestor.system, [*pending, *records], cursor))
            pending, cursor = [], None
            todo = [urn for urn in todo if len(self.store.list_events(urn)) != len(history[urn])]
            if not todo:
                return
        raise Conflict(f"events of {len(todo)} subject(s) kept changing while being folded", hint="send them again")

    def ingest_lineage(self, events: Sequence[Any], principal: Principal = LOCAL_ADMIN) -> IngestReport:
        """Events pushed to the OpenLineage receiver: validated (all or nothing), stored, folded.

        The search documents are queued, not written: call :meth:`index_soon` after answering.
        """
        require(principal, Scope.ingest)
        from ingest.openlineage import OpenLineageIngestor

        ingestor = OpenLineageIngestor.for_events(list(events), IngestReport())
        return self.ingest(ingestor, principal=principal, index=False, record_sync=False)

    def index_soon(self) -> None:
        """Index the queued documents, then embed the vector backlog; when another thread already
        does, it picks these up too."""
        self._index_wanted.set()
        while self._index_wanted.is_set() and self._indexing.acquire(blocking=False):
            try:
                while self._index_wanted.is_set():
                    self._index_wanted.clear()
                    self._vocabulary = None  # pushed events may name new datasets and jobs
                    try:
                        self.index_pending()
                        self.index.flush()
                        self.embed_pending()
                    except BackendUnavailable:
                        return  # the documents stay queued for `xmem reindex --pending`
            finally:
                self._indexing.release()

    def start_backlog_worker(self) -> threading.Thread:
        """Index the queued documents and embed the vector backlog in a background thread (the API
        server runs one at start; searches answer meanwhile, hybrid where vectors exist)."""
        self._worker = threading.Thread(target=self.index_soon, name="xmem-backlog", daemon=True)
        self._worker.start()
        return self._worker

    def index_pending(self, *, batch_size: int = 500, on_progress: ProgressCallback | None = None) -> int:
        """Bring the search index in step with the graph (the store's outbox). Returns documents written.

        Documents are searchable by BM25 when this returns. A document whose embedding text was
        embedded before gets its vector from the cache; the others wait in the vector backlog.
        """
        written = 0
        while True:
            pending = self.store.pending_documents(limit=batch_size, outgoing=DOCUMENT_EDGES_OUT, incoming=DOCUMENT_EDGES_IN)
            if not pending:
                return written
            gone = {p.node.urn for p in pending if p.node.deleted or p.node.kind.value in UNINDEXED_KINDS}
            docs = [build_document(p.node, p.neighbours) for p in pending if p.node.urn not in gone]
            if docs:
                known = self.embedder.known([d.embedding_text for d in docs])
                for doc in docs:
                    if doc.embedding_text in known:
                        doc.vector, doc.vector_model = known[doc.embedding_text], self.embedder.name
                self.index.index(docs)
            self.index.delete(sorted(gone))
            self.store.mark_indexed({p.node.urn: p.version for p in pending})
            written += len(docs)
            if on_progress:
                on_progress("indexed", written)

    def vector_backlog(self) -> int:
        """Indexed documents still without a vector of the current model."""
        return self.index.vector_backlog(self.embedder.name)

    def embed_pending(
        self, *, batch_size: int | None = None, limit: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Embed the index's vector backlog (each distinct text once), ``batch_size`` documents per
        committed step (default: 16 embedding batches): a crash loses at most one step, and the
        next call goes on from there.

        ``on_progress(done, total)``; returns how many documents are still pending (0 unless ``limit``
        stopped early or documents changed while being embedded).
        """
        model = self.embedder.name
        batch_size = batch_size or 16 * self.settings.embedding_batch_size
        with self._embedding:
            total = self.index.vector_backlog(model)
            done = 0
            while (limit is None or done < limit) and not self._stopping.is_set():
                pending = self.index.pending_vectors(model, batch_size)
                if not pending:
                    break
                vectors = self.embedder.embed([text for _, text in pending])
                stored = self.index.set_vectors(model, [(urn, text, v) for (urn, text), v in zip(pending, vectors)])
                if stored == 0:  # every text changed meanwhile: the re-indexed documents come back later
                    break
                done += len(pending)
                if on_progress:
                    on_progress(done, max(total, done))
            self.index.flush()
            return self.index.vector_backlog(model)

    def reindex(self, *, pending_only: bool = False, on_progress: ProgressCallback | None = None,
                vectors: bool = True) -> int:
        """Rebuild every document from the graph, or only the queued ones, then embed the vector
        backlog (unchanged texts reuse their cached embeddings)."""
        if not pending_only:
            self.store.mark_all_pending()
        written = self.index_pending(on_progress=on_progress)
        self.index.flush()
        if vectors:
            self.embed_pending(on_progress=(lambda done, total: on_progress("embedded", done)) if on_progress else None)
        return written

    # -- questions
    def migrate_to(self, database_url: str, *, on_progress: ProgressCallback | None = None) -> MigrationResult:
        """Copy this memory's graph into another (empty) database, verified by counts and checksum."""
        if not isinstance(self.store, SqlGraphStore):
            raise InvalidConfig("only SQL graph stores can be migrated")
        target = SqlGraphStore(database_url)
        try:
            return migrate(self.store, target, on_progress)
        finally:
            target.close()

    def build_query(
        self,
        text: str = "",
        *,
        projects: Sequence[str] = (),
        kinds: Sequence[str] = (),
        sources: Sequence[str] = (),
        people: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        where: str | Expr | None = None,
        limit: int = 10,
        group: bool = True,
    ) -> SearchQuery:
        def any_of(name: str, values: Sequence[str]) -> Expr | None:
            if not values:
                return None
            ref = FieldRef("attr", name)
            return Compare(ref, "=", values[0]) if len(values) == 1 else In(ref, tuple(values))

        filter = all_of(
            any_of("project", projects),
            any_of("kind", kinds),
            any_of("source", sources),
            any_of("person", people),
            Compare(FieldRef("attr", "time"), ">=", since) if since else None,
            Compare(FieldRef("attr", "time"), "<", until) if until else None,
            parse_where(where) if isinstance(where, str) else where,
        )
        return SearchQuery(text=text, filter=filter, limit=limit, group=group)

    def search(self, query: SearchQuery, principal: Principal = LOCAL_ADMIN) -> SearchResult:
        """Hybrid search; only documents of projects the principal may see are candidates."""
        require(principal, Scope.read)
        visible_only = project_filter(principal)
        if visible_only is not None:
            query = replace(query, filter=all_of(query.filter, visible_only))
        if query.text.strip() and not query.concepts:
            query = replace(query, concepts=self.concepts(query.text))
        vector = self.embedder.embed([query.text])[0] if query.text.strip() else None
        result = self.index.search(query, vector)
        result.confidence = confidence(result.coverage, result.similarity, bool(result.hits))
        return result

    def _visible_node(self, urn: str, principal: Principal) -> Node:
        require(principal, Scope.read)
        node = self.store.get_node(urn)
        if not visible(principal, node):
            # the same answer as for a node that does not exist: hidden projects leave no trace
            raise NotFound(f"no node {urn!r} in the memory", hint="find URNs with `xmem search`")
        return node

    def show(self, urn: str, principal: Principal = LOCAL_ADMIN) -> NodeView:
        node = self._visible_node(urn, principal)
        neighbours = [(e, n) for e, n in self.store.neighbours(urn) if visible(principal, n)]
        return NodeView(node, neighbours, self.store.list_events(urn))

    def lineage(
        self,
        urn: str,
        *,
        direction: str = "up",
        depth: int = 3,
        as_of: datetime | None = None,
        principal: Principal = LOCAL_ADMIN,
    ) -> Lineage:
        if direction not in ("up", "down"):
            raise InvalidQuery(f"direction must be 'up' or 'down', not {direction!r}")
        if depth < 1 or depth > 50:
            raise InvalidQuery("depth must be between 1 and 50")
        self._visible_node(urn, principal)
        walk = self.store.upstream if direction == "up" else self.store.downstream
        graph = walk(urn, depth=depth, as_of=as_of)
        nodes = {u: n for u, n in graph.nodes.items() if visible(principal, n)}
        return replace(
            graph,
            nodes=nodes,
            depth_of={u: d for u, d in graph.depth_of.items() if u in nodes},
            edges=[e for e in graph.edges if e.src in nodes and e.dst in nodes],
        )

    def readiness(self) -> dict[str, str]:
        """Whether the graph store and the search index answer, for ``/readyz``."""
        checks = {}
        for name, probe in (("graph_store", self.store.stats), ("search_index", self.index.count)):
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:  # readiness reports, it does not raise
                checks[name] = f"unavailable: {exc}"
        return checks

    # -- plain-language questions
    def _raw_vocabulary(self) -> tuple[dict[str, list[str]], list[Node]]:
        """The memory's names and models, cached (an ingest here drops the cache; any thread may)."""
        cached = self._vocabulary
        now = time.monotonic()
        if cached is None or now - cached[0] > VOCABULARY_TTL_S:
            raw = self.store.vocabulary()
            models: list[Node] = []
            token = None
            while True:
                page = self.store.list_nodes(kind="model", page_size=500, page_token=token)
                models += page.items
                token = page.next_page_token
                if not token:
                    break
            cached = self._vocabulary = (now, raw, models)
        return cached[1], cached[2]

    def vocabulary(self, principal: Principal = LOCAL_ADMIN) -> Vocabulary:
        """Names the parser may recognise, limited to what the principal may see."""
        raw, models = self._raw_vocabulary()
        return Vocabulary(
            projects=tuple(p for p in raw["projects"] if principal.can_see(p) or Scope.admin in principal.scopes),
            people=tuple(raw["people"]),
            models=tuple(m.name for m in models if visible(principal, m)),
            datasets=tuple(raw["datasets"]),
            metrics=tuple(raw["metrics"]),
            params=tuple(raw["params"]),
            values=tuple(raw.get("values", ())),
        )

    def _term_index(self) -> TermIndex:
        """Spellings learned from the memory's names (rebuilt when the vocabulary is refreshed)."""
        raw, models = self._raw_vocabulary()
        terms = self._terms
        if terms is None or terms[0] is not raw:
            names = (*raw.get("values", ()), *raw["params"], *(m.name for m in models), *raw["datasets"], *raw["projects"])
            terms = self._terms = (raw, TermIndex(names, categories=raw.get("categories", ())))
        return terms[1]

    def concepts(self, text: str) -> tuple[Concept, ...]:
        """What ``text`` asks about, each with the spellings that match it (see :mod:`memory.query.terms`)."""
        if not text.strip():
            return ()
        return tuple(concepts(text, self._term_index(), self.index.term_frequencies, self.index.count()))

    def resolve_model_ref(self, ref: str, principal: Principal = LOCAL_ADMIN) -> str:
        """The URN of ``name@alias``, ``name/vN`` or a URN; :class:`NotFound` when it names nothing visible."""
        if "://" in ref:
            return self._visible_node(ref, principal).urn
        name, alias, number = ref, None, None
        if "@" in ref:
            name, alias = ref.rsplit("@", 1)
        elif "/v" in ref:
            name, number = ref.rsplit("/v", 1)
        model = self._find_model(name, principal)
        versions = {n.properties.get("version"): n for e, n in self.store.neighbours(model.urn) if e.kind.value == "version_of"}
        if alias is not None:
            aliases = model.properties.get("aliases") or {}
            number = aliases.get(alias)
            if number is None:  # a stage name ("production") rather than an alias
                staged = [n for n in versions.values() if str(n.properties.get("stage", "")).lower() == alias.lower()]
                number = max((n.properties.get("version") for n in staged), key=lambda v: int(v), default=None)
        if number is None or str(number) not in versions:
            raise NotFound(f"{ref!r} names no version of {model.name}")
        return versions[str(number)].urn

    # -- why did it fail: lineage as of a moment, and the difference against the last good version
    def ask(self, question: str, principal: Principal = LOCAL_ADMIN, *, limit: int = 10, now: datetime | None = None) -> Answer:
        """A plain-language question: parsed into the typed query (shown), answered with grouped hits and a summary."""
        require(principal, Scope.read)
        chat = self._chat()
        vocabulary, moment = self.vocabulary(principal), now or datetime.now(timezone.utc)
        parsed = chat[0].parse(question, vocabulary, now=moment) if chat else parse_question(question, vocabulary, now=moment)
        notes: list[str] = []
        lineage = diff = None
        if parsed.intent == "lineage" and parsed.subjects:
            try:
                lineage = self.lineage(self.resolve_model_ref(parsed.subjects[0], principal), direction="up", depth=6,
                                       principal=principal)
            except NotFound:
                # "why did h2o fail on Dionis?" names no model version: it asks about failed runs
                parsed = as_search(parsed)
        elif parsed.intent == "diff" and len(parsed.subjects) >= 2:
            try:
                changed = self.diff(parsed.subjects[0], parsed.subjects[1], principal=principal)
                notes += [f"{i}. {c.summary} — {c.reason}" for i, c in enumerate(changed.changes[:5], start=1)] or [
                    "No difference in params, code, data or upstream runs between the two versions."]
                diff = changed
            except (NotFound, InvalidQuery) as exc:
                notes.append(f"cannot compare: {exc}")
        elif parsed.intent == "digest":
            return self._digest_answer(question, parsed, principal, moment)
        result = self.search(parsed.to_query(limit), principal)
        if not result.hits and (parsed.kinds or parsed.status_conditions()):
            # "which runs had their instance aborted?": the words, not the status KILLED, describe them
            relaxed = parsed.without_inferred_filters()
            result = self.search(relaxed.to_query(limit), principal)
            if result.hits:
                notes.append("Nothing matched " + ", ".join(c for c in parsed.chips() if c not in relaxed.chips())
                             + "; these results match without that filter.")
        sure = result.confidence
        if sure < NOBODY_BELOW:
            summary = summarize(parsed, []) if not result.hits else (
                f"Nobody seems to have tried “{parsed.text}”" + (" with these filters" if parsed.chips() else "")
                + f": no result matches all of it (confidence that one does: {sure:.0%}). The closest attempts are below.")
            return Answer(question=question, parsed=parsed, summary=summary, hits=[], notes=notes, lineage=lineage,
                          confidence=sure, coverage=result.coverage, similarity=result.similarity,
                          closest=result.hits, diff=diff)
        hits = result.hits
        summary = (chat[1].write(question, hits) if chat else None) or summarize(parsed, hits)
        return Answer(question=question, parsed=parsed, summary=summary, hits=hits, notes=notes, lineage=lineage,
                      confidence=sure, coverage=result.coverage, similarity=result.similarity, diff=diff)

    def _chat(self) -> tuple[Any, Any] | None:
        """The configured chat-model parser and answer writer (``XMEM_LLM``), loaded once; ``None`` without one."""
        if not self.settings.llm:
            return None
        if self._chat_pair is None:
            from memory.langchain import ChatAnswerWriter, ChatQuestionParser, load_chat_model

            model = load_chat_model(self.settings.llm)
            self._chat_pair = (ChatQuestionParser(model), ChatAnswerWriter(model))
        return self._chat_pair

    # -- access control
    def authenticate(self, token: str) -> Principal:
        """The principal of an API token; unknown and revoked tokens are refused alike."""
        try:
            stored = self.store.get_token_by_hash(hash_token(token))
        except NotFound:
            raise Unauthorized("invalid or revoked API token", hint="create one with `xmem token create`") from None
        return stored.principal()

    def create_token(
        self, name: str, scopes: Sequence[str], projects: Sequence[str] | None, principal: Principal = LOCAL_ADMIN
    ) -> tuple[str, ApiToken]:
        require(principal, Scope.admin)
        try:
            parsed = [Scope(s) for s in scopes]
        except ValueError:
            raise InvalidConfig(f"scopes must be among {', '.join(s.value for s in Scope)}, not {', '.join(scopes)}") from None
        token, stored = new_token(name, parsed, projects)
        self.store.upsert_token(stored)
        return token, stored

    def list_tokens(self, principal: Principal = LOCAL_ADMIN) -> list[ApiToken]:
        require(principal, Scope.admin)
        return self.store.list_tokens()

    def revoke_token(self, token_id: str, principal: Principal = LOCAL_ADMIN) -> ApiToken:
        require(principal, Scope.admin)
        return self.store.revoke_token(token_id)

    def stats(self, principal: Principal = LOCAL_ADMIN) -> MemoryStats:
        """Graph figures always; index figures when the index answers (else the reason it does not)."""
        require(principal, Scope.admin)
        try:
            documents, size, error = self.index.count(), self.index.size_bytes(), None
            pending: int | None = self.vector_backlog()
        except BackendUnavailable as exc:
            documents, size, error, pending = None, None, str(exc), None
        return MemoryStats(
            store=self.store.stats(),
            indexed_documents=documents,
            index_bytes=size,
            index_backend=self.index.name,
            index_error=error,
            vectors_pending=pending,
            vector_model=self.embedder.name,
        )


def _distinct_events(events: Sequence[Event]) -> list[Event]:
    """One of each event (the store keeps identical events once)."""
    seen: dict[str, Event] = {}
    for event in events:
        key = json.dumps([event.kind, event.at.astimezone(timezone.utc).isoformat(), event.payload], sort_keys=True, default=str)
        seen.setdefault(key, event)
    return list(seen.values())
