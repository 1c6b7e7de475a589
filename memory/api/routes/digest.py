"""``GET /digest`` (the learning digest of a week or a period), ``GET /similar/{urn}`` and ``POST /similar``
(the earlier runs a run, or a planned config, most resembles, with their outcomes)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from memory.api.convert import similar_public
from memory.api.deps import PrincipalDep, ServiceDep
from memory.api.schemas import DigestPublic, PlannedRun, SimilarPublic
from memory.digest import last_full_week, parse_week
from memory.digest_render import render_digest
from memory.errors import InvalidQuery

router = APIRouter(tags=["digest"])


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)


@router.get("/digest", response_model=DigestPublic, summary="What did we learn this week? The learning digest of a period",
            responses={200: {"content": {"text/markdown": {}, "text/html": {}}}})
def get_digest(
    service: ServiceDep,
    principal: PrincipalDep,
    week: Annotated[str | None, Query(description="An ISO week, e.g. 2026-W47 (default: last week).", max_length=10)] = None,
    since: Annotated[datetime | None, Query(description="Start of the period (inclusive), instead of week.")] = None,
    until: Annotated[datetime | None, Query(description="End of the period (exclusive; default now).")] = None,
    project: Annotated[list[str], Query(description="Only these projects.")] = [],  # noqa: B006
    format: Literal["json", "markdown", "html", "slack"] = "json",
) -> DigestPublic | Response:
    now = datetime.now(timezone.utc)
    if week and (since or until):
        raise InvalidQuery("give either week or since/until, not both")
    if week:
        start, end = parse_week(week)
    elif since:
        start, end = _utc(since), _utc(until) or now
    elif until:
        raise InvalidQuery("until needs since", hint="e.g. ?since=2026-11-16&until=2026-11-23")
    else:
        start, end = last_full_week(now)
    assert start is not None and end is not None
    digest = service.digest(start, end, projects=project, principal=principal, now=now)
    if format == "json":
        return DigestPublic(**digest.to_dict())
    text = render_digest(digest, format)
    if format == "html":
        return HTMLResponse(text)
    if format == "slack":
        return JSONResponse(content=json.loads(text))
    return PlainTextResponse(text, media_type="text/markdown")


@router.get("/similar/{urn:path}", response_model=SimilarPublic,
            summary="The earlier runs most like this run, by params, data and text, with their outcomes")
def get_similar(
    urn: Annotated[str, Path(description="A run's URN (URL-encoded).")],
    service: ServiceDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> SimilarPublic:
    return similar_public(service.similar(urn, limit=limit, principal=principal))


@router.post("/similar", response_model=SimilarPublic,
             summary="Has this planned run been done before? The most similar earlier runs, with their outcomes")
def post_similar(planned: PlannedRun, service: ServiceDep, principal: PrincipalDep) -> SimilarPublic:
    config = planned.model_dump(exclude_none=True, exclude={"limit"})
    return similar_public(service.similar_to_config(config, limit=planned.limit, principal=principal))
