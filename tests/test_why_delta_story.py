"""The why story on a real Delta table: the pipeline's write is one dataset version seen by three systems.

The feature pipeline writes a real Delta table (``deltalake``) and reports each write as OpenLineage
events whose output carries the table version (version facet) and schema; the training runs log the
table through MLflow's Delta source at the version they read. Delta, OpenLineage and MLflow therefore
name the same versions, and ``xmem why`` walks from the production model to the pipeline run that wrote
the exact table version it trained on — and names the schema change first, the learning rate second.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from deltalake import write_deltalake
from typer.testing import CliRunner

from memory.cli.main import app
from tests.ingest.openlineage.test_replay_and_join import ol_event
from tests.test_why_story import now

pytestmark = pytest.mark.mlflow
runner = CliRunner()
FACET = {"_producer": "https://example.com/tests", "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/X.json"}


def xmem(home: Path, *args: str) -> Any:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return result


def pipeline_write(table: Path, frame: pd.DataFrame, **options: Any) -> list[dict[str, Any]]:
    """Write ``frame`` to the Delta table and report it as OpenLineage events naming the version written."""
    from deltalake import DeltaTable

    run_id, started = str(uuid.uuid4()), now().isoformat().replace("+00:00", "Z")
    write_deltalake(table, frame, **options)
    version = DeltaTable(table).version()
    ended = now().isoformat().replace("+00:00", "Z")
    start = ol_event(run_id, "START", started, "build_churn_features", [("s3://lake", "raw/events")], [("file", str(table))])
    done = ol_event(run_id, "COMPLETE", ended, "build_churn_features", [], [("file", str(table))])
    done["outputs"][0]["facets"] = {
        "version": {**FACET, "datasetVersion": str(version)},
        "schema": {**FACET, "fields": [{"name": c, "type": str(t)} for c, t in frame.dtypes.items()]},
    }
    done["outputs"][0]["outputFacets"] = {"outputStatistics": {**FACET, "rowCount": len(frame)}}
    return [start, done]


def train(experiment_id: str, table: Path, version: int, frame: pd.DataFrame, lr: str, auc: float) -> str:
    import mlflow
    from mlflow.data.delta_dataset_source import DeltaDatasetSource

    with mlflow.start_run(experiment_id=experiment_id) as run:
        source = DeltaDatasetSource(path=str(table), delta_table_version=version)
        mlflow.log_input(mlflow.data.from_pandas(frame, source=source, name="churn-features"), context="training")
        mlflow.log_params({"learning_rate": lr, "num_leaves": "31"})
        mlflow.log_metric("val_auc", auc)
    return run.info.run_id


def test_why_on_a_delta_table_written_by_an_openlineage_pipeline(tmp_path: Path, mlflow_server: Any) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    home, table, events = tmp_path / "home", tmp_path / "lake" / "churn_features", tmp_path / "events"
    events.mkdir()
    client = MlflowClient(mlflow_server.url)
    mlflow.set_tracking_uri(mlflow_server.url)
    experiment = f"delta-why-{uuid.uuid4().hex[:6]}"
    experiment_id = client.create_experiment(experiment)
    model = f"churn-delta-{uuid.uuid4().hex[:6]}"

    # the table exists before the first training set is written (MLflow does not record version 0)
    pipeline_write(table, pd.DataFrame({"user_id": [0], "tenure": [1], "churned": [0]}), mode="error")
    d1 = pd.DataFrame({"user_id": [1, 2, 3], "tenure": [10, 3, 7], "churned": [0, 1, 0]})
    first = pipeline_write(table, d1, mode="overwrite")
    run1 = train(experiment_id, table, 1, d1, "0.1", 0.91)
    client.create_registered_model(model)
    v1 = client.create_model_version(model, f"runs:/{run1}/model", run1)
    client.transition_model_version_stage(model, v1.version, "Production")
    (events / "first.json").write_text(json.dumps(first))
    xmem(home, "ingest", "mlflow", "--tracking-uri", mlflow_server.url, "-e", experiment)
    time.sleep(0.05)

    d2 = pd.DataFrame({"user_id": ["1", "2"], "plan": ["pro", "free"], "churned": [0, 1]})
    second = pipeline_write(table, d2, mode="overwrite", schema_mode="overwrite")
    run2 = train(experiment_id, table, 2, d2, "0.01", 0.84)
    v2 = client.create_model_version(model, f"runs:/{run2}/model", run2)
    client.transition_model_version_stage(model, v2.version, "Production", archive_existing_versions=True)
    (events / "second.json").write_text(json.dumps(second))
    xmem(home, "ingest", "mlflow", "--tracking-uri", mlflow_server.url, "-e", experiment)
    xmem(home, "ingest", "delta", str(table))
    xmem(home, "ingest", "openlineage", str(events))

    report = json.loads(xmem(home, "why", f"{model}@production", "--format", "json").stdout)
    changes = report["diff"]["changes"]
    assert [c["kind"] for c in changes[:2]] == ["schema_change", "param_change"], changes
    assert changes[0]["subject"] == f"dataset://file://{table}"
    assert changes[0]["details"]["schema"]["added"] == ["plan"] and changes[0]["details"]["schema"]["removed"] == ["tenure"]
    assert changes[0]["details"]["rows"] == [3, 2]
    assert (changes[1]["before"], changes[1]["after"]) == ("0.1", "0.01")

    # one node per table version, known to all three systems, written by the pipeline run that reported it
    nodes = {n["urn"]: n for n in report["lineage"]["nodes"]}
    assert f"dataset://file://{table}@2" in nodes, [u for u, n in nodes.items() if n["kind"] == "dataset_version"]
    version = nodes[f"dataset://file://{table}@2"]
    assert {version["system"], *version["also_known_as"]} == {"mlflow", "delta", "openlineage"}
    assert version["operation"] == "WRITE" and version["num_rows"] == 2
    assert version["schema_change"]["added"] == ["plan"] and "user_id" in version["schema_change"]["type_changed"]
    writers = [e["src"] for e in report["lineage"]["edges"] if e["kind"] == "wrote" and e["dst"] == version["urn"]]
    assert len(writers) == 1 and nodes[writers[0]]["kind"] == "job_run" and nodes[writers[0]]["state"] == "COMPLETE"
    assert "dataset://s3://lake/raw/events" in nodes  # and on, to the pipeline's own input
