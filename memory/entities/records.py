"""The closed set of records an ingestor yields, keyed by stable URNs.

Ingestors never write: they yield these, and the service applies them to the store in
transactions. A :class:`Checkpoint` marks a point where everything yielded before it
may be committed together with the source's cursor, so a crash resumes from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field

from memory.entities.graph import EdgeKind, NodeKind, Source


class NodeUpsert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    urn: str
    kind: NodeKind
    name: str
    source: Source
    project: str | None = None
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str | None = Field(
        default=None,
        description="A hash of the source object's content; unchanged fingerprints are not re-read.",
    )


class EdgeUpsert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    src: str
    kind: EdgeKind
    dst: str
    valid_from: datetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class EventRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    urn: str
    kind: str
    at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)


class Tombstone(BaseModel):
    """The node was deleted in its source: it leaves search, its edges end at ``at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urn: str
    at: datetime
    reason: str = "deleted in source"


class Checkpoint(BaseModel):
    """Everything before this may be committed together with ``cursor``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cursor: dict[str, Any]


Record = Union[NodeUpsert, EdgeUpsert, EventRecord, Tombstone, Checkpoint]


class SourceState(BaseModel):
    """What the memory already knows about one source instance, handed to its ingestor.

    ``fingerprints`` maps each live node URN of the source to the fingerprint it was
    stored with, so an ingestor can skip unchanged objects and notice vanished ones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_key: str
    cursor: dict[str, Any] = Field(default_factory=dict)
    fingerprints: dict[str, str] = Field(default_factory=dict)
    last_sync_at: datetime | None = None
