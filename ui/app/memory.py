"""The app's one handle on the memory, opened once per server process: the service facade in-process,
or a running API when ``xmem ui --api URL`` set ``XMEM_UI_API_URL`` (token in ``XMEM_API_TOKEN``)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import streamlit as st

from memory.service import MemoryService
from memory.settings import Settings


class AppMemory:
    """The read verbs the pages use, over :class:`memory.service.MemoryService` (in-process)."""

    def __init__(self, service: MemoryService) -> None:
        self.service = service

    def describe(self) -> str:
        settings = self.service.settings
        store = "SQLite" if settings.resolved_database_url.startswith("sqlite") else "SQL database"
        return f"Memory at {settings.home} ({store}, {settings.search_backend} index)"

    def ask(self, question: str, *, limit: int = 10) -> Any:
        return self.service.ask(question, limit=limit)

    def search(self, text: str, *, where: str | None = None, limit: int = 10, group: bool = True) -> Any:
        return self.service.search(self.service.build_query(text, where=where, limit=limit, group=group))

    def show(self, urn: str) -> Any:
        return self.service.show(urn)

    def lineage(self, urn: str, *, direction: str = "up", depth: int = 3, as_of: datetime | None = None) -> Any:
        return self.service.lineage(urn, direction=direction, depth=depth, as_of=as_of)

    def diff(self, a: str, b: str, *, at: datetime | None = None) -> Any:
        return self.service.diff(a, b, at=at)

    def digest(self, since: datetime, until: datetime, *, projects: tuple[str, ...] = ()) -> Any:
        return self.service.digest(since, until, projects=projects)

    def projects(self) -> list[str]:
        return list(self.service.vocabulary().projects)


API_URL_VARIABLE = "XMEM_UI_API_URL"
API_TOKEN_VARIABLE = "XMEM_API_TOKEN"


@st.cache_resource(show_spinner="Opening the memory…")
def open_memory() -> Any:
    """The memory ``xmem ui`` names, shared by every session: the API at ``XMEM_UI_API_URL`` when set,
    else the embedded memory of the ``XMEM_*`` settings."""
    url = os.environ.get(API_URL_VARIABLE)
    if url:
        from ui.app.remote import RemoteMemory

        return RemoteMemory(url, os.environ.get(API_TOKEN_VARIABLE) or None)
    service = MemoryService(Settings())
    service.embedder.embed(["warm up"])  # load the model now, not on the first question
    return AppMemory(service)
