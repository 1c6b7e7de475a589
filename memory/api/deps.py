"""Request dependencies: the service and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from memory.entities import Principal, Scope
from memory.errors import Unauthorized
from memory.service import MemoryService

bearer = HTTPBearer(auto_error=False, description="An API token from `xmem token create`.")
ANONYMOUS = Principal(name="anonymous", scopes=frozenset({Scope.read}))


def get_service(request: Request) -> MemoryService:
    return request.app.state.service  # type: ignore[no-any-return]


def get_principal(
    request: Request,
    service: Annotated[MemoryService, Depends(get_service)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is not None:
        return service.authenticate(credentials.credentials)
    if "authorization" in request.headers:  # present but not a bearer token: refuse, never fall back
        raise Unauthorized("malformed Authorization header", hint="send 'Authorization: Bearer <token>'")
    if request.app.state.settings.api_allow_anonymous:
        return ANONYMOUS
    raise Unauthorized("an API token is required", hint="send 'Authorization: Bearer <token>' (see `xmem token create`)")


ServiceDep = Annotated[MemoryService, Depends(get_service)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
