"""The light encoder: a sentence-transformers model run through ONNX Runtime, without torch.

The ONNX graph is exported once from the model folder's own weights (:mod:`memory.embeddings.export`,
which needs torch) and cached on disk; after that a process needs only ``onnxruntime``,
``tokenizers`` and numpy, so ``xmem search`` starts in about a second instead of loading torch.
Tokenisation, truncation, mean pooling and normalisation are those of the sentence-transformers
pipeline the model folder describes (``modules.json``, ``1_Pooling/config.json``,
``sentence_bert_config.json``); the fp32 graph gives the same vectors as sentence-transformers
(cosine 1.0000), the int8 graph (dynamic per-channel quantisation) ~0.99.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from memory.embeddings.export import ExportedModel, exported_model
from memory.errors import InvalidConfig

Precision = Literal["fp32", "int8"]


def _pooling(folder: Path) -> str:
    """``mean`` or ``cls``, from the model folder's sentence-transformers modules."""
    modules = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").exists() else []
    pooling = next((m for m in modules if m.get("type", "").endswith("Pooling")), None)
    if pooling is None:
        return "mean"
    config = json.loads((folder / pooling.get("path", "1_Pooling") / "config.json").read_text())
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise InvalidConfig(
        f"the pooling of {folder} ({config}) is not supported by the onnx embedding backend",
        hint="set XMEM_EMBEDDING_BACKEND=torch for this model",
    )


def _max_length(folder: Path) -> int:
    config = folder / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.exists() else 256


class OnnxEmbedder:
    """Embeds with ONNX Runtime; the graph is built from ``model_path`` into ``cache`` on first use.

    fp32: texts sorted by length, in batches, ``threads`` intra-op threads. int8: the graph
    quantises its activations with one scale per call (dynamic quantisation), so a text embedded
    beside others would get a slightly different vector (cosine 0.96-0.99) than alone — and queries
    are embedded alone. Each text is therefore run alone (no padding, no batch mates: one text,
    one vector), on ``threads`` single-threaded workers sharing the session, which on 2 cores is
    as fast as batching.
    """

    def __init__(
        self,
        model_path: str,
        *,
        name: str,
        cache: Path,
        precision: Precision = "int8",
        batch_size: int = 32,
        threads: int | None = None,
        max_length: int | None = None,
    ) -> None:
        self.source = Path(model_path)
        self.name = name if precision == "fp32" else f"{name}+{precision}"
        self.precision = precision
        self.cache = cache
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        self.max_length = max_length or _max_length(self.source)
        self.pooling = _pooling(self.source)
        self._session: Any = None
        self._pool: Any = None
        self._tokenizer: Any = None
        self._dimension: int | None = None
        self._lock = threading.Lock()

    def exported(self) -> ExportedModel:
        """The cached ONNX graph (exported now when missing: ~5 s, needs torch once)."""
        return exported_model(self.source, self.cache)

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            graph = self.exported().path(self.precision)
            tokenizer = Tokenizer.from_file(str(self.source / "tokenizer.json"))
            tokenizer.enable_truncation(self.max_length)
            tokenizer.no_padding()
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1 if self.one_at_a_time else self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            self._inputs = {i.name for i in session.get_inputs()}
            self._tokenizer, self._session = tokenizer, session
            self._dimension = int(session.get_outputs()[0].shape[-1])
            if self.one_at_a_time and self.threads > 1:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="xmem-embed")

    @property
    def one_at_a_time(self) -> bool:
        return self.precision == "int8"

    @property
    def dimension(self) -> int:
        self._load()
        assert self._dimension is not None
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([str(t).strip() for t in texts])
        if self.one_at_a_time:
            encode_one = lambda encoding: self._encode([encoding])[0]  # noqa: E731
            rows = self._pool.map(encode_one, encodings) if self._pool and len(texts) > 1 else map(encode_one, encodings)
            return np.stack(list(rows)).astype(np.float32)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            out[chosen] = self._encode([encodings[i] for i in chosen])
        return out

    def _encode(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
