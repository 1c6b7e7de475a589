"""Response models of the API (the public shape of hits, nodes and lineage)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class HitPublic(BaseModel):
    urn: str
    kind: str
    title: str
    source: str = Field(description="Source system, e.g. mlflow.")
    source_id: str = Field(description="The object's id in its source, e.g. the MLflow run id.")
    source_url: str | None = None
    project: str | None = None
    time: datetime | None = None
    person: str | None = None
    status: str | None = None
    snippet: str
    highlights: list[str]
    outcome: dict[str, Any] = Field(description="Key metric against the project's baseline.")
    score: float
    group_size: int = Field(description="How many near-identical results (one swept idea) this row stands for.")
    group_members: list[str]
    group_outcome_range: list[float] | None = Field(
        default=None, description="Lowest and highest key-metric value across the group's members.")
    group_best: str | None = Field(default=None, description="URN of the group member with the best key metric.")
    coverage: float | None = Field(default=None, description="Weighted share of the query's concepts this hit matches.")


class HitsPublic(BaseModel):
    data: list[HitPublic]
    count: int
    next_page_token: str | None = None
    confidence: float = Field(default=0.0, description=(
        "Calibrated confidence that the best result matches everything the text asked; below 0.5 the results "
        "are closest attempts, not matches."))


class NodePublic(BaseModel):
    urn: str
    kind: str
    name: str
    project: str | None
    description: str | None
    created_at: datetime | None
    updated_at: datetime | None
    source: dict[str, Any]
    properties: dict[str, Any]


class EdgePublic(BaseModel):
    src: str
    kind: str
    dst: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class NeighbourPublic(BaseModel):
    edge: EdgePublic
    node: NodePublic


class EventPublic(BaseModel):
    kind: str
    at: datetime
    payload: dict[str, Any]


class NodeDetailPublic(BaseModel):
    node: NodePublic
    neighbours: list[NeighbourPublic]
    events: list[EventPublic]


class LineagePublic(BaseModel):
    root: str
    direction: str
    as_of: datetime | None
    nodes: list[NodePublic]
    depth: dict[str, int]
    edges: list[EdgePublic]


class CallerPublic(BaseModel):
    """Who the token belongs to and what it may see."""

    name: str
    scopes: list[str]
    projects: list[str] = Field(description="The projects of the memory this caller may see.")


class HealthPublic(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    position: int | None = None


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=5000, description="A question in plain language.")
    limit: int = Field(default=10, ge=1, le=100)


class ConditionPublic(BaseModel):
    """One parsed condition, lossless: ``field op value``, or ``field in values``."""

    field: str = Field(description="An attribute, or metric.NAME, param.NAME, tag.NAME.")
    op: str = Field(description="=, !=, >, >=, <, <=, ~ or in.")
    value: float | datetime | str | None = None
    values: list[float | datetime | str] | None = Field(default=None, description="The values of an `in` condition.")


class ParsedQuestionPublic(BaseModel):
    """How the question was understood: shown so people learn the filters."""

    intent: str
    text: str
    projects: list[str]
    people: list[str]
    kinds: list[str]
    since: datetime | None
    until: datetime | None
    conditions: list[str]
    asks_outcome: bool
    subjects: list[str]
    chips: list[str]
    condition_terms: list[ConditionPublic] = Field(
        default_factory=list, description="The conditions (metric/param thresholds, status, outcome) in structured form.")


class AnswerPublic(BaseModel):
    question: str
    parsed: ParsedQuestionPublic
    summary: str
    notes: list[str]
    hits: list[HitPublic] = Field(description="The real matches; empty when nobody seems to have tried it.")
    nobody_tried: bool = Field(description="No result matches all of what was asked.")
    confidence: float = Field(description="Calibrated confidence that the best result really is an attempt at it.")
    closest: list[HitPublic] = Field(default_factory=list,
                                     description="When nobody tried it: the nearest attempts, not answers.")
    lineage: LineagePublic | None = None
    diff: dict[str, Any] | None = Field(default=None, description="For a diff question: the ranked changes between the two versions.")
    digest: dict[str, Any] | None = Field(default=None, description="For 'what did we learn this week?': the digest (as GET /digest).")


class NodeRefPublic(BaseModel):
    urn: str
    name: str
    kind: str
    url: str | None = Field(default=None, description="A link to the object in its source system (e.g. the MLflow run page).")


class ChangePublic(BaseModel):
    """One difference between two model versions, scored for how likely it caused a drop."""

    kind: str = Field(description="schema_change, dataset_swap, dataset_added, dataset_removed, features_changed, "
                                  "code_change, param_change, upstream_failed or upstream_late.")
    subject: str = Field(description="What changed: a dataset URN, a param name, a pipeline run URN, 'code'.")
    before: Any = None
    after: Any = None
    summary: str
    score: float = Field(description="Higher is a more likely culprit (see the README's ranking rules).")
    reason: str = Field(description="Why the change is ranked where it is.")
    details: dict[str, Any] = Field(default_factory=dict)
    links: list[str] = Field(default_factory=list, description="Links to the source systems.")


class MetricDeltaPublic(BaseModel):
    name: str
    before: float
    after: float
    delta: float
    higher_is_better: bool
    worse: bool


class DiffPublic(BaseModel):
    current: NodeRefPublic
    baseline: NodeRefPublic
    current_run: NodeRefPublic | None
    baseline_run: NodeRefPublic | None
    changes: list[ChangePublic] = Field(description="Most likely culprit first.")
    metrics: list[MetricDeltaPublic] = Field(description="Metric deltas of the training runs: symptoms, not ranked.")


class WhyPublic(BaseModel):
    ref: str
    version: NodePublic
    at: datetime | None = Field(description="The moment asked about (none: now).")
    label: str | None = Field(description="The stage or alias the version held (from the reference or its history).")
    held_since: datetime | None
    baseline: str | None = Field(description="Which version the diff is against, and how it was chosen.")
    diff: DiffPublic | None
    notes: list[str]
    lineage: LineagePublic


class DigestPublic(BaseModel):
    """The learning digest of a period: per project what was tried, improved, promoted, failed and repeated."""

    title: str
    headline: str
    since: datetime
    until: datetime
    generated_at: datetime
    totals: dict[str, int]
    projects: list[dict[str, Any]] = Field(description="Per project: ideas, improvement, registry, failures, repeats, open_threads.")
    pipelines_failed: list[dict[str, Any]] = Field(description="Pipeline (OpenLineage) runs that failed in the period.")


class SimilarRunPublic(BaseModel):
    urn: str = Field(description="The run's URN (empty for a planned config).")
    name: str
    project: str | None = None
    time: datetime | None = None
    person: str | None = None
    team: str | None = None
    status: str | None = None
    source_url: str | None = None
    params: dict[str, str]
    datasets: list[str]
    outcome: dict[str, Any]
    outcome_text: str = Field(description="The outcome in words, e.g. 'val_auc 0.8100, worse than the baseline (-0.0120)'.")


class SimilarMatchPublic(BaseModel):
    run: SimilarRunPublic
    score: float = Field(description="Weighted similarity in [0, 1] (params 0.5, data 0.2, text 0.3 over the known parts).")
    params: float | None
    data: float | None
    text: float | None
    repeat: bool = Field(description="Similar enough to count as a repeat of this earlier run.")
    same_params: list[str]
    changed_params: list[str]
    why: str


class SimilarPublic(BaseModel):
    run: SimilarRunPublic
    matches: list[SimilarMatchPublic]


class PlannedRun(BaseModel):
    """A run someone is about to start: has it (or something very like it) been done before?"""

    model_config = {"extra": "forbid"}

    project: str | None = Field(default=None, max_length=500)
    name: str | None = Field(default=None, max_length=500)
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    dataset: str | None = Field(default=None, max_length=2000, description="A dataset location, optionally @version.")
    datasets: list[str] | None = Field(default=None, description="Several dataset locations.")
    notes: str | None = Field(default=None, max_length=20000, description="What the run will try, in words.")
    tags: dict[str, str] = Field(default_factory=dict)
    person: str | None = None
    limit: int = Field(default=5, ge=1, le=50)
