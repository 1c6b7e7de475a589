"""The ``SearchIndex`` interface and the values it indexes and returns.

Backends implement the lexical and vector retrievers; fusion, snippets and grouping are
computed here, identically for every backend (:mod:`memory.index.fusion`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

import numpy as np

from memory.query.ast import Expr, SearchQuery


@dataclass
class SearchDocument:
    """The searchable view of one node.

    ``text`` is prose (BM25 and snippets); ``semantic`` is what is embedded (see
    :func:`memory.index.documents.semantic_text`; ``text`` when empty); ``lexical`` (params,
    metric names, tag values) is matched by BM25 only; ``params``/``metrics``/``tags`` serve
    typed filters. ``vector`` may be missing: the document is then searchable by BM25 and
    waits in the index's vector backlog (:meth:`SearchIndex.pending_vectors`); ``vector_model``
    names the embedder that computed it.
    """

    urn: str
    kind: str
    name: str
    source: str
    source_id: str
    text: str
    lexical: str = ""
    project: str | None = None
    source_url: str | None = None
    status: str | None = None
    person: str | None = None
    time: datetime | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    outcome: dict[str, Any] = field(default_factory=dict)
    group_key: str | None = None
    vector: np.ndarray | None = None
    semantic: str = ""
    vector_model: str | None = None

    @property
    def embedding_text(self) -> str:
        return self.semantic or self.text

    def filter_view(self) -> dict[str, Any]:
        """The mapping the reference evaluator sees (same fields the backends filter on)."""
        return {
            "kind": self.kind,
            "project": self.project,
            "source": self.source,
            "status": self.status,
            "person": self.person,
            "name": self.name,
            "outcome": self.outcome.get("verdict"),
            "time": self.time,
            "params": self.params,
            "metrics": self.metrics,
            "tags": self.tags,
        }


@dataclass(frozen=True)
class Ranked:
    """One retriever's candidate: a document id with its rank-ordering score."""

    urn: str
    score: float


@dataclass
class Hit:
    urn: str
    kind: str
    title: str
    source: str
    source_id: str
    source_url: str | None
    project: str | None
    time: datetime | None
    person: str | None
    status: str | None
    snippet: str
    highlights: list[str]
    outcome: dict[str, Any]
    score: float
    text: str = ""  # the whole document text (for retrieval-augmented generation)
    lexical_rank: int | None = None
    vector_rank: int | None = None
    group_size: int = 1
    group_members: list[str] = field(default_factory=list)
    group_outcomes: list[float] = field(default_factory=list)
    group_best: str | None = None  # the member with the best key-metric value (by the metric's direction)
    coverage: float | None = None  # weighted share of the query's concepts this hit matches (ranks it)
    names_matched: float | None = None  # weighted share of the query's names it matches (decides "tried")
    similarity: float | None = None  # cosine between the query's and the document's embeddings

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["time"] = self.time.isoformat() if self.time else None
        return data


@dataclass
class SearchResult:
    query: SearchQuery
    hits: list[Hit]
    total_candidates: int
    backend: str
    #: the best hit's share of the names asked about (1.0 when the query has no concepts, 0.0 with no hit)
    coverage: float = 0.0
    similarity: float = 0.0  # the best hit's embedding cosine with the query
    confidence: float = 0.0  # calibrated: that the best hit really matches what was asked (set by the service)


@dataclass(frozen=True)
class VectorTable:
    """Documents' unit vectors in time order: ``urns[i]`` at ``times[i]`` (epoch seconds) has ``matrix[i]``."""

    urns: list[str]
    times: np.ndarray
    matrix: np.ndarray


class SearchIndex(abc.ABC):
    """A search backend. ``index``/``delete`` keep it in step with the graph; ``search`` answers."""

    name: str = "abstract"

    @abc.abstractmethod
    def index(self, docs: Sequence[SearchDocument]) -> None:
        """Insert or replace documents; they are searchable by BM25 at once. A document without a
        ``vector`` joins the vector backlog (:meth:`pending_vectors`)."""

    @abc.abstractmethod
    def delete(self, urns: Sequence[str]) -> None: ...

    # -- the vector backlog: documents whose vector is missing or was computed by another model
    @abc.abstractmethod
    def pending_vectors(self, model: str, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` ``(urn, embedding text)`` of documents without a vector of ``model``."""

    @abc.abstractmethod
    def vector_backlog(self, model: str) -> int:
        """How many documents have no vector of ``model``."""

    @abc.abstractmethod
    def set_vectors(self, model: str, vectors: Sequence[tuple[str, str, np.ndarray]]) -> int:
        """Store ``(urn, embedding text, vector)`` triples; a triple whose text no longer is the
        document's (it changed meanwhile) is ignored. Returns how many were stored."""

    @abc.abstractmethod
    def lexical(self, text: str, filter: Expr | None, k: int, *, also: Sequence[str] = ()) -> list[Ranked]:
        """BM25 candidates, best first; ``also`` adds already-analysed terms (spellings of the query's concepts)."""

    @abc.abstractmethod
    def vector(self, vector: np.ndarray, filter: Expr | None, k: int) -> list[Ranked]:
        """Nearest neighbours by cosine similarity among documents matching ``filter``, best first."""

    @abc.abstractmethod
    def browse(self, filter: Expr | None, k: int) -> list[Ranked]:
        """Documents matching ``filter``, newest first (a search without text)."""

    @abc.abstractmethod
    def get_documents(self, urns: Sequence[str], *, with_vectors: bool = False) -> dict[str, SearchDocument]: ...

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def term_frequencies(self, stems: Sequence[str]) -> dict[str, int]:
        """How many documents hold each analysed term (absent terms may be left out)."""

    @abc.abstractmethod
    def all_urns(self) -> set[str]: ...

    def vector_table(self, filter: Expr | None) -> "VectorTable | None":
        """Every matching document's vector at once, oldest first, for scoring many queries in one pass.

        ``None`` when the backend cannot hand its vectors over cheaply (callers then ask ``vector``
        once per query).
        """
        return None

    def size_bytes(self) -> int:
        return 0

    def flush(self) -> None:
        """Make everything indexed so far durable."""

    def close(self) -> None:
        self.flush()

    def search(self, query: SearchQuery, query_vector: np.ndarray | None) -> SearchResult:
        from memory.index.fusion import hybrid_search

        return hybrid_search(self, query, query_vector)
