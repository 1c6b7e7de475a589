"""Ingestion throughput, end to end, from a real MLflow tracking server holding ~10,000 demo runs.

What is measured (one process, one run):

* the MLflow store: the demo organization (``memory.demo``, seed 7, scale 25: ~10k runs; --quick:
  scale 0.1, ~75 runs) is written once into ``bench/.cache/`` through ``MlflowClient("sqlite:///...")``, i.e.
  MLflow's own ``SqlAlchemyStore`` in-process, because the HTTP path took 35 min for 10k runs
  when first measured (11 min on a quiet machine; in-process is still ~2x faster).
  Each run re-measures both write paths on a small sample written after the ingests, as a new
  experiment (``mlflow_write_runs_per_s``).
* a real ``mlflow server`` (``MlflowServer``) serves a copy of that store;
* baseline: raw ``search_runs`` listing of every run of every experiment, pages of 1,000 (what the
  ingestor does first), median of 3 passes after a warm-up;
* ``MemoryService.ingest`` (what ``xmem ingest mlflow`` runs) into an empty memory, with the
  embedding model already loaded (its ~2 s load is excluded). The clock is ``report.seconds``;
  time inside MLflow calls, store writes, index writes and embedding is attributed by wrapping
  those objects' methods on the instances (no project code changed);
* a second ingest with nothing changed;
* the embedding cost of the run documents as built vs. the same texts with the duplicated note
  removed (``build_document`` used to add the MLflow note twice: as the description and as ``notes``);
  ``--note-cost-only`` measures just this on the cached memory.

The ingested memory is kept in ``bench/.cache/memory-*`` for ``search_latency.py``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from _common import (
    CACHE, FULL_SCALE, QUICK_SCALE, SEED, common_args, emit, log, mlflow_store, model, sample_org,
    served_copy, wait_for_quiet_machine,
)

BENCH = "ingest_mlflow"


def memory_cache(quick: bool) -> Path:
    scale = QUICK_SCALE if quick else FULL_SCALE
    return CACHE / f"memory-seed{SEED}-scale{scale:g}"


class Clock:
    """Seconds and calls spent in named methods, wrapped on the instances that own them."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, method: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        setattr(owner, method, timed)


def write_speed(url: str, workdir: Path, runs: int) -> tuple[float, float]:
    """runs/s writing the same sample through the HTTP server at ``url`` and in-process (SqlAlchemyStore)."""
    from mlflow.tracking import MlflowClient

    from memory.demo.mlflow_writer import write_organization

    org = sample_org(runs)
    started = time.perf_counter()
    write_organization(org, url)
    http = org.run_count / (time.perf_counter() - started)
    uri = f"sqlite:///{workdir / 'write-direct.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()  # create the schema outside the clock
    started = time.perf_counter()
    write_organization(org, uri)
    direct = org.run_count / (time.perf_counter() - started)
    return http, direct


def list_all_runs(url: str) -> int:
    """What a user or script does to read everything: every experiment, every run, pages of 1,000."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    total = 0
    for experiment in client.search_experiments(view_type=ViewType.ALL, max_results=1000):
        token = None
        while True:
            page = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1000,
                                      order_by=["attributes.start_time ASC"], page_token=token)
            total += len(page)
            token = page.token
            if not token:
                break
    return total


def ingest_once(svc: Any, url: str, clock: Clock | None) -> Any:
    from ingest.base import IngestReport

    ingestor = svc.make_ingestor("mlflow", {"tracking_uri": url}, IngestReport())
    if clock is not None:
        client = ingestor.client
        for method in ("search_experiments", "search_runs", "get_metric_history", "search_registered_models",
                       "search_model_versions", "get_run"):
            clock.wrap(client, method, f"mlflow.{method}")
        if hasattr(ingestor, "_history_bulk"):  # the server's bulk metric-history endpoint, when used
            clock.wrap(ingestor, "_history_bulk", "mlflow.get_history_bulk")
        for method in ("apply", "pending_documents", "mark_indexed", "finish_sync"):
            clock.wrap(svc.store, method, f"store.{method}")
        for method in ("index", "delete", "flush"):
            clock.wrap(svc.index, method, f"index.{method}")
    return svc.ingest(ingestor)


def note_cost(home: Path, sample: int) -> dict[str, float]:
    """Embedding run documents as indexed vs. the same documents with the duplicated note removed.

    Returns texts/s of both (best of 3 alternating rounds) and, from the model's tokenizer, mean
    tokens and the share of texts longer than the model's window (the tail is cut off unembedded).
    """
    import sqlite3

    db = sqlite3.connect(str(home / "index" / "index.sqlite"))
    rows = db.execute(
        "SELECT text FROM docs WHERE kind = 'run' ORDER BY rowid LIMIT ?", (sample,)
    ).fetchall()
    db.close()
    texts = [r[0] for r in rows]
    fixed = [_note_once(t) for t in texts]
    embedder = model()
    st = embedder._load()
    window = int(st.max_seq_length)
    tokens = [len(st.tokenizer(t)["input_ids"]) for t in texts]
    tokens_fixed = [len(st.tokenizer(t)["input_ids"]) for t in fixed]
    best = {"as_built": float("inf"), "once": float("inf")}
    for _ in range(3):
        for key, batch in (("as_built", texts), ("once", fixed)):
            started = time.perf_counter()
            embedder.embed(batch)
            best[key] = min(best[key], time.perf_counter() - started)
    return {
        "as_built": len(texts) / best["as_built"], "once": len(fixed) / best["once"],
        "doubled": sum(a != b for a, b in zip(texts, fixed)), "sample": len(texts), "window": window,
        "tokens": float(np.mean(tokens)), "tokens_once": float(np.mean(tokens_fixed)),
        "over_window": float(np.mean([t > window for t in tokens])),
        "over_window_once": float(np.mean([t > window for t in tokens_fixed])),
    }


def emit_note_cost(home: Path, quick: bool) -> None:
    log("embedding cost of the duplicated note")
    cost = note_cost(home, 16 if quick else 256)
    emit(BENCH, "embed_texts_per_s_run_documents", cost["as_built"], unit="texts/s",
         baseline="same documents with the note once", baseline_value=cost["once"], higher_is_better=True,
         documents_with_note_twice=cost["doubled"], sample=cost["sample"], mean_tokens=cost["tokens"],
         mean_tokens_note_once=cost["tokens_once"], model_window_tokens=cost["window"],
         share_over_window=cost["over_window"], share_over_window_note_once=cost["over_window_once"])


def _note_once(text: str) -> str:
    """Drop the second copy of a repeated paragraph (the note appears as description and as notes)."""
    words = text.split(" ")
    for size in range(len(words) // 2, 5, -1):
        for start in range(0, len(words) - 2 * size + 1):
            if words[start : start + size] == words[start + size : start + 2 * size]:
                return " ".join(words[: start + size] + words[start + 2 * size :])
    return text


def main() -> None:
    parser = common_args(__doc__)
    parser.add_argument("--note-cost-only", action="store_true",
                        help="only the duplicated-note embedding figure, on the cached ingested memory")
    args = parser.parse_args()
    wait_for_quiet_machine(args.quick)
    if args.note_cost_only:
        emit_note_cost(memory_cache(args.quick), args.quick)
        return
    from memory.service import MemoryService
    from memory.settings import Settings

    store = mlflow_store(args.quick)
    work = Path(tempfile.mkdtemp(prefix="xmem-bench-ingest-"))
    try:
        embedder = model()
        with served_copy(store, work / "mlflow") as server:
            runs = list_all_runs(server.url)  # warm-up
            listing = []
            for _ in range(1 if args.quick else 3):
                started = time.perf_counter()
                list_all_runs(server.url)
                listing.append(time.perf_counter() - started)
            listing_s = sorted(listing)[len(listing) // 2]
            log(f"listing {runs} runs: {listing_s:.2f} s")

            home = work / "home"
            svc = MemoryService(Settings(home=home), embedder=embedder)
            clock = Clock()
            log("first ingest")
            first = ingest_once(svc, server.url, clock)
            documents = svc.index.count()
            log(f"first ingest: {first.seconds:.1f} s")
            second = ingest_once(svc, server.url, None)
            svc.close()
            log("write speed sample (a new experiment, after the ingests): HTTP server vs in-process SqlAlchemyStore")
            sample = 10 if args.quick else 120
            http, direct = write_speed(server.url, work, sample)

        emit(BENCH, "mlflow_write_runs_per_s", http, unit="runs/s", path="MlflowClient -> mlflow server (HTTP)",
             baseline="MlflowClient -> SqlAlchemyStore in-process (sqlite)", baseline_value=direct, higher_is_better=True,
             sample_runs=sample, minutes_for_10k_runs_over_http=10_000 / http / 60)
        breakdown = {k: round(v, 2) for k, v in sorted(clock.seconds.items())}
        calls = dict(sorted(clock.calls.items()))
        mlflow_s = sum(v for k, v in clock.seconds.items() if k.startswith("mlflow."))
        store_s = sum(v for k, v in clock.seconds.items() if k.startswith("store."))
        index_s = sum(v for k, v in clock.seconds.items() if k.startswith("index."))
        listing_rate = runs / listing_s
        emit(BENCH, "ingest_runs_per_s", runs / first.seconds, unit="runs/s", runs=runs, seconds=first.seconds,
             baseline="mlflow_search_runs_listing_runs_per_s", baseline_value=listing_rate, higher_is_better=True,
             embedding_model_preloaded=True)
        emit(BENCH, "embed_share", first.embed_seconds / first.seconds, unit="fraction of ingest seconds",
             embed_seconds=first.embed_seconds, ingest_seconds=first.seconds,
             mlflow_calls_seconds=round(mlflow_s, 2), mlflow_share=round(mlflow_s / first.seconds, 3),
             store_seconds=round(store_s, 2), index_seconds=round(index_s, 2),
             other_seconds=round(first.seconds - first.embed_seconds - mlflow_s - store_s - index_s, 2),
             breakdown=breakdown, calls=calls)
        emit(BENCH, "texts_embedded", first.embedded, unit="distinct texts sent to the model", runs=runs,
             documents_indexed=documents, baseline="runs", baseline_value=runs, higher_is_better=False,
             texts_per_run=round(first.embedded / runs, 3),
             embed_texts_per_s=round(first.embedded / max(first.embed_seconds, 1e-9), 1))
        emit(BENCH, "second_ingest_seconds", second.seconds, unit="s", changed=second.new + second.changed,
             skipped_unchanged=second.skipped_unchanged, baseline="first_ingest_seconds", baseline_value=first.seconds,
             listing_seconds=listing_s)

        emit_note_cost(home, args.quick)

        target = memory_cache(args.quick)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(home, target)
        log(f"ingested memory kept in {target}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
