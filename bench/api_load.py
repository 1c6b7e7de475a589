"""Bounded load on the HTTP API over loopback: 50 concurrent clients for 30 s on /search and /ask.

The API (uvicorn, one process) serves the cached 10k-run demo memory built by
``ingest_mlflow.py`` (``--quick``: the small one). Each client loops over user-style questions,
alternating ``GET /search`` and ``POST /ask``. Figures: p50/p95 per endpoint, requests/s and the
error count (must be 0). Baseline: the same requests from a single client, same run.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import CACHE, REPO, USER_QUERIES, common_args, emit, log, pct, query_texts, wait_for_quiet_machine

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


def main() -> None:
    args = common_args(__doc__).parse_args()
    wait_for_quiet_machine(args.quick)
    source = CACHE / ("memory-seed7-scale0.1" if args.quick else "memory-seed7-scale25")
    if not source.exists():
        sys.exit(f"{source} is missing: run bench/ingest_mlflow.py{' --quick' if args.quick else ''} first")
    work = Path(tempfile.mkdtemp(prefix="xmem-bench-api-"))
    shutil.copytree(source, work / "home")
    port = free_port()
    server = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "xmem"), "--home", str(work / "home"), "serve", "--anonymous", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        questions = [q for q, _ in USER_QUERIES] + query_texts(30)
        httpx.post(f"{base}/ask", json={"question": questions[0]}, timeout=120)  # loads the model
        clients, seconds = (10, 5.0) if args.quick else (50, 30.0)
        log("single client (baseline)")
        single, single_errors, _ = asyncio.run(load(base, questions, 1, seconds / 3))
        log(f"{clients} clients for {seconds:.0f} s")
        many, errors, elapsed = asyncio.run(load(base, questions, clients, seconds))
        for endpoint in ("/search", "/ask"):
            for q in (50, 95):
                emit(BENCH, f"{endpoint.strip('/')}_p{q}_ms", pct(many[endpoint], q), clients=clients, seconds=seconds,
                     requests=len(many[endpoint]), baseline="one_client", baseline_value=pct(single[endpoint], q))
        total = sum(len(v) for v in many.values())
        emit(BENCH, "requests_per_s", total / elapsed, clients=clients, higher_is_better=True,
             baseline="one_client", baseline_value=sum(len(v) for v in single.values()) / (seconds / 3))
        emit(BENCH, "errors", len(errors) + len(single_errors), requests=total, samples=sorted(set(errors))[:5])
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
