"""`xmem ingest openlineage` replays files; pipeline lineage joins the experiments of a real MLflow server."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from memory.cli.main import app

runner = CliRunner()
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def xmem(home: Path, *args: str) -> Any:
    return runner.invoke(app, ["--home", str(home), *args])


def ol_event(run_id: str, state: str, at: str, job: str, inputs: list[tuple[str, str]] = (), outputs: list[tuple[str, str]] = (),
             **run_facets: Any) -> dict[str, Any]:
    facet = {"_producer": "https://example.com/tests", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/X.json"}
    return {
        "eventType": state, "eventTime": at, "producer": "https://example.com/tests", "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id, "facets": {k: {**facet, **v} for k, v in run_facets.items()}},
        "job": {"namespace": "airflow-prod", "name": job},
        "inputs": [{"namespace": ns, "name": name} for ns, name in inputs],
        "outputs": [{"namespace": ns, "name": name} for ns, name in outputs],
    }


def test_replay_reports_bad_lines_keeps_good_events_and_is_searchable(tmp_path: Path, corpora: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    shutil.copy(corpora / "marquez" / "docker_at_f7a9643_parent" / "metadata.json", folder / "seed.json")
    failing = str(uuid.uuid4())
    lines = [
        ol_event(failing, "START", "2026-03-02T02:00:00Z", "nightly_feature_job", [("s3://lake", "raw/clicks")],
                 [("s3://lake", "features/churn.parquet")]),
        {**ol_event(str(uuid.uuid4()), "START", "2026-03-02T02:00:00Z", "other"), "run": {"runId": "not-a-uuid"}},
        ol_event(failing, "FAIL", "2026-03-02T02:20:00Z", "nightly_feature_job", errorMessage={
            "message": "java.lang.OutOfMemoryError: Java heap space while joining clicks with sessions",
            "programmingLanguage": "JAVA"}),
    ]
    text = "\n".join(json.dumps(line) for line in lines[:2]) + "\n{not json\n" + json.dumps(lines[2]) + "\n"
    (folder / "nightly.ndjson").write_text(text)
    home = tmp_path / "home"

    result = xmem(home, "ingest", "openlineage", str(folder))
    assert result.exit_code == 1, result.output
    assert f"{folder / 'nightly.ndjson'}:2: /run/runId: 'not-a-uuid' is not a 'uuid'" in result.output
    assert f"{folder / 'nightly.ndjson'}:3: not JSON" in result.output
    assert "2 invalid event(s) skipped" in result.output and "Ingest report" in result.output

    shown = json.loads(xmem(home, "show", f"openlineage-run://{failing}", "--json").stdout)
    assert shown["node"]["properties"]["state"] == "FAIL"
    assert len(shown["events"]) == 2
    stats = json.loads(xmem(home, "stats", "--json").stdout)
    assert {"kind": "job_run", "source": "openlineage", "count": 14} in stats["nodes"]

    again = xmem(home, "ingest", "openlineage", str(folder / "seed.json"))
    assert again.exit_code == 0 and "Nothing changed since the last sync" in again.output

    # plain search: the failing run and its job are the two best answers (they tie closely in the fusion)
    found = json.loads(xmem(home, "search", "why did the nightly feature job fail", "--json").stdout)
    top = {h["urn"]: h for h in found["hits"][:2]}
    assert set(top) == {f"openlineage-run://{failing}", "openlineage://airflow-prod/nightly_feature_job"}, found["hits"][:3]
    assert top[f"openlineage-run://{failing}"]["status"] == "FAILED"
    assert "OutOfMemoryError" in top[f"openlineage-run://{failing}"]["snippet"]
    # the question parser turns "fail" into status = FAILED: the failing run is the answer
    asked = json.loads(xmem(home, "ask", "why did the nightly feature job fail?", "--json").stdout)
    assert asked["hits"][0]["urn"] == f"openlineage-run://{failing}"


def test_show_prints_column_lineage(tmp_path: Path, corpora: Path) -> None:
    folder = corpora / "openlineage-compatibility-tests" / "consumer" / "scenarios" / "CLL" / "events"
    home = tmp_path / "home"
    assert xmem(home, "ingest", "openlineage", str(folder)).exit_code == 0
    result = xmem(home, "show", "openlineage-run://019127df-0850-72bc-b214-b255290588a6")
    assert result.exit_code == 0, result.output
    assert "ident ← cll_source1.a" in result.output and "-wrote->" in result.output


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = xmem(tmp_path / "home", "ingest", "openlineage", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and "no such file or folder" in result.output


@pytest.mark.mlflow
def test_model_lineage_walks_into_the_pipeline_that_wrote_its_training_data(tmp_path: Path, mlflow_server: Any) -> None:
    import mlflow
    import pandas as pd
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server.url)
    experiment = f"join-{uuid.uuid4().hex[:6]}"
    model = f"churn-join-{uuid.uuid4().hex[:6]}"
    experiment_id = client.create_experiment(experiment)
    mlflow.set_tracking_uri(mlflow_server.url)
    frame = pd.DataFrame({"user_id": [1, 2, 3], "churned": [0, 1, 0]})
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_input(mlflow.data.from_pandas(frame, source="S3://Bucket/features/churn.parquet", name="churn-features"),
                         context="training")
        mlflow.log_metric("val_auc", 0.8)
    client.create_registered_model(model)
    version = client.create_model_version(model, f"runs:/{run.info.run_id}/model", run.info.run_id)

    home = tmp_path / "home"
    assert xmem(home, "ingest", "mlflow", "--tracking-uri", mlflow_server.url, "-e", experiment).exit_code == 0
    writer, upstream = str(uuid.uuid4()), str(uuid.uuid4())
    events = [
        ol_event(upstream, "COMPLETE", "2026-03-01T01:00:00Z", "ingest_clicks", [("kafka://broker:9092", "clicks")],
                 [("s3://bucket", "raw/clicks")]),
        ol_event(writer, "START", "2026-03-01T02:00:00Z", "build_churn_features", [("s3://bucket", "raw/clicks")],
                 [("s3a://bucket", "features/churn.parquet")]),
        ol_event(writer, "COMPLETE", "2026-03-01T02:30:00Z", "build_churn_features"),
    ]
    (tmp_path / "events.json").write_text(json.dumps(events))
    assert xmem(home, "ingest", "openlineage", str(tmp_path / "events.json")).exit_code == 0

    instance = mlflow_server.url.split("//")[1]
    version_urn = f"mlflow://{instance}/models/{model}/versions/{version.version}"
    result = xmem(home, "lineage", version_urn, "--up", "--depth", "8", "--json")
    assert result.exit_code == 0, result.output
    graph = json.loads(result.stdout)
    depth = {n["urn"]: n["depth"] for n in graph["nodes"]}
    run_urn = f"mlflow://{instance}/runs/{run.info.run_id}"
    dataset = "dataset://s3://bucket/features/churn.parquet"
    assert depth[run_urn] == 1
    used = next(n for n in graph["nodes"] if n["kind"] == "dataset_version")
    assert used["urn"].startswith(dataset + "@") and depth[used["urn"]] == 2
    assert depth[dataset] == 3
    assert depth[f"openlineage-run://{writer}"] == 4
    assert depth["dataset://s3://bucket/raw/clicks"] == 5
    assert depth[f"openlineage-run://{upstream}"] == 6
    assert depth["dataset://kafka://broker:9092/clicks"] == 7
    edges = {(e["src"], e["kind"], e["dst"]) for e in graph["edges"]}
    assert (f"openlineage-run://{writer}", "wrote", dataset) in edges
    tree = xmem(home, "lineage", version_urn, "--up", "--depth", "8")
    assert "build_churn_features" in tree.output and "ingest_clicks" in tree.output
