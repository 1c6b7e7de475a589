from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from memory.api.deps import ServiceDep
from memory.api.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic, summary="The process is up")
def healthz() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get("/readyz", response_model=HealthPublic, summary="The graph store and the search index answer",
            responses={503: {"model": HealthPublic}})
def readyz(service: ServiceDep) -> JSONResponse:
    checks = service.readiness()
    ok = all(value == "ok" for value in checks.values())
    body = HealthPublic(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
