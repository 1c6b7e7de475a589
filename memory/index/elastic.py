"""The Elasticsearch search index: BM25 over analysed text plus ``dense_vector`` kNN.

The documents live in a concrete index ``<prefix>-v<MAPPING_VERSION>-<n>`` behind the
alias ``<prefix>``. A new mapping version creates a new index, copies the documents into
it (``_reindex``), and swaps the alias in one atomic action, so searches never stop.
Fusion, snippets and grouping are computed by :mod:`memory.index.fusion`, exactly as for
the embedded backend. This is the only module that imports ``elasticsearch``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

import numpy as np
from elasticsearch import AuthenticationException, Elasticsearch, NotFoundError, TransportError, helpers
from elasticsearch import ConnectionError as EsConnectionError

from memory.errors import BackendUnavailable, InvalidConfig
from memory.index.base import Ranked, SearchDocument, SearchIndex, VectorTable
from memory.index.elastic_query import encode_name, to_filter
from memory.index.embedded import BM25_WEIGHTS
from memory.query.analysis import analyze, query_stems
from memory.query.evaluate import to_number
from memory.query.ast import Expr

MAPPING_VERSION = 2
_KEYWORD = {"type": "keyword", "normalizer": "lowercase", "ignore_above": 1024}


def mapping(dimension: int | None) -> dict[str, Any]:
    """Explicit mapping: analysed text, normalised keywords for filters, numbers, dates and the vector
    (its dimension is taken from the first vector when not known yet)."""
    vector: dict[str, Any] = {"type": "dense_vector", "index": True, "similarity": "cosine"}
    if dimension:
        vector["dims"] = dimension
    return {
        "_meta": {"mapping_version": MAPPING_VERSION},
        "dynamic": "strict",
        "properties": {
            "urn": {"type": "keyword"},
            "kind": _KEYWORD,
            "project": _KEYWORD,
            "source": _KEYWORD,
            "status": _KEYWORD,
            "person": _KEYWORD,
            "outcome": _KEYWORD,
            "source_id": {"type": "keyword"},
            "source_url": {"type": "keyword", "index": False},
            "group_key": {"type": "keyword"},
            # display copies, and analysed copies (see memory.query.analysis) that BM25 matches
            "name": {"type": "keyword", "index": False, "doc_values": False},
            "name_kw": _KEYWORD,
            "text": {"type": "text", "index": False},
            "lexical": {"type": "text", "index": False},
            "name_terms": {"type": "text", "analyzer": "whitespace"},
            "text_terms": {"type": "text", "analyzer": "whitespace"},
            "lexical_terms": {"type": "text", "analyzer": "whitespace"},
            "time": {"type": "date", "format": "epoch_millis"},
            "params": {"type": "object", "dynamic": True},
            "params_num": {"type": "object", "dynamic": True},
            "tags": {"type": "object", "dynamic": True},
            "tags_num": {"type": "object", "dynamic": True},
            "metrics": {"type": "object", "dynamic": True},
            "outcome_json": {"type": "object", "enabled": False},
            "semantic": {"type": "text", "index": False},
            "vector_model": {"type": "keyword"},
            "vector": vector,
        },
        "dynamic_templates": [
            {"params_text": {"path_match": "params.*", "mapping": _KEYWORD}},
            {"tags_text": {"path_match": "tags.*", "mapping": _KEYWORD}},
            {"params_numbers": {"path_match": "params_num.*", "mapping": {"type": "double"}}},
            {"tags_numbers": {"path_match": "tags_num.*", "mapping": {"type": "double"}}},
            {"metrics_numbers": {"path_match": "metrics.*", "mapping": {"type": "double"}}},
        ],
    }


#: text arrives analysed by memory.query.analysis, so only core analysis (whitespace,
#: the built-in lowercase normalizer) is needed: it runs on minimal distributions too
SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0, "mapping.total_fields.limit": 20_000}


def _doc_id(urn: str) -> str:
    return hashlib.sha1(urn.encode()).hexdigest()


def _numbers(bag: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in bag.items():
        number = to_number(value)
        if number is not None and np.isfinite(number):
            out[encode_name(key)] = number
    return out


class ElasticsearchIndex(SearchIndex):
    name = "elasticsearch"

    def __init__(
        self,
        url: str,
        *,
        alias: str = "xmem-docs",
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        request_timeout: float = 30.0,
        client: Elasticsearch | None = None,
    ) -> None:
        auth: dict[str, Any] = {}
        if api_key:
            auth["api_key"] = api_key
        elif username:
            auth["basic_auth"] = (username, password or "")
        self.url = url
        self.alias = alias
        self._index_name: str | None = None
        self._verified: str | None = None
        self.client = client or Elasticsearch(
            url,
            request_timeout=request_timeout,
            retry_on_status=(429, 502, 503, 504),
            retry_on_timeout=True,
            max_retries=5,
            **auth,
        )

    # -- administration
    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AuthenticationException:
            raise InvalidConfig(
                f"Elasticsearch at {self.url} rejected the credentials",
                hint="check XMEM_ELASTICSEARCH_USERNAME / XMEM_ELASTICSEARCH_PASSWORD / XMEM_ELASTICSEARCH_API_KEY",
            ) from None
        except (EsConnectionError, TransportError) as exc:
            raise self._unreachable(what, exc) from None

    def _unreachable(self, what: str, exc: Exception) -> BackendUnavailable:
        reason = getattr(exc, "message", None) or type(exc).__name__
        return BackendUnavailable(
            f"Elasticsearch at {self.url} is unreachable ({what}: {reason})",
            hint="check XMEM_ELASTICSEARCH_URL; ingested documents stay queued until `xmem reindex --pending`",
        )

    def check(self) -> None:
        """Fail with a one-line error naming the setting when the server is wrong or unreachable."""
        self._call("the connection check", self.client.cluster.health)

    def _current_index(self) -> str | None:
        """The concrete index behind the alias (looked up until it exists, then remembered)."""
        if self._index_name is None:
            try:
                aliases = self.client.indices.get_alias(name=self.alias)
            except NotFoundError:
                return None
            except AuthenticationException:
                return self._call("the alias lookup", self.client.cluster.health)  # raises the credentials error
            except (EsConnectionError, TransportError) as exc:
                raise self._unreachable("alias lookup", exc) from None
            self._index_name = sorted(aliases)[-1] if aliases else None
        return self._index_name

    def ensure_index(self, dimension: int | None = None) -> str:
        """Create the index behind the alias, or migrate to the current mapping version."""
        current = self._current_index()
        if current is not None and current == self._verified:
            return current
        if current is not None:
            meta = self.client.indices.get_mapping(index=current)[current]["mappings"].get("_meta", {})
            if meta.get("mapping_version") == MAPPING_VERSION:
                self._verified = current
                return current
        name = f"{self.alias}-v{MAPPING_VERSION}-{datetime.now(timezone.utc).strftime('%Y%m%d%H%M%S%f')}"
        self._call("index creation", self.client.indices.create, index=name, settings=SETTINGS, mappings=mapping(dimension))
        actions: list[dict[str, Any]] = [{"add": {"index": name, "alias": self.alias}}]
        if current is not None:
            # client-side copy (scan + bulk): works without the server's reindex and data-stream modules
            copy = (
                {"_op_type": "index", "_index": name, "_id": hit["_id"], "_source": hit["_source"]}
                for hit in helpers.scan(self.client, index=current, query={"query": {"match_all": {}}})
            )
            self._call("migration", helpers.bulk, self.client, copy, chunk_size=500)
            self._call("refresh", self.client.indices.refresh, index=name)
            actions.insert(0, {"remove": {"index": current, "alias": self.alias}})
        self._call("alias swap", self.client.indices.update_aliases, actions=actions)
        if current is not None:
            self.client.indices.delete(index=current, ignore_unavailable=True)
        self._index_name = self._verified = name
        return name

    def drop(self) -> None:
        """Delete the alias and every index behind it (tests and `reindex --to elasticsearch`)."""
        current = self._current_index()
        if current:
            self.client.indices.delete(index=current, ignore_unavailable=True)
        self._index_name = self._verified = None

    # -- writes
    def _action(self, doc: SearchDocument, kept: dict[str, Any] | None = None) -> dict[str, Any]:
        """The bulk action writing ``doc``; ``kept`` is the stored vector it keeps (same semantic text)."""
        vector: dict[str, Any] = {}
        if doc.vector is not None:
            vector = {"vector": np.asarray(doc.vector, dtype=np.float32).tolist(), "vector_model": doc.vector_model or ""}
        elif kept:
            vector = kept
        return {
            "_op_type": "index",
            "_index": self.alias,
            "_id": _doc_id(doc.urn),
            "_source": {
                "urn": doc.urn, "kind": doc.kind, "project": doc.project, "source": doc.source, "status": doc.status,
                "person": doc.person, "outcome": doc.outcome.get("verdict"), "source_id": doc.source_id,
                "source_url": doc.source_url, "group_key": doc.group_key, "name": doc.name, "name_kw": doc.name,
                "text": doc.text, "lexical": doc.lexical, "name_terms": analyze(doc.name),
                "text_terms": analyze(doc.text), "lexical_terms": analyze(doc.lexical),
                "time": int(round(doc.time.timestamp() * 1000)) if doc.time else None,
                "params": {encode_name(k): v for k, v in doc.params.items()},
                "params_num": _numbers(doc.params),
                "tags": {encode_name(k): v for k, v in doc.tags.items()},
                "tags_num": _numbers(doc.tags),
                "metrics": {encode_name(k): v for k, v in doc.metrics.items() if np.isfinite(v)},
                "outcome_json": doc.outcome,
                "semantic": doc.embedding_text,
                **vector,
            },
        }

    def _bulk(self, actions: list[dict[str, Any]], what: str) -> None:
        """Bulk with the client's helper; per-document failures are retried, then reported, never dropped."""
        pending = actions
        for attempt in range(4):
            failed: list[dict[str, Any]] = []
            errors: list[str] = []
            results = self._call(
                what, lambda: list(helpers.streaming_bulk(
                    self.client, pending, max_retries=5, initial_backoff=0.5, raise_on_error=False,
                    raise_on_exception=False, chunk_size=500,
                ))
            )
            for action, (ok, item) in zip(pending, results):
                if ok:
                    continue
                info = next(iter(item.values()))
                if action["_op_type"] == "delete" and info.get("status") == 404:
                    continue
                failed.append(action)
                errors.append(f"{action['_id']}: {info.get('status')} {info.get('error')}")
            if not failed:
                return
            pending = failed
        raise BackendUnavailable(f"Elasticsearch refused {len(pending)} documents during {what}: {'; '.join(errors[:3])}")

    def index(self, docs: Sequence[SearchDocument]) -> None:
        if not docs:
            return
        with_vector = next((d for d in docs if d.vector is not None), None)
        self.ensure_index(int(np.asarray(with_vector.vector).shape[0]) if with_vector is not None else None)
        kept = self._kept_vectors([d for d in docs if d.vector is None])
        self._bulk([self._action(d, kept.get(d.urn)) for d in docs], "indexing")
        self.flush()

    def _kept_vectors(self, docs: Sequence[SearchDocument]) -> dict[str, dict[str, Any]]:
        """The stored vectors of ``docs`` whose semantic text is unchanged (re-indexing keeps them)."""
        if not docs:
            return {}
        response = self._call("fetch", self.client.mget, index=self.alias, ids=[_doc_id(d.urn) for d in docs],
                              source_includes=["urn", "semantic", "vector", "vector_model"])
        wanted = {d.urn: d.embedding_text for d in docs}
        kept = {}
        for item in response["docs"]:
            source = item.get("_source") or {}
            if item.get("found") and source.get("vector") is not None and source.get("semantic") == wanted.get(source.get("urn")):
                kept[source["urn"]] = {"vector": source["vector"], "vector_model": source.get("vector_model") or ""}
        return kept

    # -- the vector backlog
    def _backlog_query(self, model: str) -> dict[str, Any]:
        return {"bool": {"must_not": [{"term": {"vector_model": model}}]}}

    def pending_vectors(self, model: str, limit: int) -> list[tuple[str, str]]:
        hits = self._search("backlog", query=self._backlog_query(model), size=limit, sort=[{"urn": "asc"}],
                            source_includes=["urn", "semantic", "text"])
        return [(h["_source"]["urn"], h["_source"].get("semantic") or h["_source"].get("text") or "") for h in hits]

    def vector_backlog(self, model: str) -> int:
        if self._current_index() is None:
            return 0
        return int(self._call("count", self.client.count, index=self.alias, query=self._backlog_query(model))["count"])

    def set_vectors(self, model: str, vectors: Sequence[tuple[str, str, np.ndarray]]) -> int:
        """Partial updates guarded by the sequence number read with the document's text: a document
        re-indexed meanwhile (another text) refuses the update (version conflict), as it should.
        (No script: minimal distributions ship without a scripting language.)"""
        if not vectors:
            return 0
        self.ensure_index(int(np.asarray(vectors[0][2]).shape[0]))
        response = self._call("fetch", self.client.mget, index=self.alias, ids=[_doc_id(urn) for urn, _, _ in vectors],
                              source_includes=["semantic", "text"])
        actions = []
        for (urn, semantic, vector), item in zip(vectors, response["docs"]):
            source = item.get("_source") or {}
            if not item.get("found") or (source.get("semantic") or source.get("text") or "") != semantic:
                continue
            actions.append({
                "_op_type": "update", "_index": self.alias, "_id": item["_id"],
                "if_seq_no": item["_seq_no"], "if_primary_term": item["_primary_term"],
                "doc": {"vector": np.asarray(vector, dtype=np.float32).tolist(), "vector_model": model},
            })
        results = self._call("vectors", lambda: list(helpers.streaming_bulk(
            self.client, actions, max_retries=5, initial_backoff=0.5, raise_on_error=False, raise_on_exception=False,
            chunk_size=200)))
        stored = sum(1 for ok, _ in results if ok)
        self.flush()
        return stored

    def delete(self, urns: Sequence[str]) -> None:
        if not urns or self._current_index() is None:
            return
        self._bulk([{"_op_type": "delete", "_index": self.alias, "_id": _doc_id(u)} for u in urns], "deletion")
        self.flush()

    def flush(self) -> None:
        if self._current_index() is not None:
            self._call("refresh", self.client.indices.refresh, index=self.alias)

    def close(self) -> None:
        self.client.close()

    # -- retrieval
    def _search(self, what: str, **body: Any) -> list[dict[str, Any]]:
        if self._current_index() is None:
            return []
        response = self._call(what, self.client.search, index=self.alias, **body)
        return response["hits"]["hits"]

    def lexical(self, text: str, filter: Expr | None, k: int, *, also: Sequence[str] = ()) -> list[Ranked]:
        terms = list(dict.fromkeys([*query_stems(text), *also]))
        if not terms:
            return []
        name_w, text_w, lexical_w = BM25_WEIGHTS
        query = {
            "bool": {
                "must": [{"multi_match": {"query": " ".join(terms), "type": "most_fields", "operator": "or",
                                          "fields": [f"name_terms^{name_w}", f"text_terms^{text_w}",
                                                     f"lexical_terms^{lexical_w}"]}}],
                "filter": to_filter(filter),
            }
        }
        hits = self._search("lexical search", query=query, size=k, sort=["_score", {"urn": "asc"}],
                            source_includes=["urn"], track_scores=True)
        return [Ranked(h["_source"]["urn"], float(h["_score"])) for h in hits]

    def vector(self, vector: np.ndarray, filter: Expr | None, k: int) -> list[Ranked]:
        knn: dict[str, Any] = {
            "field": "vector",
            "query_vector": np.asarray(vector, dtype=np.float32).tolist(),
            "k": k,
            "num_candidates": max(100, 2 * k),
        }
        clauses = to_filter(filter)
        if clauses:
            knn["filter"] = clauses
        hits = self._search("vector search", knn=knn, size=k, source_includes=["urn"])
        # Elasticsearch scores cosine as (1 + cos) / 2
        return [Ranked(h["_source"]["urn"], 2.0 * float(h["_score"]) - 1.0) for h in hits]

    def browse(self, filter: Expr | None, k: int) -> list[Ranked]:
        query = {"bool": {"filter": to_filter(filter)}} if filter is not None else {"match_all": {}}
        hits = self._search("browse", query=query, size=k, sort=[{"time": {"order": "desc", "missing": "_last"}}, {"urn": "asc"}],
                            source_includes=["urn", "time"])
        return [Ranked(h["_source"]["urn"], float(h["_source"].get("time") or 0) / 1000.0) for h in hits]

    def get_documents(self, urns: Sequence[str], *, with_vectors: bool = False) -> dict[str, SearchDocument]:
        if not urns or self._current_index() is None:
            return {}
        excludes = [] if with_vectors else ["vector"]
        response = self._call("fetch", self.client.mget, index=self.alias, ids=[_doc_id(u) for u in urns],
                              source_excludes=excludes)
        out = {}
        for item in response["docs"]:
            if item.get("found"):
                source = item["_source"]
                out[source["urn"]] = _to_document(source, with_vectors)
        return out

    def vector_table(self, filter: Expr | None) -> VectorTable | None:
        """One scroll over the matching documents' vectors (``_source``), ordered by time then URN."""
        empty = VectorTable([], np.zeros(0), np.zeros((0, 0), dtype=np.float32))
        if self._current_index() is None:
            return empty
        query = {"bool": {"filter": to_filter(filter)}} if filter is not None else {"match_all": {}}
        body = {"query": query, "_source": ["urn", "time", "vector"]}
        hits = self._call("vector table", lambda: list(helpers.scan(self.client, index=self.alias, query=body)))
        rows = sorted(((float(h["_source"].get("time") or 0) / 1000.0, h["_source"]["urn"], h["_source"]["vector"])
                       for h in hits if h["_source"].get("vector") is not None), key=lambda r: (r[0], r[1]))
        if not rows:
            return empty
        matrix = np.asarray([r[2] for r in rows], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return VectorTable([r[1] for r in rows], np.array([r[0] for r in rows]), matrix / norms)

    def count(self) -> int:
        if self._current_index() is None:
            return 0
        return int(self._call("count", self.client.count, index=self.alias)["count"])

    def term_frequencies(self, stems: Sequence[str]) -> dict[str, int]:
        """Document counts per term in one multi-search (a ``terms`` aggregation would need fielddata)."""
        if not stems or self._current_index() is None:
            return {}
        searches: list[dict[str, Any]] = []
        for term in stems:
            searches += [{"index": self.alias}, {"size": 0, "track_total_hits": True, "query": {"multi_match": {
                "query": term, "fields": ["name_terms", "text_terms", "lexical_terms"]}}}]
        response = self._call("term frequencies", self.client.msearch, searches=searches)
        return {term: int(r.get("hits", {}).get("total", {}).get("value", 0)) for term, r in zip(stems, response["responses"])}

    def all_urns(self) -> set[str]:
        if self._current_index() is None:
            return set()
        return {hit["_source"]["urn"] for hit in self._scan(["urn"])}

    def _scan(self, fields: list[str]) -> Iterator[dict[str, Any]]:
        return helpers.scan(self.client, index=self.alias, query={"query": {"match_all": {}}, "_source": fields})

    def size_bytes(self) -> int:
        current = self._current_index()
        if current is None:
            return 0
        stats = self._call("stats", self.client.indices.stats, index=current, metric="store")
        return int(stats["_all"]["primaries"]["store"]["size_in_bytes"])


def _decode_name(name: str) -> str:
    return name.replace("\u00b7", ".")


def _to_document(source: dict[str, Any], with_vector: bool) -> SearchDocument:
    time = source.get("time")
    return SearchDocument(
        urn=source["urn"], kind=source.get("kind") or "", name=source.get("name") or "", source=source.get("source") or "",
        source_id=source.get("source_id") or "", source_url=source.get("source_url"), project=source.get("project"),
        status=source.get("status"), person=source.get("person"),
        time=datetime.fromtimestamp(int(time) / 1000.0, timezone.utc) if time is not None else None,
        text=source.get("text") or "", lexical=source.get("lexical") or "",
        params={_decode_name(k): v for k, v in (source.get("params") or {}).items()},
        metrics={_decode_name(k): v for k, v in (source.get("metrics") or {}).items()},
        tags={_decode_name(k): v for k, v in (source.get("tags") or {}).items()},
        outcome=source.get("outcome_json") or {}, group_key=source.get("group_key"),
        vector=np.asarray(source["vector"], dtype=np.float32) if with_vector and source.get("vector") else None,
        semantic=source.get("semantic") or "",
        vector_model=source.get("vector_model") if with_vector and source.get("vector") else None,
    )
