"""LangChain integration: the memory as a retriever, and an optional chat model for ``ask``.

The retriever is thin on purpose: it overrides only ``_get_relevant_documents``. A chat model
(any ``BaseChatModel``, configured by import path in ``XMEM_LLM``) may parse questions into the
same typed query and write answers citing hit URNs. langchain-core is imported here only.
"""

from __future__ import annotations

import importlib
import re
from datetime import datetime, timezone
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.retrievers import BaseRetriever
from pydantic import BaseModel, ConfigDict, Field

from memory.entities import LOCAL_ADMIN, NodeKind, Principal
from memory.errors import InvalidConfig, InvalidQuery
from memory.query import Compare, In, parse_where
from memory.query.natural import ParsedQuestion, Vocabulary, parse_question


class ExperimentMemoryRetriever(BaseRetriever):
    """Hybrid search over the memory; ``where`` and ``projects`` narrow it, ``principal`` limits what it sees."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    service: Any  # memory.service.MemoryService
    k: int = 5
    where: str | None = None
    projects: list[str] = []
    kinds: list[str] = []
    principal: Principal = LOCAL_ADMIN

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        search = self.service.build_query(query, projects=self.projects, kinds=self.kinds, where=self.where, limit=self.k)
        hits = self.service.search(search, self.principal).hits
        return [
            Document(
                id=hit.urn,
                page_content=hit.text or hit.snippet,
                metadata={
                    "urn": hit.urn,
                    "kind": hit.kind,
                    "title": hit.title,
                    "project": hit.project,
                    "score": hit.score,
                    "source": hit.source,
                    "source_id": hit.source_id,
                    "source_url": hit.source_url,
                    "outcome": hit.outcome,
                    "group_size": hit.group_size,
                },
            )
            for hit in hits
        ]


# -- an optional chat model for parsing questions and writing answers ----------------------------


class QuestionModel(BaseModel):
    """What a chat model returns for a question: the same typed query the deterministic parser builds."""

    intent: Literal["search", "lineage", "diff", "digest"] = "search"
    text: str = Field(default="", description="The idea to search for, without question words or filters.")
    projects: list[str] = Field(default_factory=list, description="Only names from the known projects.")
    people: list[str] = Field(default_factory=list, description="Only names from the known people.")
    kinds: list[str] = Field(default_factory=list, description="Node kinds, e.g. run, model_version.")
    since: datetime | None = None
    until: datetime | None = None
    conditions: list[str] = Field(default_factory=list, description='Filters like "metric.val_auc > 0.8", "status = FAILED".')
    asks_outcome: bool = False
    subjects: list[str] = Field(default_factory=list, description="Model references for lineage/diff, e.g. name@alias.")


_PARSE_PROMPT = """You turn questions about an organization's ML experiments into a search query.
Today is {now}. Known projects: {projects}. Known people: {people}. Known models: {models}.
Known metrics: {metrics}. Known params: {params}.
{format_instructions}
Question: {question}"""

_ANSWER_PROMPT = """Answer the question from these search results only. Cite every claim with the result's URN in
square brackets, e.g. [mlflow://host/runs/abc]. Say plainly when the results do not answer it.
Question: {question}
Results:
{results}"""


def load_chat_model(import_path: str) -> BaseChatModel:
    """``package.module:name`` naming a ``BaseChatModel`` instance or a function returning one."""
    module_name, _, attribute = import_path.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute or "model")
    except (ImportError, AttributeError) as exc:
        raise InvalidConfig(f"cannot load the chat model {import_path!r}: {exc}", hint="set XMEM_LLM to package.module:name") from None
    model = target
    if callable(target) and not isinstance(target, BaseChatModel):
        try:
            model = target()
        except TypeError:
            model = None
    if not isinstance(model, BaseChatModel):
        raise InvalidConfig(f"{import_path!r} is not a langchain-core BaseChatModel")
    return model


class ChatQuestionParser:
    """Parses with a chat model into :class:`QuestionModel`; names and filters are checked against the memory.

    Anything the model invents (an unknown project, a filter that does not parse) is dropped; if the
    reply cannot be read at all, the deterministic parser answers instead.
    """

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model
        self.parser = PydanticOutputParser(pydantic_object=QuestionModel)

    def parse(self, question: str, vocabulary: Vocabulary, *, now: datetime) -> ParsedQuestion:
        prompt = _PARSE_PROMPT.format(
            now=now.isoformat(), projects=", ".join(vocabulary.projects) or "none", people=", ".join(vocabulary.people) or "none",
            models=", ".join(vocabulary.models) or "none", metrics=", ".join(vocabulary.metrics) or "none",
            params=", ".join(vocabulary.params) or "none", format_instructions=self.parser.get_format_instructions(),
            question=question,
        )
        try:
            reply = self.parser.invoke(self.model.invoke(prompt))
        except Exception:  # an unreadable reply: the deterministic parser is always there
            return parse_question(question, vocabulary, now=now)
        conditions: list[Compare | In] = []
        for source in reply.conditions:
            try:
                expr = parse_where(source)
            except InvalidQuery:
                continue
            if isinstance(expr, (Compare, In)):
                conditions.append(expr)
        kinds = {k.value for k in NodeKind}
        return ParsedQuestion(
            question=question,
            intent=reply.intent,
            text=reply.text.strip(),
            projects=tuple(p for p in reply.projects if p in vocabulary.projects),
            people=tuple(p for p in reply.people if p in vocabulary.people),
            kinds=tuple(k for k in reply.kinds if k in kinds),
            since=_utc(reply.since),
            until=_utc(reply.until),
            conditions=tuple(conditions),
            asks_outcome=reply.asks_outcome,
            subjects=tuple(reply.subjects),
        )


class ChatAnswerWriter:
    """Writes the answer with a chat model, citing hit URNs; uncited or mis-cited answers are not used."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    def write(self, question: str, hits: list[Any]) -> str | None:
        if not hits:
            return None
        results = "\n".join(
            f"- [{h.urn}] {h.title} ({h.kind}, project {h.project or '-'}, outcome {h.outcome.get('verdict', '-')}"
            f"{' ' + format(h.outcome['delta'], '+.3g') if isinstance(h.outcome.get('delta'), (int, float)) else ''}): {h.snippet}"
            for h in hits
        )
        try:
            text = str(self.model.invoke(_ANSWER_PROMPT.format(question=question, results=results)).content).strip()
        except Exception:
            return None
        cited = set(re.findall(r"\[([a-z]+://[^\]\s]+)\]", text))
        allowed = {h.urn for h in hits}
        return text if cited and cited <= allowed else None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
