"""Map Feast registry objects to graph records. Pure functions over Feast's own Python objects.

* the Feast project → ``project`` node ``feast://<project>``;
* a feature view (batch, stream or on demand) → ``feature_view`` node
  ``feast://<project>/feature_views/<name>`` with its fields, entities, TTL, tags and owner;
  ``-derived_from->`` the dataset of its batch source, or, on demand, the views and request
  sources it reads;
* a feature service → a ``feature_view`` node ``feast://<project>/feature_services/<name>``
  (``feast_type: feature_service``) ``-derived_from->`` each view it serves, with the features
  it takes from it; runs that name it get ``used_features`` edges (see :mod:`ingest.feast.urns`);
* an entity → a ``feature_view`` node ``feast://<project>/entities/<name>`` (``feast_type:
  entity``: the node kinds have no join key of their own) with its join key and value type;
* a data source with a location (``FileSource(path=…)``, BigQuery tables) → the shared
  ``dataset://<normalised location>`` node every other source uses for that data; one without
  (request and push sources) → a ``dataset`` node ``feast://<project>/data_sources/<name>``.

Nodes Feast alone owns carry a fingerprint (tombstoned when they leave the registry); the
shared dataset nodes do not. Each node keeps Feast's own key in ``properties["keys"]["feast"]``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ingest.feast.urns import feature_service_urn, feature_view_urn, object_urn, project_urn
from memory.entities import EdgeKind, EdgeUpsert, NodeKind, NodeUpsert, Source
from memory.entities import identity

SYSTEM = "feast"
#: bump when the mapping changes, so every object is written again once
MAPPING_VERSION = "1"


def _time(value: datetime | None) -> datetime | None:
    """Feast keeps naive UTC times."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _fingerprint(node: dict[str, Any]) -> str:
    content = {k: v for k, v in node.items() if k != "source"} | {"source": node["source"].model_dump()}
    text = json.dumps([MAPPING_VERSION, content], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def owned(**fields: Any) -> NodeUpsert:
    return NodeUpsert(**fields, fingerprint=_fingerprint(fields))


class FeastMapper:
    def __init__(self, project: str, repo_path: Path, registry: str) -> None:
        self.project = project
        self.repo_path = repo_path
        self.registry = registry
        self.project_urn = project_urn(project)

    def source(self, object_id: str) -> Source:
        return Source(system=SYSTEM, instance=self.registry, id=object_id)

    def keys(self, collection: str, name: str) -> dict[str, Any]:
        return {"feast": {"project": self.project, collection: name}}

    def in_project(self, urn: str, at: datetime | None) -> EdgeUpsert:
        return EdgeUpsert(src=urn, kind=EdgeKind.in_project, dst=self.project_urn, valid_from=at)

    # -- the project
    def project_records(self, description: str | None) -> list[Any]:
        return [owned(urn=self.project_urn, kind=NodeKind.project, name=self.project, project=self.project,
                      source=self.source(self.project), description=description or None,
                      properties={"registry": self.registry, "repo_path": str(self.repo_path),
                                  "keys": {"feast": {"project": self.project}}})]

    # -- data sources
    def source_location(self, data_source: Any) -> str | None:
        """Where the data of a source lives, as every other system names it; ``None`` if it has no place."""
        kind = type(data_source).__name__
        if kind == "FileSource":
            path = data_source.path
            if "://" in path:
                return identity.normalize_location(path)
            resolved = Path(path) if Path(path).is_absolute() else (self.repo_path / path)
            return identity.normalize_location(str(resolved.resolve()))
        table = getattr(data_source, "table", None)
        if kind == "BigQuerySource" and table:
            return identity.normalize_location(f"bigquery/{table}")
        return None

    def data_source_urn(self, data_source: Any) -> str:
        location = self.source_location(data_source)
        return identity.dataset_urn(location) if location else object_urn(self.project, "data_sources", data_source.name)

    def data_source_records(self, data_source: Any) -> list[Any]:
        kind = type(data_source).__name__
        location = self.source_location(data_source)
        props: dict[str, Any] = {
            "feast_source_type": kind,
            "timestamp_field": data_source.timestamp_field or None,
            "created_timestamp_column": data_source.created_timestamp_column or None,
            "field_mapping": dict(data_source.field_mapping or {}),
            "tags": dict(data_source.tags or {}),
            "owner": data_source.owner or None,
            "keys": self.keys("data_source", data_source.name),
        }
        schema = getattr(data_source, "schema", None)
        if kind == "RequestSource" and schema:
            props["schema"] = {"fields": [{"name": f.name, "type": str(f.dtype)} for f in schema]}
        if location:  # shared with MLflow, OpenLineage, DVC, W&B: no project, no fingerprint
            props["location"] = location
            return [NodeUpsert(urn=identity.dataset_urn(location), kind=NodeKind.dataset, name=data_source.name,
                               source=self.source(f"data_sources/{data_source.name}"),
                               description=data_source.description or None, properties=props)]
        urn = object_urn(self.project, "data_sources", data_source.name)
        return [
            owned(urn=urn, kind=NodeKind.dataset, name=data_source.name, project=self.project,
                  source=self.source(f"data_sources/{data_source.name}"), description=data_source.description or None,
                  created_at=_time(getattr(data_source, "created_timestamp", None)),
                  updated_at=_time(getattr(data_source, "last_updated_timestamp", None)), properties=props),
            self.in_project(urn, None),
        ]

    # -- entities
    def entity_records(self, entity: Any) -> list[Any]:
        urn = object_urn(self.project, "entities", entity.name)
        created = _time(entity.created_timestamp)
        value_type = getattr(entity.value_type, "name", str(entity.value_type))
        description = entity.description or None
        return [
            owned(urn=urn, kind=NodeKind.feature_view, name=entity.name, project=self.project,
                  source=self.source(f"entities/{entity.name}"),
                  description=description,
                  created_at=created, updated_at=_time(entity.last_updated_timestamp),
                  properties={"feast_type": "entity", "join_key": entity.join_key, "value_type": value_type,
                              "tags": dict(entity.tags or {}), "owner": entity.owner or None,
                              "keys": self.keys("entity", entity.name)}),
            self.in_project(urn, created),
        ]

    # -- feature views
    def feature_view_records(self, view: Any, entity_keys: dict[str, str]) -> list[Any]:
        kind = type(view).__name__
        urn = feature_view_urn(self.project, view.name)
        created = _time(view.created_timestamp)
        feast_type = {"OnDemandFeatureView": "on_demand_feature_view", "StreamFeatureView": "stream_feature_view",
                      "BatchFeatureView": "batch_feature_view"}.get(kind, "feature_view")
        props: dict[str, Any] = {
            "feast_type": feast_type,
            "fields": [{"name": f.name, "type": str(f.dtype)} for f in view.features],
            "tags": dict(view.tags or {}),
            "owner": view.owner or None,
            "person": view.owner or None,
            "keys": self.keys("feature_view", view.name),
        }
        out: list[Any] = []
        upstream: list[tuple[str, dict[str, Any]]] = []
        if kind == "OnDemandFeatureView":
            props["mode"] = getattr(view, "mode", None)
            props["sources"] = sorted(view.source_feature_view_projections) + sorted(view.source_request_sources)
            for name in sorted(view.source_feature_view_projections):
                upstream.append((feature_view_urn(self.project, name), {"role": "feature_view"}))
            for name, request in sorted(view.source_request_sources.items()):
                upstream.append((self.data_source_urn(request), {"role": "request_source"}))
        else:
            ttl = getattr(view, "ttl", None)
            props["ttl_seconds"] = int(ttl.total_seconds()) if ttl else None
            props["entities"] = [{"name": e, "join_key": entity_keys.get(e)} for e in sorted(view.entities)]
            props["entity_columns"] = [{"name": c.name, "type": str(c.dtype)} for c in getattr(view, "entity_columns", [])]
            props["online"] = bool(getattr(view, "online", False))
            props["offline"] = bool(getattr(view, "offline", False))
            batch = getattr(view, "batch_source", None)
            stream = getattr(view, "stream_source", None)
            props["batch_source"] = batch.name if batch is not None else None
            props["stream_source"] = stream.name if stream is not None else None
            for role, data_source in (("batch_source", batch), ("stream_source", stream)):
                if data_source is not None:
                    upstream.append((self.data_source_urn(data_source), {"role": role}))
        props["derived_from"] = [dst for dst, _ in upstream]  # part of the fingerprint: a moved source is a change
        out.append(owned(urn=urn, kind=NodeKind.feature_view, name=view.name, project=self.project,
                         source=self.source(f"feature_views/{view.name}"), description=view.description or None,
                         created_at=created, updated_at=_time(view.last_updated_timestamp), properties=props))
        out.append(self.in_project(urn, created))
        for dst, edge_props in upstream:
            out.append(EdgeUpsert(src=urn, kind=EdgeKind.derived_from, dst=dst, valid_from=created, properties=edge_props))
        return out

    # -- feature services
    def feature_service_records(self, service: Any) -> list[Any]:
        urn = feature_service_urn(self.project, service.name)
        created = _time(service.created_timestamp)
        projections = [
            {"feature_view": p.name, "alias": p.name_alias or None, "features": [f.name for f in p.features]}
            for p in service.feature_view_projections
        ]
        out: list[Any] = [
            owned(urn=urn, kind=NodeKind.feature_view, name=service.name, project=self.project,
                  source=self.source(f"feature_services/{service.name}"), description=service.description or None,
                  created_at=created, updated_at=_time(service.last_updated_timestamp),
                  properties={"feast_type": "feature_service", "features": projections,
                              "tags": dict(service.tags or {}), "owner": service.owner or None,
                              "person": service.owner or None, "keys": self.keys("feature_service", service.name)}),
            self.in_project(urn, created),
        ]
        for projection in projections:
            out.append(EdgeUpsert(src=urn, kind=EdgeKind.derived_from, dst=feature_view_urn(self.project, projection["feature_view"]),
                                  valid_from=created, properties={"features": projection["features"]}))
        return out
