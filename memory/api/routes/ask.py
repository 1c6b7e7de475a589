from __future__ import annotations

from fastapi import APIRouter

from memory.api.convert import answer_public
from memory.api.deps import PrincipalDep, ServiceDep
from memory.api.schemas import AnswerPublic, AskRequest

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=AnswerPublic, summary="Ask in plain language; see how it was understood")
def ask(request: AskRequest, service: ServiceDep, principal: PrincipalDep) -> AnswerPublic:
    return answer_public(service.ask(request.question, principal, limit=request.limit))
