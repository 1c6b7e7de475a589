"""``xmem serve --workers N``: several processes answering from one shared PostgreSQL + Elasticsearch memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from memory.cli.main import app
from memory.demo.mlflow_server import free_port
from tests.ingest.mlflow.builders import build_churn_experiment

XMEM = str(Path(sys.executable).with_name("xmem"))


def test_several_workers_refuse_the_embedded_memory(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "XMEM_SEARCH_BACKEND=elasticsearch" in result.output and "PostgreSQL" in result.output


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return found


def test_workers_answer_from_one_shared_memory(tmp_path: Path, mlflow_server: Any, postgres_url: str,
                                               elasticsearch_url: str, es_alias: str) -> None:
    name = f"workers-{uuid.uuid4().hex[:6]}"
    build_churn_experiment(MlflowClient(mlflow_server.url), name)
    env = {**os.environ, "XMEM_HOME": str(tmp_path), "XMEM_DATABASE_URL": postgres_url,
           "XMEM_SEARCH_BACKEND": "elasticsearch", "XMEM_ELASTICSEARCH_URL": elasticsearch_url,
           "XMEM_ELASTICSEARCH_INDEX": es_alias, "HF_HUB_OFFLINE": "1"}
    subprocess.run([XMEM, "ingest", "mlflow", "--tracking-uri", mlflow_server.url, "-e", name], env=env, check=True,
                   capture_output=True)
    port = free_port()
    server = subprocess.Popen([XMEM, "serve", "--workers", "2", "--anonymous", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            time.sleep(1)
        else:
            raise AssertionError("xmem serve --workers 2 did not become ready in 180 s")
        assert len(_children(server.pid)) >= 2  # the supervisor and its worker processes

        def search(_: int) -> tuple[int, str]:
            response = httpx.get(f"{base}/search", params={"q": "label smoothing", "project": name}, timeout=60)
            return response.status_code, response.json()["data"][0]["title"]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(search, range(24)))
        assert {status for status, _ in answers} == {200}
        assert len({title for _, title in answers}) == 1  # every worker answers the same from the shared memory
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
