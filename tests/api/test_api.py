"""The HTTP API over a real memory: every result path honours tokens and project visibility."""

from __future__ import annotations

import json
import uuid
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient

from ingest.base import IngestReport
from memory.api import create_app
from memory.service import MemoryService
from memory.settings import Settings
from tests.ingest.mlflow.builders import build_churn_experiment


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: Any, mlflow_server: Any) -> Iterator[dict[str, Any]]:
    """Two projects on one MLflow server sharing a training dataset; one of them is hidden from the token."""
    client = MlflowClient(mlflow_server.url)
    visible, hidden = f"open-{uuid.uuid4().hex[:6]}", f"secret-{uuid.uuid4().hex[:6]}"
    built = {name: build_churn_experiment(client, name) for name in (visible, hidden)}
    settings = Settings(home=tmp_path_factory.mktemp("api-home"))
    service = MemoryService(settings, embedder=embedder)
    for name in (visible, hidden):
        config = {"tracking_uri": mlflow_server.url, "experiments": (name,), "registry": False}
        service.ingest(service.make_ingestor("mlflow", config, IngestReport()))
    reader, _ = service.create_token("reader", ["read"], [visible])
    admin, _ = service.create_token("root", ["admin"], None)
    revoked, stored = service.create_token("old", ["read"], None)
    service.revoke_token(stored.id)
    app = create_app(settings, service=service)
    instance = mlflow_server.url.split("//")[1]
    with TestClient(app) as http:
        yield {"http": http, "visible": visible, "hidden": hidden, "built": built, "reader": reader, "admin": admin,
               "revoked": revoked, "instance": instance, "service": service}
    service.close()


def get(world: dict[str, Any], path: str, token: str | None = "reader", **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {world[token]}"} if token else {}
    return world["http"].get(path, params=params, headers=headers)


def run_urn(world: dict[str, Any], project: str, run: str) -> str:
    return f"mlflow://{world['instance']}/runs/{world['built'][project]['runs'][run]}"


def test_search_sees_only_visible_projects(world: dict[str, Any]) -> None:
    response = get(world, "/search", q="label smoothing noisy churn labels", limit=50, group="false")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] > 0 and {h["project"] for h in body["data"]} <= {world["visible"], None}
    assert world["hidden"] not in response.text  # not in hits, snippets or group members
    admin = get(world, "/search", token="admin", q="label smoothing noisy churn labels", limit=50, group="false").json()
    assert world["hidden"] in {h["project"] for h in admin["data"]}


def test_hidden_node_is_indistinguishable_from_a_missing_one(world: dict[str, Any]) -> None:
    hidden = get(world, f"/nodes/{quote(run_urn(world, world['hidden'], 'smoothing'), safe='')}")
    missing = get(world, "/nodes/" + quote(f"mlflow://{world['instance']}/runs/does-not-exist", safe=""))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")
    assert world["hidden"] not in hidden.text


def test_neighbours_and_lineage_drop_hidden_nodes(world: dict[str, Any]) -> None:
    node = get(world, f"/nodes/{quote(run_urn(world, world['visible'], 'smoothing'), safe='')}").json()
    dataset = next(n["node"]["urn"] for n in node["neighbours"] if n["node"]["kind"] == "dataset_version")
    shared = get(world, f"/nodes/{quote(dataset, safe='')}")
    assert shared.status_code == 200 and world["hidden"] not in shared.text
    down = get(world, f"/lineage/{quote(dataset, safe='')}", direction="down", depth=3)
    assert down.status_code == 200 and world["hidden"] not in down.text
    runs = {n["urn"] for n in down.json()["nodes"] if n["kind"] == "run"}
    assert run_urn(world, world["visible"], "smoothing") in runs
    everything = get(world, f"/lineage/{quote(dataset, safe='')}", token="admin", direction="down", depth=3).json()
    assert run_urn(world, world["hidden"], "smoothing") in {n["urn"] for n in everything["nodes"]}


@pytest.mark.parametrize("token", [None, "revoked", "garbage"])
def test_missing_bad_or_revoked_tokens_get_401(world: dict[str, Any], token: str | None) -> None:
    world["garbage"] = "xmem_nope_nope"
    response = get(world, "/search", token=token, q="anything")
    assert response.status_code == 401 and response.json()["title"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_malformed_filter_is_400_with_position(world: dict[str, Any]) -> None:
    response = get(world, "/search", q="x", where="metric.val_auc >> 1")
    assert response.status_code == 400
    problem = response.json()
    assert problem["position"] == 16 and "position 17" in problem["detail"]


def test_paging_with_opaque_tokens(world: dict[str, Any]) -> None:
    seen: list[str] = []
    token = None
    for _ in range(10):
        params: dict[str, Any] = {"q": "churn", "limit": 3, "group": "false"}
        if token:
            params["page_token"] = token
        body = get(world, "/search", **params).json()
        seen += [h["urn"] for h in body["data"]]
        token = body["next_page_token"]
        if not token:
            break
    assert len(seen) == len(set(seen)) > 3
    assert get(world, "/search", q="churn", page_token="!!").status_code == 400


def test_health_readiness_and_openapi(world: dict[str, Any]) -> None:
    assert world["http"].get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = world["http"].get("/readyz").json()
    assert ready["status"] == "ok" and set(ready["checks"]) == {"graph_store", "search_index"}
    spec = world["http"].get("/openapi.json").json()
    assert {"/search", "/nodes/{urn}", "/lineage/{urn}", "/healthz", "/readyz"} <= set(spec["paths"])
    assert json.dumps(spec).count("HitPublic") > 0


def test_ask_shows_parsed_filters_and_summarises_only_visible_work(world: dict[str, Any]) -> None:
    question = f"has anyone tried label smoothing on {world['visible']} since March 2026, and did it beat the baseline?"
    response = world["http"].post("/ask", json={"question": question}, headers={"Authorization": f"Bearer {world['reader']}"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["parsed"]["intent"] == "search" and answer["parsed"]["text"] == "label smoothing"
    assert answer["parsed"]["projects"] == [world["visible"]] and answer["parsed"]["asks_outcome"] is True
    assert f"project = {world['visible']}" in answer["parsed"]["chips"]
    assert "beat the baseline" in answer["summary"] and answer["hits"][0]["title"] == "label-smoothing-0.1"
    # the hidden project is not even a word the parser knows for this token
    probe = world["http"].post("/ask", json={"question": f"failed runs in {world['hidden']}"},
                               headers={"Authorization": f"Bearer {world['reader']}"}).json()
    assert probe["parsed"]["projects"] == [] and world["hidden"] not in json.dumps(probe["hits"])
    assert probe["summary"].startswith("Nobody seems to have tried")  # only the caller's own words are echoed
    empty = world["http"].post("/ask", json={"question": ""}, headers={"Authorization": f"Bearer {world['reader']}"})
    assert empty.status_code == 400
