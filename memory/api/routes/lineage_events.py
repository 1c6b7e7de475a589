"""``POST /api/v1/lineage``: the OpenLineage receiver, compatible with Marquez's endpoint.

Point any OpenLineage producer at the API (``OPENLINEAGE_URL=http://host:8765``). The body
is one event, or a list of events accepted all or nothing; it is bounded in size
(``XMEM_LINEAGE_MAX_BODY_BYTES``, also after gzip decompression) and validated against the
official schemas before anything is stored. Search documents are indexed after the answer.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from memory.api.deps import SenderDep, ServiceDep
from memory.api.schemas import Problem
from memory.errors import InvalidEvent, PayloadTooLarge

router = APIRouter(tags=["lineage"])


class LineageAccepted(BaseModel):
    accepted: int = Field(description="Events accepted (duplicates of stored events included).")
    new_events: int = Field(description="Events not seen before.")
    nodes_written: int = Field(description="Nodes created or changed.")
    edges_written: int = Field(description="Edges created or changed.")


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "An OpenLineage RunEvent, DatasetEvent or JobEvent (spec 2-0-x), or a list of them.",
                    "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
                }
            }
        },
    }
}


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = PayloadTooLarge(
        f"the request body is larger than {limit:,} bytes", hint="send events one by one or raise XMEM_LINEAGE_MAX_BODY_BYTES"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            plain = inflater.decompress(bytes(body), limit + 1)
        except zlib.error as exc:
            raise InvalidEvent(f"the body is not valid gzip: {exc}") from None
        if len(plain) > limit or inflater.unconsumed_tail:
            raise too_large
        return plain
    return bytes(body)


@router.post(
    "/api/v1/lineage",
    status_code=201,
    response_model=LineageAccepted,
    summary="Receive OpenLineage events (Marquez-compatible)",
    responses={413: {"model": Problem, "description": "The body is larger than XMEM_LINEAGE_MAX_BODY_BYTES."}},
    openapi_extra=_BODY,
)
async def receive_lineage(
    request: Request, background: BackgroundTasks, service: ServiceDep, principal: SenderDep
) -> LineageAccepted:
    body = await _read_body(request, request.app.state.settings.lineage_max_body_bytes)
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"the body is not JSON: {exc}") from None
    events = payload if isinstance(payload, list) else [payload]
    if not events:
        raise InvalidEvent("the list of events is empty")
    report = await run_in_threadpool(service.ingest_lineage, events, principal)
    background.add_task(service.index_soon)
    return LineageAccepted(
        accepted=report.read, new_events=report.events, nodes_written=report.new + report.changed, edges_written=report.edges
    )
