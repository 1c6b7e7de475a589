"""The embedding backends side by side on the same real run texts: texts/s and recall@10.

    python bench/encoders.py [--home XMEM_HOME] [--texts 5000] [--quick]

Texts: up to ``--texts`` distinct embedded texts (the ``semantic`` column: what ingest embeds)
of the run documents of an ingested memory — by default the memory ``make quality`` builds
from the AutoML Benchmark, timm, Papers-with-Code and auto-sklearn records — topped up with
the documents' full texts (what earlier versions embedded) when fewer are distinct.

For each backend (``torch``: sentence-transformers on PyTorch, the baseline; ``onnx``: fp32 on
ONNX Runtime; ``onnx-int8``: dynamically quantised int8), in this process and on the same texts:

* texts/s over all texts (model loaded and warmed first; ratio against torch);
* recall@10 against torch's own top 10: for 500 of the texts used as queries (nearest other
  texts: "has this been tried before?") and for 20 typed questions embedded as queries, with the
  mean cosine gap (torch's scores of torch's top 10 minus of the backend's: ~0 when misses are ties);
* the mean and minimum cosine of each text's vector to torch's.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

from _common import CACHE, common_args, emit, log, wait_for_quiet_machine
from _common import REAL_RUN_QUESTIONS as QUESTIONS

BENCH = "encoders"


def default_home() -> Path:
    homes = sorted((CACHE / "quality").glob("*/xmem"), key=lambda p: p.stat().st_mtime)
    if not homes:
        sys.exit("no ingested memory found: run `make quality` first (it builds one), or pass --home")
    return homes[-1]


def run_texts(home: Path, count: int) -> list[str]:
    """Distinct embedded texts of run documents, then their full texts, up to ``count``."""
    db = sqlite3.connect(f"file:{home / 'index' / 'index.sqlite'}?mode=ro", uri=True)
    texts: dict[str, None] = {}
    for column in ("semantic", "text"):
        for (text,) in db.execute(f"SELECT {column} FROM docs WHERE kind = 'run' AND {column} IS NOT NULL "
                                  "ORDER BY urn"):
            texts.setdefault(text, None)
            if len(texts) >= count:
                return list(texts)
    return list(texts)


def top10(vectors: np.ndarray, queries: np.ndarray, exclude_self: bool) -> np.ndarray:
    scores = queries @ vectors.T
    if exclude_self:
        np.fill_diagonal(scores[:, : len(queries)], -np.inf)
    return np.argsort(-scores, axis=1)[:, :10]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))


def cosine_gap(found: np.ndarray, truth: np.ndarray, vectors: np.ndarray, queries: np.ndarray) -> float:
    """Mean over queries of (torch cosine of torch's top 10) - (torch cosine of the backend's top 10):
    ~0 when the misses are near-ties (sweeps' texts differ by a word), large when they are not."""
    gaps = [np.mean(vectors[t] @ q) - np.mean(vectors[f] @ q) for f, t, q in zip(found, truth, queries)]
    return float(np.mean(gaps))


def main() -> None:
    parser = common_args(__doc__)
    parser.add_argument("--home", type=Path, default=None, help="an ingested memory (default: the quality memory)")
    parser.add_argument("--texts", type=int, default=5000)
    args = parser.parse_args()
    count = 300 if args.quick else args.texts
    wait_for_quiet_machine(args.quick)

    from memory.embeddings import make_embedder
    from memory.settings import Settings

    texts = run_texts(args.home or default_home(), count)
    log(f"{len(texts)} texts, mean {np.mean([len(t) for t in texts]):.0f} characters")
    queries = texts[: min(500, len(texts) // 4)]
    results: dict[str, dict] = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        embedder = make_embedder(Settings(embedding_backend=backend))
        embedder.embed(["warm up", "a second, longer warm-up text for the model"])
        started = time.perf_counter()
        vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
        seconds = time.perf_counter() - started
        results[backend] = {"rate": len(texts) / seconds, "vectors": vectors,
                            "questions": np.asarray(embedder.embed(QUESTIONS), dtype=np.float32)}
        log(f"{backend}: {len(texts) / seconds:.1f} texts/s")

    base = results["torch"]
    truth_texts = top10(base["vectors"], base["vectors"][: len(queries)], exclude_self=True)
    truth_questions = top10(base["vectors"], base["questions"], exclude_self=False)
    for backend, result in results.items():
        extra = {"texts": len(texts), "backend": backend}
        emit(BENCH, "texts_per_s", result["rate"], baseline="torch texts/s", baseline_value=base["rate"],
             higher_is_better=True, **extra)
        if backend == "torch":
            continue
        cosines = np.sum(result["vectors"] * base["vectors"], axis=1)
        found_texts = top10(result["vectors"], result["vectors"][: len(queries)], exclude_self=True)
        found_questions = top10(result["vectors"], result["questions"], exclude_self=False)
        emit(BENCH, "recall_at_10_text_queries", recall(found_texts, truth_texts), queries=len(queries),
             mean_cosine_gap=cosine_gap(found_texts, truth_texts, base["vectors"], base["vectors"][: len(queries)]),
             higher_is_better=True, **extra)
        emit(BENCH, "recall_at_10_questions", recall(found_questions, truth_questions), queries=len(QUESTIONS),
             mean_cosine_gap=cosine_gap(found_questions, truth_questions, base["vectors"], base["questions"]),
             higher_is_better=True, **extra)
        emit(BENCH, "cosine_to_torch", float(np.mean(cosines)), minimum=round(float(np.min(cosines)), 4),
             higher_is_better=True, **extra)


if __name__ == "__main__":
    main()
