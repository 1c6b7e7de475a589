"""The embedded search index: SQLite FTS5 (BM25) plus a usearch HNSW vector index on disk.

Layout in ``<home>/index/``: ``index.sqlite`` holds the documents, their FTS5 table and
each document's vector (the source of truth); ``vectors.usearch`` is the HNSW graph,
saved on :meth:`flush`. Each write bumps a generation counter; on open, vectors written
or deleted after the saved generation are replayed, so a crash never loses vectors.

Why usearch: on this machine size it answered a query over 200k vectors in ~1 ms with
f16 storage, saves/loads a single file, supports removal by key and fetching vectors by
key (used for exact search under selective filters); see ``bench/ann_recall.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

try:  # ONNX Runtime must be loaded before usearch, whose module carries its own libstdc++
    import onnxruntime  # noqa: F401
except ImportError:  # the torch embedding backend needs no ONNX Runtime
    pass
from usearch.index import Index, MetricKind

from memory.index.base import Ranked, SearchDocument, SearchIndex, VectorTable
from memory.query.analysis import ANALYSIS_VERSION, analyze, query_stems
from memory.index.sqlite_filter import register_functions, to_sql
from memory.query.ast import Expr

#: below this many filtered candidates, vector search is exact instead of approximate
EXACT_SEARCH_LIMIT = 20_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
  rowid INTEGER PRIMARY KEY,
  urn TEXT NOT NULL UNIQUE,
  kind TEXT, name TEXT, source TEXT, source_id TEXT, source_url TEXT, project TEXT, status TEXT,
  person TEXT, outcome TEXT, time REAL,
  text TEXT, lexical TEXT, params TEXT, metrics TEXT, tags TEXT, outcome_json TEXT, group_key TEXT,
  vector BLOB, vec_gen INTEGER NOT NULL DEFAULT 0, semantic TEXT, vec_model TEXT
);
CREATE INDEX IF NOT EXISTS docs_vec_gen ON docs(vec_gen);
CREATE INDEX IF NOT EXISTS docs_time ON docs(time);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(name, text, lexical, tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS docs_vocab USING fts5vocab(docs_fts, 'row');
CREATE TABLE IF NOT EXISTS vec_deletions (key INTEGER NOT NULL, gen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = (
    "urn, kind, name, source, source_id, source_url, project, status, person, outcome, time, "
    "text, lexical, params, metrics, tags, outcome_json, group_key"
)
#: a query term in more than this share of documents is left out of BM25 (see ``_selective``)
COMMON_TERM_SHARE = 0.3
#: pruning only pays (and only is harmless) on large collections
PRUNE_FROM_DOCS = 5_000
#: BM25 column weights for (name, text, lexical): a title match counts most, params least
BM25_WEIGHTS = (4.0, 1.0, 0.6)


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class EmbeddedIndex(SearchIndex):
    name = "embedded"

    def __init__(self, folder: Path, *, connectivity: int = 16, expansion_search: int = 128) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.db_path = folder / "index.sqlite"
        self.vectors_path = folder / "vectors.usearch"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.db_path), check_same_thread=False, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._add_columns()
        register_functions(self._db)
        self._reanalyze_if_needed()
        self._connectivity = connectivity
        self._expansion_search = expansion_search
        self._hnsw: Index | None = None
        self._open_vectors()

    # -- meta
    def _meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def _set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))

    def _add_columns(self) -> None:
        """Indexes written before the vector backlog existed: every stored vector is of an unnamed model."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(docs)")}
        for column in ("semantic", "vec_model"):
            if column not in have:
                self._db.execute(f"ALTER TABLE docs ADD COLUMN {column} TEXT")
        self._db.execute("UPDATE docs SET vec_model = '' WHERE vector IS NOT NULL AND vec_model IS NULL")
        # the backlog is read through this index: vec_model is NULL exactly when there is no vector
        self._db.execute("CREATE INDEX IF NOT EXISTS docs_vec_model ON docs(vec_model)")

    def _reanalyze_if_needed(self) -> None:
        """Rebuild the FTS table from the stored documents when the text analysis changed."""
        if self._meta("analysis_version") == ANALYSIS_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM docs_fts")
        rows = self._db.execute("SELECT rowid, name, text, lexical FROM docs").fetchall()
        self._db.executemany(
            "INSERT INTO docs_fts (rowid, name, text, lexical) VALUES (?, ?, ?, ?)",
            [(r[0], analyze(r[1] or ""), analyze(r[2] or ""), analyze(r[3] or "")) for r in rows],
        )
        self._set_meta("analysis_version", ANALYSIS_VERSION)
        self._db.execute("COMMIT")

    @property
    def generation(self) -> int:
        return int(self._meta("generation", "0") or 0)

    # -- the vector graph
    def _new_hnsw(self, ndim: int) -> Index:
        index = Index(ndim=ndim, metric=MetricKind.Cos, dtype="f16", connectivity=self._connectivity)
        index.expansion_search = self._expansion_search
        return index

    def _open_vectors(self) -> None:
        ndim = self._meta("ndim")
        if ndim is None:
            return
        self._hnsw = self._new_hnsw(int(ndim))
        saved = int(self._meta("saved_generation", "-1") or -1)
        if self.vectors_path.exists() and saved >= 0:
            self._hnsw.load(str(self.vectors_path))
        else:
            saved = -1  # rebuild everything from the stored vectors
        self._replay(saved)

    def _replay(self, since_generation: int) -> None:
        assert self._hnsw is not None
        for (key,) in self._db.execute("SELECT key FROM vec_deletions WHERE gen > ?", (since_generation,)):
            if self._hnsw.contains(key):
                self._hnsw.remove(key)
        rows = self._db.execute(
            "SELECT rowid, vector FROM docs WHERE vec_gen > ? AND vector IS NOT NULL", (since_generation,)
        ).fetchall()
        for start in range(0, len(rows), 10_000):
            chunk = rows[start : start + 10_000]
            keys = np.array([r[0] for r in chunk], dtype=np.uint64)
            for key in keys:
                if self._hnsw.contains(int(key)):
                    self._hnsw.remove(int(key))
            self._hnsw.add(keys, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in chunk]))

    # -- writes
    def index(self, docs: Sequence[SearchDocument]) -> None:
        """Insert or replace documents. One without a vector keeps the stored vector if its
        ``semantic`` text is unchanged, else it joins the vector backlog."""
        if not docs:
            return
        with self._lock:
            generation = self.generation + 1
            added: dict[int, np.ndarray] = {}
            dropped: list[int] = []
            self._db.execute("BEGIN IMMEDIATE")
            try:
                stored = self._stored_semantics([d.urn for d in docs])
                for doc in docs:
                    vector = None if doc.vector is None else np.asarray(doc.vector, dtype=np.float32)
                    if vector is not None:
                        self._check_dimension(int(vector.shape[0]))
                    before = stored.get(doc.urn)
                    keep = vector is None and before is not None and before[1] == doc.embedding_text and before[2]
                    row = (
                        doc.urn, doc.kind, doc.name, doc.source, doc.source_id, doc.source_url, doc.project,
                        doc.status, doc.person, doc.outcome.get("verdict"), _epoch(doc.time), doc.text, doc.lexical,
                        json.dumps(doc.params), json.dumps(doc.metrics), json.dumps(doc.tags),
                        json.dumps(doc.outcome), doc.group_key, doc.embedding_text,
                    )
                    (rowid,) = self._db.execute(
                        f"INSERT INTO docs ({_COLUMNS}, semantic) VALUES ({','.join('?' * 19)}) "
                        "ON CONFLICT(urn) DO UPDATE SET "
                        + ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in (_COLUMNS + ", semantic").split(",")[1:])
                        + " RETURNING rowid",
                        row,
                    ).fetchone()
                    if vector is not None:
                        self._db.execute("UPDATE docs SET vector = ?, vec_model = ?, vec_gen = ? WHERE rowid = ?",
                                         (vector.tobytes(), doc.vector_model or "", generation, rowid))
                        added[rowid] = vector
                    elif not keep and before is not None and before[2]:
                        self._db.execute("UPDATE docs SET vector = NULL, vec_model = NULL WHERE rowid = ?", (rowid,))
                        self._db.execute("INSERT INTO vec_deletions (key, gen) VALUES (?, ?)", (rowid, generation))
                        dropped.append(rowid)
                    self._db.execute("DELETE FROM docs_fts WHERE rowid = ?", (rowid,))
                    self._db.execute(
                        "INSERT INTO docs_fts (rowid, name, text, lexical) VALUES (?, ?, ?, ?)",
                        (rowid, analyze(doc.name), analyze(doc.text), analyze(doc.lexical)),
                    )
                self._set_meta("generation", generation)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._graph_remove(dropped)
            self._graph_add(added)

    def _stored_semantics(self, urns: Sequence[str]) -> dict[str, tuple[int, str | None, bool]]:
        """urn → (rowid, semantic text, has a vector) of the stored documents among ``urns``."""
        found: dict[str, tuple[int, str | None, bool]] = {}
        for start in range(0, len(urns), 500):
            chunk = list(urns[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for urn, rowid, semantic, has_vector in self._db.execute(
                f"SELECT urn, rowid, semantic, vector IS NOT NULL FROM docs WHERE urn IN ({marks})", chunk
            ):
                found[urn] = (rowid, semantic, bool(has_vector))
        return found

    def _check_dimension(self, ndim: int) -> None:
        """Record the vectors' dimension; a model of another dimension replaces every vector."""
        known = self._meta("ndim")
        if known is None:
            self._set_meta("ndim", ndim)
        elif int(known) != ndim:
            self._db.execute("UPDATE docs SET vector = NULL, vec_model = NULL WHERE vector IS NOT NULL")
            self._set_meta("ndim", ndim)
            self._set_meta("saved_generation", -1)
            self._hnsw = None

    def _graph_add(self, vectors: dict[int, np.ndarray]) -> None:
        if not vectors:
            return
        if self._hnsw is None:
            self._hnsw = self._new_hnsw(int(next(iter(vectors.values())).shape[0]))
        keys = list(vectors)
        for key in keys:
            if self._hnsw.contains(key):
                self._hnsw.remove(key)
        self._hnsw.add(np.array(keys, dtype=np.uint64), np.stack([vectors[k] for k in keys]))

    def _graph_remove(self, keys: Sequence[int]) -> None:
        if self._hnsw is not None:
            for key in keys:
                if self._hnsw.contains(key):
                    self._hnsw.remove(key)

    # -- the vector backlog
    def pending_vectors(self, model: str, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT urn, coalesce(semantic, text) FROM docs WHERE vec_model IS NULL OR vec_model < ? OR vec_model > ? "
                "ORDER BY rowid LIMIT ?",
                (model, model, limit),
            ).fetchall()
        return [(urn, semantic or "") for urn, semantic in rows]

    def vector_backlog(self, model: str) -> int:
        with self._lock:
            return int(self._db.execute(
                "SELECT count(*) FROM docs WHERE vec_model IS NULL OR vec_model < ? OR vec_model > ?", (model, model)
            ).fetchone()[0])

    def set_vectors(self, model: str, vectors: Sequence[tuple[str, str, np.ndarray]]) -> int:
        if not vectors:
            return 0
        with self._lock:
            generation = self.generation + 1
            added: dict[int, np.ndarray] = {}
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for urn, semantic, vector in vectors:
                    vector = np.asarray(vector, dtype=np.float32)
                    self._check_dimension(int(vector.shape[0]))
                    row = self._db.execute(
                        "UPDATE docs SET vector = ?, vec_model = ?, vec_gen = ? WHERE urn = ? AND coalesce(semantic, text) = ? "
                        "RETURNING rowid",
                        (vector.tobytes(), model, generation, urn, semantic),
                    ).fetchone()
                    if row is not None:
                        added[row[0]] = vector
                self._set_meta("generation", generation)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._graph_add(added)
            return len(added)

    def delete(self, urns: Sequence[str]) -> None:
        if not urns:
            return
        with self._lock:
            generation = self.generation + 1
            self._db.execute("BEGIN IMMEDIATE")
            try:
                keys = []
                for urn in urns:
                    row = self._db.execute("SELECT rowid FROM docs WHERE urn = ?", (urn,)).fetchone()
                    if row is None:
                        continue
                    keys.append(row[0])
                    self._db.execute("DELETE FROM docs WHERE rowid = ?", row)
                    self._db.execute("DELETE FROM docs_fts WHERE rowid = ?", row)
                    self._db.execute("INSERT INTO vec_deletions (key, gen) VALUES (?, ?)", (row[0], generation))
                self._set_meta("generation", generation)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            if self._hnsw is not None:
                for key in keys:
                    if self._hnsw.contains(key):
                        self._hnsw.remove(key)

    def flush(self) -> None:
        with self._lock:
            if self._hnsw is None:
                return
            generation = self.generation
            if int(self._meta("saved_generation", "-1") or -1) == generation and self.vectors_path.exists():
                return
            tmp = self.vectors_path.with_suffix(".tmp")
            self._hnsw.save(str(tmp))
            os.replace(tmp, self.vectors_path)
            self._set_meta("saved_generation", generation)
            self._db.execute("DELETE FROM vec_deletions WHERE gen <= ?", (generation,))

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()

    # -- retrieval
    def _where(self, filter: Expr | None, params: list[Any]) -> str:
        return "1" if filter is None else to_sql(filter, params)

    def lexical(self, text: str, filter: Expr | None, k: int, *, also: Sequence[str] = ()) -> list[Ranked]:
        terms = self._selective(list(dict.fromkeys([*query_stems(text), *also])))
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)  # stems are word characters only
        params: list[Any] = [*BM25_WEIGHTS, match]
        where = self._where(filter, params)
        params.append(k)
        with self._lock:
            rows = self._db.execute(
                "SELECT docs.urn, bm25(docs_fts, ?, ?, ?) AS rank FROM docs_fts JOIN docs ON docs.rowid = docs_fts.rowid "
                f"WHERE docs_fts MATCH ? AND {where} ORDER BY rank, docs.urn LIMIT ?",
                params,
            ).fetchall()
        return [Ranked(urn, -score) for urn, score in rows]

    def _selective(self, terms: list[str]) -> list[str]:
        """Drop terms found in most documents (e.g. "run"): near-zero BM25 weight, but they make
        FTS5 score every document. The rarest term is always kept."""
        if len(terms) < 2:
            return terms
        with self._lock:
            total = int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0]) or 1
            if total < PRUNE_FROM_DOCS:
                return terms
            marks = ",".join("?" * len(terms))
            frequency = dict(self._db.execute(f"SELECT term, doc FROM docs_vocab WHERE term IN ({marks})", terms))
        kept = [t for t in terms if frequency.get(t, 0) <= COMMON_TERM_SHARE * total]
        return kept or [min(terms, key=lambda t: frequency.get(t, 0))]

    def vector(self, vector: np.ndarray, filter: Expr | None, k: int) -> list[Ranked]:
        with self._lock:
            if self._hnsw is None or len(self._hnsw) == 0:
                return []
            query = np.asarray(vector, dtype=np.float32)
            if filter is None:
                return self._ann(query, k, allowed=None)
            params: list[Any] = []
            where = self._where(filter, params)
            allowed = [r[0] for r in self._db.execute(
                f"SELECT rowid FROM docs WHERE vec_model IS NOT NULL AND ({where})", params)]
            if not allowed:
                return []
            if len(allowed) <= EXACT_SEARCH_LIMIT:
                return self._exact(query, allowed, k)
            return self._ann(query, k, allowed=set(allowed))

    def vector_table(self, filter: Expr | None) -> VectorTable | None:
        params: list[Any] = []
        where = self._where(filter, params)
        with self._lock:
            if self._hnsw is None or len(self._hnsw) == 0:
                return VectorTable([], np.zeros(0), np.zeros((0, 0), dtype=np.float32))
            rows = self._db.execute(
                f"SELECT rowid, urn, time FROM docs WHERE vec_model IS NOT NULL AND ({where}) ORDER BY time, urn", params
            ).fetchall()
            if not rows:
                return VectorTable([], np.zeros(0), np.zeros((0, 0), dtype=np.float32))
            matrix = np.asarray(self._hnsw.get(np.array([r[0] for r in rows], dtype=np.uint64)), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return VectorTable([r[1] for r in rows], np.array([r[2] or 0.0 for r in rows], dtype=np.float64), matrix / norms)

    def _ann(self, query: np.ndarray, k: int, allowed: set[int] | None) -> list[Ranked]:
        assert self._hnsw is not None
        size = len(self._hnsw)
        wanted = k if allowed is None else min(size, k * 20)
        matches = self._hnsw.search(query, min(wanted, size))
        pairs = [(int(key), 1.0 - float(dist)) for key, dist in zip(matches.keys, matches.distances)]
        if allowed is not None:
            pairs = [p for p in pairs if p[0] in allowed]
        return self._to_ranked(pairs[:k])

    def _exact(self, query: np.ndarray, keys: list[int], k: int) -> list[Ranked]:
        assert self._hnsw is not None
        matrix = np.asarray(self._hnsw.get(np.array(keys, dtype=np.uint64)), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1)
        norms[norms == 0] = 1.0
        sims = (matrix @ query) / norms / (np.linalg.norm(query) or 1.0)
        top = np.argsort(-sims, kind="stable")[:k]
        return self._to_ranked([(keys[i], float(sims[i])) for i in top])

    def _to_ranked(self, pairs: list[tuple[int, float]]) -> list[Ranked]:
        if not pairs:
            return []
        marks = ",".join("?" * len(pairs))
        urns = dict(self._db.execute(f"SELECT rowid, urn FROM docs WHERE rowid IN ({marks})", [p[0] for p in pairs]))
        return [Ranked(urns[key], score) for key, score in pairs if key in urns]

    def browse(self, filter: Expr | None, k: int) -> list[Ranked]:
        params: list[Any] = []
        where = self._where(filter, params)
        params.append(k)
        with self._lock:
            rows = self._db.execute(
                f"SELECT urn, time FROM docs WHERE {where} ORDER BY time DESC, urn LIMIT ?", params
            ).fetchall()
        return [Ranked(urn, time or 0.0) for urn, time in rows]

    def get_documents(self, urns: Sequence[str], *, with_vectors: bool = False) -> dict[str, SearchDocument]:
        out: dict[str, SearchDocument] = {}
        with self._lock:
            for start in range(0, len(urns), 500):
                chunk = list(urns[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                    f"SELECT {_COLUMNS}, vector, semantic, vec_model FROM docs WHERE urn IN ({marks})", chunk
                ):
                    out[row[0]] = _row_to_document(row, with_vectors)
        return out

    def term_frequencies(self, stems: Sequence[str]) -> dict[str, int]:
        if not stems:
            return {}
        marks = ",".join("?" * len(stems))
        with self._lock:
            return dict(self._db.execute(f"SELECT term, doc FROM docs_vocab WHERE term IN ({marks})", list(stems)))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def all_urns(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT urn FROM docs")}

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob("*") if p.is_file())


def _row_to_document(row: Sequence[Any], with_vector: bool) -> SearchDocument:
    (urn, kind, name, source, source_id, source_url, project, status, person, _verdict, time, text, lexical,
     params, metrics, tags, outcome, group_key, vector, semantic, vec_model) = row
    return SearchDocument(
        urn=urn, kind=kind, name=name, source=source, source_id=source_id, source_url=source_url, project=project,
        status=status, person=person, time=datetime.fromtimestamp(time, timezone.utc) if time is not None else None,
        text=text or "", lexical=lexical or "", params=json.loads(params or "{}"), metrics=json.loads(metrics or "{}"),
        tags=json.loads(tags or "{}"), outcome=json.loads(outcome or "{}"), group_key=group_key,
        vector=np.frombuffer(vector, dtype=np.float32) if (with_vector and vector is not None) else None,
        semantic=semantic or "", vector_model=vec_model if (with_vector and vector is not None) else None,
    )
