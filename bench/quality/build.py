"""Build (once, then cached) the evaluation memory: the corpora logged to a real MLflow server
through the MLflow client, then ingested with the real ``xmem ingest mlflow`` command.

The cache lives in ``bench/.cache/quality/<fingerprint of the records>/``; a change to the
loaded records rebuilds it, a change to ranking code does not need a rebuild (only
``xmem reindex`` when the document builder changes, which ``--reindex`` does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.progress import Progress

from corpus import Record, fingerprint, load_records

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "bench" / ".cache" / "quality"
XMEM = str(Path(sys.executable).with_name("xmem"))

#: primary metric and direction per experiment (what "better than baseline" is judged on)
EXPERIMENT_TAGS = {
    "automl-benchmark-2019": {"primary_metric": "result", "primary_metric_goal": "max",
                              "mlflow.note.content": "OpenML AutoML Benchmark 2019: AutoML frameworks on OpenML tasks, 10-fold CV, per time and core budget."},
    "timm-imagenet-eval": {"primary_metric": "imagenet_top1", "primary_metric_goal": "max",
                           "mlflow.note.content": "Evaluation of timm pretrained image models on ImageNet validation and shifted test sets."},
    "autosklearn-metalearning": {"primary_metric_goal": "min",
                                 "mlflow.note.content": "auto-sklearn meta-learning base: best pipeline configuration found per OpenML dataset."},
}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def write_runs(records: list[Record], tracking_uri: str) -> dict[str, str]:
    """Log every record as an MLflow run (parents before their folds); returns run id → corpus key."""
    sys.path.insert(0, str(REPO))
    from memory.demo.mlflow_writer import quiet_mlflow

    with quiet_mlflow():
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri)
        experiments: dict[str, str] = {}
        run_ids: dict[str, str] = {}
        with Progress(transient=False) as progress:
            task = progress.add_task("Logging corpus runs to MLflow", total=len(records))
            for record in records:
                if record.experiment not in experiments:
                    experiments[record.experiment] = client.create_experiment(
                        record.experiment, tags=EXPERIMENT_TAGS.get(record.experiment, {}))
                tags = {"corpus.key": record.key, "mlflow.user": record.experiment.split("-")[0]}
                if record.note:
                    tags["mlflow.note.content"] = record.note
                if record.parent:
                    tags["mlflow.parentRunId"] = run_ids[record.parent]
                run = client.create_run(experiments[record.experiment], start_time=_ms(record.start),
                                        run_name=record.name, tags=tags)
                run_ids[record.key] = run.info.run_id
                at = _ms(record.start) + int(record.duration_s * 1000)
                client.log_batch(
                    run.info.run_id,
                    metrics=[Metric(k, v, at, 0) for k, v in record.metrics.items()],
                    params=[Param(k[:250], v[:6000]) for k, v in record.params.items()],
                    tags=[RunTag(k, v[:5000]) for k, v in record.tags.items()],
                )
                client.set_terminated(run.info.run_id, record.status, end_time=at)
                progress.advance(task)
    return {run_id: key for key, run_id in run_ids.items()}


def build_memory(records: list[Record], folder: Path) -> dict[str, Any]:
    """Log ``records`` to a new MLflow server in ``folder`` and ingest it with ``xmem ingest mlflow``."""
    from memory.demo.mlflow_server import MlflowServer

    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "xmem"
    with MlflowServer(folder / "mlflow") as server:
        started = time.perf_counter()
        run_keys = write_runs(records, server.url)
        logged = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([XMEM, "--home", str(home), "ingest", "mlflow", "--tracking-uri", server.url], check=True,
                       env={**os.environ, "XMEM_HOME": str(home)})
        ingested = time.perf_counter() - started
    return {"folder": str(folder), "mlflow_folder": str(folder / "mlflow"), "home": str(home),
            "run_keys": run_keys, "runs": len(records), "log_seconds": round(logged, 1),
            "ingest_seconds": round(ingested, 1)}


def build(corpora: Path, *, reindex: bool = False) -> dict[str, Any]:
    """The cached evaluation memory (building it when missing): paths, run-id map and build figures."""
    records = load_records(corpora)
    folder = CACHE / fingerprint(records)
    manifest = folder / "manifest.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        if reindex:
            subprocess.run([XMEM, "--home", info["home"], "reindex"], check=True)
        return {**info, "records": records, "cached": True}
    if folder.exists():
        shutil.rmtree(folder)  # a half-built cache from an interrupted run
    info = build_memory(records, folder)
    manifest.write_text(json.dumps(info))
    return {**info, "records": records, "cached": False}
