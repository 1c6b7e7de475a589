"""The digest and near-duplicate verbs of the service: ``digest`` (what did we learn this week?) and
``similar`` (which earlier runs does this run, or this planned config, repeat?). The grouping and
counting is :mod:`memory.digest`, the comparison :mod:`memory.similar`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from memory.access import project_filter, require, visible
from memory.digest import Digest, best_result, build_digest, group_of
from memory.entities import LOCAL_ADMIN, Edge, EdgeKind, Node, NodeKind, Principal, Scope, Source
from memory.entities.identity import dataset_urn, dataset_version_urn
from memory.errors import InvalidQuery
from memory.index import build_document
from memory.index.base import VectorTable
from memory.query import Compare, FieldRef, all_of
from memory.similar import RunProfile, Similarity, compare, min_repeat_cosine, most_similar, params_text

#: candidates fetched from each retriever (embedding and params) before scoring
CANDIDATES = 30
#: earlier runs close enough in text to be scored, per idea of a digest (closest first)
REPEAT_POOL = 200
ProgressCallback = Callable[[str, int], None]


@dataclass(frozen=True)
class SimilarRuns:
    """The run (or planned config) asked about and its most similar earlier runs, best first."""

    run: RunProfile
    matches: list[Similarity]


class DigestVerbs:
    """Mixed into :class:`memory.service.MemoryService` (uses its store, index, embedder and access checks)."""

    store: Any
    index: Any
    embedder: Any
    _visible_node: Any

    # -- reading
    def _nodes(self, **filters: Any) -> Iterator[Node]:
        token = None
        while True:
            page = self.store.list_nodes(page_size=1000, page_token=token, **filters)
            yield from page.items
            token = page.next_page_token
            if not token:
                return

    def _profiles(self, nodes: Sequence[Node], used: dict[str, set[str]] | None = None,
                  vectors: dict[str, np.ndarray] | None = None) -> dict[str, RunProfile]:
        """Profiles of runs: params and outcome from the graph, vectors from the search index (unless the
        caller already holds them: ``vectors``), datasets from edges."""
        urns = [n.urn for n in nodes]
        if used is None:
            used = defaultdict(set)
            for edge in self.store.list_edges_from(urns, kinds=["used"]):
                used[edge.src].add(edge.dst)
        docs = self.index.get_documents(urns, with_vectors=vectors is None)
        out = {}
        for node in nodes:
            doc = docs.get(node.urn)
            props = node.properties
            out[node.urn] = RunProfile(
                urn=node.urn, name=node.name, project=node.project, time=node.created_at, person=props.get("person"),
                team=(props.get("tags") or {}).get("team"), status=props.get("status"),
                params={str(k): str(v) for k, v in (props.get("params") or {}).items()},
                datasets=frozenset(used.get(node.urn, ())), text=doc.text if doc else "",
                vector=vectors.get(node.urn) if vectors is not None else (doc.vector if doc else None),
                outcome=dict(props.get("outcome") or {}),
                group=group_of(node) if props.get("parent_run_id") else (doc.group_key if doc else None),
                source_url=node.source.url, system=node.source.system, commit=props.get("git_commit"),
            )
        return out

    def _candidates(self, profile: RunProfile, before: datetime | None, principal: Principal,
                    known: dict[str, RunProfile | None] | None = None) -> list[RunProfile]:
        """Earlier runs the principal may see that look like ``profile`` by embedding or by params.

        ``known`` caches profiles across calls (a digest asks about many ideas whose candidates overlap).
        """
        filter = all_of(
            Compare(FieldRef("attr", "kind"), "=", "run"),
            Compare(FieldRef("attr", "time"), "<", before) if before else None,
            project_filter(principal),
        )
        urns: dict[str, None] = {}
        if profile.vector is not None:
            urns.update((r.urn, None) for r in self.index.vector(profile.vector, filter, CANDIDATES))
        words = params_text(profile.params)
        if words:
            urns.update((r.urn, None) for r in self.index.lexical(words, filter, CANDIDATES))
        urns.pop(profile.urn, None)
        known = {} if known is None else known
        missing = [u for u in urns if u not in known]
        nodes = self.store.get_nodes(missing) if missing else {}
        fresh = self._profiles([n for n in nodes.values() if visible(principal, n)])
        for urn in missing:
            # a sweep's parent stands for many configs (its params lack the swept ones): its trials are compared instead
            found = fresh.get(urn)
            known[urn] = found if found is not None and found.group != found.urn else None
        return [p for u in urns if (p := known[u]) is not None]

    # -- near-duplicates
    def similar(self, urn: str, *, limit: int = 5, principal: Principal = LOCAL_ADMIN) -> SimilarRuns:
        """The earlier runs most like run ``urn`` by params, data and text (its own sweep left out), with outcomes."""
        require(principal, Scope.read)
        node = self._visible_node(urn, principal)
        if node.kind.value != "run":
            raise InvalidQuery(f"{urn!r} is a {node.kind.value}, not a run", hint="find runs with `xmem search --kind run`")
        profile = self._profiles([node])[urn]
        return SimilarRuns(profile, most_similar(profile, self._candidates(profile, node.created_at, principal), limit))

    def similar_to_config(self, config: dict[str, Any], *, limit: int = 5, principal: Principal = LOCAL_ADMIN,
                          now: datetime | None = None) -> SimilarRuns:
        """The earlier runs most like a planned run: ``{"project", "name", "params", "dataset(s)", "notes", "tags"}``."""
        require(principal, Scope.read)
        planned = _planned_node(config, now or datetime.now(timezone.utc))
        if planned.project and not visible(principal, planned):
            raise InvalidQuery(f"project {planned.project!r} is not one this caller may see")
        datasets = _planned_datasets(config)
        document = build_document(planned, [])
        vector = self.embedder.embed([document.embedding_text])[0]
        profile = RunProfile(
            urn="", name=planned.name, project=planned.project, time=planned.created_at,
            person=planned.properties.get("person"), params=planned.properties["params"], datasets=datasets,
            text=document.text, vector=vector, outcome={}, planned=True,
        )
        return SimilarRuns(profile, most_similar(profile, self._candidates(profile, None, principal), limit))

    # -- the digest
    def _digest_answer(self, question: str, parsed: Any, principal: Principal, now: datetime) -> Any:
        """"What did we learn this week?": the digest of the period asked about (default: the last 7 days)."""
        from memory.answer import Answer

        since = parsed.since or now - timedelta(days=7)
        until = parsed.until or now
        result = self.digest(since, until, projects=parsed.projects, principal=principal, now=now)
        notes = [f"The digest of {since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M} UTC"
                 + (f" for {', '.join(parsed.projects)}" if parsed.projects else "")
                 + "; `xmem digest --week YYYY-Www` gives a calendar week."]
        return Answer(question=question, parsed=parsed, summary=result.headline(), hits=[], notes=notes,
                      confidence=1.0, coverage=1.0, digest=result)

    def digest(
        self,
        since: datetime,
        until: datetime,
        *,
        projects: Sequence[str] = (),
        principal: Principal = LOCAL_ADMIN,
        now: datetime | None = None,
        repeats: bool = True,
        on_progress: ProgressCallback | None = None,
    ) -> Digest:
        """What happened from ``since`` (inclusive) to ``until`` (exclusive) in the projects the principal may see."""
        require(principal, Scope.read)
        if since.tzinfo is None or until.tzinfo is None:
            raise InvalidQuery("digest bounds must carry a time zone")
        if until <= since:
            raise InvalidQuery(f"the period is empty: {since.isoformat()} is not before {until.isoformat()}",
                               hint="--until must be after --since")
        wanted = set(projects)

        def shown(node: Node) -> bool:
            return visible(principal, node) and (not wanted or node.project in wanted)

        runs = [n for n in self._nodes(kind="run", created_since=since, created_until=until) if shown(n) and n.project]
        if on_progress:
            on_progress("runs read", len(runs))
        by_urn = {n.urn: n for n in runs}
        parent_urns = {group_of(n) for n in runs} - set(by_urn)
        parents = {u: n for u, n in self.store.get_nodes(sorted(parent_urns)).items() if visible(principal, n)}
        edges: list[Edge] = self.store.list_edges_from(list(by_urn), kinds=["used", "produced"])
        used: dict[str, set[str]] = defaultdict(set)
        for edge in edges:
            if edge.kind == EdgeKind.used:
                used[edge.src].add(edge.dst)
        active = sorted({n.project for n in runs if n.project})
        best_before = {p: best_result(self._nodes(kind="run", project=p, created_until=since)) for p in active}
        events = [e for e in self.store.list_events(since=since) if e.at < until and e.kind in ("stage", "alias", "registered")]
        versions = {u: n for u, n in self.store.get_nodes(sorted({e.urn for e in events})).items()
                    if n.kind.value == "model_version" and shown(n)}
        history = {u: self.store.list_events(u) for u in versions}
        failed_pipelines = [
            n for n in self._nodes(kind="job_run", created_since=since, created_until=until)
            if visible(principal, n) and (n.properties.get("state") == "FAIL" or n.properties.get("status") == "FAILED")
        ]
        found = self._repeats(runs, used, principal, on_progress) if repeats else {}
        return build_digest(
            since=since, until=until, now=now or datetime.now(timezone.utc), runs=runs, parents=parents,
            best_before=best_before, edges=edges, registry_events=events, versions=versions, version_history=history,
            failed_pipelines=failed_pipelines, repeats=found,
        )

    def _repeats(self, runs: Sequence[Node], used: dict[str, set[str]], principal: Principal,
                 on_progress: ProgressCallback | None) -> dict[str, tuple[Node, Similarity]]:
        """Per idea of the period: its run closest to an earlier run outside the idea, when that is a repeat.

        With an index that hands over its vectors (embedded), every earlier run's vector is read once and
        each idea is one matrix product (see :meth:`_close_pairs`); otherwise candidates are fetched once
        per idea (with its sweep's representative), so a sweep of 200 trials costs two index queries.
        """
        groups: dict[str, list[Node]] = defaultdict(list)
        for node in runs:
            groups[group_of(node)].append(node)
        profiles = self._profiles(list(runs), used)
        known: dict[str, RunProfile | None] = {}
        found: dict[str, tuple[Node, Similarity]] = {}
        latest = max((n.created_at for n in runs if n.created_at), default=None)
        table = self.index.vector_table(self._earlier_runs(latest, principal)) if latest else None
        by_urn = {n.urn: n for n in runs}
        for done, (key, members) in enumerate(sorted(groups.items())):
            trials = [m for m in members if m.urn != key] or members  # a sweep's trials, not its parent
            head = next((m for m in members if m.urn == key), None) or min(members, key=lambda m: (m.created_at, m.urn))
            best = self._best_repeat(key, [profiles[m.urn] for m in trials], profiles[head.urn],
                                     min(m.created_at for m in members if m.created_at), principal, known, table)
            if best is not None:
                found[key] = (by_urn[best[0].urn], best[1])
            if on_progress and done % 50 == 0:
                on_progress("ideas compared", done)
        return found

    def _best_repeat(self, key: str, trials: Sequence[RunProfile], head: RunProfile, start: datetime,
                     principal: Principal, known: dict[str, RunProfile | None], table: VectorTable | None
                     ) -> tuple[RunProfile, Similarity] | None:
        """The idea's (``key``) member that most repeats an earlier run outside the idea, and the match."""
        if table is None:
            candidates = self._candidates(head, start, principal, known)
            pairs = [(m, c) for m in trials for c in candidates]
        else:
            pairs = self._close_pairs(table, start, trials, principal, known)
        best: tuple[RunProfile, Similarity] | None = None
        for mine, candidate in pairs:
            if candidate.group == key or candidate.urn == key or mine.same_execution(candidate):
                continue  # its own sweep, or another system's record of the same run
            if mine.datasets and candidate.datasets and not mine.datasets & candidate.datasets:
                continue  # other data: never a repeat
            match = compare(mine, candidate)
            if match.is_repeat and (best is None or match.score > best[1].score):
                best = (mine, match)
        return best

    @staticmethod
    def _earlier_runs(before: datetime, principal: Principal) -> Any:
        return all_of(Compare(FieldRef("attr", "kind"), "=", "run"), Compare(FieldRef("attr", "time"), "<", before),
                      project_filter(principal))

    def _close_pairs(self, table: VectorTable, start: datetime, members: Sequence[RunProfile], principal: Principal,
                     known: dict[str, RunProfile | None]) -> list[tuple[RunProfile, RunProfile]]:
        """(member, earlier run) pairs whose text is close enough that they could be a repeat, in one matrix product.

        Earlier = before ``start``; a pair whose cosine is below :func:`min_repeat_cosine` can never score a
        repeat, so it is not compared at all. The closest :data:`REPEAT_POOL` earlier runs are kept per idea.
        """
        earlier = int(np.searchsorted(table.times, start.timestamp(), side="left"))
        with_vectors = [m for m in members if m.vector is not None]
        if earlier == 0 or not with_vectors:
            return []
        queries = np.stack([m.vector / (np.linalg.norm(m.vector) or 1.0) for m in with_vectors]).astype(np.float32)
        cosines = queries @ table.matrix[:earlier].T
        closest = cosines.max(axis=0)
        bound = min_repeat_cosine()
        pool = np.flatnonzero(closest >= bound)
        if not len(pool):
            return []
        pool = pool[np.argsort(-closest[pool], kind="stable")[:REPEAT_POOL]]
        urns = [table.urns[i] for i in pool]
        missing = [u for u in urns if u not in known]
        if missing:
            nodes = self.store.get_nodes(missing)
            held = {urn: table.matrix[row] for row, urn in zip(pool, urns)}  # no second read of these vectors
            fresh = self._profiles([n for n in nodes.values() if visible(principal, n)], vectors=held)
            for urn in missing:
                profile = fresh.get(urn)
                known[urn] = profile if profile is not None and profile.group != profile.urn else None
        pairs = []
        for row, member in enumerate(with_vectors):
            for column, urn in zip(pool, urns):
                candidate = known.get(urn)
                if candidate is not None and cosines[row, column] >= bound and candidate.urn != member.urn:
                    pairs.append((member, candidate))
        return pairs


def _planned_node(config: dict[str, Any], now: datetime) -> Node:
    if not isinstance(config, dict):
        raise InvalidQuery("a planned config is a JSON object", hint='e.g. {"project": "churn", "params": {"lr": "0.1"}}')
    allowed = {"project", "name", "params", "dataset", "datasets", "notes", "tags", "person"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise InvalidQuery(f"unknown field(s) in the planned config: {', '.join(unknown)}",
                           hint=f"use {', '.join(sorted(allowed))}")
    params = config.get("params") or {}
    tags = config.get("tags") or {}
    if not isinstance(params, dict) or not isinstance(tags, dict):
        raise InvalidQuery("params and tags of a planned config are JSON objects of name → value")
    project = config.get("project")
    if project is not None and not isinstance(project, str):
        raise InvalidQuery("project must be a string")
    return Node(
        urn="planned://run", kind=NodeKind.run, name=str(config.get("name") or "planned run"),
        source=Source(system="planned", instance="local", id="planned"), project=project,
        description=str(config["notes"]) if config.get("notes") else None, created_at=now,
        properties={"params": {str(k): str(v) for k, v in params.items()}, "tags": {str(k): str(v) for k, v in tags.items()},
                    "notes": config.get("notes"), "person": config.get("person")},
    )


def _planned_datasets(config: dict[str, Any]) -> frozenset[str]:
    """Dataset URNs of a planned config: locations (``s3://…``, a path or a name), ``@version`` optional."""
    raw = config.get("datasets") or ([config["dataset"]] if config.get("dataset") else [])
    if isinstance(raw, str) or not all(isinstance(d, str) for d in raw):
        raise InvalidQuery("datasets must be a list of dataset locations (dataset: one location)")
    out = set()
    for item in raw:
        item = item.removeprefix("dataset://")
        if "@" in item.rsplit("/", 1)[-1]:
            location, version = item.rsplit("@", 1)
            out.add(dataset_version_urn(location, version))
        else:
            out.add(dataset_urn(item))
    return frozenset(out)
