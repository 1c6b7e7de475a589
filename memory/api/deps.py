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
#: where anonymous access is allowed (one's own machine, loopback only), local pipelines may also push lineage
ANONYMOUS_SENDER = Principal(name="anonymous", scopes=frozenset({Scope.read, Scope.ingest}))


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


def get_sender(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The principal of a push (``ingest``) route: a token's, or an anonymous sender where anonymous is allowed."""
    return ANONYMOUS_SENDER if principal is ANONYMOUS else principal


ServiceDep = Annotated[MemoryService, Depends(get_service)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
SenderDep = Annotated[Principal, Depends(get_sender)]
