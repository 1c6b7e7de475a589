"""Search indexes over node documents: BM25 + embeddings fused with reciprocal rank fusion."""

from memory.index.base import Hit, SearchDocument, SearchIndex, SearchResult
from memory.index.documents import build_document

__all__ = ["Hit", "SearchDocument", "SearchIndex", "SearchResult", "build_document"]
