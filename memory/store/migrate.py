"""Copy a whole graph store into another database (e.g. the embedded SQLite into PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, insert, select

from memory.errors import Conflict
from memory.store.models import ApiTokenRow, EdgeRow, EventRow, NodeRow, SyncStateRow
from memory.store.sql import SqlGraphStore

_TABLES = (NodeRow, EdgeRow, EventRow, SyncStateRow, ApiTokenRow)
_PAGE = 2_000


@dataclass(frozen=True)
class MigrationResult:
    rows: dict[str, int]
    checksum: str


def checksum(store: SqlGraphStore) -> str:
    """A digest of the store's canonical dump: equal digests mean equal graphs."""
    return hashlib.sha256(json.dumps(store.dump(), sort_keys=True, default=str).encode()).hexdigest()


def migrate(source: SqlGraphStore, target: SqlGraphStore, on_progress: Callable[[str, int], None] | None = None) -> MigrationResult:
    """Copy every row; the target must be empty. Verified by row counts and a checksum at the end."""
    with target.engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(NodeRow)):
            raise Conflict("the target graph store is not empty", hint="migrate into a new, empty database")
    copied: dict[str, int] = {}
    with source.engine.connect() as src, target.engine.begin() as dst:
        for model in _TABLES:
            table = model.__table__
            order = list(table.primary_key.columns)
            offset = 0
            while True:
                rows = [dict(r._mapping) for r in src.execute(select(table).order_by(*order).offset(offset).limit(_PAGE))]
                if not rows:
                    break
                dst.execute(insert(table), rows)
                offset += len(rows)
                if on_progress:
                    on_progress(table.name, offset)
            copied[table.name] = offset
    for model in _TABLES:
        table = model.__table__
        with source.engine.connect() as a, target.engine.connect() as b:
            left = a.scalar(select(func.count()).select_from(table))
            right = b.scalar(select(func.count()).select_from(table))
        if left != right:
            raise Conflict(f"migration check failed: {table.name} has {left} rows in the source, {right} in the target")
    digest_source, digest_target = checksum(source), checksum(target)
    if digest_source != digest_target:
        raise Conflict("migration check failed: the checksums of source and target differ")
    return MigrationResult(copied, digest_target)
