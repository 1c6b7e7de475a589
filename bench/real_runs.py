"""The real runs of the shared corpora, as an organization's MLflow server would hold them.

Every per-fold run of the AutoML Benchmark 2019 (all 21 result files: the 2019 benchmark, its
reference baselines, the earlier and the validation run sets) under one parent run per
framework × task × run set, one evaluation run per timm model and ImageNet test set, and every
Papers-with-Code leaderboard row. Logged once through ``MlflowClient`` into MLflow's own SQLite
store (in-process ``SqlAlchemyStore``: the HTTP path is ~2× slower) and cached in
``bench/.cache/real-runs-<fingerprint>/``; a real ``mlflow server`` then serves a copy.

``replicate`` grows a cached store to N runs by copying its rows inside MLflow's schema with new
run ids and names ("<name> [copy k]"), so the 100k set has the real set's shape, text and
distinct-text ratio per copy.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import re
import shutil
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH / "quality"))

from corpus import Record, _number, _utc, papers_with_code  # noqa: E402

CACHE = BENCH / ".cache"
AMLB = Path("automlbenchmark-2019/reports/old/input")
TIMM_SETS = {
    "imagenet": "results-imagenet.csv", "imagenet_real": "results-imagenet-real.csv",
    "imagenet_v2": "results-imagenetv2-matched-frequency.csv", "sketch": "results-sketch.csv",
    "imagenet_a": "results-imagenet-a.csv", "imagenet_a_clean": "results-imagenet-a-clean.csv",
    "imagenet_r": "results-imagenet-r.csv", "imagenet_r_clean": "results-imagenet-r-clean.csv",
}
EXPERIMENT_TAGS = {
    "automl-benchmark-2019": {"primary_metric": "result", "primary_metric_goal": "max"},
    "timm-imagenet-eval": {"primary_metric": "top1", "primary_metric_goal": "max"},
}


def automl_runs(root: Path) -> Iterator[Record]:
    """Every fold of every AMLB result file, under a parent per framework × task × file."""
    for path in sorted((root / AMLB).glob("results_*.csv")):
        run_set = path.stem.removeprefix("results_")
        groups: dict[tuple[str, str], list[dict[str, str]]] = {}
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                groups.setdefault((row["framework"], row["task"]), []).append(row)
        for (framework, task), rows in sorted(groups.items()):
            rows.sort(key=lambda r: (int(r["fold"]), r["utc"]))
            parent = f"amlb/{run_set}/{framework}/{task}"
            common = {"framework": framework, "framework_version": rows[0].get("version", ""), "task": task,
                      "run_set": run_set}
            results = [v for v in (_number(r["result"]) for r in rows) if v is not None]
            yield Record(key=parent, experiment="automl-benchmark-2019", name=f"{framework} on {task} ({run_set})",
                         start=min(_utc(r["utc"]) for r in rows), params=common,
                         metrics={"mean_result": sum(results) / len(results)} if results else {},
                         tags={"openml_task": rows[0]["id"], "folds": str(len(rows))},
                         status="FINISHED" if results else "FAILED")
            for i, row in enumerate(rows):
                params = {**common, "fold": row["fold"], "seed": row.get("seed", ""), "mode": row.get("mode", "")}
                try:
                    overrides = ast.literal_eval(row["params"]) if (row.get("params") or "").strip() else {}
                except (ValueError, SyntaxError):
                    overrides = {}
                params.update({str(k).lstrip("_"): str(v) for k, v in (overrides or {}).items()})
                metrics = {name: value for name in ("result", "acc", "auc", "logloss", "duration", "models")
                           if (value := _number(row.get(name))) is not None}
                yield Record(key=f"{parent}/{row['fold']}/{i}", experiment="automl-benchmark-2019",
                             name=f"{framework} {task} fold {row['fold']}", start=_utc(row["utc"]), params=params,
                             metrics=metrics, tags={"openml_task": row["id"]}, note=(row.get("info") or "").strip(),
                             status="FINISHED" if (row.get("result") or "").strip() else "FAILED",
                             duration_s=_number(row.get("duration")) or 60.0, parent=parent)


def timm_runs(root: Path) -> Iterator[Record]:
    """One evaluation run per timm model and test set (8 sets × 1,556 models)."""
    folder = root / "timm-imagenet-results" / "results"
    first_seen = {r["model"]: r["first_seen_commit_date"] for r in
                  csv.DictReader(open(root / "timm-imagenet-results" / "derived" / "results-imagenet_first_seen.csv"))}
    pretrain = {r["model"]: r["pretrain"] for r in csv.DictReader(open(folder / "model_metadata-in1k.csv"))}
    for label, file_name in TIMM_SETS.items():
        for row in csv.DictReader(open(folder / file_name)):
            model = row["model"]
            architecture, _, tag = model.partition(".")
            params = {"model": model, "architecture": architecture, "pretrained_tag": tag or "default",
                      "test_set": label, "img_size": row["img_size"], "crop_pct": row["crop_pct"],
                      "interpolation": row["interpolation"], "param_count_m": row["param_count"]}
            metrics = {k: v for k in ("top1", "top5", "top1_diff", "top5_diff") if (v := _number(row.get(k))) is not None}
            tags = {"library": "timm", "test_set": label}
            if model in pretrain or architecture in pretrain:
                tags["pretrain"] = pretrain.get(model) or pretrain[architecture]
            yield Record(key=f"timm/{label}/{model}", experiment="timm-imagenet-eval", name=f"{model} on {label}",
                         start=_utc(first_seen.get(model, "2022-01-01T00:00:00")), params=params, metrics=metrics,
                         tags=tags)


def load_real_runs(root: Path) -> list[Record]:
    pwc_files = tuple(p.name for p in sorted((root / "paperswithcode-sota-extractor-tasks/data/tasks").glob("*.json")))
    import corpus

    saved, corpus.PWC_FILES = corpus.PWC_FILES, pwc_files
    try:
        pwc = list(papers_with_code(root))
    finally:
        corpus.PWC_FILES = saved
    records = [*automl_runs(root), *timm_runs(root), *pwc]
    seen: dict[str, int] = {}
    for record in records:  # a few leaderboard rows repeat exactly
        seen[record.key] = seen.get(record.key, 0) + 1
        if seen[record.key] > 1:
            record.key = f"{record.key}#{seen[record.key]}"
    return records


def fingerprint(records: list[Record]) -> str:
    digest = hashlib.sha1()
    for r in records:
        digest.update(json.dumps([r.key, r.name, r.params, r.metrics, r.tags, r.note, r.status, r.start.isoformat()],
                                 sort_keys=True).encode())
    return digest.hexdigest()[:12]


def write_store(records: list[Record], db: Path) -> float:
    """Log ``records`` into ``sqlite:///db`` through ``MlflowClient``; returns seconds taken."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from memory.demo.mlflow_writer import quiet_mlflow

    with quiet_mlflow():
        client = MlflowClient(tracking_uri=f"sqlite:///{db}")
        experiments: dict[str, str] = {}
        run_ids: dict[str, str] = {}
        started = time.perf_counter()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task("Logging real runs to MLflow", total=len(records))
            for record in records:
                if record.experiment not in experiments:
                    experiments[record.experiment] = client.create_experiment(
                        record.experiment, tags=EXPERIMENT_TAGS.get(record.experiment, {}))
                tags = {"corpus.key": record.key, "mlflow.user": record.experiment.split("-")[0]}
                if record.note:
                    tags["mlflow.note.content"] = record.note
                if record.parent:
                    tags["mlflow.parentRunId"] = run_ids[record.parent]
                run = client.create_run(experiments[record.experiment], start_time=int(record.start.timestamp() * 1000),
                                        run_name=record.name, tags=tags)
                run_ids[record.key] = run.info.run_id
                at = int(record.start.timestamp() * 1000 + record.duration_s * 1000)
                client.log_batch(run.info.run_id, metrics=[Metric(k, v, at, 0) for k, v in record.metrics.items()],
                                 params=[Param(k[:250], v[:6000]) for k, v in record.params.items()],
                                 tags=[RunTag(k, v[:5000]) for k, v in record.tags.items()])
                client.set_terminated(run.info.run_id, record.status, end_time=at)
                progress.advance(task)
    return time.perf_counter() - started


def real_store(root: Path) -> tuple[Path, int]:
    """The cached MLflow SQLite store of the real runs (built on first use): its path and run count."""
    records = load_real_runs(root)
    folder = CACHE / f"real-runs-{fingerprint(records)}"
    db = folder / "mlflow.db"
    done = folder / "manifest.json"
    if not done.exists():
        if folder.exists():
            shutil.rmtree(folder)  # an interrupted build
        folder.mkdir(parents=True)
        seconds = write_store(records, db)
        done.write_text(json.dumps({"runs": len(records), "log_seconds": round(seconds, 1)}))
    return db, json.loads(done.read_text())["runs"]


#: MLflow tables keyed by run (copied row by row with the new run id)
_RUN_TABLES = ("params", "metrics", "latest_metrics", "tags")


def replicate(source: Path, runs: int, target: Path) -> int:
    """Copy ``source`` (an MLflow SQLite store) to ``target`` grown to ``runs`` runs by duplicating its
    runs with new ids and names; parents of copies point at their own copied parents."""
    if target.exists():
        with sqlite3.connect(target) as db:
            return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])
    partial = target.with_suffix(".partial")
    shutil.copy(source, partial)
    db = sqlite3.connect(partial)
    original = [r[0] for r in db.execute("SELECT run_uuid FROM runs ORDER BY start_time, run_uuid")]
    columns = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
    table_columns = {t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")] for t in _RUN_TABLES}
    copy = 0
    total = len(original)
    while total < runs:
        copy += 1
        take = original[: runs - total]
        new_ids = {old: uuid.UUID(int=uuid.uuid5(uuid.NAMESPACE_OID, f"{old}/{copy}").int).hex for old in take}
        db.execute("CREATE TEMP TABLE IF NOT EXISTS idmap (old TEXT PRIMARY KEY, new TEXT)")
        db.execute("DELETE FROM idmap")
        db.executemany("INSERT INTO idmap VALUES (?, ?)", list(new_ids.items()))
        select = ", ".join(
            "idmap.new" if c == "run_uuid" else f"runs.name || ' [copy {copy}]'" if c == "name" else f"runs.{c}"
            for c in columns)
        db.execute(f"INSERT INTO runs ({', '.join(columns)}) SELECT {select} FROM runs JOIN idmap ON runs.run_uuid = idmap.old")
        for table, cols in table_columns.items():
            values = ", ".join("idmap.new" if c == "run_uuid" else f"t.{c}" for c in cols)
            db.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {values} FROM {table} t JOIN idmap ON t.run_uuid = idmap.old")
        # names and parents of the copies
        db.execute(f"UPDATE tags SET value = value || ' [copy {copy}]' WHERE key = 'mlflow.runName' AND run_uuid IN (SELECT new FROM idmap)")
        db.execute("UPDATE tags SET value = coalesce((SELECT new FROM idmap WHERE old = tags.value), value) "
                   "WHERE key = 'mlflow.parentRunId' AND run_uuid IN (SELECT new FROM idmap)")
        db.commit()
        total += len(take)
    db.close()
    partial.rename(target)
    return total


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="build the cached MLflow store of the real corpora's runs")
    parser.add_argument("--corpora", type=Path, default=BENCH.parent.parent / "shared" / "corpora")
    args = parser.parse_args()
    path, count = real_store(args.corpora)
    print(json.dumps({"store": str(path), "runs": count}))
