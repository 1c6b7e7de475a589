"""Access control: API tokens (stored hashed) and what a principal may see.

Tokens look like ``xmem_<id>_<secret>``; only a SHA-256 of the whole token is stored (the
secret is 256 random bits, so a fast hash is enough). Every result path goes through
:func:`visible_nodes` / :func:`project_filter`, so a hidden project's nodes, names and
counts never reach an answer.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from typing import Iterable

from memory.entities import ApiToken, Node, Principal, Scope
from memory.errors import Forbidden
from memory.query import Compare, FieldRef, In, Missing, Or
from memory.query.ast import Expr

TOKEN_PREFIX = "xmem_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(name: str, scopes: Iterable[Scope], projects: Iterable[str] | None) -> tuple[str, ApiToken]:
    """A fresh token (shown once) and its stored form."""
    token_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    stored = ApiToken(
        id=token_id,
        name=name,
        token_hash=hash_token(token),
        scopes=frozenset(scopes),
        projects=frozenset(projects) if projects is not None else None,
        created_at=datetime.now(timezone.utc),
    )
    return token, stored


def require(principal: Principal, scope: Scope) -> None:
    if not principal.has(scope):
        raise Forbidden(f"this needs the {scope.value!r} scope", hint="ask an admin for a token with that scope")


def project_filter(principal: Principal) -> Expr | None:
    """A filter keeping documents of visible projects (and those without a project)."""
    if principal.projects is None or Scope.admin in principal.scopes:
        return None
    project = FieldRef("attr", "project")
    allowed: Expr = In(project, tuple(sorted(principal.projects))) if principal.projects else Compare(project, "=", "\x00")
    return Or((allowed, Missing(project)))


def visible(principal: Principal, node: Node) -> bool:
    return Scope.admin in principal.scopes or principal.can_see(node.project)
