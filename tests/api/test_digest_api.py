"""GET /digest, GET /similar/{urn}, POST /similar: the service's answers, filtered by the caller's projects."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient

from memory.api import create_app
from memory.digest import parse_week
from memory.service import MemoryService
from memory.settings import Settings


def test_digest_and_similar_over_http(demo_memory: dict[str, Any], demo_service: MemoryService) -> None:
    token, _ = demo_service.create_token("credit-reader", ["read"], ["credit-scoring"])
    settings = Settings(home=demo_memory["home"], api_allow_anonymous=True)
    with TestClient(create_app(settings, service=demo_service)) as client:
        def get(path: str, auth: str | None = None, **params: Any) -> Any:
            return client.get(path, params=params, headers={"Authorization": f"Bearer {auth}"} if auth else {})

        everything = get("/digest", week="2026-W20").json()
        expected = demo_service.digest(*parse_week("2026-W20"))
        assert everything["totals"] == expected.totals and everything["title"] == expected.title
        assert {p["project"] for p in everything["projects"]} == {p.project for p in expected.projects}

        limited = get("/digest", token, week="2026-W20").json()
        assert {p["project"] for p in limited["projects"]} == {"credit-scoring"}
        assert get("/digest", token, week="2026-W20", format="markdown").text.startswith("# Learning digest 2026-W20")
        assert get("/digest", token, week="2026-W20", format="slack").json()["blocks"][0]["type"] == "header"
        same = get("/digest", token, since="2026-05-11T00:00:00Z", until="2026-05-18T00:00:00Z").json()
        assert same["totals"] == limited["totals"]

        bad = get("/digest", week="2026-W99")
        assert bad.status_code == 400 and "2026 has no ISO week 99" in bad.json()["detail"]
        assert get("/digest", week="2026-W20", since="2026-05-01").status_code == 400
        assert get("/digest", since="2026-05-18", until="2026-05-11").status_code == 400

        credit = next(p for p in expected.projects if p.project == "credit-scoring")
        run_urn = credit.ideas[0].best.urn
        similar = get(f"/similar/{quote(run_urn, safe='')}", token).json()
        direct = demo_service.similar(run_urn)
        assert [m["run"]["urn"] for m in similar["matches"]] == [m.earlier.urn for m in direct.matches if m.earlier.project == "credit-scoring"][:5]
        assert all(m["run"]["project"] == "credit-scoring" for m in similar["matches"])

        churn = next(p for p in expected.projects if p.project == "churn-prediction")
        hidden = get(f"/similar/{quote(churn.ideas[0].urn, safe='')}", token)
        assert hidden.status_code == 404  # a hidden project's run is not found, exactly like a missing one

        baseline = demo_service.show(credit.ideas[0].best.urn).node.properties["params"]
        planned = client.post("/similar", json={"project": "credit-scoring", "params": baseline, "limit": 3},
                              headers={"Authorization": f"Bearer {token}"})
        assert planned.status_code == 200 and len(planned.json()["matches"]) == 3
        assert planned.json()["matches"][0]["params"] == 1.0
        assert client.post("/similar", json={"project": "x", "paramz": {}}).status_code == 400
