"""The graph store interface: a regular grid of verbs over nodes, edges, events and sync state."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Sequence, TypeVar

from memory.entities import ApiToken, Edge, Event, Node, Record, SourceState

T = TypeVar("T")

#: edges whose source depends on their destination (the destination is upstream). ``version_of``
#: makes a version's upstream include its whole (dataset, model, job): a dataset version an
#: experiment used thereby reaches the pipeline runs that wrote that dataset.
CONSUMES = ("used", "read", "ran_code", "derived_from", "used_features", "evaluated", "version_of")
#: edges whose source produced their destination (the source is upstream)
PRODUCES = ("produced", "wrote")
#: many-to-one structural edges; a new one does not change the documents of its ends
HUB_EDGES = ("in_project", "by")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None = None


@dataclass
class ApplyResult:
    """What one committed batch changed."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    edges: int = 0
    events: int = 0

    def add(self, other: "ApplyResult") -> None:
        for name in ("new", "changed", "unchanged", "deleted", "edges", "events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def writes(self) -> int:
        return self.new + self.changed + self.deleted + self.edges + self.events


@dataclass(frozen=True)
class Lineage:
    """A subgraph reached from ``root``: nodes by URN with their hop distance, and the edges walked."""

    root: str
    direction: str
    nodes: dict[str, Node]
    depth_of: dict[str, int]
    edges: list[Edge]
    as_of: datetime | None = None


@dataclass(frozen=True)
class SyncInfo:
    source_key: str
    system: str
    last_sync_at: datetime | None
    cursor: dict[str, Any]
    last_report: dict[str, Any]


@dataclass(frozen=True)
class StoreStats:
    nodes_by_kind_and_system: dict[tuple[str, str], int]
    deleted: int
    edges: int
    events: int
    index_backlog: int
    syncs: list[SyncInfo] = field(default_factory=list)


@dataclass(frozen=True)
class PendingDoc:
    """A node whose search document must be (re)indexed or removed, and the version that was read."""

    node: Node
    version: int
    neighbours: list[tuple[Edge, Node]]


class GraphStore(abc.ABC):
    """The lineage graph. Implementations: :class:`memory.store.sql.SqlGraphStore` (SQLite, PostgreSQL)."""

    # -- writes
    @abc.abstractmethod
    def apply(self, source_key: str, system: str, records: Sequence[Record], cursor: dict[str, Any] | None) -> ApplyResult:
        """Apply records and move the source's cursor in one transaction (all or nothing)."""

    @abc.abstractmethod
    def finish_sync(self, source_key: str, system: str, report: dict[str, Any], cursor: dict[str, Any]) -> None:
        """Record a completed sync of a source."""

    # -- reads
    @abc.abstractmethod
    def get_source_state(self, source_key: str) -> SourceState: ...

    @abc.abstractmethod
    def get_node(self, urn: str, *, include_deleted: bool = False) -> Node:
        """The node, or :class:`memory.errors.NotFound`."""

    @abc.abstractmethod
    def get_nodes(self, urns: Sequence[str]) -> dict[str, Node]: ...

    @abc.abstractmethod
    def list_nodes(
        self,
        *,
        kind: str | None = None,
        system: str | None = None,
        name: str | None = None,
        page_size: int = 100,
        page_token: str | None = None,
        include_deleted: bool = False,
        project: str | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
    ) -> Page[Node]:
        """Nodes by URN, paged; ``name`` matches whole names, case-insensitively; ``created_since`` (inclusive)
        and ``created_until`` (exclusive) bound ``created_at``."""

    @abc.abstractmethod
    def list_edges(self, urn: str, *, as_of: datetime | None = None) -> list[Edge]:
        """Edges touching ``urn`` in either direction (live at ``as_of`` when given)."""

    @abc.abstractmethod
    def list_edges_from(self, urns: Sequence[str], *, kinds: Sequence[str] = ()) -> list[Edge]:
        """Live edges leaving any of ``urns`` (only of ``kinds`` when given), in one batched read."""

    @abc.abstractmethod
    def neighbours(self, urn: str) -> list[tuple[Edge, Node]]:
        """Live edges touching ``urn`` with the node at their other end."""

    @abc.abstractmethod
    def list_events(self, urn: str | None = None, *, since: datetime | None = None) -> list[Event]: ...

    @abc.abstractmethod
    def upstream(self, urn: str, *, depth: int = 3, as_of: datetime | None = None) -> Lineage: ...

    @abc.abstractmethod
    def downstream(self, urn: str, *, depth: int = 3, as_of: datetime | None = None) -> Lineage: ...

    @abc.abstractmethod
    def stats(self) -> StoreStats: ...

    # -- the search-index outbox
    @abc.abstractmethod
    def pending_documents(
        self, limit: int = 500, *, outgoing: frozenset[str] | None = None, incoming: frozenset[str] | None = None
    ) -> list[PendingDoc]:
        """Nodes changed since they were last indexed (deleted ones included), with their neighbours
        through edges of the ``outgoing`` / ``incoming`` kinds (all kinds when ``None``): a hub such
        as a project with 100k runs need not load them all to build its document."""

    @abc.abstractmethod
    def mark_indexed(self, versions: dict[str, int]) -> None:
        """Clear the outbox for nodes still at the given versions."""

    @abc.abstractmethod
    def mark_all_pending(self) -> int:
        """Queue every node for re-indexing (used by ``reindex``); returns how many."""

    @abc.abstractmethod
    def vocabulary(self, *, sample: int = 2000) -> dict[str, list[str]]:
        """Names the memory knows: projects, people, models, datasets, and metric/param names of recent runs."""

    # -- API tokens
    @abc.abstractmethod
    def upsert_token(self, token: ApiToken) -> None: ...

    @abc.abstractmethod
    def get_token_by_hash(self, token_hash: str) -> ApiToken:
        """The live token with this hash, or :class:`memory.errors.NotFound`."""

    @abc.abstractmethod
    def list_tokens(self) -> list[ApiToken]: ...

    @abc.abstractmethod
    def revoke_token(self, token_id: str) -> ApiToken: ...

    @abc.abstractmethod
    def dump(self) -> dict[str, Any]:
        """A canonical, comparable picture of the whole store (for tests and migration checks)."""

    @abc.abstractmethod
    def close(self) -> None: ...
