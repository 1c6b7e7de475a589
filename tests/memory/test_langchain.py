"""The LangChain retriever over a real memory, through invoke and ainvoke."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda
from mlflow.tracking import MlflowClient

from ingest.base import IngestReport
from memory.entities import Principal, Scope
from memory.langchain import ExperimentMemoryRetriever
from memory.service import MemoryService
from tests.ingest.mlflow.builders import build_churn_experiment


def test_retriever_returns_documents_usable_in_a_chain(service: MemoryService, mlflow_server: Any) -> None:
    name = f"lc-{uuid.uuid4().hex[:6]}"
    built = build_churn_experiment(MlflowClient(mlflow_server.url), name)
    config = {"tracking_uri": mlflow_server.url, "experiments": (name,), "registry": False}
    service.ingest(service.make_ingestor("mlflow", config, IngestReport()))

    retriever = ExperimentMemoryRetriever(service=service, k=3, projects=[name])
    documents = retriever.invoke("smoothed noisy labels")
    assert 1 <= len(documents) <= 3 and all(isinstance(d, Document) for d in documents)
    top = documents[0]
    assert top.metadata["source_id"] == built["runs"]["smoothing"] and top.id == top.metadata["urn"]
    assert "Smoothed targets" in top.page_content and top.metadata["outcome"]["verdict"] == "better"
    assert top.metadata["source_url"].startswith("http://")

    again = asyncio.run(retriever.ainvoke("smoothed noisy labels"))
    assert [d.id for d in again] == [d.id for d in documents]

    chain = retriever | RunnableLambda(lambda docs: "\n".join(d.metadata["title"] for d in docs))
    assert "label-smoothing-0.1" in chain.invoke("smoothed noisy labels")

    failed_only = ExperimentMemoryRetriever(service=service, k=5, projects=[name], where="status = FAILED")
    assert {d.metadata["source_id"] for d in failed_only.invoke("anything at all")} == {built["runs"]["failed"]}

    blind = ExperimentMemoryRetriever(
        service=service, projects=[name], principal=Principal(name="other", scopes=frozenset({Scope.read}), projects=frozenset({"x"}))
    )
    assert blind.invoke("smoothed noisy labels") == []
