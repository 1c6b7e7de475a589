"""The ``xmem`` CLI through typer's runner, against a real MLflow server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from memory.cli.main import app
from tests.ingest.mlflow.builders import build_churn_experiment

runner = CliRunner()


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, mlflow_server: Any) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("cli-home")
    name, model = f"cli-churn-{uuid.uuid4().hex[:6]}", f"cli-model-{uuid.uuid4().hex[:6]}"
    built = build_churn_experiment(MlflowClient(mlflow_server.url), name, registry_model=model)
    result = runner.invoke(app, ["--home", str(home), "ingest", "mlflow", "--tracking-uri", mlflow_server.url, "-e", name])
    assert result.exit_code == 0, result.output
    instance = mlflow_server.url.split("//")[1]
    return {"home": str(home), "name": name, "built": built, "uri": mlflow_server.url,
            "version": f"mlflow://{instance}/models/{model}/versions/2", "instance": instance}


def xmem(ctx: dict[str, Any], *args: str) -> Any:
    return runner.invoke(app, ["--home", ctx["home"], *args])


def test_ingest_prints_report_and_second_run_says_nothing_changed(ingested: dict[str, Any]) -> None:
    result = xmem(ingested, "ingest", "mlflow", "--tracking-uri", ingested["uri"], "-e", ingested["name"])
    assert result.exit_code == 0
    assert "Ingest report" in result.output and "Nothing changed since the last sync" in result.output


def test_search_json_hits_carry_everything(ingested: dict[str, Any]) -> None:
    result = xmem(ingested, "search", "label smoothing on the churn model", "--project", ingested["name"], "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    top = data["hits"][0]
    assert top["source_id"] == ingested["built"]["runs"]["smoothing"]
    for field in ("urn", "kind", "source", "source_id", "title", "project", "time", "snippet", "outcome", "score"):
        assert top[field] not in (None, ""), field
    assert top["outcome"]["verdict"] == "better"


def test_search_says_when_nothing_matches_everything_asked(ingested: dict[str, Any]) -> None:
    sure = json.loads(xmem(ingested, "search", "label smoothing", "-p", ingested["name"], "--json").stdout)
    assert sure["confidence"] >= 0.5 and sure["hits"][0]["coverage"] == 1.0
    unsure = xmem(ingested, "search", "quantum annealing", "-p", ingested["name"])
    assert unsure.exit_code == 0 and "No result matches all of “quantum annealing”" in unsure.output


def test_search_table_filters_and_where(ingested: dict[str, Any]) -> None:
    result = xmem(ingested, "search", "loss", "-p", ingested["name"], "--kind", "run", "--where", "metric.val_auc < 0.79",
                  "--since", "2026-03-01")
    assert result.exit_code == 0, result.output
    assert "focal-loss-gamma" in result.output and "label-smoothing" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "x", "--where", "metric.val_auc >> 1"], "at position 17"),
        (["search", "x", "--where", "colour = red"], "unknown field 'colour'"),
        (["search", "x", "--since", "last tuesday"], "is not a date"),
        (["show", "mlflow://nowhere/runs/404"], "no node"),
        (["ingest", "mlflow", "--tracking-uri", "http://127.0.0.1:9"], "cannot reach the MLflow tracking server"),
        (["ingest", "mlflow", "--tracking-uri", "not a uri"], "not a tracking URI"),
        (["lineage", "x", "--up", "--down"], "choose one of --up and --down"),
    ],
)
def test_bad_input_is_one_clear_line_and_non_zero(ingested: dict[str, Any], args: list[str], message: str) -> None:
    before = xmem(ingested, "stats", "--json").stdout
    result = xmem(ingested, *args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert json.loads(xmem(ingested, "stats", "--json").stdout)["edges"] == json.loads(before)["edges"]


def test_show_prints_params_metrics_and_neighbours(ingested: dict[str, Any]) -> None:
    urn = f"mlflow://{ingested['instance']}/runs/{ingested['built']['runs']['smoothing']}"
    result = xmem(ingested, "show", urn)
    assert result.exit_code == 0, result.output
    for text in ("label_smoothing", "val_auc", "neighbours", "churn_train", "produced"):
        assert text in result.output


def test_lineage_up_walks_from_model_version_to_data_and_code(ingested: dict[str, Any]) -> None:
    result = xmem(ingested, "lineage", ingested["version"], "--up")
    assert result.exit_code == 0, result.output
    assert "label-smoothing-0.1" in result.output and "churn_train@a1b2c3d4" in result.output and "ran_code" in result.output
    as_json = json.loads(xmem(ingested, "lineage", ingested["version"], "--up", "--json").stdout)
    # version_of is walked upstream too: the model itself, and the dataset of the version trained on
    assert {n["kind"] for n in as_json["nodes"]} == {"model_version", "model", "run", "dataset_version", "dataset", "code_version"}


def test_stats(ingested: dict[str, Any]) -> None:
    data = json.loads(xmem(ingested, "stats", "--json").stdout)
    counts = {(n["kind"], n["source"]): n["count"] for n in data["nodes"]}
    assert counts[("run", "mlflow")] >= 7 and data["indexed_documents"] > 0 and data["index_backlog"] == 0
    assert data["sources"][0]["last_report"]["read"] >= 7
    human = xmem(ingested, "stats").output
    assert "Nodes by kind and source" in human and "mlflow:" in human


def test_sources_lists_mlflow() -> None:
    result = runner.invoke(app, ["sources"])
    assert result.exit_code == 0 and "mlflow" in result.output and "available" in result.output
