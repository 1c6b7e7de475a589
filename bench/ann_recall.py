"""Choosing the vector index by measurement: usearch vs hnswlib vs faiss HNSW, against exact search.

Vectors: 384-d unit vectors with the cluster structure of real run documents. ~4,000 distinct
demo run texts (``_common.demo_documents``: the demo generator, 3 seeds, the project's own
``build_document``) are embedded with the real all-MiniLM-L6-v2; N vectors (default 200,000)
are then random mixes of two real embeddings of the same project and idea plus noise of norm
~0.45 (``_common.mixed_vectors``). Random normal vectors would be the easy case for HNSW (no
clusters, no near-duplicates); real experiment documents are dense, templated clusters.
Queries: 1,000 user-style questions (demo catalog phrases in question templates), embedded
with the real model; they are not in the index. The same questions are also run against the
real vectors of the ~10k documents ingested by ``ingest_mlflow.py`` (``ingested-demo-memory``),
when that cache exists. ``mean_cosine_gap`` (exact top-10 mean cosine minus found top-10 mean
cosine) tells whether the misses are near-ties (gap ~0) or real misses. usearch-f16 is also
queried at expansion_search 256 and 512.

For each library, built with the settings the project uses (M/connectivity 16, expansion_add /
ef_construction 128, expansion_search / ef 128, cosine = inner product on unit vectors):
* build throughput (vectors/s; one bulk add using both cores; usearch also in batches of 256
  as ``MemoryService.index_pending`` adds them), compared with usearch-f16 bulk;
* query latency p50/p95, one query at a time, k=10 (as the service asks);
* recall@10 against exact float32 search;
* memory: index file size after saving (vs. the float32 matrix exact search keeps), and the
  RSS growth during the build.
Baseline in the same run: exact brute force in numpy (float32 matrix x query, argpartition),
one query at a time; its recall is 1 by definition.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from _common import cached_embedder, common_args, demo_documents, emit, log, mixed_vectors, pct, query_texts, rss_bytes, wait_for_quiet_machine

BENCH = "ann_recall"
K, M, EF = 10, 16, 128


def data(n: int, budget: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    docs, groups = demo_documents([7, 8, 9], 6.0)
    chosen, seen = [], set()
    for i in np.random.default_rng(1).permutation(len(docs)):
        if docs[i].text not in seen:
            seen.add(docs[i].text)
            chosen.append(int(i))
        if len(chosen) == budget:
            break
    embedder = cached_embedder()
    log(f"embedding {len(chosen)} distinct run texts and {queries} questions (cached in bench/.cache)")
    base = embedder.embed([docs[i].text for i in chosen])
    q = embedder.embed(query_texts(queries))
    vectors = mixed_vectors(base, [groups[i] for i in chosen], n, np.random.default_rng(2))
    return vectors, q


def exact_topk(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    out = np.empty((len(q), K), dtype=np.int64)
    for start in range(0, len(q), 100):
        sims = q[start : start + 100] @ x.T
        top = np.argpartition(-sims, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(sims, top, 1), axis=1)
        out[start : start + 100] = np.take_along_axis(top, order, 1)
    return out


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(map(int, f[:K])) & set(map(int, t))) / K for f, t in zip(found, truth)]))


def sim_gap(found: list[np.ndarray], truth: np.ndarray, x: np.ndarray, q: np.ndarray) -> float:
    """Mean over queries of (mean exact top-10 cosine - mean found top-10 cosine): ~0 means the misses are near-ties."""
    gaps = []
    for v, f, t in zip(q, found, truth):
        f = [int(i) for i in f[:K] if 0 <= int(i) < len(x)]
        gaps.append(float(np.mean(x[t] @ v)) - (float(np.mean(x[f] @ v)) if f else 0.0))
    return float(np.mean(gaps))


def latencies(search: Callable[[np.ndarray], np.ndarray], q: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    for v in q[:20]:
        search(v)  # warm-up
    times, found = [], []
    for v in q:
        started = time.perf_counter()
        keys = search(v)
        times.append((time.perf_counter() - started) * 1000)
        found.append(np.asarray(keys))
    return times, found


def build_usearch(x: np.ndarray, dtype: str, batch: int | None) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
    from usearch.index import Index, MetricKind

    index = Index(ndim=x.shape[1], metric=MetricKind.Cos, dtype=dtype, connectivity=M, expansion_add=EF)
    index.expansion_search = EF
    keys = np.arange(len(x), dtype=np.uint64)
    if batch is None:
        index.add(keys, x)
    else:
        for start in range(0, len(x), batch):
            index.add(keys[start : start + batch], x[start : start + batch])
    return index, lambda v: index.search(v, K).keys


def build_hnswlib(x: np.ndarray) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
    import hnswlib

    index = hnswlib.Index(space="ip", dim=x.shape[1])
    index.init_index(max_elements=len(x), M=M, ef_construction=EF)
    index.add_items(x, np.arange(len(x)))
    index.set_ef(EF)
    index.set_num_threads(1)  # one query at a time, like the service
    return index, lambda v: index.knn_query(v, k=K)[0][0]


def build_faiss(x: np.ndarray) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
    import faiss

    index = faiss.IndexHNSWFlat(x.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF
    index.add(x)
    index.hnsw.efSearch = EF
    return index, lambda v: index.search(v[None, :], K)[1][0]


def save_size(name: str, index: Any, folder: Path) -> int:
    path = folder / name
    if name.startswith("usearch"):
        index.save(str(path))
    elif name == "hnswlib":
        index.save_index(str(path))
    else:
        import faiss

        faiss.write_index(index, str(path))
    return path.stat().st_size


def measure(dataset: str, x: np.ndarray, q: np.ndarray, names: tuple[str, ...]) -> None:
    """Every candidate in ``names`` against exact search on ``x`` with queries ``q``."""
    n = len(x)
    log(f"{dataset}: {n} vectors, {len(q)} queries; exact ground truth")
    truth = exact_topk(x, q)

    # baseline: exact brute force, one query at a time
    def brute(v: np.ndarray) -> np.ndarray:
        sims = x @ v
        top = np.argpartition(-sims, K)[:K]
        return top[np.argsort(-sims[top])]

    base_times, base_found = latencies(brute, q)
    base_p50, base_p95 = pct(base_times, 50), pct(base_times, 95)
    log(f"numpy exact: p50 {base_p50:.2f} ms, recall {recall(base_found, truth):.3f}")
    baseline = "numpy_exact_bruteforce"

    candidates: dict[str, Callable[[], tuple[Any, Callable[[np.ndarray], np.ndarray]]]] = {
        "usearch-f16": lambda: build_usearch(x, "f16", None),
        "usearch-f16-batches-of-256": lambda: build_usearch(x, "f16", 256),
        "usearch-f32": lambda: build_usearch(x, "f32", None),
        "hnswlib": lambda: build_hnswlib(x),
        "faiss-hnswflat": lambda: build_faiss(x),
    }
    reference = 0.0  # build speed of the first candidate, usearch-f16 as the project configures it
    with tempfile.TemporaryDirectory(prefix="xmem-bench-ann-") as tmp:
        for name in names:
            gc.collect()
            rss_before = rss_bytes()
            try:
                started = time.perf_counter()
                index, search = candidates[name]()
                build_s = time.perf_counter() - started
            except ImportError as exc:
                log(f"{name}: not installed ({exc}); skipped (pip install -e '.[bench]')")
                continue
            rss_delta = rss_bytes() - rss_before
            times, found = latencies(search, q)
            found = [f.astype(np.int64) for f in found]
            rec = recall(found, truth)
            size = save_size(name, index, Path(tmp))
            common = {"dataset": dataset, "backend": name, "vectors": n, "dim": x.shape[1], "queries": len(q), "M": M, "ef": EF}
            log(f"{name}: build {n / build_s:.0f} vec/s, p50 {pct(times, 50):.3f} ms, recall {rec:.4f}, {size / 2**20:.1f} MiB")
            emit(BENCH, "recall_at_10", rec, **common, baseline=baseline, baseline_value=recall(base_found, truth),
                 higher_is_better=True, mean_cosine_gap=sim_gap(found, truth, x, q))
            emit(BENCH, "p50_ms", pct(times, 50), **common, baseline=baseline, baseline_value=base_p50)
            emit(BENCH, "p95_ms", pct(times, 95), **common, baseline=baseline, baseline_value=base_p95)
            reference = reference or n / build_s
            emit(BENCH, "build_vectors_per_s", n / build_s, **common, build_seconds=build_s,
                 baseline="usearch-f16 bulk add (the project's configuration)", baseline_value=reference,
                 higher_is_better=True)
            emit(BENCH, "index_mib", size / 2**20, **common, rss_delta_mib=rss_delta / 2**20,
                 baseline="float32_matrix_mib", baseline_value=x.nbytes / 2**20)
            if name == "usearch-f16":  # what raising the project's expansion_search would buy
                for ef in (256, 512):
                    index.expansion_search = ef
                    times_ef, found_ef = latencies(search, q)
                    found_ef = [f.astype(np.int64) for f in found_ef]
                    log(f"{name} ef={ef}: p50 {pct(times_ef, 50):.3f} ms, recall {recall(found_ef, truth):.4f}")
                    emit(BENCH, "recall_at_10", recall(found_ef, truth), **{**common, "ef": ef}, p50_ms=pct(times_ef, 50),
                         p95_ms=pct(times_ef, 95), baseline=baseline, baseline_value=1.0, higher_is_better=True,
                         mean_cosine_gap=sim_gap(found_ef, truth, x, q))
            del index, search
            (Path(tmp) / name).unlink()


def real_vectors(quick: bool) -> np.ndarray | None:
    """The vectors of the memory ingested by ingest_mlflow.py (real demo documents), if cached."""
    import sqlite3

    from ingest_mlflow import memory_cache

    path = memory_cache(quick) / "index" / "index.sqlite"
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = db.execute("SELECT vector FROM docs WHERE vector IS NOT NULL ORDER BY rowid").fetchall()
    db.close()
    return np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows])


def main() -> None:
    parser = common_args(__doc__)
    parser.add_argument("-n", type=int, default=None, help="vectors in the index (default 200,000; --quick 10,000)")
    args = parser.parse_args()
    wait_for_quiet_machine(args.quick)
    n = args.n or (10_000 if args.quick else 200_000)
    x, q = data(n, 500 if args.quick else 4000, 200 if args.quick else 1000)
    everything = ("usearch-f16", "usearch-f16-batches-of-256", "usearch-f32", "hnswlib", "faiss-hnswflat")
    measure("mixed-real-embeddings", x, q, everything)
    real = real_vectors(args.quick)
    if real is not None:  # the same questions against the real ingested ~10k documents
        measure("ingested-demo-memory", real, q, ("usearch-f16", "hnswlib", "faiss-hnswflat"))
    else:
        log("no ingested memory cached (run ingest_mlflow.py first): real-document recall skipped")


if __name__ == "__main__":
    main()
