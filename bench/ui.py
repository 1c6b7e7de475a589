"""The app in Chromium: time to first render of the search page and of a 200-node lineage graph.

A memory is generated once (cached in ``bench/.cache/ui-*``): ``RUNS`` runs with notes, and one model
version whose upstream lineage (4 hops) has exactly 200 nodes (its model, training run, code, 49 dataset
versions each written by a pipeline run that read another dataset version and belongs to a job). The
app (``streamlit run ui/app/main.py``) serves it on loopback; Debian's chromium (headless, Playwright)
opens a fresh tab per measurement.

Figures (p50/p95 over the repeats):
- ``search_first_render_ms``: from navigation to ``/?q=…`` in a fresh browser context (no HTTP cache)
  until the first hit is on screen; baseline: ``MemoryService.ask`` of the same question in this process
  (the price of the page over the answer). The questions' embeddings are cached for both sides.
- ``lineage_200_first_render_ms``: from navigation to ``/lineage?urn=…&depth=4`` until the 200 node
  labels are drawn; baseline: ``MemoryService.lineage`` of the same walk in this process.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

from _common import CACHE, common_args, emit, log, pct

BENCH = "ui"
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
FEEDS = 49  # dataset versions the training run used: the version, its model, run and code + 49 * 4 = 200 nodes
RUNS = {True: 150, False: 1500}
REPEATS = {True: 3, False: 15}
IDEAS = ("mixup augmentation", "label smoothing", "focal loss", "cosine learning rate schedule", "dropout sweep",
         "gradient boosting with dart", "target encoding", "graph features", "two tower retrieval", "distillation")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]


def records(runs: int) -> Iterator[Any]:
    from memory.entities import EdgeKind, EdgeUpsert, NodeKind, NodeUpsert, Source

    def src(key: str) -> Source:
        return Source(system="bench", instance="bench", id=key)

    for i in range(runs):
        idea = IDEAS[i % len(IDEAS)]
        urn = f"bench://runs/{i}"
        yield NodeUpsert(urn=urn, kind=NodeKind.run, name=f"{idea.split()[0]}-{i}", source=src(urn), project=f"project-{i % 8}",
                         description=f"Tried {idea} on project-{i % 8}; notes of attempt {i}.", created_at=T0 + timedelta(hours=i),
                         properties={"params": {"lr": str(0.01 * (1 + i % 5))}, "metrics": {"val_auc": 0.7 + (i % 17) / 100},
                                     "status": "FINISHED", "person": f"person{i % 12}"})
    version, run, code = "bench://models/m/versions/1", "bench://runs/train", "bench://code/abc"
    yield NodeUpsert(urn=version, kind=NodeKind.model_version, name="m v1", source=src(version), created_at=T0)
    yield NodeUpsert(urn=run, kind=NodeKind.run, name="train m", source=src(run), created_at=T0)
    yield NodeUpsert(urn=code, kind=NodeKind.code_version, name="abc", source=src(code))
    yield NodeUpsert(urn="bench://models/m", kind=NodeKind.model, name="m", source=src("bench://models/m"))
    yield EdgeUpsert(src=version, kind=EdgeKind.version_of, dst="bench://models/m", valid_from=T0)
    yield EdgeUpsert(src=run, kind=EdgeKind.produced, dst=version, valid_from=T0)
    yield EdgeUpsert(src=run, kind=EdgeKind.ran_code, dst=code, valid_from=T0)
    for k in range(FEEDS):
        data, job_run, job, upstream = (f"dataset://lake/t{k}@v1", f"bench://job-runs/{k}", f"bench://jobs/{k}",
                                        f"dataset://lake/raw{k}@v1")
        for urn, kind, name in ((data, NodeKind.dataset_version, f"t{k}@v1"), (job_run, NodeKind.job_run, f"build t{k}"),
                                (job, NodeKind.job, f"job t{k}"), (upstream, NodeKind.dataset_version, f"raw{k}@v1")):
            yield NodeUpsert(urn=urn, kind=kind, name=name, source=src(urn), created_at=T0 - timedelta(days=1))
        yield EdgeUpsert(src=run, kind=EdgeKind.used, dst=data, valid_from=T0)
        yield EdgeUpsert(src=job_run, kind=EdgeKind.wrote, dst=data, valid_from=T0 - timedelta(days=1))
        yield EdgeUpsert(src=job_run, kind=EdgeKind.read, dst=upstream, valid_from=T0 - timedelta(days=1))
        yield EdgeUpsert(src=job_run, kind=EdgeKind.version_of, dst=job, valid_from=T0 - timedelta(days=1))


def build(home: Path, runs: int) -> None:
    from memory.service import MemoryService
    from memory.settings import Settings

    if (home / "ready").exists():
        return
    shutil.rmtree(home, ignore_errors=True)
    log(f"building the memory ({runs} runs + a 200-node lineage) in {home}")
    with MemoryService(Settings(home=home)) as svc:
        svc.store.apply("bench", "bench", list(records(runs)), None)
        svc.index_pending()
        svc.index.flush()
    (home / "ready").touch()


def main() -> None:
    args = common_args(__doc__).parse_args()
    from playwright.sync_api import sync_playwright

    from memory.demo.mlflow_server import free_port
    from memory.service import MemoryService
    from memory.settings import Settings
    from ui.app import launch

    home = CACHE / f"ui-{'quick' if args.quick else 'full'}"
    build(home, RUNS[args.quick])
    settings = Settings(home=home)
    svc = MemoryService(settings)
    root = "bench://models/m/versions/1"
    assert len(svc.lineage(root, depth=4).nodes) == 200
    port = free_port()
    app = launch.start(settings, port=port, log=home / "app.log")
    url = f"http://127.0.0.1:{port}"
    try:
        launch.wait_until_ready(app, url, timeout=120)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

            def first_render(path: str, ready: str, minimum: int = 1) -> float:
                tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                began = time.perf_counter()
                tab.goto(url + path)
                tab.wait_for_function(f"() => document.querySelectorAll({ready!r}).length >= {minimum}", timeout=120_000)
                elapsed = (time.perf_counter() - began) * 1000
                tab.close()
                return elapsed

            first_render("/?q=warm+up", "[class*='st-key-hit-'] a")  # the app process loads its model on the first session
            questions = [f"has anyone tried {IDEAS[i % len(IDEAS)]} in project-{i % 8}?" for i in range(REPEATS[args.quick])]
            for q in questions:  # both sides then read the questions' embeddings from the shared cache
                svc.ask(q)
            page_ms = [first_render("/?q=" + quote(q), "[class*='st-key-hit-'] a") for q in questions]
            bare_ms = []
            for q in questions:
                began = time.perf_counter()
                svc.ask(q)
                bare_ms.append((time.perf_counter() - began) * 1000)
            emit(BENCH, "search_first_render_ms_p50", pct(page_ms, 50), baseline="service ask p50",
                 baseline_value=pct(bare_ms, 50), p95=pct(page_ms, 95), runs=RUNS[args.quick], repeats=len(page_ms))
            lineage_path = f"/lineage?urn={quote(root, safe='')}&depth=4"
            graph_ms = [first_render(lineage_path, "svg text", 200) for _ in range(REPEATS[args.quick])]
            walk_ms = []
            for _ in range(REPEATS[args.quick]):
                began = time.perf_counter()
                svc.lineage(root, depth=4)
                walk_ms.append((time.perf_counter() - began) * 1000)
            emit(BENCH, "lineage_200_first_render_ms_p50", pct(graph_ms, 50), baseline="service lineage p50",
                 baseline_value=pct(walk_ms, 50), p95=pct(graph_ms, 95), nodes=200, repeats=len(graph_ms))
            browser.close()
    finally:
        launch.stop(app)
        svc.close()


if __name__ == "__main__":
    main()
