"""A chat model (langchain-core's fake chat model, speaking the real interface) can parse and answer."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from mlflow.tracking import MlflowClient

from ingest.base import IngestReport
from memory.errors import InvalidConfig
from memory.langchain import load_chat_model
from memory.service import MemoryService
from memory.settings import Settings
from tests.ingest.mlflow.builders import build_churn_experiment

CURRENT: dict[str, FakeListChatModel] = {}


def chat_model() -> FakeListChatModel:
    """What XMEM_LLM points at in these tests."""
    return CURRENT["model"]


@pytest.fixture
def llm_service(tmp_path: Any, embedder: Any, mlflow_server: Any) -> Any:
    name = f"llm-{uuid.uuid4().hex[:6]}"
    built = build_churn_experiment(MlflowClient(mlflow_server.url), name)
    service = MemoryService(Settings(home=tmp_path / "home", llm=f"{__name__}:chat_model"), embedder=embedder)
    config = {"tracking_uri": mlflow_server.url, "experiments": (name,), "registry": False}
    service.ingest(service.make_ingestor("mlflow", config, IngestReport()))
    urn = f"mlflow://{mlflow_server.url.split('//')[1]}/runs/{built['runs']['smoothing']}"
    yield service, name, urn
    service.close()


def test_chat_model_parses_and_answers_with_checked_citations(llm_service: Any) -> None:
    service, name, urn = llm_service
    parsed_reply = {
        "intent": "search", "text": "label smoothing", "projects": [name, "made-up-project"],
        "conditions": ["metric.val_auc > 0.8", "nonsense >>"], "asks_outcome": True,
    }
    CURRENT["model"] = FakeListChatModel(responses=[
        json.dumps(parsed_reply), f"Yes: smoothing the labels gave +0.03 AUC over the baseline [{urn}].",
    ])
    answer = service.ask("did we try label smoothing on churn, with auc over 0.8?")
    assert answer.parsed.projects == (name,)  # the invented project is dropped
    assert [str(c.field) for c in answer.parsed.conditions] == ["metric.val_auc"]  # the malformed filter too
    assert answer.hits[0].urn == urn
    assert answer.summary == f"Yes: smoothing the labels gave +0.03 AUC over the baseline [{urn}]."


def test_uncited_or_hallucinated_answers_and_unreadable_replies_fall_back(llm_service: Any) -> None:
    service, name, urn = llm_service
    CURRENT["model"] = FakeListChatModel(responses=[
        "I think you want label smoothing", "It worked great [mlflow://elsewhere/runs/made-up].",
    ])
    answer = service.ask(f"has anyone tried label smoothing on {name}?")
    assert answer.parsed.projects == (name,) and answer.parsed.text == "label smoothing"  # deterministic parser
    assert answer.summary.startswith("1 run in 1 group")  # the extractive summary, not the invented citation


def test_bad_import_path_is_a_clear_config_error() -> None:
    with pytest.raises(InvalidConfig, match="cannot load the chat model"):
        load_chat_model("no.such.module:model")
    with pytest.raises(InvalidConfig, match="not a langchain-core BaseChatModel"):
        load_chat_model("json:dumps")
