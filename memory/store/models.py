"""ORM rows of the graph store. They convert to entities with ``to_entity()``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from memory.entities import ApiToken, Edge, EdgeKind, Event, Node, NodeKind, Scope, Source


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class NodeRow(Base):
    __tablename__ = "nodes"

    urn: Mapped[str] = mapped_column(String(1024), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(Text)
    system: Mapped[str] = mapped_column(String(64), index=True)
    instance: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_key: Mapped[str] = mapped_column(String(1024), index=True)
    project: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    index_pending: Mapped[bool] = mapped_column(Boolean, default=True, index=True)

    def to_entity(self) -> Node:
        return Node(
            urn=self.urn,
            kind=NodeKind(self.kind),
            name=self.name,
            source=Source(system=self.system, instance=self.instance, id=self.source_id, url=self.source_url),
            project=self.project,
            description=self.description,
            created_at=self.created_at,
            updated_at=self.updated_at,
            properties=self.properties or {},
            deleted=self.deleted,
        )


class EdgeRow(Base):
    __tablename__ = "edges"
    __table_args__ = (
        UniqueConstraint("src", "kind", "dst", name="uq_edges_src_kind_dst"),
        Index("ix_edges_dst", "dst"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    src: Mapped[str] = mapped_column(String(1024))
    kind: Mapped[str] = mapped_column(String(32))
    dst: Mapped[str] = mapped_column(String(1024))
    source_key: Mapped[str] = mapped_column(String(1024))
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def to_entity(self) -> Edge:
        return Edge(
            src=self.src,
            kind=EdgeKind(self.kind),
            dst=self.dst,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            properties=self.properties or {},
        )


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    urn: Mapped[str] = mapped_column(String(1024), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_key: Mapped[str] = mapped_column(String(1024))

    def to_entity(self) -> Event:
        return Event(urn=self.urn, kind=self.kind, at=self.at, payload=self.payload or {})


class SyncStateRow(Base):
    __tablename__ = "sync_state"

    source_key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    system: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    projects: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    def to_entity(self) -> ApiToken:
        return ApiToken(
            id=self.id,
            name=self.name,
            token_hash=self.token_hash,
            scopes=frozenset(Scope(s) for s in self.scopes),
            projects=frozenset(self.projects) if self.projects is not None else None,
            created_at=self.created_at,
            revoked_at=self.revoked_at,
            last_used_at=self.last_used_at,
        )
