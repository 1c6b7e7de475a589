"""Bounded load on the HTTP API over loopback: 50 concurrent clients for 30 s on /search and /ask.

The API serves the cached 10k-run demo memory built by ``ingest_mlflow.py`` (``--quick``: the
small one): one uvicorn process over the embedded memory, or with ``--workers N`` N processes
over a copy of it in PostgreSQL + Elasticsearch (the services of ``.services.env``; the copy is
made with ``xmem migrate`` and ``xmem reindex``, and both runs are measured: 1 worker, then N). Each client loops over user-style questions,
alternating ``GET /search`` and ``POST /ask``. Figures: p50/p95 per endpoint, requests/s and the
error count (must be 0). Baseline: the same requests from a single client, same run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import CACHE, REPO, USER_QUERIES, common_args, emit, log, pct, query_texts, wait_for_quiet_machine, wait_until_ready

from memory.demo.mlflow_server import free_port

BENCH = "api_load"


async def client(base: str, questions: list[str], until: float, out: dict[str, list[float]], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        i = 0
        while time.monotonic() < until:
            question = questions[i % len(questions)]
            endpoint = "/search" if i % 2 == 0 else "/ask"
            started = time.perf_counter()
            try:
                if endpoint == "/search":
                    response = await http.get("/search", params={"q": question, "limit": 10})
                else:
                    response = await http.post("/ask", json={"question": question, "limit": 10})
                if response.status_code != 200:
                    errors.append(f"{endpoint} {response.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"{endpoint} {type(exc).__name__}")
            out[endpoint].append((time.perf_counter() - started) * 1000)
            i += 1


async def load(base: str, questions: list[str], clients: int, seconds: float) -> tuple[dict[str, list[float]], list[str], float]:
    out: dict[str, list[float]] = {"/search": [], "/ask": []}
    errors: list[str] = []
    until = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(client(base, questions[c:] + questions[:c], until, out, errors) for c in range(clients)))
    return out, errors, time.perf_counter() - started


XMEM = str(REPO / ".venv" / "bin" / "xmem")


def shared_copy(home: Path) -> dict[str, str]:
    """Environment of a PostgreSQL + Elasticsearch copy of the memory in ``home`` (made fresh)."""
    from sqlalchemy import create_engine, text

    base = os.environ.get("XMEM_TEST_POSTGRES_URL")
    es = os.environ.get("XMEM_TEST_ELASTICSEARCH_URL")
    if not base or not es:
        sys.exit("--workers needs PostgreSQL and Elasticsearch: `make services`, then `set -a; . ./.services.env`")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "xmem_bench_api" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "xmem_bench_api"'))
    admin.dispose()
    url = base.rsplit("/", 1)[0] + "/xmem_bench_api"
    env = {**os.environ, "XMEM_HOME": str(home), "XMEM_DATABASE_URL": url, "XMEM_SEARCH_BACKEND": "elasticsearch",
           "XMEM_ELASTICSEARCH_URL": es, "XMEM_ELASTICSEARCH_INDEX": "xmem-bench-api"}
    log("copying the memory to PostgreSQL and Elasticsearch")
    subprocess.run([XMEM, "--home", str(home), "migrate", "--to", url], check=True, stdout=subprocess.DEVNULL,
                   env={k: v for k, v in env.items() if k != "XMEM_DATABASE_URL"})
    subprocess.run([XMEM, "reindex"], check=True, stdout=subprocess.DEVNULL, env=env)
    return env


def main() -> None:
    parser = common_args(__doc__)
    parser.add_argument("--workers", type=int, default=1, help="also measure N worker processes over PostgreSQL + Elasticsearch")
    args = parser.parse_args()
    wait_for_quiet_machine(args.quick)
    source = CACHE / ("memory-seed7-scale0.1" if args.quick else "memory-seed7-scale25")
    if not source.exists():
        sys.exit(f"{source} is missing: run bench/ingest_mlflow.py{' --quick' if args.quick else ''} first")
    work = Path(tempfile.mkdtemp(prefix="xmem-bench-api-"))
    shutil.copytree(source, work / "home")
    try:
        if args.workers == 1:
            measure(args, [XMEM, "--home", str(work / "home"), "serve", "--anonymous"], dict(os.environ), "")
        else:
            env = shared_copy(work / "home")
            for workers in (1, args.workers):
                measure(args, [XMEM, "serve", "--anonymous", "--workers", str(workers)], env, f"shared_w{workers}_")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args: Any, command: list[str], env: dict[str, str], prefix: str) -> None:
    port = free_port()
    server = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base)
        questions = [q for q, _ in USER_QUERIES] + query_texts(30)
        httpx.post(f"{base}/ask", json={"question": questions[0]}, timeout=120)  # loads the model
        asyncio.run(load(base, questions, 8, 5.0))  # and in every worker process
        clients, seconds = (10, 5.0) if args.quick else (50, 30.0)
        log("single client (baseline)")
        single, single_errors, _ = asyncio.run(load(base, questions, 1, seconds / 3))
        log(f"{clients} clients for {seconds:.0f} s")
        many, errors, elapsed = asyncio.run(load(base, questions, clients, seconds))
        for endpoint in ("/search", "/ask"):
            for q in (50, 95):
                emit(BENCH, f"{prefix}{endpoint.strip('/')}_p{q}_ms", pct(many[endpoint], q), clients=clients, seconds=seconds,
                     requests=len(many[endpoint]), baseline="one_client", baseline_value=pct(single[endpoint], q))
        total = sum(len(v) for v in many.values())
        emit(BENCH, f"{prefix}requests_per_s", total / elapsed, clients=clients, higher_is_better=True,
             baseline="one_client", baseline_value=sum(len(v) for v in single.values()) / (seconds / 3))
        emit(BENCH, f"{prefix}errors", len(errors) + len(single_errors), requests=total, samples=sorted(set(errors))[:5])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
