"""Text embeddings: the only place sentence-transformers is imported (lazily)."""

from memory.embeddings.base import CachedEmbedder, Embedder, EmbeddingCache, text_key
from memory.embeddings.sentence import SentenceTransformerEmbedder, resolve_model_path

__all__ = ["CachedEmbedder", "Embedder", "EmbeddingCache", "SentenceTransformerEmbedder", "resolve_model_path", "text_key"]
