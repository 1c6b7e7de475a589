"""`xmem ingest mlflow` end to end on the real runs of the shared corpora (bench/real_runs.py).

What is measured (one run of this script):

* a real ``mlflow server`` serves a copy of the cached store (26,642 real runs: AutoML Benchmark
  2019 folds under their framework × task runs, timm model × test-set evaluations, Papers-with-Code
  leaderboard rows; ``--runs 100000`` replicates them with new ids and names);
* baseline: raw ``search_runs`` listing of every run (pages of 5,000, in-process ``MlflowClient``);
* ``xmem ingest mlflow --tracking-uri …`` as a new user runs it, in a child process, into an empty
  memory: wall time; while it runs, the index file is polled (read-only, every 0.5 s) for the
  moment every run is searchable by BM25 and the moment every run has its vector;
* the ingest report: seconds per phase, texts embedded, distinct embedded texts per 1,000 runs;
* ``xmem search`` from a cold process (median of 3; baseline: ``xmem --help``, the CLI's own start);
* the warm API (``xmem serve``): ``GET /search`` p50/p95 over 20 questions × 3 (baseline: MLflow's
  ``search_runs`` with a run-name ``ILIKE`` filter, first page of 50, same questions' keywords).

``--code DIR`` runs the ingest, the search and the API with the code in DIR (a checkout of an
earlier commit) through PYTHONPATH, to measure "before" in the same conditions.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REAL_RUN_QUESTIONS as QUESTIONS
from _common import REPO, emit, log, pct, wait_for_quiet_machine
from real_runs import CACHE, real_store, replicate

BENCH = "ingest_real"
XMEM = str(Path(sys.executable).with_name("xmem"))


def list_all_runs(url: str) -> int:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    total = 0
    for experiment in client.search_experiments(view_type=ViewType.ALL, max_results=1000):
        token = None
        while True:
            page = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=5000,
                                      page_token=token)
            total += len(page)
            token = page.token
            if not token:
                break
    return total


def _env(home: Path, code: Path | None) -> dict[str, str]:
    env = {**os.environ, "XMEM_HOME": str(home), "HF_HUB_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return env


def _counts(index_db: Path, has_vec_model: bool | None) -> tuple[int, int, bool | None]:
    """(run documents, run documents with a vector) in the index file, read-only."""
    if not index_db.exists():
        return 0, 0, has_vec_model
    try:
        db = sqlite3.connect(f"file:{index_db}?mode=ro", uri=True, timeout=1)
        try:
            if has_vec_model is None:
                has_vec_model = "vec_model" in {r[1] for r in db.execute("PRAGMA table_info(docs)")}
            vectors = "vec_model IS NOT NULL" if has_vec_model else "vector IS NOT NULL"
            docs, with_vector = db.execute(
                f"SELECT count(*), coalesce(sum({vectors}), 0) FROM docs WHERE kind = 'run'").fetchone()
            return int(docs), int(with_vector), has_vec_model
        finally:
            db.close()
    except sqlite3.Error:
        return 0, 0, has_vec_model


def ingest(url: str, home: Path, runs: int, code: Path | None, extra: list[str]) -> dict[str, Any]:
    """Run ``xmem ingest mlflow`` in a child process, polling the index for BM25 and vector coverage."""
    index_db = home / "index" / "index.sqlite"
    started = time.perf_counter()
    child = subprocess.Popen([XMEM, "--home", str(home), "ingest", "mlflow", "--tracking-uri", url, *extra],
                             env=_env(home, code), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_doc = all_bm25 = all_vectors = None
    has_vec_model: bool | None = None
    while child.poll() is None:
        docs, with_vector, has_vec_model = _counts(index_db, has_vec_model)
        now = time.perf_counter() - started
        if docs and first_doc is None:
            first_doc = now
        if docs >= runs and all_bm25 is None:
            all_bm25 = now
        if with_vector >= runs and all_vectors is None:
            all_vectors = now
        time.sleep(0.5)
    wall = time.perf_counter() - started
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"xmem ingest failed ({child.returncode}):\n{output[-3000:]}")
    docs, with_vector, has_vec_model = _counts(index_db, has_vec_model)
    stats = json.loads(subprocess.run([XMEM, "--home", str(home), "stats", "--json"], env=_env(home, code),
                                      capture_output=True, text=True, check=True).stdout)
    report = next(s["last_report"] for s in stats["sources"] if s["source"].startswith("mlflow"))
    db = sqlite3.connect(f"file:{index_db}?mode=ro", uri=True)
    column = "coalesce(semantic, text)" if has_vec_model else "text"
    distinct = int(db.execute(f"SELECT count(DISTINCT {column}) FROM docs WHERE kind = 'run'").fetchone()[0])
    db.close()
    return {"wall": wall, "first_doc": first_doc, "all_bm25": all_bm25 or wall, "all_vectors": all_vectors,
            "run_docs": docs, "run_docs_with_vector": with_vector, "report": report, "distinct_texts": distinct,
            "output_tail": output[-1500:]}


def cold_search(home: Path, code: Path | None, repeats: int = 3) -> tuple[float, float]:
    """Median wall seconds of ``xmem search`` and of ``xmem --help`` from new processes."""
    def timed(args: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run([XMEM, "--home", str(home), *args], env=_env(home, code), capture_output=True, check=True)
        return time.perf_counter() - started

    search = [timed(["search", QUESTIONS[i % len(QUESTIONS)]]) for i in range(repeats)]
    start = [timed(["--help"]) for _ in range(repeats)]
    return statistics.median(search), statistics.median(start)


def warm_api(home: Path, code: Path | None, url: str) -> tuple[list[float], list[float]]:
    """``GET /search`` latencies of a running ``xmem serve``, and MLflow ILIKE first pages, in ms."""
    import httpx
    from mlflow.tracking import MlflowClient

    from memory.demo.mlflow_server import free_port

    port = free_port()
    server = subprocess.Popen([XMEM, "--home", str(home), "serve", "--port", str(port), "--anonymous"],
                              env=_env(home, code), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ours: list[float] = []
    theirs: list[float] = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/search", params={"q": "warm up"})
            for _ in range(3):
                for question in QUESTIONS:
                    started = time.perf_counter()
                    client.get("/search", params={"q": question}).raise_for_status()
                    ours.append((time.perf_counter() - started) * 1000)
        mlflow = MlflowClient(tracking_uri=url)
        experiments = [e.experiment_id for e in mlflow.search_experiments()]
        for _ in range(3):
            for question in QUESTIONS:
                word = max(question.split(), key=len).strip("?")
                started = time.perf_counter()
                mlflow.search_runs(experiments, filter_string=f"attributes.run_name ILIKE '%{word}%'", max_results=50)
                theirs.append((time.perf_counter() - started) * 1000)
    finally:
        server.terminate()
        server.wait(30)
    return ours, theirs


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    parser.add_argument("--runs", type=int, default=None, help="grow the real set to this many runs (replicated)")
    parser.add_argument("--code", type=Path, default=None, help="run xmem from this checkout (PYTHONPATH)")
    parser.add_argument("--label", default="after", help="recorded with every figure (e.g. before / after)")
    parser.add_argument("--defer-vectors", action="store_true", help="ingest with --defer-vectors, then reindex --pending")
    parser.add_argument("--no-wait", action="store_true", help="measure at once even if another MLflow server runs")
    parser.add_argument("--skip-api", action="store_true", help="skip the cold-search and API figures")
    args = parser.parse_args()
    if not args.no_wait:
        wait_for_quiet_machine(False)

    from memory.demo.mlflow_server import MlflowServer

    store, count = real_store(args.corpora)
    if args.runs and args.runs > count:
        target = CACHE / f"{store.parent.name}-x{args.runs}.db"
        log(f"replicating {count:,} runs to {args.runs:,} (cached in {target.name})")
        count = replicate(store, args.runs, target)
        store = target
    work = Path(tempfile.mkdtemp(prefix="ingest-real-", dir=CACHE))
    try:
        served = work / "mlflow"
        served.mkdir()
        shutil.copy(store, served / "mlflow.db")
        with MlflowServer(served) as server:
            log(f"{count:,} runs served at {server.url}; listing them (baseline)")
            started = time.perf_counter()
            listed = list_all_runs(server.url)
            listing = time.perf_counter() - started
            log(f"listed {listed:,} runs in {listing:.1f} s; ingesting with {args.code or 'this checkout'}")
            home = work / "xmem"
            extra = ["--defer-vectors"] if args.defer_vectors else []
            result = ingest(server.url, home, listed, args.code, extra)
            if args.defer_vectors:
                started = time.perf_counter()
                subprocess.run([XMEM, "--home", str(home), "reindex", "--pending"], env=_env(home, args.code),
                               check=True, capture_output=True)
                result["reindex_seconds"] = time.perf_counter() - started
            log(result["output_tail"])
            report = result["report"]
            tag = {"label": args.label, "runs": listed, "code": str(args.code or "HEAD")}
            emit(BENCH, "ingest_runs_per_s", listed / result["wall"], baseline="search_runs listing runs/s",
                 baseline_value=listed / listing, higher_is_better=True, wall_s=result["wall"], listing_s=listing, **tag)
            emit(BENCH, "bm25_searchable_s", result["all_bm25"], first_document_s=result["first_doc"],
                 baseline="search_runs listing s", baseline_value=listing, **tag)
            emit(BENCH, "fully_embedded_s", result["all_vectors"] or result["wall"] + result.get("reindex_seconds", 0),
                 baseline="search_runs listing s", baseline_value=listing,
                 run_docs=result["run_docs"], run_docs_with_vector=result["run_docs_with_vector"], **tag)
            emit(BENCH, "texts_embedded", report.get("embedded", 0), baseline="runs", baseline_value=listed,
                 distinct_texts_per_1000_runs=1000 * result["distinct_texts"] / listed, **tag)
            emit(BENCH, "phase_seconds", report.get("seconds", 0), searchable_s=report.get("searchable_seconds"),
                 embed_s=report.get("embed_seconds"), report_seconds=report.get("seconds"), **tag)
            if not args.skip_api:
                cold, start = cold_search(home, args.code)
                emit(BENCH, "cold_search_s", cold, baseline="xmem --help s", baseline_value=start, **tag)
                ours, theirs = warm_api(home, args.code, server.url)
                for q in (50, 95):
                    emit(BENCH, f"api_search_p{q}_ms", pct(ours, q), baseline=f"MLflow run_name ILIKE first 50, p{q} ms",
                         baseline_value=pct(theirs, q), **tag)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
