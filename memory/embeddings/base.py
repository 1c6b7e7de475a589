"""The ``Embedder`` protocol and a cache so identical texts are embedded once, ever."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A ``(len(texts), dimension)`` float32 array of unit vectors."""
        ...


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by (model, text hash) in a small SQLite file beside the memory."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, vector BLOB, PRIMARY KEY (model, key))"
        )
        self._lock = threading.Lock()

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})", [model, *chunk]
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (model, key, vector) VALUES (?, ?, ?)",
                [(model, key, np.asarray(vec, dtype=np.float32).tobytes()) for key, vec in vectors.items()],
            )

    def close(self) -> None:
        self._db.close()


class CachedEmbedder:
    """Wraps an embedder: each distinct text is embedded once (per call and across calls)."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache | None = None) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.computed = 0  # texts actually sent to the model (for reports and tests)
        self.seconds = 0.0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def known(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those of ``texts`` embedded before, by text (nothing is computed)."""
        if not self.cache or not texts:
            return {}
        by_key = {text_key(t): t for t in texts}
        return {by_key[k]: v for k, v in self.cache.get_many(self.name, sorted(by_key)).items()}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import time

        keys = [text_key(t) for t in texts]
        known = self.cache.get_many(self.name, sorted(set(keys))) if self.cache else {}
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in known and key not in missing:
                missing[key] = text
        if missing:
            started = time.perf_counter()
            vectors = self.inner.embed(list(missing.values()))
            self.seconds += time.perf_counter() - started
            self.computed += len(missing)
            fresh = dict(zip(missing.keys(), vectors))
            if self.cache:
                self.cache.put_many(self.name, fresh)
            known.update(fresh)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)
