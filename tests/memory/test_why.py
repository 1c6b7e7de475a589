"""Tenures, previous-good, diff and culprit ranking on small graphs in a real SQLite store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memory.entities import EdgeKind, EdgeUpsert, Event, EventRecord, NodeKind, NodeUpsert, Principal, Scope, Source
from memory.errors import NotFound
from memory.incident import dot, mermaid, render_why, why_markdown
from memory.service import MemoryService
from memory.why import Change, Tenure, holder_at, previous_good, rank, tenures

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
M = "mlflow://test/models/churn"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def src(kind: str, key: str, url: bool = False) -> Source:
    return Source(system="mlflow" if "mlflow" in kind else "openlineage", instance="test", id=key,
                  url=f"http://mlflow.test/{key}" if url else None)


def node(urn: str, kind: NodeKind, name: str, created: datetime | None = None, project: str = "churn",
         **props: Any) -> NodeUpsert:
    return NodeUpsert(urn=urn, kind=kind, name=name, source=src("mlflow" if urn.startswith("mlflow") else "ol", name, url=True),
                      project=project, created_at=created, properties=props)


def edge(a: str, kind: EdgeKind, b: str, when: datetime | None = None, **props: Any) -> EdgeUpsert:
    return EdgeUpsert(src=a, kind=kind, dst=b, valid_from=when, properties=props)


def version(n: int, run: str, created: datetime, project: str = "churn") -> list[Any]:
    urn = f"{M}/versions/{n}"
    return [node(urn, NodeKind.model_version, f"churn v{n}", created, project, model="churn", version=str(n)),
            edge(urn, EdgeKind.version_of, M, created), edge(run, EdgeKind.produced, urn, created),
            EventRecord(urn=urn, kind="registered", at=created, payload={"version": str(n)})]


def training_run(key: str, started: datetime, lr: str, auc: float, commit: str, dataset_version: str,
                 project: str = "churn") -> list[Any]:
    urn = f"mlflow://test/runs/{key}"
    return [node(urn, NodeKind.run, key, started, project, params={"learning_rate": lr, "epochs": "10"},
                 metrics={"val_auc": auc}, git_commit=commit, start_time=started.isoformat()),
            edge(urn, EdgeKind.used, dataset_version, started)]


def writer(key: str, started: datetime, state: str, schema: list[tuple[str, str]], rows: int, **props: Any) -> list[Any]:
    urn = f"openlineage-run://{key}"
    return [node(urn, NodeKind.job_run, f"build_features run {key}", started, None, state=state,
                 start_time=started.isoformat(), **props),
            edge(urn, EdgeKind.wrote, "dataset://s3://lake/churn", started,
                 schema=[{"name": n, "type": t} for n, t in schema], statistics={"rowCount": rows})]


def story_records() -> list[Any]:
    """v1 trained on d@a (written by w1), v2 on d@b (written by w2 with a new schema), lr changed; f1 failed between."""
    ds = "dataset://s3://lake/churn"
    records: list[Any] = [
        node(M, NodeKind.model, "churn", at(0)),
        node(ds, NodeKind.dataset, "churn", None, None),
        *[item for v in ("a", "b") for item in (
            node(f"{ds}@{v}", NodeKind.dataset_version, f"churn@{v}", None, None, digest=v),
            edge(f"{ds}@{v}", EdgeKind.version_of, ds))],
        *writer("w1", at(1), "COMPLETE", [("user_id", "long"), ("tenure", "long")], 1000),
        *training_run("r1", at(2), "0.1", 0.91, "c" * 40, f"{ds}@a"),
        *version(1, "mlflow://test/runs/r1", at(3)),
        *writer("f1", at(4), "FAIL", [], 0, error_message="OOM"),
        *writer("w2", at(5), "COMPLETE", [("user_id", "string"), ("plan", "string")], 400),
        *training_run("r2", at(6), "0.01", 0.84, "c" * 40, f"{ds}@b"),
        *version(2, "mlflow://test/runs/r2", at(7)),
        EventRecord(urn=f"{M}/versions/1", kind="stage", at=at(3.5), payload={"stage": "Production"}),
        EventRecord(urn=f"{M}/versions/1", kind="stage", at=at(8), payload={"stage": "Archived"}),
        EventRecord(urn=f"{M}/versions/2", kind="stage", at=at(8), payload={"stage": "Production"}),
        EventRecord(urn=f"{M}/versions/2", kind="alias", at=at(8), payload={"alias": "champion"}),
        EventRecord(urn=f"{M}/versions/1", kind="alias", at=at(3.5), payload={"alias": "champion"}),
    ]
    return records


@pytest.fixture
def svc(service: MemoryService) -> MemoryService:
    service.store.apply("test", "mlflow", story_records(), None)
    return service


def ev(urn: str, kind: str, hours: float, **payload: Any) -> Event:
    return Event(urn=urn, kind=kind, at=at(hours), payload=payload)


def test_tenures_of_stages_and_aliases() -> None:
    events = {
        "v1": [ev("v1", "stage", 1, stage="Production"), ev("v1", "stage", 5, stage="Archived"), ev("v1", "alias", 1, alias="champ")],
        "v2": [ev("v2", "stage", 5, stage="Production"), ev("v2", "alias", 5, alias="champ")],
        "v3": [ev("v3", "stage", 6, stage="Staging"), ev("v3", "alias", 9, alias="champ")],
    }
    staged = tenures(events, "production")
    assert staged == [Tenure("v1", "production", at(1), at(5)), Tenure("v2", "production", at(5))]
    assert holder_at(staged, at(2)).version_urn == "v1" and holder_at(staged, at(5)).version_urn == "v2"
    assert holder_at(staged, at(0)) is None
    assert previous_good(staged, staged[1]).version_urn == "v1" and previous_good(staged, staged[0]) is None
    aliased = tenures(events, "CHAMP")
    assert [(t.version_urn, t.end) for t in aliased] == [("v1", at(5)), ("v2", at(9)), ("v3", None)]
    assert previous_good(aliased, aliased[2]).version_urn == "v2"


def test_rank_orders_by_kind_and_evidence() -> None:
    changes = rank([
        Change("param_change", "lr", "0.1", "0.01", "lr"),
        Change("upstream_failed", "r", None, "FAIL", "failed", details={"feeds_training": True}),
        Change("dataset_swap", "d", "a", "b", "swap", details={"rows": [100, 50]}),
        Change("code_change", "code", ["a"], ["b"], "code"),
        Change("schema_change", "d2", "a", "b", "schema", details={"schema": {"added": ["x"], "removed": [], "type_changed": {}}}),
    ])
    assert [c.kind for c in changes] == ["schema_change", "dataset_swap", "upstream_failed", "code_change", "param_change"]
    assert changes[1].score == 45 and "row count changed by 50%" in changes[1].reason
    assert changes[2].score == 35 and "wrote a dataset this version trained on" in changes[2].reason
    assert changes[4].score == 23 and "2×" in changes[4].reason
    assert all(c.reason for c in changes)


def test_why_production_names_schema_change_then_param_against_previous_good(svc: MemoryService) -> None:
    report = svc.why("churn@production", at=at(9))
    assert report.version.urn == f"{M}/versions/2" and report.label == "production"
    assert report.baseline_how and report.baseline_how.startswith("previous-good: churn v1")
    changes = report.diff.changes
    assert [c.kind for c in changes[:2]] == ["schema_change", "param_change"], [(c.kind, c.summary) for c in changes]
    schema = changes[0].details["schema"]
    assert schema == {"added": ["plan"], "removed": ["tenure"], "type_changed": {"user_id": ["long", "string"]}}
    assert changes[0].details["rows"] == [1000, 400] and changes[0].details["schema_source"] == "openlineage"
    assert changes[1].subject == "learning_rate" and (changes[1].before, changes[1].after) == ("0.1", "0.01")
    # the failed pipeline run between the two trainings is listed, below the param change (it did not feed v2)
    failed = next(c for c in changes if c.kind == "upstream_failed")
    assert "OOM" in failed.summary and not failed.details["feeds_training"]
    assert "code_change" not in {c.kind for c in changes}  # same commit
    auc = next(m for m in report.diff.metrics if m.name == "val_auc")
    assert auc.worse and auc.delta == pytest.approx(-0.07)


def test_why_at_a_moment_before_the_promotion_shows_v1(svc: MemoryService) -> None:
    report = svc.why("churn@production", at=at(4.5))
    assert report.version.urn == f"{M}/versions/1"
    assert "mlflow://test/runs/r1" in report.lineage.nodes and "mlflow://test/runs/r2" not in report.lineage.nodes
    assert "openlineage-run://w2" not in report.lineage.nodes  # written after the moment asked about
    assert report.diff is None and "first version" in report.notes[0]
    champion = svc.why("churn@champion", at=at(9))
    assert champion.version.urn == f"{M}/versions/2" and champion.diff.baseline.urn == f"{M}/versions/1"


def test_why_errors_and_notes(svc: MemoryService) -> None:
    with pytest.raises(NotFound, match="no registered model named 'nope'"):
        svc.why("nope@production")
    with pytest.raises(NotFound, match="held 'production' at .*first held on"):
        svc.why("churn@production", at=at(1))
    explicit = svc.why("churn/v2", against="churn/v1")
    assert explicit.diff.changes[0].kind == "schema_change" and explicit.baseline_how == "as asked: churn v1"
    hidden = Principal(name="t", scopes=frozenset({Scope.read}), projects=frozenset({"other"}))
    with pytest.raises(NotFound):
        svc.why("churn/v2", against="churn/v1", principal=hidden)


def test_diff_a_b_and_pictures(svc: MemoryService) -> None:
    result = svc.diff("churn/v1", "churn/v2")
    assert [c.kind for c in result.changes[:2]] == ["schema_change", "param_change"]
    report = svc.why("churn@production", at=at(9))
    markdown = why_markdown(report)
    assert "# Incident: churn v2" in markdown and "schema_change" in markdown and "learning_rate: 0.1 → 0.01" in markdown
    assert "[r2](http://mlflow.test/r2)" in markdown
    assert markdown.index("schema_change") < markdown.index("param_change")
    graph = mermaid(report.lineage)
    assert graph.startswith("flowchart LR") and "-->|used|" in graph and "-->|wrote|" in graph
    picture = dot(report.lineage)
    assert picture.startswith("digraph lineage {") and '"mlflow://test/runs/r2" -> "mlflow://test/models/churn/versions/2"' in picture
    page = render_why(report, "html")
    assert "<table>" in page and "<a href='http://mlflow.test/r2'>r2</a>" in page and "<script" not in page
