"""Ingest in two phases: graph + BM25 first (searchable at once), vectors from a resumable backlog."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from memory.cli.main import app
from memory.service import MemoryService
from memory.settings import Settings

runner = CliRunner()
SWEEPS = {
    "label smoothing": "Label smoothing of the churn targets, epsilon swept.",
    "focal loss": "Focal loss for the rare churners, gamma swept.",
    "mixup": "Mixup augmentation of tabular rows, alpha swept.",
    "target encoding": "Target encoding of the plan and region columns, smoothing swept.",
}
TRIALS = 6


@pytest.fixture(scope="module")
def sweeps(mlflow_server: Any) -> dict[str, Any]:
    """Four sweeps of six trials: the trials differ by params, seed and metrics, not by meaning."""
    client = MlflowClient(mlflow_server.url)
    name = f"sweeps-{uuid.uuid4().hex[:6]}"
    experiment = client.create_experiment(name, tags={"primary_metric": "val_auc"})
    for s, (idea, note) in enumerate(SWEEPS.items()):
        for trial in range(TRIALS):
            run = client.create_run(experiment, start_time=1_770_000_000_000 + (s * TRIALS + trial) * 60_000,
                                    run_name=f"{idea} trial {trial}",
                                    tags={"mlflow.note.content": f"{note} Trial {trial} of {TRIALS}, seed {1000 + trial}."})
            client.log_batch(run.info.run_id, metrics=[Metric("val_auc", 0.70 + trial / 100 + s / 50, 0, 0)],
                             params=[Param("seed", str(1000 + trial)), Param("strength", str(0.05 * (trial + 1)))])
            client.set_terminated(run.info.run_id)
    return {"uri": mlflow_server.url, "experiment": name, "runs": len(SWEEPS) * TRIALS}


def xmem(home: Path, *args: str) -> Any:
    return runner.invoke(app, ["--home", str(home), *args])


def stats(home: Path) -> dict[str, Any]:
    result = xmem(home, "stats", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_deferred_vectors_are_searchable_by_bm25_then_reindex_pending_embeds_them(tmp_path: Path, sweeps: dict[str, Any]) -> None:
    home = tmp_path / "xmem"
    ingested = xmem(home, "ingest", "mlflow", "--tracking-uri", sweeps["uri"], "-e", sweeps["experiment"], "--no-registry", "--defer-vectors")
    assert ingested.exit_code == 0, ingested.output
    assert "vectors pending" in ingested.output and "reindex --pending" in ingested.output
    before = stats(home)
    assert before["indexed_documents"] >= sweeps["runs"] and before["index_backlog"] == 0
    assert before["vectors_pending"] == before["indexed_documents"] and before["vector_model"] == "all-MiniLM-L6-v2+int8"

    found = json.loads(xmem(home, "search", "mixup trial", "-p", sweeps["experiment"], "--json").stdout)
    assert found["hits"] and found["hits"][0]["title"].startswith("mixup trial")
    assert all(h["vector_rank"] is None for h in found["hits"])  # BM25 alone so far

    drained = xmem(home, "reindex", "--pending")
    assert drained.exit_code == 0 and "every document has its vector" in drained.output, drained.output
    assert stats(home)["vectors_pending"] == 0
    hybrid = json.loads(xmem(home, "search", "blending training rows together", "-p", sweeps["experiment"], "--json").stdout)
    assert any(h["vector_rank"] is not None for h in hybrid["hits"])
    assert hybrid["hits"][0]["title"].startswith("mixup")  # found by meaning: no word of the question is in its name


def test_one_ingest_embeds_each_idea_once_and_reports_both_phases(tmp_path: Path, sweeps: dict[str, Any]) -> None:
    home = tmp_path / "xmem"
    ingested = xmem(home, "ingest", "mlflow", "--tracking-uri", sweeps["uri"], "-e", sweeps["experiment"], "--no-registry")
    assert ingested.exit_code == 0, ingested.output
    figures = stats(home)
    assert figures["vectors_pending"] == 0
    report = next(s["last_report"] for s in figures["sources"] if s["source"].startswith("mlflow"))
    assert 0 < report["searchable_seconds"] <= report["seconds"]
    # 24 trials of 4 sweeps: numbers are not embedded, so each sweep's trials share one text
    # (+ the project's own document)
    assert report["embedded"] == len(SWEEPS) + 1, report
    assert report["indexed"] == sweeps["runs"] + 1


def test_the_api_server_embeds_a_backlog_left_by_a_deferred_ingest(tmp_path: Path, sweeps: dict[str, Any],
                                                                   embedder: Any) -> None:
    from fastapi.testclient import TestClient

    from memory.api.app import create_app

    home = tmp_path / "xmem"
    assert xmem(home, "ingest", "mlflow", "--tracking-uri", sweeps["uri"], "-e", sweeps["experiment"], "--no-registry",
                "--defer-vectors").exit_code == 0
    settings = Settings(home=home, api_allow_anonymous=True)
    service = MemoryService(settings, embedder=embedder)
    try:
        assert service.vector_backlog() > 0
        with TestClient(create_app(settings, service=service)) as client:
            assert client.get("/search", params={"q": "focal loss"}).status_code == 200  # answers meanwhile
            deadline = time.monotonic() + 120
            while service.vector_backlog() and time.monotonic() < deadline:
                time.sleep(0.2)
        assert service.vector_backlog() == 0
    finally:
        service.close()
