"""The memory as a LangChain retriever, so retrieval-augmented applications can use it directly.

Thin on purpose: it overrides only ``_get_relevant_documents`` and returns ``Document``s.
langchain-core is imported here and nowhere else in the core.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from memory.entities import LOCAL_ADMIN, Principal


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
