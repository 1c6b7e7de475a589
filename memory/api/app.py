"""``create_app(settings)``: the FastAPI application; one handler maps every domain error."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from memory import __version__
from memory.api.routes import ask, digest, health, lineage_events, me, nodes, search, why
from memory.api.schemas import Problem
from memory.errors import InvalidQuery, XmemError
from memory.service import MemoryService
from memory.settings import Settings

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, position: int | None = None) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, position=position).model_dump(exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def create_app(settings: Settings, *, service: MemoryService | None = None) -> FastAPI:
    """The API over one memory. ``service`` may be given (tests, embedding in another app)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = service is None
        app.state.service = service or MemoryService(settings)
        app.state.service.start_backlog_worker()  # documents or vectors left by `xmem ingest --defer-vectors`
        try:
            yield
        finally:
            if owned:
                app.state.service.close()

    app = FastAPI(
        title="Experiment Memory",
        version=__version__,
        description="Search every ML experiment your organization ran; lineage of every model, as of any moment.",
        lifespan=lifespan,
        responses={
            status: {"model": Problem, "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in (400, 401, 403, 404, 405, 503)
        },
    )
    app.state.settings = settings
    if service is not None:
        app.state.service = service

    @app.exception_handler(XmemError)
    async def domain_error(request: Request, exc: XmemError) -> JSONResponse:
        position = exc.position if isinstance(exc, InvalidQuery) else None
        return problem(exc.status_code, exc.title, str(exc), position)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, HTTPStatus(exc.status_code).phrase, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem(400, "Invalid request", f"{where}: {first.get('msg')}")

    for router in (search.router, ask.router, nodes.router, why.router, digest.router, lineage_events.router, me.router, health.router):
        app.include_router(router)
    if settings.slack_signing_secret is not None:
        from ui.slack.mount import mount_slack  # slack-bolt is only imported when the bot is configured

        mount_slack(app, settings)
    return app


def app_from_environment() -> FastAPI:
    """The API configured from ``XMEM_*`` variables: how each process of ``xmem serve --workers N`` builds it."""
    return create_app(Settings())

