"""The MLflow ingestor against a real ``mlflow server`` on loopback, runs created with the real client."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from ingest.base import IngestReport
from ingest.mlflow import MlflowConfig, MlflowIngestor
from memory.entities import SourceState
from memory.errors import InvalidConfig, NotFound, SourceUnavailable
from memory.service import MemoryService
from tests.ingest.mlflow.builders import build_churn_experiment, log_run

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "mlflow_records.json"


def ingest(service: MemoryService, uri: str, experiments: list[str], registry: bool = False) -> IngestReport:
    config = {"tracking_uri": uri, "experiments": tuple(experiments), "registry": registry, "checkpoint_every": 2}
    return service.ingest(service.make_ingestor("mlflow", config, IngestReport()))


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


# -- golden records ---------------------------------------------------------------------------


def normalise(records: list[dict[str, Any]], ids: dict[str, str], experiment_id: str, instance: str, started_ms: int) -> Any:
    """Replace what differs between runs of the test (ids, server-set times, fingerprints) by stable names."""
    text = json.dumps(records, sort_keys=True)
    for name, run_id in sorted(ids.items()):
        text = text.replace(run_id, f"<run:{name}>")
    text = text.replace(instance, "<server>")
    text = re.sub(r"experiments/%s\b" % experiment_id, "experiments/<exp>", text)
    text = re.sub(r'"experiment_id": "%s"' % experiment_id, '"experiment_id": "<exp>"', text)
    text = re.sub(r'"id": "%s"' % experiment_id, '"id": "<exp>"', text)
    text = re.sub(r'"fingerprint": "[^"]*"', '"fingerprint": "<fp>"', text)
    text = re.sub(r'"artifact_(uri|location)": "[^"]*"', r'"artifact_\1": "<artifacts>"', text)
    data = json.loads(text)

    def scrub(value: Any) -> Any:  # times the server sets itself (registry) are "now"
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", value):
            from datetime import datetime

            if datetime.fromisoformat(value).timestamp() * 1000 >= started_ms - 60_000:
                return "<now>"
        return value

    return scrub(data)


def test_records_match_golden(tmp_path: Path, update_golden: bool) -> None:
    """Every record the ingestor emits for a known experiment and registry (fresh server, fixed content)."""
    import time

    from memory.demo.mlflow_server import MlflowServer

    started_ms = int(time.time() * 1000)
    with MlflowServer(tmp_path / "mlflow") as server:
        client = MlflowClient(server.url)
        built = build_churn_experiment(client, "churn-prediction", registry_model="churn-classifier")
        report = IngestReport()
        ingestor = MlflowIngestor(MlflowConfig(tracking_uri=server.url), report)
        ingestor.check()
        records = [r.model_dump(mode="json") | {"type": type(r).__name__} for r in ingestor.records(SourceState(source_key=ingestor.source_key))]
    got = normalise(records, built["runs"], built["experiment_id"], ingestor.instance, started_ms)
    if update_golden or not GOLDEN.exists():
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not update_golden:
            pytest.fail(f"golden file {GOLDEN} was missing and has been written; check it and re-run")
    assert got == json.loads(GOLDEN.read_text())
    assert report.warning_count == 1 and "non-finite metric value" in report.warnings


# -- incremental behaviour on the shared server -------------------------------------------------


def test_first_ingest_maps_runs_datasets_code_and_registry(service: MemoryService, mlflow_server: Any) -> None:
    client = MlflowClient(mlflow_server.url)
    name, model = unique("churn"), unique("churn-classifier")
    built = build_churn_experiment(client, name, registry_model=model)
    report = ingest(service, mlflow_server.url, [name], registry=True)
    assert report.read >= 7 and report.warning_count == 1

    smoothing = service.show(f"mlflow://{mlflow_server.url.split('//')[1]}/runs/{built['runs']['smoothing']}")
    props = smoothing.node.properties
    assert props["params"]["label_smoothing"] == "0.1"
    assert props["metrics"]["val_auc"] == pytest.approx(0.83)
    assert props["metrics_best"]["val_loss"] == {"value": pytest.approx(0.44), "step": 2}
    assert props["outcome"]["verdict"] == "better" and props["outcome"]["delta"] == pytest.approx(0.03)
    assert props["person"] == "li.wei" and props["git_commit"] == "2" * 40
    kinds = {(e.kind.value, n.kind.value) for e, n in smoothing.neighbours}
    assert {("used", "dataset_version"), ("ran_code", "code_version"), ("by", "person"), ("produced", "model_version")} <= kinds

    failed = service.show(smoothing.node.urn.replace(built["runs"]["smoothing"], built["runs"]["failed"])).node
    assert failed.properties["params"]["api_token"] == "[REDACTED]"
    assert failed.properties["status"] == "FAILED"

    version = f"mlflow://{mlflow_server.url.split('//')[1]}/models/{model}/versions/2"
    view = service.show(version)
    assert view.node.properties["stage"] == "Production" and view.node.properties["aliases"] == ["champion"]
    assert view.node.project == name
    assert {(e.kind, e.payload.get("stage") or e.payload.get("alias")) for e in view.events} >= {("stage", "Production"), ("alias", "champion")}
    lineage = service.lineage(version, direction="up", depth=3)
    # version_of is walked upstream: the model of the version and the dataset of the version it was trained on
    assert {n.kind.value for n in lineage.nodes.values()} == {
        "model_version", "model", "run", "dataset_version", "dataset", "code_version"}

    hits = service.search(service.build_query("smoothed noisy labels for churners", projects=[name], kinds=["run"])).hits
    assert hits[0].source_id == built["runs"]["smoothing"] and hits[0].source == "mlflow"
    assert hits[0].outcome["verdict"] == "better" and "noisy" in hits[0].snippet.lower()
    assert {"noisy", "labels"} <= set(hits[0].highlights)
    oom = service.search(service.build_query("GPU memory blew up", projects=[name], limit=1)).hits
    assert oom[0].source_id == built["runs"]["failed"]
    sweep = service.search(service.build_query("focal loss gamma", projects=[name], kinds=["run"], where="param.gamma >= 1")).hits
    assert sweep[0].group_size == 2


def test_second_ingest_writes_nothing(service: MemoryService, mlflow_server: Any) -> None:
    name = unique("quiet")
    build_churn_experiment(MlflowClient(mlflow_server.url), name)
    first = ingest(service, mlflow_server.url, [name])
    assert first.new > 0 and first.embedded > 0
    before = service.store.dump()
    second = ingest(service, mlflow_server.url, [name])
    assert second.nothing_changed and second.embedded == 0 and second.skipped_unchanged == first.read - 0
    assert service.store.dump()["nodes"] == before["nodes"] and service.store.dump()["edges"] == before["edges"]


def test_only_new_and_changed_runs_are_reread(service: MemoryService, mlflow_server: Any) -> None:
    client = MlflowClient(mlflow_server.url)
    name = unique("incremental")
    built = build_churn_experiment(client, name)
    first = ingest(service, mlflow_server.url, [name])
    client.set_tag(built["runs"]["focal-1"], "mlflow.note.content", "Gamma 1 was the least bad focal setting.")
    log_run(client, built["experiment_id"], "cutmix-tabular", hour=30, metrics={"val_auc": [0.805]}, note="CutMix rows.")
    second = ingest(service, mlflow_server.url, [name])
    assert (second.new, second.changed) == (1, 1)
    assert second.skipped_unchanged == first.read - 1  # every other run was skipped by fingerprint
    assert second.embedded <= 2  # only the changed note and the new run needed new embeddings


def test_deleted_run_becomes_tombstone_and_leaves_search(service: MemoryService, mlflow_server: Any) -> None:
    client = MlflowClient(mlflow_server.url)
    name = unique("deletions")
    built = build_churn_experiment(client, name)
    ingest(service, mlflow_server.url, [name])
    query = service.build_query("out of memory", projects=[name], kinds=["run"], limit=3)
    assert built["runs"]["failed"] in {h.source_id for h in service.search(query).hits}
    client.delete_run(built["runs"]["failed"])
    report = ingest(service, mlflow_server.url, [name])
    assert report.deleted == 1
    assert built["runs"]["failed"] not in {h.source_id for h in service.search(query).hits}
    urn = f"mlflow://{mlflow_server.url.split('//')[1]}/runs/{built['runs']['failed']}"
    with pytest.raises(NotFound):
        service.show(urn)
    assert service.store.get_node(urn, include_deleted=True).deleted


def test_unreachable_server_fails_fast_and_changes_nothing(service: MemoryService) -> None:
    before = service.store.dump()
    with pytest.raises(SourceUnavailable, match="cannot reach the MLflow tracking server"):
        ingest(service, "http://127.0.0.1:9", [])
    assert service.store.dump() == before


def test_unknown_experiment_is_named(service: MemoryService, mlflow_server: Any) -> None:
    with pytest.raises(NotFound, match="no-such-experiment"):
        ingest(service, mlflow_server.url, ["no-such-experiment"])


def test_bad_uri_is_a_config_error(service: MemoryService) -> None:
    with pytest.raises(InvalidConfig, match="not a tracking URI"):
        ingest(service, "churn-server", [])


def test_malformed_run_is_reported_and_skipped(service: MemoryService, mlflow_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One run whose content cannot be mapped is skipped with a warning; the others are ingested."""
    import ingest.mlflow.ingestor as module

    client = MlflowClient(mlflow_server.url)
    name = unique("malformed")
    built = build_churn_experiment(client, name)
    bad_id = built["runs"]["focal-2"]
    real = module.run_records

    def strict(run: Any, *args: Any, **kwargs: Any) -> Any:
        if run.info.run_id == bad_id:
            float(run.data.params["gamma"] + "x")  # the mapping meets a value it cannot parse
        return real(run, *args, **kwargs)

    monkeypatch.setattr(module, "run_records", strict)
    report = ingest(service, mlflow_server.url, [name])
    assert "malformed run skipped" in report.warnings and report.warnings["malformed run skipped"].context == [f"run {bad_id}"]
    assert report.new >= 6
