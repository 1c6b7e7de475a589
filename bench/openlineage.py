"""OpenLineage: events/s through the HTTP receiver and by file replay; 6-hop lineage on 100k job runs.

1. A real ``xmem serve`` (uvicorn, one process, SQLite) on loopback; 8 concurrent httpx clients
   each POST their share of synthetic chain-shaped events (a START and a COMPLETE per run) to
   ``/api/v1/lineage`` with an ``ingest`` token. Figures: events/s accepted, p50/p95 per request,
   errors (must be 0). Baseline: one client sending sequentially, same server, same run.
   The server indexes the search documents after answering (background task), on the same 2 cores.
2. ``xmem ingest openlineage``'s code path, in-process (``MemoryService.ingest`` with the
   OpenLineage ingestor) over an NDJSON file: events/s into the graph (validation, raw events
   stored, runs folded), search indexing deferred. Baseline: the HTTP figure of step 1.
3. A graph of >= 100,000 job runs (chains: job k reads the dataset job k-1 writes; several days of
   runs each), built with the same mapping (``event_records`` + ``run_records``) and applied in large
   batches, cached in ``bench/.cache/``. Figure: p95 of ``MemoryService.lineage(depth=6, up)`` from
   chain-end datasets. Baseline: the 1-hop query on the same roots, same process.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from _common import CACHE, REPO, common_args, emit, log, pct, wait_for_quiet_machine, wait_until_ready

from memory.demo.mlflow_server import free_port

BENCH = "openlineage"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def chain_events(chains: int, length: int, days: int, seed: int = 1, tag: str = "bench") -> list[list[dict[str, Any]]]:
    """Per run, its START and COMPLETE events: job (c, k) reads dataset (c, k-1) and writes dataset (c, k)."""
    rng = random.Random(seed)
    runs = []
    for day in range(days):
        for chain in range(chains):
            for step in range(length):
                run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                start = T0 + timedelta(days=day, minutes=step * 5)
                job = {"namespace": f"{tag}-pipelines", "name": f"chain{chain:04d}.step{step:02d}"}
                inputs = [{"namespace": "s3://lake", "name": f"{tag}/chain{chain:04d}/table{step - 1:02d}"}] if step else []
                outputs = [{"namespace": "s3://lake", "name": f"{tag}/chain{chain:04d}/table{step:02d}"}]
                base = {"producer": "https://example.com/bench", "schemaURL": SCHEMA_URL, "run": {"runId": run_id}, "job": job}
                runs.append([
                    {**base, "eventType": "START", "eventTime": start.isoformat(), "inputs": inputs, "outputs": outputs},
                    {**base, "eventType": "COMPLETE", "eventTime": (start + timedelta(minutes=4)).isoformat()},
                ])
    return runs


# -- 1. the HTTP receiver --------------------------------------------------------------------------
async def sender(base: str, token: str, events: list[dict[str, Any]], latencies: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as http:
        for event in events:
            started = time.perf_counter()
            try:
                response = await http.post("/api/v1/lineage", json=event)
                if response.status_code != 201:
                    errors.append(f"{response.status_code} {response.text[:100]}")
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
            latencies.append((time.perf_counter() - started) * 1000)


async def send(base: str, token: str, runs: list[list[dict[str, Any]]], clients: int) -> tuple[float, list[float], list[str]]:
    """Each client sends whole runs (START then COMPLETE), as one producer would."""
    shares: list[list[dict[str, Any]]] = [[] for _ in range(clients)]
    for i, run in enumerate(runs):
        shares[i % clients].extend(run)
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(sender(base, token, share, latencies, errors) for share in shares))
    return time.perf_counter() - started, latencies, errors


def http_figures(quick: bool, work: Path) -> float:
    home = work / "http-home"
    xmem = str(REPO / ".venv" / "bin" / "xmem")
    created = subprocess.run([xmem, "--home", str(home), "token", "create", "bench", "--scopes", "ingest"],
                             capture_output=True, text=True, check=True)
    token = created.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([xmem, "--home", str(home), "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base)
        clients = 8
        one_runs, many_runs = (20, 100) if quick else (150, 1000)
        warm = chain_events(1, 2, 1, seed=7, tag="warm")
        asyncio.run(send(base, token, warm, 1))  # loads the embedding model in the server
        log(f"one client: {one_runs * 2} events")
        one_seconds, one_lat, one_errors = asyncio.run(send(base, token, chain_events(one_runs // 10, 10, 1, seed=2, tag="one"), 1))
        log(f"{clients} clients: {many_runs * 2} events")
        seconds, latencies, errors = asyncio.run(send(base, token, chain_events(many_runs // 10, 10, 1, seed=3, tag="many"), clients))
        rate, one_rate = many_runs * 2 / seconds, one_runs * 2 / one_seconds
        emit(BENCH, "http_events_per_s", rate, clients=clients, events=many_runs * 2, higher_is_better=True,
             baseline="one_client", baseline_value=one_rate)
        for q in (50, 95):
            emit(BENCH, f"http_request_p{q}_ms", pct(latencies, q), clients=clients,
                 baseline="one_client", baseline_value=pct(one_lat, q))
        emit(BENCH, "http_errors", len(errors) + len(one_errors), requests=len(latencies) + len(one_lat),
             samples=sorted(set(errors + one_errors))[:5])
        return rate
    finally:  # on SIGTERM uvicorn first finishes the queued indexing (background tasks)
        server.terminate()
        try:
            server.wait(timeout=300)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- 2. file replay ------------------------------------------------------------------------------
def replay_figure(quick: bool, work: Path, http_rate: float) -> None:
    from memory.service import IngestReport, MemoryService
    from memory.settings import Settings

    runs = chain_events(10 if quick else 100, 10, 1 if quick else 5, seed=4, tag="replay")
    path = work / "events.ndjson"
    with open(path, "w") as out:
        for run in runs:
            for event in run:
                out.write(json.dumps(event) + "\n")
    events = sum(len(r) for r in runs)
    with MemoryService(Settings(home=work / "replay-home")) as svc:
        ingestor = svc.make_ingestor("openlineage", {"paths": (str(path),)}, IngestReport())
        log(f"replaying {events} events")
        started = time.perf_counter()
        report = svc.ingest(ingestor, index=False)
        seconds = time.perf_counter() - started
    assert report.read == events and report.rejected == 0, report
    emit(BENCH, "replay_events_per_s", events / seconds, events=events, index="deferred", higher_is_better=True,
         baseline="http_8_clients", baseline_value=http_rate)


# -- 3. lineage on 100k job runs -------------------------------------------------------------------
def lineage_graph(quick: bool) -> tuple[Path, int, int]:
    """The cached memory with the chain graph; (home, chains, length)."""
    from ingest.openlineage.mapping import SOURCE_KEY, SYSTEM, event_records, run_records
    from memory.store import SqlGraphStore

    chains, length, days = (20, 20, 2) if quick else (500, 20, 10)
    home = CACHE / f"openlineage-chains{chains}x{length}x{days}"
    done = home / "built.json"
    if done.exists():
        return home, chains, length
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    store = SqlGraphStore(f"sqlite:///{home / 'memory.db'}")
    runs = chain_events(chains, length, days, seed=5, tag="graph")
    log(f"building {len(runs):,} job runs ({chains} chains x {length} jobs x {days} days), once (cached)")
    started = time.perf_counter()
    batch: list[Any] = []
    for i, run in enumerate(runs, 1):
        for event in run:
            batch += event_records(event)
        batch += run_records(run)
        if len(batch) >= 20_000 or i == len(runs):
            store.apply(SOURCE_KEY, SYSTEM, batch, None)
            batch = []
        if i % 10_000 == 0:
            log(f"  {i:,} runs")
    seconds = time.perf_counter() - started
    stats = store.stats()
    store.close()
    done.write_text(json.dumps({"runs": len(runs), "seconds": round(seconds, 1), "edges": stats.edges}))
    log(f"built in {seconds:.0f} s")
    return home, chains, length


def lineage_figures(quick: bool) -> None:
    from memory.embeddings import Embedder
    from memory.service import MemoryService
    from memory.settings import Settings

    class NoEmbedder(Embedder):  # lineage queries embed nothing; do not load the model
        name = "none"
        dimension = 384

        def embed(self, texts: Any) -> Any:
            raise AssertionError("not used")

    home, chains, length = lineage_graph(quick)
    runs = json.loads((home / "built.json").read_text())["runs"]
    rng = random.Random(6)
    roots = [f"dataset://s3://lake/graph/chain{rng.randrange(chains):04d}/table{length - 1:02d}" for _ in range(60 if quick else 300)]
    with MemoryService(Settings(home=home), embedder=NoEmbedder()) as svc:
        for root in roots[:5]:
            svc.lineage(root, depth=6)  # warm the page cache
        sizes, six, one = [], [], []
        for root in roots:
            started = time.perf_counter()
            graph = svc.lineage(root, direction="up", depth=6)
            six.append((time.perf_counter() - started) * 1000)
            sizes.append(len(graph.nodes))
            started = time.perf_counter()
            svc.lineage(root, direction="up", depth=1)
            one.append((time.perf_counter() - started) * 1000)
    emit(BENCH, "lineage_6hop_p95_ms", pct(six, 95), job_runs=runs, queries=len(roots), p50_ms=pct(six, 50),
         nodes_returned_p50=pct(sizes, 50), baseline="1_hop_same_roots", baseline_value=pct(one, 95))


def main() -> None:
    args = common_args(__doc__).parse_args()
    wait_for_quiet_machine(args.quick)
    work = Path(tempfile.mkdtemp(prefix="xmem-bench-ol-"))
    try:
        rate = http_figures(args.quick, work)
        replay_figure(args.quick, work, rate)
        lineage_figures(args.quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
