from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from memory.api.convert import hit_public
from memory.api.deps import PrincipalDep, ServiceDep
from memory.api.schemas import HitsPublic
from memory.errors import InvalidQuery

router = APIRouter(tags=["search"])


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o:"))
    except ValueError:
        raise InvalidQuery("malformed page_token", hint="pass the next_page_token of the previous page unchanged") from None
    if value < 0 or value > 1000:
        raise InvalidQuery("page_token out of range")
    return value


@router.get("/search", response_model=HitsPublic, summary="Hybrid search over every experiment, model and dataset")
def search(
    service: ServiceDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(max_length=2000, description="What to look for, in plain words.")] = "",
    project: Annotated[list[str], Query(description="Only these projects.")] = [],  # noqa: B006
    kind: Annotated[list[str], Query(description="Only these node kinds.")] = [],  # noqa: B006
    source: Annotated[list[str], Query(description="Only these source systems.")] = [],  # noqa: B006
    person: Annotated[list[str], Query(description="Only work by these people.")] = [],  # noqa: B006
    since: datetime | None = None,
    until: datetime | None = None,
    where: Annotated[str | None, Query(max_length=2000, description='Filter, e.g. "metric.val_auc > 0.8".')] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    group: bool = True,
    page_token: str | None = None,
) -> HitsPublic:
    offset = _offset(page_token)
    query = service.build_query(
        q, projects=project, kinds=kind, sources=source, people=person, since=since, until=until, where=where,
        limit=min(offset + limit + 1, 1000), group=group,
    )
    result = service.search(query, principal)
    hits = result.hits
    page = hits[offset : offset + limit]
    more = len(hits) > offset + limit
    token = base64.urlsafe_b64encode(f"o:{offset + limit}".encode()).decode() if more else None
    return HitsPublic(data=[hit_public(h) for h in page], count=len(page), next_page_token=token,
                      confidence=result.confidence)
