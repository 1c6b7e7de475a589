"""``kill -9`` in the middle of an ingest loses nothing: the next run resumes and ends identical."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from memory.index.embedded import EmbeddedIndex
from memory.store import SqlGraphStore

RUNS = 120
IDEAS = ["label smoothing", "focal loss", "mixup", "cutmix", "target encoding", "class weights", "dropout", "EMA"]


def xmem(home: Path, *args: str) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("xmem")
    return subprocess.Popen([str(exe), "--home", str(home), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def run_count(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'memory.db'}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM nodes WHERE kind = 'run'").fetchone()[0])
    except sqlite3.Error:
        return 0


def snapshot(home: Path) -> dict[str, Any]:
    store = SqlGraphStore(f"sqlite:///{home / 'memory.db'}")
    dump = store.dump()
    backlog = store.stats().index_backlog
    store.close()
    index = EmbeddedIndex(home / "index")
    docs = index.get_documents(sorted(index.all_urns()), with_vectors=True)
    pending = index.pending_vectors("all-MiniLM-L6-v2+int8", 10_000)
    index.close()
    return {
        "nodes": dump["nodes"],
        "edges": dump["edges"],
        "events": dump["events"],
        "cursor_keys": {k: sorted(v) for k, v in dump["cursors"].items()},
        "documents": {urn: (d.text, d.lexical, d.semantic) for urn, d in docs.items()},
        "vectors": {urn: (d.vector_model, d.vector.tobytes() if d.vector is not None else None) for urn, d in docs.items()},
        "backlog": backlog,
        "vectors_pending": pending,
    }


@pytest.mark.slow
def test_kill_minus_nine_then_resume_equals_uninterrupted(tmp_path: Path, mlflow_server: Any) -> None:
    client = MlflowClient(mlflow_server.url)
    name = f"resume-{uuid.uuid4().hex[:6]}"
    experiment_id = client.create_experiment(name, tags={"primary_metric": "val_auc"})
    for i in range(RUNS):
        idea = IDEAS[i % len(IDEAS)]
        run = client.create_run(experiment_id, start_time=1_770_000_000_000 + i * 60_000, run_name=f"{idea} #{i}",
                                tags={"mlflow.note.content": f"Attempt {i}: {idea} with a twist number {i}.", "mlflow.user": "ana"})
        client.log_batch(run.info.run_id, metrics=[Metric("val_auc", 0.7 + (i % 17) / 100, 0, 0)], params=[Param("seed", str(i))])
        client.set_terminated(run.info.run_id, end_time=1_770_000_000_000 + i * 60_000 + 30_000)
    args = ["ingest", "mlflow", "--tracking-uri", mlflow_server.url, "-e", name, "--no-registry", "--checkpoint-every", "5"]

    killed_home = tmp_path / "killed"
    process = xmem(killed_home, *args)
    deadline = time.monotonic() + 240
    while run_count(killed_home) < 10:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        assert time.monotonic() < deadline, "the ingest never committed a checkpoint"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = run_count(killed_home)
    assert 10 <= partial < RUNS, f"the kill must land mid-ingest (had {partial} runs)"

    resumed = xmem(killed_home, *args)
    output = resumed.communicate(timeout=600)[0].decode()
    assert resumed.returncode == 0, output
    assert "Resumed an interrupted pass" in output

    clean_home = tmp_path / "clean"
    clean = xmem(clean_home, *args)
    clean_output = clean.communicate(timeout=600)[0].decode()
    assert clean.returncode == 0, clean_output

    after_kill, uninterrupted = snapshot(killed_home), snapshot(clean_home)
    assert run_count(killed_home) == RUNS
    assert after_kill["backlog"] == 0 and len(after_kill["documents"]) >= RUNS
    assert after_kill["vectors_pending"] == [] and all(v[1] for v in after_kill["vectors"].values())
    assert after_kill == uninterrupted


def vector_count(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'index' / 'index.sqlite'}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM docs WHERE vec_model IS NOT NULL").fetchone()[0])
    except sqlite3.Error:
        return 0


WORDS = ("churn", "retention", "pricing", "fraud", "ranking", "vision", "speech", "forecast", "anomaly", "search",
         "credit", "ads", "recsys", "support", "growth", "billing", "logistics", "safety", "quality", "trust")


@pytest.mark.slow
def test_kill_minus_nine_while_embedding_then_resume_equals_uninterrupted(tmp_path: Path, mlflow_server: Any) -> None:
    """The graph and BM25 are committed; the process dies in the vector phase; the next ingest
    (nothing changed in MLflow) embeds the rest and the memory is the uninterrupted one."""
    client = MlflowClient(mlflow_server.url)
    name = f"resume-vectors-{uuid.uuid4().hex[:6]}"
    experiment_id = client.create_experiment(name)
    count = 300
    for i in range(count):  # distinct meanings: every run has its own embedded text
        a, b, c = WORDS[i % 20], WORDS[(i // 20) % 20], IDEAS[i % len(IDEAS)]
        run = client.create_run(experiment_id, start_time=1_770_000_000_000 + i * 60_000, run_name=f"{a} {b} {c}",
                                tags={"mlflow.note.content": f"{c} on the {a} model for the {b} team."})
        client.set_terminated(run.info.run_id)
    args = ["ingest", "mlflow", "--tracking-uri", mlflow_server.url, "-e", name, "--no-registry"]
    env = {**os.environ, "XMEM_EMBEDDING_BATCH_SIZE": "2"}  # vectors committed 32 at a time

    killed_home = tmp_path / "killed"
    exe = Path(sys.executable).with_name("xmem")
    process = subprocess.Popen([str(exe), "--home", str(killed_home), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 300
    while vector_count(killed_home) < 32:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        assert time.monotonic() < deadline, "the vector phase never committed a step"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert run_count(killed_home) == count, "the graph phase had finished"
    done = vector_count(killed_home)
    assert 32 <= done < count + 1, f"the kill must land mid-embedding (had {done} vectors)"

    resumed = subprocess.run([str(exe), "--home", str(killed_home), *args], capture_output=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stdout.decode()[-2000:]
    clean_home = tmp_path / "clean"
    clean = subprocess.run([str(exe), "--home", str(clean_home), *args], capture_output=True, env=env, timeout=600)
    assert clean.returncode == 0, clean.stdout.decode()[-2000:]

    after_kill, uninterrupted = snapshot(killed_home), snapshot(clean_home)
    assert after_kill["vectors_pending"] == [] and vector_count(killed_home) == count + 1  # + the project
    assert after_kill == uninterrupted
