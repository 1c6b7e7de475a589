from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from memory.api.convert import edge_public, lineage_public, node_public
from memory.api.deps import PrincipalDep, ServiceDep
from memory.api.schemas import EventPublic, LineagePublic, NeighbourPublic, NodeDetailPublic

router = APIRouter(tags=["graph"])
Urn = Annotated[str, Path(description="The node's URN (URL-encoded).")]


@router.get("/nodes/{urn:path}", response_model=NodeDetailPublic, summary="A node with its neighbours and events")
def get_node(urn: Urn, service: ServiceDep, principal: PrincipalDep) -> NodeDetailPublic:
    view = service.show(urn, principal)
    return NodeDetailPublic(
        node=node_public(view.node),
        neighbours=[NeighbourPublic(edge=edge_public(e), node=node_public(n)) for e, n in view.neighbours],
        events=[EventPublic(kind=e.kind, at=e.at, payload=e.payload) for e in view.events],
    )


@router.get("/lineage/{urn:path}", response_model=LineagePublic, summary="Upstream or downstream lineage, as of a moment")
def get_lineage(
    urn: Urn,
    service: ServiceDep,
    principal: PrincipalDep,
    direction: Literal["up", "down"] = "up",
    depth: Annotated[int, Query(ge=1, le=50)] = 5,
    as_of: datetime | None = None,
) -> LineagePublic:
    return lineage_public(service.lineage(urn, direction=direction, depth=depth, as_of=as_of, principal=principal))
