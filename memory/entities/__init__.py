"""Plain values shared by every layer. Imports nothing else of ours."""

from memory.entities.access import LOCAL_ADMIN, ApiToken, Principal, Scope
from memory.entities.graph import Edge, EdgeKind, Event, Node, NodeKind, Source
from memory.entities.records import (
    Checkpoint,
    EdgeUpsert,
    EventRecord,
    NodeUpsert,
    Record,
    SourceState,
    Tombstone,
)

__all__ = [
    "LOCAL_ADMIN",
    "ApiToken",
    "Principal",
    "Scope",
    "Checkpoint",
    "Edge",
    "EdgeKind",
    "EdgeUpsert",
    "Event",
    "EventRecord",
    "Node",
    "NodeKind",
    "NodeUpsert",
    "Record",
    "Source",
    "SourceState",
    "Tombstone",
]
