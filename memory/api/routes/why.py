"""``GET /why/{ref}`` and ``GET /diff``: a model version's lineage as of a moment and what changed, ranked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from memory.api.convert import diff_public, why_public
from memory.api.deps import PrincipalDep, ServiceDep
from memory.api.schemas import DiffPublic, WhyPublic
from memory.incident import render_diff, render_why

router = APIRouter(tags=["why"])
Depth = Annotated[int, Query(ge=1, le=50, description="How many hops upstream.")]


def _document(text: str, fmt: str) -> Response:
    return HTMLResponse(text) if fmt == "html" else PlainTextResponse(
        text, media_type="text/markdown" if fmt == "markdown" else "text/plain")


@router.get(
    "/why/{ref:path}",
    response_model=WhyPublic,
    summary="Why did this model fail? Its lineage as of a moment and the ranked diff against the last good version",
    responses={200: {"content": {"text/markdown": {}, "text/html": {}, "text/plain": {}}}},
)
def get_why(
    ref: Annotated[str, Path(description="MODEL@production, MODEL@alias, MODEL/vN or a model-version URN (URL-encoded).")],
    service: ServiceDep,
    principal: PrincipalDep,
    at: datetime | None = None,
    against: Annotated[str, Query(description="previous-good or a model reference.")] = "previous-good",
    depth: Depth = 6,
    format: Literal["json", "markdown", "html", "mermaid", "dot"] = "json",
) -> WhyPublic | Response:
    report = service.why(ref, at=at, against=against, depth=depth, principal=principal)
    if format != "json":
        return _document(render_why(report, format), format)
    return why_public(report)


@router.get("/diff", response_model=DiffPublic, summary="What changed from model version a to b, most likely culprit first",
            responses={200: {"content": {"text/markdown": {}, "text/html": {}}}})
def get_diff(
    service: ServiceDep,
    principal: PrincipalDep,
    a: Annotated[str, Query(description="The baseline model version (MODEL/vN, MODEL@alias or URN).")],
    b: Annotated[str, Query(description="The model version to explain.")],
    depth: Depth = 6,
    at: datetime | None = None,
    format: Literal["json", "markdown", "html"] = "json",
) -> DiffPublic | Response:
    result = service.diff(a, b, depth=depth, at=at, principal=principal)
    if format != "json":
        return _document(render_diff(result, format), format)
    return diff_public(result)
