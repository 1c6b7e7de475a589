"""``POST /api/v1/lineage``: scopes, validation errors as problem+json, size limits, the real
openlineage-python client over a real uvicorn server, and every OpenLineage test fixture."""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from ingest.openlineage.ingestor import _json_items
from memory.api import create_app
from memory.demo.mlflow_server import free_port
from memory.service import MemoryService
from memory.settings import Settings

URL = "/api/v1/lineage"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[dict[str, Any]]:
    settings = Settings(home=tmp_path_factory.mktemp("receiver"), lineage_max_body_bytes=64 * 1024)
    service = MemoryService(settings, embedder=embedder)
    ingest_token, _ = service.create_token("airflow", ["ingest"], None)
    read_token, _ = service.create_token("reader", ["read"], None)
    app = create_app(settings, service=service)
    with TestClient(app) as client:
        yield {"client": client, "service": service, "app": app, "ingest": ingest_token, "read": read_token}
    service.close()


def post(world: dict[str, Any], body: Any, token: str | None = "ingest", **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {world[token]}"} if token else {}
    if isinstance(body, (bytes, str)):
        return world["client"].post(URL, content=body, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
    return world["client"].post(URL, json=body, headers=headers, **kwargs)


def run_event(state: str = "START", run_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "eventType": state,
        "eventTime": datetime.now(timezone.utc).isoformat(),
        "producer": "https://example.com/receiver-test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id or str(uuid.uuid4())},
        "job": {"namespace": "receiver", "name": "daily_orders"},
        "inputs": [{"namespace": "postgres://db:5432", "name": "shop.public.orders"}],
        **extra,
    }


def test_accepts_a_run_event_with_an_ingest_token(world: dict[str, Any]) -> None:
    event = run_event()
    response = post(world, event)
    assert response.status_code == 201, response.text
    assert response.json() == {"accepted": 1, "new_events": 1, "nodes_written": 3, "edges_written": 2}
    node = world["service"].store.get_node(f"openlineage-run://{event['run']['runId']}")
    assert node.properties["state"] == "START"
    again = post(world, event)  # idempotent
    assert again.status_code == 201 and again.json()["new_events"] == 0 and again.json()["nodes_written"] == 0


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("read", 403)])
def test_needs_the_ingest_scope(world: dict[str, Any], token: str | None, status: int) -> None:
    response = post(world, run_event(), token=token)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_anonymous_senders_only_where_anonymous_access_is_allowed(tmp_path: Path, embedder: Any) -> None:
    settings = Settings(home=tmp_path / "anon", api_allow_anonymous=True)
    with MemoryService(settings, embedder=embedder) as service, TestClient(create_app(settings, service=service)) as client:
        assert client.post(URL, json=run_event()).status_code == 201


@pytest.mark.parametrize(
    ("mutate", "detail"),
    [
        (lambda e: e["run"].update(runId="x"), "/run/runId: 'x' is not a 'uuid'"),
        (lambda e: e.update(eventType="DONE"), "/eventType: 'DONE' is not one of"),
        (lambda e: e.update(eventTime="yesterday"), "/eventTime: 'yesterday' is not a 'date-time'"),
        (lambda e: e["job"].pop("namespace"), "/job: 'namespace' is a required property"),
        (lambda e: e["inputs"][0].update(name=7), "/inputs/0/name: 7 is not of type 'string'"),
        (lambda e: e["job"].update(name="{{ any(result) }}"), "/job/name: '{{ any(result) }}' is a template placeholder"),
    ],
)
def test_invalid_events_get_400_with_the_json_path(world: dict[str, Any], mutate: Any, detail: str) -> None:
    event = run_event()
    mutate(event)
    before = world["service"].store.dump()
    response = post(world, event)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(detail), response.json()
    assert world["service"].store.dump() == before


def test_a_list_is_all_or_nothing_and_bad_json_is_400(world: dict[str, Any]) -> None:
    good, bad = run_event(), run_event()
    bad["run"]["runId"] = "nope"
    response = post(world, [good, bad])
    assert response.status_code == 400 and response.json()["detail"].startswith("request[1]: /run/runId")
    assert world["service"].store.get_nodes([f"openlineage-run://{good['run']['runId']}"]) == {}
    assert post(world, b'{"eventType": ', headers={"Content-Type": "application/json"}).status_code == 400
    assert post(world, []).status_code == 400


def test_oversized_bodies_get_413_and_gzip_is_read(world: dict[str, Any]) -> None:
    big = run_event(job={"namespace": "receiver", "name": "x" * 70_000})
    response = post(world, big)
    assert response.status_code == 413 and "65,536 bytes" in response.json()["detail"]
    bomb = gzip.compress(json.dumps(big).encode())
    assert len(bomb) < 64 * 1024
    assert post(world, bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}).status_code == 413
    small = gzip.compress(json.dumps(run_event()).encode())
    assert post(world, small, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}).status_code == 201


def test_every_openlineage_test_fixture_is_accepted_or_refused_cleanly(world: dict[str, Any], corpora: Path) -> None:
    """The 786 events of the integration fixtures (templates, partial matchers, invalid ones): 201 or 400, never 5xx."""
    root = corpora / "openlineage-test-events"
    events = []
    for path in sorted(root.rglob("*.json")):
        events += [item for _, item in _json_items(path.read_text())]
    assert len(events) >= 786
    statuses: Counter[int] = Counter()
    for event in events:
        response = post(world, event)
        statuses[response.status_code] += 1
        assert response.status_code in (201, 400), (response.status_code, response.text[:300])
        if response.status_code == 400:
            assert response.json()["detail"]
    assert statuses[201] >= 16 and statuses[400] >= 700, statuses


@pytest.fixture(scope="module")
def live_server(world: dict[str, Any]) -> Iterator[str]:
    """The same app served by a real uvicorn on loopback."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(world["app"], host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_openlineage_python_client_delivers_events(world: dict[str, Any], live_server: str) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run, schema_dataset
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

    def client(token: str, compression: HttpCompression | None = None) -> OpenLineageClient:
        config = HttpConfig(url=live_server, auth=ApiKeyTokenProvider({"apiKey": token}), compression=compression)
        return OpenLineageClient(transport=HttpTransport(config))

    run_id = str(uuid.uuid4())
    job = Job(namespace="airflow", name="nightly_features.build")
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="user_id", type="BIGINT")])
    inputs = [InputDataset(namespace="s3://Lake", name="raw/clicks/")]
    outputs = [OutputDataset(namespace="s3://lake", name="features/churn.parquet", facets={"schema": schema})]
    now = datetime.now(timezone.utc)
    sender = client(world["ingest"])
    sender.emit(RunEvent(eventType=RunState.START, eventTime=now.isoformat(), run=Run(runId=run_id), job=job,
                         producer="https://example.com/tests", inputs=inputs, outputs=outputs))
    error = error_message_run.ErrorMessageRunFacet(message="disk full", programmingLanguage="python")
    client(world["ingest"], HttpCompression.GZIP).emit(RunEvent(
        eventType=RunState.FAIL, eventTime=now.isoformat(), run=Run(runId=run_id, facets={"errorMessage": error}),
        job=job, producer="https://example.com/tests"))
    node = world["service"].store.get_node(f"openlineage-run://{run_id}")
    assert node.properties["state"] == "FAIL" and node.properties["error_message"] == "disk full"
    edges = {(e.kind.value, e.dst) for e in world["service"].store.list_edges(node.urn)}
    assert ("read", "dataset://s3://lake/raw/clicks") in edges and ("wrote", "dataset://s3://lake/features/churn.parquet") in edges
    # the client surfaces a refused token as an HTTP error
    with pytest.raises(Exception, match="403"):
        client(world["read"]).emit(RunEvent(eventType=RunState.COMPLETE, eventTime=now.isoformat(), run=Run(runId=run_id),
                                            job=job, producer="https://example.com/tests"))
