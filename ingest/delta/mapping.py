"""From Delta transaction-log commits to records.

A table is a ``dataset`` node at its normalised location; each version is a ``dataset_version``
keyed by the version number (the key OpenLineage's version facet and MLflow's Delta source use
too, so the three systems meet on one node). A version carries the commit's operation, its
parameters and metrics, the schema, the row/file/byte counts of the snapshot, and — when the
schema differs from the previous version's — the change (``schema_change``), which is also
recorded as a ``schema_changed`` event on the table.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from memory.entities import EdgeKind, EdgeUpsert, EventRecord, NodeKind, NodeUpsert, Source
from memory.entities.identity import dataset_urn, dataset_version_urn, normalize_location

SYSTEM = "delta"
#: bump when the records built from the same log change shape (forces a re-read)
MAPPING_VERSION = 1


def table_location(table_uri: str) -> str:
    return normalize_location(table_uri)


def table_name(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1] or location


def schema_fields(schema_json: str) -> list[dict[str, Any]]:
    """``[{name, type, nullable}]`` from a Delta schema string; nested types are kept as JSON text."""
    fields = []
    for field in json.loads(schema_json).get("fields", []):
        kind = field.get("type")
        fields.append({
            "name": field["name"],
            "type": kind if isinstance(kind, str) else json.dumps(kind, sort_keys=True),
            "nullable": bool(field.get("nullable", True)),
        })
    return fields


def schema_change(before: list[dict[str, Any]] | None, after: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Columns added, removed or retyped between two versions; ``None`` when nothing changed."""
    if before is None:
        return None
    old = {f["name"]: f["type"] for f in before}
    new = {f["name"]: f["type"] for f in after}
    change = {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "type_changed": {name: [old[name], new[name]] for name in sorted(set(old) & set(new)) if old[name] != new[name]},
    }
    return change if any(change.values()) else None


def commit_time(commit: dict[str, Any]) -> datetime | None:
    stamp = commit.get("timestamp")
    return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc) if isinstance(stamp, (int, float)) else None


def table_records(location: str, instance: str, metadata: Any, project: str | None) -> list[Any]:
    name = metadata.name or table_name(location)
    return [
        NodeUpsert(
            urn=dataset_urn(location),
            kind=NodeKind.dataset,
            name=name,
            source=Source(system=SYSTEM, instance=instance, id=f"delta://{location}"),
            project=project,
            description=metadata.description,
            created_at=datetime.fromtimestamp(metadata.created_time / 1000, tz=timezone.utc)
            if metadata.created_time else None,
            properties={
                "location": location,
                "format": "delta",
                "table_id": metadata.id,
                "partition_columns": list(metadata.partition_columns),
                "configuration": dict(metadata.configuration),
            },
        )
    ]


def version_records(
    location: str,
    instance: str,
    version: int,
    commit: dict[str, Any],
    fields: list[dict[str, Any]],
    previous_fields: list[dict[str, Any]] | None,
    snapshot: dict[str, int],
    project: str | None,
) -> list[Any]:
    """The records of one table version: the node, ``version_of`` and, if any, the schema change event."""
    table_urn = dataset_urn(location)
    urn = dataset_version_urn(location, str(version))
    at = commit_time(commit)
    change = schema_change(previous_fields, fields)
    operation = commit.get("operation") or "UNKNOWN"
    parameters = {k: _plain(v) for k, v in (commit.get("operationParameters") or {}).items()}
    properties: dict[str, Any] = {
        "location": location,
        "version": version,
        "operation": operation,
        "operation_parameters": parameters,
        "operation_metrics": {k: _plain(v) for k, v in (commit.get("operationMetrics") or {}).items()},
        "schema": {"fields": fields},
        "num_rows": snapshot.get("num_rows"),
        "num_files": snapshot.get("num_files"),
        "size_bytes": snapshot.get("size_bytes"),
        "engine": commit.get("engineInfo") or commit.get("clientVersion"),
        "mapping_version": MAPPING_VERSION,
    }
    if change:
        properties["schema_change"] = change
    mode = parameters.get("mode")
    description = f"{operation}{f' ({mode})' if mode else ''} at version {version}"
    if change:
        description += "; schema changed: " + describe_change(change)
    records: list[Any] = [
        NodeUpsert(
            urn=urn,
            kind=NodeKind.dataset_version,
            name=f"{table_name(location)}@v{version}",
            source=Source(system=SYSTEM, instance=instance, id=f"delta://{location}@v{version}"),
            project=project,
            description=description,
            created_at=at,
            properties=properties,
            fingerprint=f"{MAPPING_VERSION}:{version}:{at.isoformat() if at else ''}",
        ),
        EdgeUpsert(src=urn, kind=EdgeKind.version_of, dst=table_urn, valid_from=at),
    ]
    if change and at is not None:
        records.append(EventRecord(urn=table_urn, kind="schema_changed", at=at, payload={"version": version, **change}))
    return records


def describe_change(change: dict[str, Any]) -> str:
    parts = []
    if change.get("added"):
        parts.append("added " + ", ".join(change["added"]))
    if change.get("removed"):
        parts.append("removed " + ", ".join(change["removed"]))
    for name, (old, new) in (change.get("type_changed") or {}).items():
        parts.append(f"{name} {old} → {new}")
    return "; ".join(parts)


def _plain(value: Any) -> Any:
    """Commit info values as JSON-safe scalars (Delta writers put JSON text in some parameters)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return json.dumps(value, sort_keys=True, default=str)
