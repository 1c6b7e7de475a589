"""Row-level writes of the graph store: one record applied to the rows it touches.

Mixed into :class:`memory.store.sql.SqlGraphStore`, whose ``_apply_once`` runs these inside one
transaction. Nodes are upserted by content hash; a node a second system writes is merged (one
identity, ``also_known_as`` per system); edges carry their validity; events are deduplicated by
content; tombstones end a node's live edges.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from memory.entities import EdgeUpsert, EventRecord, NodeUpsert, Tombstone
from memory.store.base import ApplyResult
from memory.store.models import EdgeRow, EventRow, NodeRow


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _content_hash(record: NodeUpsert) -> str:
    return hashlib.sha256(canonical(record.model_dump(mode="json")).encode()).hexdigest()


def _event_key(record: EventRecord) -> str:
    return hashlib.sha256(
        canonical([record.urn, record.kind, record.at.isoformat(), record.payload]).encode()
    ).hexdigest()


class RowWrites:
    """The per-record write steps (see the module docstring)."""

    def _apply_node(
        self,
        session: Session,
        source_key: str,
        record: NodeUpsert,
        existing: dict[str, NodeRow],
        result: ApplyResult,
        changed_urns: set[str],
    ) -> None:
        digest = _content_hash(record)
        row = existing.get(record.urn)
        if row is not None and row.content_hash == digest and not row.deleted:
            result.unchanged += 1
            return
        if row is not None and not row.deleted and row.system != record.source.system:
            self._merge_node(row, record, result, changed_urns)
            return
        properties = record.properties
        aliases = (row.properties or {}).get("also_known_as") if row is not None and not row.deleted else None
        if aliases:  # the owning system changed a node others also know: keep what they contributed
            properties = {}
            for alias in aliases.values():
                properties.update(alias.get("properties") or {})
            properties.update(record.properties)
            properties["also_known_as"] = aliases
        values = dict(
            kind=record.kind.value,
            name=record.name,
            system=record.source.system,
            instance=record.source.instance,
            source_id=record.source.id,
            source_url=record.source.url,
            source_key=source_key,
            project=record.project,
            description=record.description,
            created_at=record.created_at,
            updated_at=record.updated_at,
            properties=properties,
            fingerprint=record.fingerprint,
            content_hash=digest,
            deleted=False,
            deleted_at=None,
            index_pending=True,
        )
        if row is None:
            row = NodeRow(urn=record.urn, version=1, **values)
            session.add(row)
            existing[record.urn] = row
            result.new += 1
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.version += 1
            result.changed += 1
            changed_urns.add(record.urn)

    def _merge_node(self, row: NodeRow, record: NodeUpsert, result: ApplyResult, changed_urns: set[str]) -> None:
        """Another system saw the same object (same content key, same URN): one node, an alias per system.

        The first system stays the node's source; every other one is recorded under
        ``properties["also_known_as"][system]`` with its own id and link. Properties are
        unioned (the first writer keeps its values) and empty fields are filled in, so
        re-ingesting either side changes nothing.
        """
        properties = dict(record.properties)
        properties.update(row.properties or {})
        aliases = dict((row.properties or {}).get("also_known_as") or {})
        aliases[record.source.system] = {
            "instance": record.source.instance, "id": record.source.id, "url": record.source.url,
            "name": record.name, "properties": record.properties,
        }
        properties["also_known_as"] = dict(sorted(aliases.items()))
        merged = dict(
            properties=properties,
            project=row.project or record.project,
            description=row.description or record.description,
            created_at=row.created_at or record.created_at,
            updated_at=max((t for t in (row.updated_at, record.updated_at) if t is not None), default=None),
        )
        if all(canonical(getattr(row, name)) == canonical(value) for name, value in merged.items()):
            result.unchanged += 1
            return
        for name, value in merged.items():
            setattr(row, name, value)
        row.index_pending = True
        row.version += 1
        result.changed += 1
        changed_urns.add(record.urn)

    def _apply_edge(
        self,
        session: Session,
        source_key: str,
        record: EdgeUpsert,
        edges: dict[tuple[str, str, str], EdgeRow],
        result: ApplyResult,
    ) -> bool:
        """Insert or update one edge; ``True`` when something was written."""
        key = (record.src, record.kind.value, record.dst)
        row = edges.get(key)
        if row is None:
            row = EdgeRow(
                src=record.src,
                kind=record.kind.value,
                dst=record.dst,
                source_key=source_key,
                valid_from=record.valid_from,
                valid_to=None,
                properties=record.properties,
            )
            session.add(row)
            edges[key] = row
            result.edges += 1
            return True
        if row.valid_to is not None or row.properties != record.properties or row.valid_from != record.valid_from:
            row.valid_to = None
            row.properties = record.properties
            row.valid_from = record.valid_from
            row.source_key = source_key
            result.edges += 1
            return True
        return False

    def _touch(self, session: Session, urns: Sequence[str], existing: dict[str, NodeRow]) -> None:
        """Queue nodes for re-indexing because their neighbourhood (part of their document) changed."""
        for urn in urns:
            row = existing.get(urn)
            if row is None:
                row = session.get(NodeRow, urn)
                if row is None:
                    continue
                existing[urn] = row
            row.index_pending = True
            row.version += 1

    def _apply_event(self, session: Session, source_key: str, record: EventRecord, result: ApplyResult) -> None:
        key = _event_key(record)
        if session.scalar(select(EventRow.id).where(EventRow.event_key == key)) is not None:
            return
        session.add(
            EventRow(event_key=key, urn=record.urn, kind=record.kind, at=record.at, payload=record.payload, source_key=source_key)
        )
        session.flush()
        result.events += 1

    def _apply_tombstone(
        self, session: Session, record: Tombstone, existing: dict[str, NodeRow], result: ApplyResult
    ) -> None:
        row = existing.get(record.urn)
        if row is None or row.deleted:
            return
        row.deleted = True
        row.deleted_at = record.at
        row.index_pending = True
        row.version += 1
        result.deleted += 1
        live = session.scalars(
            select(EdgeRow).where(or_(EdgeRow.src == record.urn, EdgeRow.dst == record.urn), EdgeRow.valid_to.is_(None))
        )
        for edge in live:
            edge.valid_to = record.at
