"""Embedded index vs Elasticsearch on the same documents: bulk indexing, search latency, top-10 overlap.

Documents: the synthetic demo-shaped set of ``search_latency.py`` (100k; ``--quick``: 3k), read
back with their vectors from its cached embedded index, then indexed into a fresh embedded
index and a fresh Elasticsearch index (``XMEM_TEST_ELASTICSEARCH_URL`` or
``XMEM_ELASTICSEARCH_URL``; start one with ``make services``). Query vectors are embedded
once up front, so the latencies compare the backends (BM25 + kNN + fusion), not the encoder.
Baseline of every ratio: the embedded backend, measured in the same run.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import CACHE, USER_QUERIES, cached_embedder, common_args, emit, log, pct, query_texts, wait_for_quiet_machine

from search_latency import synthetic_home

BENCH = "backends"


def main() -> None:
    parser = common_args(__doc__)
    parser.add_argument("--set", choices=("synthetic", "demo10k"), default="synthetic",
                        help="synthetic 100k (many documents share a text) or the ingested 10k demo memory (distinct texts)")
    args = parser.parse_args()
    wait_for_quiet_machine(args.quick)
    url = os.environ.get("XMEM_TEST_ELASTICSEARCH_URL") or os.environ.get("XMEM_ELASTICSEARCH_URL")
    if not url:
        sys.exit("no Elasticsearch: run `make services` and `set -a; . ./.services.env` first")
    from memory.index.elastic import ElasticsearchIndex
    from memory.index.embedded import EmbeddedIndex
    from memory.query import SearchQuery

    count, budget = (3_000, 300) if args.quick else (100_000, 6_000)
    if args.set == "demo10k":
        source = EmbeddedIndex(CACHE / "memory-seed7-scale25" / "index")
    else:
        source = EmbeddedIndex(synthetic_home(count, budget, args.quick) / "index")
    docs = list(source.get_documents(sorted(source.all_urns()), with_vectors=True).values())
    source.close()
    log(f"{len(docs)} documents with vectors")

    work = Path(tempfile.mkdtemp(prefix="xmem-bench-backends-"))
    embedded = EmbeddedIndex(work / "index")
    elastic = ElasticsearchIndex(url, alias=f"xmem-bench-{uuid.uuid4().hex[:8]}")
    try:
        timings = {}
        for index in (embedded, elastic):
            started = time.perf_counter()
            for start in range(0, len(docs), 1000):
                index.index(docs[start : start + 1000])
            index.flush()
            timings[index.name] = time.perf_counter() - started
            log(f"{index.name}: indexed {index.count()} documents in {timings[index.name]:.1f} s")
        emit(BENCH, "bulk_index_docs_per_s", len(docs) / timings["elasticsearch"], backend="elasticsearch", set=args.set,
             docs=len(docs), baseline="embedded", baseline_value=len(docs) / timings["embedded"], higher_is_better=True)

        questions = [q for q, _ in USER_QUERIES] + query_texts(40 if not args.quick else 10)
        vectors = cached_embedder().embed(questions)
        latencies: dict[str, list[float]] = {"embedded": [], "elasticsearch": []}
        tops: dict[str, list[list[str]]] = {"embedded": [], "elasticsearch": []}
        for index in (embedded, elastic):
            index.search(SearchQuery(questions[0], limit=10), vectors[0])  # warm up
            for passes in range(3):
                for question, vector in zip(questions, vectors):
                    started = time.perf_counter()
                    result = index.search(SearchQuery(question, limit=10, group=False), vector)
                    latencies[index.name].append((time.perf_counter() - started) * 1000)
                    if passes == 0:
                        tops[index.name].append([h.urn for h in result.hits])
        for q in (50, 95):
            emit(BENCH, f"search_p{q}_ms", pct(latencies["elasticsearch"], q), backend="elasticsearch", docs=len(docs), set=args.set,
                 queries=len(questions), baseline="embedded", baseline_value=pct(latencies["embedded"], q))
        overlaps = [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(tops["embedded"], tops["elasticsearch"])]
        same_first = sum(a[:1] == b[:1] for a, b in zip(tops["embedded"], tops["elasticsearch"])) / len(questions)
        emit(BENCH, "top10_overlap", sum(overlaps) / len(overlaps), docs=len(docs), queries=len(questions), set=args.set,
             min_overlap=min(overlaps), same_top1_share=same_first)
    finally:
        elastic.drop()
        elastic.close()
        embedded.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
