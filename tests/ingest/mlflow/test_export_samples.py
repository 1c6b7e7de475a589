"""Real MLflow objects from the mlflow-export-import samples, replayed into a real server, then ingested."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from ingest.base import IngestReport
from memory.service import MemoryService


def load_samples(root: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    """Distinct runs by original id and registered models by name; unreadable files are listed, not fatal."""
    runs: dict[str, dict[str, Any]] = {}
    models: dict[str, dict[str, Any]] = {}
    unreadable: list[str] = []
    for path in sorted(root.rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            unreadable.append(str(path.relative_to(root)))
            continue
        mlflow = data.get("mlflow", {}) if isinstance(data, dict) else {}
        if path.name == "run.json" and "info" in mlflow:
            runs.setdefault(mlflow["info"]["run_id"], mlflow)
        elif path.name == "model.json" and "registered_model" in mlflow:
            models.setdefault(mlflow["registered_model"]["name"], mlflow["registered_model"])
    return runs, models, unreadable


def replay(client: MlflowClient, runs: dict[str, dict[str, Any]], models: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Log the exported runs and registry through the real client; returns original run id -> new run id."""
    new_ids: dict[str, str] = {}
    experiments: dict[str, str] = {}
    for old_id, run in sorted(runs.items()):
        info, tags = run["info"], run.get("tags", {})
        name = tags.get("mlflow_export_import.metadata.experiment_name") or f"export-{info['experiment_id']}"
        if name not in experiments:
            experiments[name] = client.get_experiment_by_name(name).experiment_id if client.get_experiment_by_name(name) else client.create_experiment(name)
        kept = {k: v for k, v in tags.items() if not k.startswith("mlflow_export_import") and k != "mlflow.runName"}
        created = client.create_run(experiments[name], start_time=info["start_time"], run_name=info.get("run_name"), tags={
            k: v[:5000] for k, v in kept.items()
        })
        metrics = [Metric(k, p["value"], p["timestamp"], p["step"]) for k, points in run.get("metrics", {}).items() for p in points]
        params = [Param(k, str(v)[:6000]) for k, v in run.get("params", {}).items()]
        for start in range(0, max(len(params), len(metrics), 1), 100):
            client.log_batch(created.info.run_id, metrics=metrics[start:start + 100], params=params[start:start + 100])
        client.set_terminated(created.info.run_id, status=info["status"], end_time=info.get("end_time"))
        new_ids[old_id] = created.info.run_id
    for name, model in sorted(models.items()):
        client.create_registered_model(name, description=model.get("description") or None)
        versions = sorted(model.get("versions") or model.get("latest_versions") or [], key=lambda v: int(v["version"]))
        for version in versions:
            run_id = new_ids.get(version.get("run_id", ""))
            # local artifact paths of the exporting server do not exist here: point at the replayed run instead
            source = f"runs:/{run_id}/model" if run_id else f"s3://exported-models/{name}/{version['version']}"
            created = client.create_model_version(name, source, run_id=run_id, description=version.get("description") or None)
            if version.get("current_stage") not in (None, "None"):
                client.transition_model_version_stage(name, created.version, version["current_stage"])
            version["_new_version"] = created.version
        for alias in model.get("aliases") or []:
            match = next((v for v in versions if str(v["version"]) == str(alias["version"])), None)
            if match is not None:
                client.set_registered_model_alias(name, alias["alias"], match["_new_version"])
    return new_ids


def test_exported_real_runs_and_registry_ingest_faithfully(
    corpora: Path, tmp_path: Path, service: MemoryService
) -> None:
    from memory.demo.mlflow_server import MlflowServer

    root = corpora / "mlflow-export-import-samples" / "samples"
    runs, models, unreadable = load_samples(root)
    assert unreadable == ["oss_mlflow/bulk/experiments/2/experiment.json"]  # malformed upstream, as documented
    assert len(runs) >= 15 and len(models) >= 5
    with MlflowServer(tmp_path / "mlflow") as server:
        new_ids = replay(MlflowClient(server.url), runs, models)
        report = service.ingest(service.make_ingestor("mlflow", {"tracking_uri": server.url}, IngestReport()))
        instance = server.url.split("//")[1]

    assert report.read == len(runs) + sum(1 + len(m.get("versions") or m.get("latest_versions") or []) for m in models.values())
    for old_id, run in runs.items():
        node = service.show(f"mlflow://{instance}/runs/{new_ids[old_id]}").node
        assert node.properties["params"] == {k: str(v)[:6000] for k, v in run.get("params", {}).items()}
        for key, points in run.get("metrics", {}).items():
            latest = max(points, key=lambda p: (p["step"], p["timestamp"]))["value"]
            if math.isfinite(latest):
                assert node.properties["metrics"][key] == pytest.approx(latest), (old_id, key)
        assert node.properties["status"] == run["info"]["status"]
    automl = max(runs.values(), key=lambda r: len(r.get("params", {})))
    assert len(automl["params"]) >= 50  # the AutoML pipeline run keeps every one of its params

    for name, model in models.items():
        versions = model.get("versions") or model.get("latest_versions") or []
        for version in versions:
            node = service.show(f"mlflow://{instance}/models/{name}/versions/{version['_new_version']}").node
            assert node.properties["stage"] == (version.get("current_stage") or "None")
        aliases = {a["alias"] for a in model.get("aliases") or [] if any(str(v["version"]) == str(a["version"]) for v in versions)}
        if aliases:
            model_node = service.show(f"mlflow://{instance}/models/{name}").node
            assert set(model_node.properties["aliases"]) == aliases

    hits = service.search(service.build_query("wine quality regression with sklearn", kinds=["run"], limit=5)).hits
    assert hits and all(h.source == "mlflow" for h in hits)
