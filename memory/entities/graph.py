"""Nodes, edges and lifecycle events of the lineage graph."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NodeKind(str, enum.Enum):
    """The closed set of node kinds (extend deliberately)."""

    project = "project"
    run = "run"
    model = "model"
    model_version = "model_version"
    dataset = "dataset"
    dataset_version = "dataset_version"
    feature_view = "feature_view"
    job = "job"
    job_run = "job_run"
    code_version = "code_version"
    evaluation = "evaluation"
    person = "person"


class EdgeKind(str, enum.Enum):
    """Typed edges; the direction is always ``src -kind-> dst``."""

    used = "used"  # run -> dataset_version
    produced = "produced"  # run -> model_version
    version_of = "version_of"  # model_version -> model, dataset_version -> dataset, job_run -> job (one execution)
    ran_code = "ran_code"  # run -> code_version
    read = "read"  # job_run -> dataset_version (or dataset, when the event names no version)
    wrote = "wrote"  # job_run -> dataset_version (or dataset, when the event names no version)
    derived_from = "derived_from"  # feature_view -> dataset
    used_features = "used_features"  # run -> feature_view
    evaluated = "evaluated"  # evaluation -> model_version
    child_of = "child_of"  # run -> run
    in_project = "in_project"  # * -> project
    by = "by"  # * -> person


class Source(BaseModel):
    """Where a node came from: the system, the instance and the id there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field(description="Source system name, e.g. 'mlflow'.")
    instance: str = Field(description="The source instance, e.g. the tracking server address.")
    id: str = Field(description="The object's id in the source system, e.g. an MLflow run id.")
    url: str | None = Field(default=None, description="A link to the object in the source's own UI.")


class Node(BaseModel):
    """One object of the lineage graph, as stored."""

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
    deleted: bool = False


class Edge(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    src: str
    kind: EdgeKind
    dst: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class Event(BaseModel):
    """A lifecycle change of a node at a moment, e.g. a version moved to Production."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urn: str
    kind: str
    at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)
