"""Search latency, p50/p95, at 10k and 100k indexed run documents, against MLflow's own search.

Ours: ``MemoryService.search`` (what the CLI, API and app call): the query is embedded with
the real model (no embedding cache, so every query pays it), then the embedded index runs
BM25 (FTS5) and HNSW (usearch), fuses them (RRF), builds snippets and groups sweeps; limit 10.
``index_only`` is the same search with the query vector computed beforehand.
``filtered`` adds a project filter (the project of the query's top hit), which takes the
index's exact-vector path (fewer than 20k candidates).

10k: the memory ingested by ``ingest_mlflow.py`` from the demo MLflow store (~10k runs; cached
in bench/.cache, built by running that script if missing). Baseline in the same run: a real
``mlflow server`` over the same store, ``MlflowClient.search_runs`` over every experiment with
the filter a user types today (``tags.`mlflow.note.content` ILIKE '%label smoothing%'`` or
``attributes.run_name ILIKE ...``), first page of 50 and all matches (pages of 1,000); the
filtered variant searches the one experiment. 42 questions phrased like users (``_common.py``),
one warm-up pass, then 3 measured passes (--quick: 10 questions, 1 pass).

100k: synthetic documents (``_common.demo_documents``: the demo generator with 10 seeds, built
by the project's ``build_document``). To bound time only ~6,000 distinct texts are embedded
(stratified over project x idea); every other document gets the vector of a document of its
own project and idea, perturbed (cosine ~0.96). Indexed directly into the embedded index of a
MemoryService home (cached). MLflow is not run at 100k: writing 100k runs into it takes ~1.5 h
in-process (~20 runs/s); the baseline of the 100k figures is MLflow at 10k measured in this run,
which flatters MLflow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import (
    BENCH as BENCH_DIR, CACHE, USER_QUERIES, cached_embedder, common_args, demo_documents, emit, log,
    mlflow_store, model, pct, served_copy, wait_for_quiet_machine,
)
from ingest_mlflow import memory_cache

BENCH = "search_latency"


def open_service(home: Path) -> Any:
    """A MemoryService over ``home`` whose embedder has no cache: each search embeds its query."""
    from memory.embeddings import CachedEmbedder
    from memory.service import MemoryService
    from memory.settings import Settings

    svc = MemoryService(Settings(home=home), embedder=model())
    svc.embedder.cache.close()
    svc.embedder = CachedEmbedder(model(), None)
    return svc


def time_ours(svc: Any, questions: list[str], passes: int, projects: dict[str, str] | None = None) -> dict[str, list[float]]:
    vectors = {q: model().embed([q])[0] for q in questions}
    out: dict[str, list[float]] = {"search": [], "index_only": [], "embed": []}
    for q in questions:  # warm-up
        svc.search(svc.build_query(q, projects=[projects[q]] if projects else ()))
    for _ in range(passes):
        for q in questions:
            query = svc.build_query(q, projects=[projects[q]] if projects else ())
            started = time.perf_counter()
            svc.search(query)
            out["search"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            svc.index.search(query, vectors[q])
            out["index_only"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            model().embed([q])
            out["embed"].append((time.perf_counter() - started) * 1000)
    return out


def time_mlflow(url: str, filters: list[tuple[str, list[str]]], passes: int) -> dict[str, Any]:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    out: dict[str, Any] = {"first50": [], "all": [], "matches": []}

    def all_matches(flt: str, ids: list[str]) -> int:
        total, token = 0, None
        while True:
            page = client.search_runs(ids, flt, ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
            total += len(page)
            token = page.token
            if not token:
                return total

    for flt, ids in filters:  # warm-up
        client.search_runs(ids, flt, max_results=50)
    for n in range(passes):
        for flt, ids in filters:
            started = time.perf_counter()
            client.search_runs(ids, flt, ViewType.ACTIVE_ONLY, max_results=50)
            out["first50"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            matches = all_matches(flt, ids)
            out["all"].append((time.perf_counter() - started) * 1000)
            if n == 0:
                out["matches"].append(matches)
    return out


def report(size: str, docs: int, ours: dict[str, list[float]], base: dict[str, Any] | None, *, base_note: str = "",
           prefix: str = "", **more: Any) -> None:
    for q in (50, 95):
        figure = f"{prefix}p{q}_ms"
        value = pct(ours["search"], q)
        extra = {"set": size, "docs": docs, "backend": "embedded", "path": "MemoryService.search (query embedded, no cache)",
                 "index_only_ms": round(pct(ours["index_only"], q), 2), "query_embed_ms": round(pct(ours["embed"], q), 2),
                 "samples": len(ours["search"]), **more}
        if base is None:
            emit(BENCH, figure, value, **extra)
            continue
        for name, key in (("first50", "first50"), ("all_matches", "all")):
            emit(BENCH, figure, value, **extra, baseline=f"mlflow_search_runs_ilike_{name}{base_note}",
                 baseline_value=pct(base[key], q), mean_mlflow_matches=round(float(np.mean(base["matches"])), 1))


def ten_k(args: Any, passes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    home_cache = memory_cache(args.quick)
    if not (home_cache / "index").exists():
        log("no ingested memory cached: running ingest_mlflow.py first")
        subprocess.run([sys.executable, str(BENCH_DIR / "ingest_mlflow.py"), *(["--quick"] if args.quick else [])], check=True)
    work = Path(tempfile.mkdtemp(prefix="xmem-bench-search-"))
    try:
        shutil.copytree(home_cache, work / "home")
        svc = open_service(work / "home")
        docs = svc.index.count()
        questions = [q for q, _ in USER_QUERIES[: 10 if args.quick else None]]
        log(f"10k set: {docs} documents; ours")
        ours = time_ours(svc, questions, passes)
        top_projects = {}
        for q in questions:
            hits = svc.search(svc.build_query(q)).hits
            top_projects[q] = next((h.project for h in hits if h.project), None)
        questions_f = [q for q in questions if top_projects[q]]
        ours_f = time_ours(svc, questions_f, passes, top_projects)
        svc.close()

        with served_copy(mlflow_store(args.quick), work / "mlflow") as server:
            from mlflow.entities import ViewType
            from mlflow.tracking import MlflowClient

            experiments = MlflowClient(tracking_uri=server.url).search_experiments(view_type=ViewType.ACTIVE_ONLY)
            ids = [e.experiment_id for e in experiments]
            by_name = {e.name: e.experiment_id for e in experiments}
            log("10k set: MLflow baseline")
            base = time_mlflow(server.url, [(flt, ids) for _, flt in USER_QUERIES[: len(questions)]], passes)
            flt_of = dict(USER_QUERIES)
            base_f = time_mlflow(server.url, [(flt_of[q], [by_name[top_projects[q]]]) for q in questions_f
                                              if top_projects[q] in by_name], passes)
        report("10k", docs, ours, base)
        report("10k", docs, ours_f, base_f, base_note="_one_experiment", prefix="filtered_")
        return base, {"docs": docs}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def synthetic_home(count: int, budget: int, quick: bool) -> Path:
    """A MemoryService home whose index holds ``count`` synthetic run documents (cached)."""
    home = CACHE / f"synthetic-{count}-{budget}"
    if (home / "built.json").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    scale = 2.0 if quick else 25.0
    docs: list[Any] = []
    groups: list[str] = []
    seed = 7
    log(f"generating {count} synthetic documents")
    while len(docs) < count:
        more, more_groups = demo_documents([seed], scale)
        docs += more
        groups += more_groups
        seed += 1
    docs, groups = docs[:count], groups[:count]

    # embed a stratified sample of distinct texts; everyone else borrows a same-group vector, perturbed
    rng = np.random.default_rng(0)
    order: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        order.setdefault(g, []).append(i)
    sample, seen = [], set()
    while len(sample) < min(budget, len(docs)):
        progressed = False
        for members in order.values():
            while members:
                i = members.pop(0)
                if docs[i].text not in seen:
                    seen.add(docs[i].text)
                    sample.append(i)
                    progressed = True
                    break
            if len(sample) >= budget:
                break
        if not progressed:
            break
    log(f"embedding {len(sample)} distinct texts (cached in bench/.cache/embeddings.sqlite)")
    started = time.perf_counter()
    vectors = cached_embedder().embed([docs[i].text for i in sample])
    embed_s = time.perf_counter() - started
    own = dict(zip(sample, vectors))
    by_group: dict[str, list[np.ndarray]] = {}
    for i, v in own.items():
        by_group.setdefault(groups[i], []).append(v)
    everything = list(own.values())
    dim = vectors.shape[1]
    for i, doc in enumerate(docs):
        if i in own:
            doc.vector = own[i]
            continue
        pool = by_group.get(groups[i]) or everything
        v = pool[int(rng.integers(0, len(pool)))] + rng.normal(0, 0.3 / np.sqrt(dim), dim).astype(np.float32)
        doc.vector = (v / np.linalg.norm(v)).astype(np.float32)

    from memory.index.embedded import EmbeddedIndex

    log(f"indexing {len(docs)} documents")
    index = EmbeddedIndex(home / "index")
    started = time.perf_counter()
    for start in range(0, len(docs), 256):  # the batch size MemoryService.index_pending uses
        index.index(docs[start : start + 256])
    index.flush()
    index_s = time.perf_counter() - started
    index.close()
    meta = {"docs": len(docs), "embedded_texts": len(sample), "embed_seconds": round(embed_s, 1),
            "index_seconds": round(index_s, 1), "index_docs_per_s": round(len(docs) / index_s, 1)}
    (home / "built.json").write_text(json.dumps(meta))
    log(f"synthetic set built: {meta}")
    return home


def hundred_k(args: Any, passes: int, base10k: dict[str, Any]) -> None:
    count, budget = (3_000, 300) if args.quick else (100_000, 6_000)
    home = synthetic_home(count, budget, args.quick)
    built = json.loads((home / "built.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="xmem-bench-search100k-"))
    try:
        shutil.copytree(home, work / "home")
        svc = open_service(work / "home")
        docs = svc.index.count()
        log(f"100k set: {docs} documents")
        ours = time_ours(svc, [q for q, _ in USER_QUERIES[: 10 if args.quick else None]], passes)
        svc.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("100k" if not args.quick else "100k-quick", docs, ours, base10k, base_note="@10k",
           synthetic=f"{built['embedded_texts']} embedded texts, others perturbed same-idea vectors",
           index_build_docs_per_s=built["index_docs_per_s"])


def main() -> None:
    args = common_args(__doc__).parse_args()
    wait_for_quiet_machine(args.quick)
    passes = 1 if args.quick else 3
    base, _ = ten_k(args, passes)
    hundred_k(args, passes, base)


if __name__ == "__main__":
    main()
