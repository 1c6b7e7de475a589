"""`ask`: plain questions become the typed query; the answer summarises exactly what the hits say."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from ingest.base import IngestReport
from memory.errors import NotFound
from memory.service import MemoryService
from tests.ingest.mlflow.builders import build_churn_experiment

NOW = datetime(2026, 11, 25, 10, tzinfo=timezone.utc)


@pytest.fixture
def churn(service: MemoryService, mlflow_server: Any) -> dict[str, Any]:
    name, model = f"ask-{uuid.uuid4().hex[:6]}", f"ask-model-{uuid.uuid4().hex[:6]}"
    built = build_churn_experiment(MlflowClient(mlflow_server.url), name, registry_model=model)
    config = {"tracking_uri": mlflow_server.url, "experiments": (name,), "registry": True}
    service.ingest(service.make_ingestor("mlflow", config, IngestReport()))
    return {"name": name, "model": model, "instance": mlflow_server.url.split("//")[1], **built}


def test_search_question_is_parsed_and_summarised(service: MemoryService, churn: dict[str, Any]) -> None:
    answer = service.ask(f"has anyone tried label smoothing on {churn['name']} since March, and did it help?", now=NOW)
    assert answer.parsed.intent == "search" and answer.parsed.text == "label smoothing"
    assert answer.parsed.projects == (churn["name"],) and answer.parsed.asks_outcome
    assert answer.hits[0].source_id == churn["runs"]["smoothing"]
    assert answer.summary.startswith("1 run in 1 group in 1 project") and "1 beat the baseline on val_auc (+0.03)" in answer.summary


def test_failed_runs_become_a_status_filter(service: MemoryService, churn: dict[str, Any]) -> None:
    answer = service.ask(f"which runs crashed in {churn['name']}?", now=NOW)
    assert "status = FAILED" in answer.parsed.chips()
    assert {h.source_id for h in answer.hits} == {churn["runs"]["failed"]}


def test_nobody_tried_it_is_said_plainly(service: MemoryService, churn: dict[str, Any]) -> None:
    answer = service.ask(f"did anybody try quantum annealing on {churn['name']}?", now=NOW)
    assert answer.nobody_tried and answer.hits == [] and answer.closest  # nearest attempts, not answers
    assert answer.confidence < 0.5 and answer.coverage < 1.0
    assert answer.summary.startswith("Nobody seems to have tried “quantum annealing” with these filters: ")
    assert all(h.coverage is not None and h.coverage < 1.0 for h in answer.closest)


def test_something_tried_is_found_with_confidence(service: MemoryService, churn: dict[str, Any]) -> None:
    answer = service.ask(f"has anyone tried label smoothing on {churn['name']}?", now=NOW)
    assert not answer.nobody_tried and answer.confidence >= 0.5
    assert answer.hits[0].source_id == churn["runs"]["smoothing"] and answer.hits[0].coverage == 1.0


def test_lineage_question_resolves_model_references(service: MemoryService, churn: dict[str, Any]) -> None:
    answer = service.ask(f"what produced {churn['model']}@champion?", now=NOW)
    assert answer.parsed.intent == "lineage" and answer.lineage is not None
    run = f"mlflow://{churn['instance']}/runs/{churn['runs']['smoothing']}"
    assert run in answer.lineage.nodes
    assert service.resolve_model_ref(f"{churn['model']}/v1").endswith("/versions/1")
    assert service.resolve_model_ref(f"{churn['model']}@production").endswith("/versions/2")
    with pytest.raises(NotFound):
        service.resolve_model_ref(f"{churn['model']}@nonexistent-alias")
