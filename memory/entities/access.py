"""Who is asking: principals, scopes and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Scope(str, enum.Enum):
    read = "read"  # search, nodes, lineage, stats
    ingest = "ingest"  # push records, run ingestors
    admin = "admin"  # manage tokens; sees every project


class Principal(BaseModel):
    """A caller with scopes and the projects it may see (``None``: every project)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    scopes: frozenset[Scope]
    projects: frozenset[str] | None = None

    def can_see(self, project: str | None) -> bool:
        """Nodes without a project (people, code, shared datasets) are visible to every reader."""
        return self.projects is None or project is None or project in self.projects

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.admin in self.scopes


#: the local user of an embedded memory (CLI on one's own machine)
LOCAL_ADMIN = Principal(name="local", scopes=frozenset({Scope.read, Scope.ingest, Scope.admin}))


class ApiToken(BaseModel):
    """A stored token; only the hash of its secret is kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    scopes: frozenset[Scope]
    projects: frozenset[str] | None = None
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    token_hash: str = Field(repr=False)

    def principal(self) -> Principal:
        return Principal(name=f"token:{self.name}", scopes=self.scopes, projects=self.projects)
