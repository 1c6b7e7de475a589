"""Fuzz the API from its own OpenAPI document: no 5xx, no response that violates the schema."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from mlflow.tracking import MlflowClient

from ingest.base import IngestReport
from memory.api import create_app
from memory.service import MemoryService
from memory.settings import Settings
from tests.ingest.mlflow.builders import build_churn_experiment


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory, embedder: Any, mlflow_server: Any) -> Iterator[Any]:
    name = f"fuzz-{uuid.uuid4().hex[:6]}"
    build_churn_experiment(MlflowClient(mlflow_server.url), name)
    app_settings = Settings(home=tmp_path_factory.mktemp("fuzz-home"), api_allow_anonymous=True)
    service = MemoryService(app_settings, embedder=embedder)
    config = {"tracking_uri": mlflow_server.url, "experiments": (name,), "registry": False}
    service.ingest(service.make_ingestor("mlflow", config, IngestReport()))
    yield create_app(app_settings, service=service)
    service.close()


def test_api_never_fails_and_keeps_its_schema(fuzzed_app: Any) -> None:
    """Every operation, ~60 generated requests each, checked by schemathesis' default checks.

    (Driven through Hypothesis directly: the schemathesis pytest plugin does not load under pytest 9.)
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/search", "/nodes/{urn}", "/lineage/{urn}", "/healthz", "/readyz"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate()

        check()
