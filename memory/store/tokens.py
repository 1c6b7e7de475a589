"""API-token verbs of the SQL graph store (hashed secrets, scopes, projects)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone


from sqlalchemy import select
from sqlalchemy.orm import Session

from memory.entities import ApiToken
from memory.errors import NotFound
from memory.store.models import ApiTokenRow


class TokenVerbs:
    """Mixed into :class:`memory.store.sql.SqlGraphStore`, which provides ``_session``."""

    def _session(self) -> contextlib.AbstractContextManager[Session]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    def upsert_token(self, token: ApiToken) -> None:
        with self._session() as session:
            row = session.get(ApiTokenRow, token.id) or ApiTokenRow(id=token.id)
            row.name, row.token_hash = token.name, token.token_hash
            row.scopes = sorted(s.value for s in token.scopes)
            row.projects = sorted(token.projects) if token.projects is not None else None
            row.created_at, row.revoked_at, row.last_used_at = token.created_at, token.revoked_at, token.last_used_at
            session.merge(row)

    def get_token_by_hash(self, token_hash: str) -> ApiToken:
        with self._session() as session:
            row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))
            if row is None or row.revoked_at is not None:
                raise NotFound("unknown or revoked token")
            return row.to_entity()

    def list_tokens(self) -> list[ApiToken]:
        with self._session() as session:
            return [r.to_entity() for r in session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at))]

    def revoke_token(self, token_id: str) -> ApiToken:
        with self._session() as session:
            row = session.get(ApiTokenRow, token_id)
            if row is None:
                raise NotFound(f"no token {token_id!r}", hint="list tokens with `xmem token list`")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(timezone.utc)
            return row.to_entity()

