"""Issue 6's story through the real clients: a production model fails after the pipeline changed its data.

v1 is trained on d1 (logged by MLflow with its source URI) and promoted to Production; the pipeline that
writes that dataset (OpenLineage events with a schema facet) writes d2 with a changed schema; v2 is
trained on d2 with another learning rate, its evaluation drops, and it is promoted. ``xmem why``,
``xmem diff`` and the API must name the schema change first and the param change second.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from memory.api import create_app
from memory.cli.main import app
from memory.service import MemoryService
from memory.settings import Settings
from tests.ingest.openlineage.test_replay_and_join import ol_event

runner = CliRunner()
pytestmark = pytest.mark.mlflow
DATASET = "s3://lake/churn/features.parquet"


def xmem(home: Path, *args: str) -> Any:
    return runner.invoke(app, ["--home", str(home), *args])


def now() -> datetime:
    return datetime.now(timezone.utc)


def pipeline_run(at: datetime, schema: list[tuple[str, str]], rows: int) -> list[dict[str, Any]]:
    """One run of the job that writes the training dataset: START, then COMPLETE with schema and row count."""
    run_id, stamp = str(uuid.uuid4()), at.isoformat().replace("+00:00", "Z")
    start = ol_event(run_id, "START", stamp, "build_churn_features", [("s3://lake", "raw/events")], [("s3://lake", "churn/features.parquet")])
    done = ol_event(run_id, "COMPLETE", stamp, "build_churn_features", [], [("s3://lake", "churn/features.parquet")])
    facet = {"_producer": "https://example.com/tests", "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/X.json"}
    done["outputs"][0]["facets"] = {"schema": {**facet, "fields": [{"name": n, "type": t} for n, t in schema]}}
    done["outputs"][0]["outputFacets"] = {"outputStatistics": {**facet, "rowCount": rows}}
    return [start, done]


def train(client: Any, experiment_id: str, frame: Any, lr: str, auc: float) -> str:
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_input(mlflow.data.from_pandas(frame, source=DATASET, name="churn-features"), context="training")
        mlflow.log_params({"learning_rate": lr, "num_leaves": "31"})
        mlflow.log_metric("val_auc", auc)
    return run.info.run_id


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, mlflow_server: Any) -> Iterator[dict[str, Any]]:
    import mlflow
    import pandas as pd
    from mlflow.tracking import MlflowClient

    home = tmp_path_factory.mktemp("why-home")
    events_dir = tmp_path_factory.mktemp("why-events")
    client = MlflowClient(mlflow_server.url)
    mlflow.set_tracking_uri(mlflow_server.url)
    model, single = f"churn-{uuid.uuid4().hex[:6]}", f"lonely-{uuid.uuid4().hex[:6]}"
    experiment = f"why-{uuid.uuid4().hex[:6]}"
    experiment_id = client.create_experiment(experiment, tags={"primary_metric": "val_auc"})

    def ingest(events: list[dict[str, Any]] | None = None) -> None:
        assert xmem(home, "ingest", "mlflow", "--tracking-uri", mlflow_server.url, "-e", experiment).exit_code == 0
        if events:
            path = events_dir / f"{uuid.uuid4().hex}.json"
            path.write_text(json.dumps(events))
            result = xmem(home, "ingest", "openlineage", str(path))
            assert result.exit_code == 0, result.output

    d1 = pd.DataFrame({"user_id": [1, 2, 3], "tenure": [10, 3, 7], "churned": [0, 1, 0]})
    first_write = pipeline_run(now(), [("user_id", "long"), ("tenure", "long"), ("churned", "long")], 3)
    time.sleep(0.05)
    run1 = train(client, experiment_id, d1, "0.1", 0.91)
    client.create_registered_model(model)
    v1 = client.create_model_version(model, f"runs:/{run1}/model", run1)
    client.transition_model_version_stage(model, v1.version, "Production")
    lonely_run = train(client, experiment_id, d1, "0.2", 0.5)
    client.create_registered_model(single)
    only = client.create_model_version(single, f"runs:/{lonely_run}/model", lonely_run)
    client.transition_model_version_stage(single, only.version, "Production")
    ingest(first_write)
    time.sleep(0.05)
    before_v2 = now()
    time.sleep(0.05)

    d2 = pd.DataFrame({"user_id": ["1", "2"], "plan": ["pro", "free"], "churned": [0, 1]})
    second_write = pipeline_run(now(), [("user_id", "string"), ("plan", "string"), ("churned", "long")], 2)
    time.sleep(0.05)
    run2 = train(client, experiment_id, d2, "0.01", 0.84)
    v2 = client.create_model_version(model, f"runs:/{run2}/model", run2)
    client.transition_model_version_stage(model, v2.version, "Production", archive_existing_versions=True)
    ingest(second_write)
    instance = mlflow_server.url.split("//")[1]
    yield {"home": home, "model": model, "single": single, "before_v2": before_v2, "run1": run1, "run2": run2,
           "v1": f"mlflow://{instance}/models/{model}/versions/{v1.version}",
           "v2": f"mlflow://{instance}/models/{model}/versions/{v2.version}", "experiment": experiment}


def why_json(story: dict[str, Any], *args: str) -> dict[str, Any]:
    result = xmem(story["home"], "why", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_why_names_the_schema_change_then_the_learning_rate(story: dict[str, Any]) -> None:
    report = why_json(story, f"{story['model']}@production")
    assert report["version"]["urn"] == story["v2"] and report["label"] == "production"
    assert report["baseline"].startswith(f"previous-good: {story['model']} v1 held 'production'")
    changes = report["diff"]["changes"]
    assert [c["kind"] for c in changes[:2]] == ["schema_change", "param_change"], changes
    schema = changes[0]["details"]["schema"]
    assert schema == {"added": ["plan"], "removed": ["tenure"], "type_changed": {"user_id": ["long", "string"]}}
    assert changes[0]["details"]["rows"] == [3, 2] and changes[0]["subject"] == "dataset://" + DATASET
    assert (changes[1]["subject"], changes[1]["before"], changes[1]["after"]) == ("learning_rate", "0.1", "0.01")
    assert changes[0]["reason"] and changes[1]["reason"]
    assert {c["kind"] for c in changes} <= {"schema_change", "param_change", "code_change"}
    auc = next(m for m in report["diff"]["metrics"] if m["name"] == "val_auc")
    assert auc["worse"] and auc["before"] == 0.91 and auc["after"] == 0.84
    assert story["run1"] in report["diff"]["baseline_run"]["urn"] and story["run2"] in report["diff"]["current_run"]["urn"]
    # the lineage reaches the pipeline run that wrote the training data and that run's own input
    kinds = {n["kind"] for n in report["lineage"]["nodes"]}
    assert {"run", "dataset_version", "dataset", "job_run"} <= kinds
    assert "dataset://s3://lake/raw/events" in {n["urn"] for n in report["lineage"]["nodes"]}


def test_why_at_a_moment_before_the_promotion_shows_v1(story: dict[str, Any]) -> None:
    report = why_json(story, f"{story['model']}@production", "--at", story["before_v2"].isoformat())
    assert report["version"]["urn"] == story["v1"]
    runs = {n["urn"].rsplit("/", 1)[-1] for n in report["lineage"]["nodes"] if n["kind"] == "run"}
    assert runs == {story["run1"]}
    assert report["diff"] is None and "no previous-good version" in report["notes"][0]


def test_why_text_markdown_and_pictures(story: dict[str, Any]) -> None:
    home, ref = story["home"], f"{story['model']}@production"
    text = xmem(home, "why", ref)
    assert text.exit_code == 0, text.output
    assert "schema_change" in text.output and text.output.index("schema_change") < text.output.index("param_change")
    assert "build_churn_features" in text.output and "previous-good" in text.output
    markdown = xmem(home, "why", ref, "--format", "markdown").stdout
    assert markdown.startswith(f"# Incident: {story['model']} v2")
    assert "removed tenure" in markdown and "learning_rate: 0.1 → 0.01" in markdown
    assert f"/#/experiments/" in markdown and story["run2"] in markdown  # links to the MLflow run page
    mermaid = xmem(home, "why", ref, "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR") and "-->|wrote|" in mermaid and "build_churn_features" in mermaid
    dot = xmem(home, "why", ref, "--format", "dot").stdout
    assert dot.startswith("digraph lineage {") and f'"{story["v2"]}"' in dot
    html = xmem(home, "why", ref, "--format", "html").stdout
    assert "<table>" in html and "schema_change" in html
    diff = xmem(home, "diff", f"{story['model']}/v1", f"{story['model']}/v2", "--format", "markdown")
    assert diff.exit_code == 0 and diff.stdout.index("schema_change") < diff.stdout.index("param_change")


def test_ask_answers_what_changed_between_two_versions(story: dict[str, Any]) -> None:
    result = xmem(story["home"], "ask", f"what changed between {story['model']}/v1 and {story['model']}/v2?", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["intent"] == "diff"
    notes = answer["notes"]
    assert notes[0].startswith("1. ") and "schema" in notes[0].lower()
    assert any("learning_rate" in note for note in notes[1:])


def test_error_paths_are_clear(story: dict[str, Any]) -> None:
    home = story["home"]
    unknown = xmem(home, "why", "no-such-model@production")
    assert unknown.exit_code == 1 and "no registered model named 'no-such-model'" in unknown.output
    assert "xmem search --kind model" in unknown.output
    lonely = xmem(home, "why", f"{story['single']}@production")
    assert lonely.exit_code == 0 and "no previous-good version" in lonely.output and "--against" in lonely.output
    bad = xmem(home, "why", f"{story['model']}@production", "--format", "pdf")
    assert bad.exit_code == 2 and "unknown --format 'pdf'" in bad.output
    early = xmem(home, "why", f"{story['model']}@production", "--at", "2001-01-01")
    assert early.exit_code == 1 and "held 'production' at 2001-01-01" in early.output


def test_api_serves_the_same_answer_and_hides_other_projects(story: dict[str, Any], embedder: Any) -> None:
    settings = Settings(home=story["home"])
    service = MemoryService(settings, embedder=embedder)
    reader, _ = service.create_token("reader", ["read"], [story["experiment"]])
    outsider, _ = service.create_token("outsider", ["read"], ["another-project"])
    try:
        with TestClient(create_app(settings, service=service)) as http:
            def get(path: str, token: str = reader, **params: Any) -> Any:
                return http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})

            why = get(f"/why/{quote(story['model'] + '@production', safe='')}")
            assert why.status_code == 200, why.text
            body = why.json()
            assert [c["kind"] for c in body["diff"]["changes"][:2]] == ["schema_change", "param_change"]
            assert body["diff"]["baseline"]["urn"] == story["v1"] and body["version"]["urn"] == story["v2"]
            assert body["lineage"]["nodes"] and body["diff"]["current_run"]["url"]
            at = get(f"/why/{quote(story['model'] + '@production', safe='')}", at=story["before_v2"].isoformat())
            assert at.json()["version"]["urn"] == story["v1"]
            markdown = get(f"/why/{quote(story['model'] + '@production', safe='')}", format="markdown")
            assert markdown.headers["content-type"].startswith("text/markdown") and "# Incident:" in markdown.text
            diff = get("/diff", a=f"{story['model']}/v1", b=f"{story['model']}/v2")
            assert diff.status_code == 200 and diff.json()["changes"][0]["kind"] == "schema_change"
            missing = get("/why/nope%40production")
            assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
            assert "xmem search --kind model" in missing.json()["detail"]
            hidden = get(f"/why/{quote(story['model'] + '@production', safe='')}", token=outsider)
            hidden_diff = get("/diff", token=outsider, a=f"{story['model']}/v1", b=f"{story['model']}/v2")
            assert hidden.status_code == hidden_diff.status_code == 404
            assert hidden.json()["detail"].startswith("no registered model named")  # as if it did not exist
            assert get("/diff", a=f"{story['model']}/v1").status_code == 400
    finally:
        service.close()
