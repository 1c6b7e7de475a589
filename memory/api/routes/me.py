"""``GET /me``: who the caller is and which projects it may see (the app's sidebar and project pickers)."""

from __future__ import annotations

from fastapi import APIRouter

from memory.api.deps import PrincipalDep, ServiceDep
from memory.api.schemas import CallerPublic

router = APIRouter(tags=["access"])


@router.get("/me", response_model=CallerPublic, summary="The caller's name, scopes and the projects it may see")
def get_me(service: ServiceDep, principal: PrincipalDep) -> CallerPublic:
    return CallerPublic(name=principal.name, scopes=sorted(s.value for s in principal.scopes),
                        projects=list(service.vocabulary(principal).projects))
