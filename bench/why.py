"""`xmem why`: p50/p95 of ``MemoryService.why`` (lineage + previous-good + ranked diff) on a generated graph.

The graph (>= 1M nodes at full size, built once into a SQLite store with ``store.apply`` and cached in
``bench/.cache/``) has, per pipeline: a chain of ``STAGES`` jobs, each run once a day for ``DAYS`` days
(job run k reads the dataset stage k-1 writes, with a schema and a row count on its ``wrote`` edge),
and one registered model whose ``VERSIONS`` versions were each trained (an MLflow-shaped run with
params, metrics, a commit) on a version of the chain's last dataset and promoted to Production in
turn (stage events). The upstream walk of depth 8 from a version crosses model version → run →
dataset version → dataset → job runs → dataset → job runs → ….

Figures: p50/p95 of ``why("model-N@production", depth=8)`` (resolve the stage holder from events,
find previous-good, walk both versions' lineages, diff and rank). Baseline: plain ``lineage`` of the
same version (depth 8) in the same process: the price of the answer over the raw walk.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from _common import CACHE, common_args, emit, log, pct

BENCH = "why"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: (pipelines, stages, days, versions): full size ~1.01M nodes; --quick ~8k
FULL, QUICK = (1500, 6, 100, 20), (12, 6, 100, 20)
DEPTH = 8


def records(pipeline: int, stages: int, days: int, versions: int) -> Iterator[Any]:
    """The records of one pipeline and its model (deterministic)."""
    from memory.entities import EdgeKind, EdgeUpsert, EventRecord, NodeKind, NodeUpsert, Source

    rng = random.Random(pipeline)
    base = f"bench{pipeline:05d}"

    def src(key: str, url: str | None = None) -> Source:
        return Source(system="bench", instance="bench", id=key, url=url)

    def dataset(stage: int) -> str:
        return f"dataset://s3://lake/{base}/table{stage}"

    for stage in range(stages):
        yield NodeUpsert(urn=dataset(stage), kind=NodeKind.dataset, name=f"{base}.table{stage}", source=src(dataset(stage)))
        job = f"openlineage://bench/{base}/job{stage}"
        yield NodeUpsert(urn=job, kind=NodeKind.job, name=f"{base}.job{stage}", source=src(job))
        for day in range(days):
            at = T0 + timedelta(days=day, hours=stage)
            run = f"openlineage-run://{base}-{stage}-{day}"
            failed = rng.random() < 0.02
            yield NodeUpsert(urn=run, kind=NodeKind.job_run, name=f"{base}.job{stage} run {day}", source=src(run),
                             created_at=at, properties={"state": "FAIL" if failed else "COMPLETE",
                                                        "start_time": at.isoformat(),
                                                        "nominal_start_time": (at - timedelta(minutes=rng.choice((0, 0, 45)))).isoformat()})
            yield EdgeUpsert(src=run, kind=EdgeKind.version_of, dst=job, valid_from=at)
            if stage:
                yield EdgeUpsert(src=run, kind=EdgeKind.read, dst=dataset(stage - 1), valid_from=at)
            fields = [{"name": f"col{i}", "type": "long"} for i in range(8 + (day // 30))]
            yield EdgeUpsert(src=run, kind=EdgeKind.wrote, dst=dataset(stage), valid_from=at,
                             properties={"schema": fields, "statistics": {"rowCount": 1000 + day}})
    model = f"mlflow://bench/models/{base}"
    yield NodeUpsert(urn=model, kind=NodeKind.model, name=f"model-{pipeline}", source=src(model), created_at=T0)
    last = dataset(stages - 1)
    for v in range(1, versions + 1):
        day = (v * days) // (versions + 1)
        trained = T0 + timedelta(days=day, hours=stages + 1)
        run, version, dsv = f"mlflow://bench/runs/{base}-{v}", f"{model}/versions/{v}", f"{last}@d{day}"
        yield NodeUpsert(urn=dsv, kind=NodeKind.dataset_version, name=f"{base}.table@d{day}", source=src(dsv))
        yield EdgeUpsert(src=dsv, kind=EdgeKind.version_of, dst=last)
        yield NodeUpsert(urn=run, kind=NodeKind.run, name=f"{base} train {v}", source=src(run, f"http://mlflow/{base}/{v}"),
                         created_at=trained,
                         properties={"params": {"learning_rate": rng.choice(("0.1", "0.05", "0.01")), "depth": "6"},
                                     "metrics": {"val_auc": round(rng.uniform(0.7, 0.9), 4)},
                                     "git_commit": f"{rng.getrandbits(160):040x}", "start_time": trained.isoformat()})
        yield EdgeUpsert(src=run, kind=EdgeKind.used, dst=dsv, valid_from=trained)
        yield NodeUpsert(urn=version, kind=NodeKind.model_version, name=f"model-{pipeline} v{v}", source=src(version),
                         created_at=trained + timedelta(hours=1),
                         properties={"model": f"model-{pipeline}", "version": str(v), "stage": "Production" if v == versions else "Archived"})
        yield EdgeUpsert(src=version, kind=EdgeKind.version_of, dst=model, valid_from=trained + timedelta(hours=1))
        yield EdgeUpsert(src=run, kind=EdgeKind.produced, dst=version, valid_from=trained + timedelta(hours=1))
        promoted = trained + timedelta(hours=2)
        yield EventRecord(urn=version, kind="stage", at=promoted, payload={"stage": "Production"})
        if v < versions:
            retired = T0 + timedelta(days=((v + 1) * days) // (versions + 1), hours=stages + 3)
            yield EventRecord(urn=version, kind="stage", at=retired, payload={"stage": "Archived"})


def build(size: tuple[int, int, int, int]) -> Path:
    """The cached memory of ``size``; built once (progress on stderr)."""
    from memory.store import SqlGraphStore

    pipelines, stages, days, versions = size
    home = CACHE / f"why-{pipelines}x{stages}x{days}x{versions}"
    if (home / "built.json").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    store = SqlGraphStore(f"sqlite:///{home / 'memory.db'}")
    started, batch = time.perf_counter(), []
    for p in range(pipelines):
        batch += list(records(p, stages, days, versions))
        if len(batch) >= 50_000 or p == pipelines - 1:
            store.apply("bench", "bench", batch, None)
            batch = []
            log(f"  {p + 1:,}/{pipelines:,} pipelines ({time.perf_counter() - started:.0f} s)")
    stats = store.stats()
    store.close()
    nodes = sum(stats.nodes_by_kind_and_system.values())
    (home / "built.json").write_text(json.dumps({"nodes": nodes, "edges": stats.edges, "events": stats.events,
                                                 "seconds": round(time.perf_counter() - started, 1)}))
    log(f"built {nodes:,} nodes, {stats.edges:,} edges in {time.perf_counter() - started:.0f} s")
    return home


def main() -> None:
    from memory.embeddings import Embedder
    from memory.service import MemoryService
    from memory.settings import Settings

    class NoEmbedder(Embedder):  # why embeds nothing; do not load the model
        name = "none"
        dimension = 384

        def embed(self, texts: Any) -> Any:
            raise AssertionError("not used")

    args = common_args(__doc__).parse_args()
    size = QUICK if args.quick else FULL
    home = build(size)
    built = json.loads((home / "built.json").read_text())
    pipelines, versions = size[0], size[3]
    rng = random.Random(11)
    models = [rng.randrange(pipelines) for _ in range(30 if args.quick else 200)]
    with MemoryService(Settings(home=home), embedder=NoEmbedder()) as svc:
        for p in models[:5]:  # warm the page cache
            svc.why(f"model-{p}@production", depth=DEPTH)
        why_ms, lineage_ms, sizes, changes = [], [], [], []
        for p in models:
            started = time.perf_counter()
            report = svc.why(f"model-{p}@production", depth=DEPTH)
            why_ms.append((time.perf_counter() - started) * 1000)
            assert report.diff is not None and report.diff.baseline.name == f"model-{p} v{versions - 1}", report.notes
            sizes.append(len(report.lineage.nodes))
            changes.append(len(report.diff.changes))
            started = time.perf_counter()
            svc.lineage(report.version.urn, depth=DEPTH)
            lineage_ms.append((time.perf_counter() - started) * 1000)
    common = {"nodes": built["nodes"], "edges": built["edges"], "depth": DEPTH, "queries": len(models),
              "lineage_nodes_p50": pct(sizes, 50), "changes_p50": pct(changes, 50)}
    emit(BENCH, "why_p50_ms", pct(why_ms, 50), baseline="lineage_same_root_p50", baseline_value=pct(lineage_ms, 50), **common)
    emit(BENCH, "why_p95_ms", pct(why_ms, 95), baseline="lineage_same_root_p95", baseline_value=pct(lineage_ms, 95), **common)


if __name__ == "__main__":
    main()
