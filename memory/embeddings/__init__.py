"""Text embeddings: the only place sentence-transformers and ONNX Runtime are imported (lazily).

``make_embedder(settings)`` picks the backend: ``onnx-int8`` (default) or ``onnx`` run the model
through ONNX Runtime without torch (:mod:`memory.embeddings.onnx`); ``torch`` runs it through
sentence-transformers (:mod:`memory.embeddings.sentence`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memory.embeddings.base import CachedEmbedder, Embedder, EmbeddingCache, text_key
from memory.embeddings.sentence import SentenceTransformerEmbedder, model_label, resolve_model_path

if TYPE_CHECKING:
    from memory.settings import Settings

__all__ = [
    "CachedEmbedder", "Embedder", "EmbeddingCache", "SentenceTransformerEmbedder", "make_embedder", "model_label",
    "resolve_model_path", "text_key",
]


def make_embedder(settings: "Settings") -> Embedder:
    """The embedder the settings select (the model loads on first use)."""
    if settings.embedding_backend == "torch":
        return SentenceTransformerEmbedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
    from memory.embeddings.onnx import OnnxEmbedder

    return OnnxEmbedder(
        resolve_model_path(settings.embedding_model),
        name=model_label(settings.embedding_model),
        cache=settings.resolved_model_cache,
        precision="int8" if settings.embedding_backend == "onnx-int8" else "fp32",
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
    )
