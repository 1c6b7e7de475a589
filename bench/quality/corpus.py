"""Real third-party experiment records, read from the shared corpora into one neutral shape.

Every record keeps, next to what is logged to MLflow, the raw ``facts`` the question set's
ground truth is computed from (framework, task, failure note, architecture, date…), so
relevance is decided by code over the source data, never by hand.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

AMLB_FILES = ("results_small-2c1h.csv", "results_medium-4c1h.csv", "results_medium-8c1h.csv", "results_large-8c4h.csv")
PWC_FILES = ("squad.json", "ogb.json", "coqa.json", "cmrc.json", "hotpotqa.json", "chexpert.json", "record.json",
             "nlp-progress.json")
#: when a leaderboard row has no paper date, the day its file was scraped (from SOURCE.md)
PWC_SCRAPED = {"nlp-progress.json": "2020-05-01"}
AUTOSKLEARN_DIRS = ("accuracy_binary.classification_dense", "r2_regression_dense")


@dataclass
class Record:
    key: str  # stable id, logged as the tag ``corpus.key``
    experiment: str
    name: str
    start: datetime
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    note: str = ""
    status: str = "FINISHED"
    duration_s: float = 60.0
    parent: str | None = None  # key of the parent record (AutoML folds under their framework × task run)
    facts: dict[str, Any] = field(default_factory=dict)


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    match = re.match(r"\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", str(text).replace(",", ""))
    return float(match.group(1)) if match else None


def automl_benchmark(root: Path) -> Iterator[Record]:
    """AutoML Benchmark 2019: one parent run per framework × task × constraint, its CV folds as children."""
    folder = root / "automlbenchmark-2019" / "reports" / "old" / "input"
    for file_name in AMLB_FILES:
        size, constraint = re.match(r"results_(\w+)-(\w+)\.csv", file_name).groups()  # type: ignore[union-attr]
        cores, hours = map(int, re.match(r"(\d+)c(\d+)h", constraint).groups())  # type: ignore[union-attr]
        groups: dict[tuple[str, str], list[dict[str, str]]] = {}
        with open(folder / file_name, newline="") as handle:
            for row in csv.DictReader(handle):
                groups.setdefault((row["framework"], row["task"]), []).append(row)
        for (framework, task), rows in sorted(groups.items()):
            rows.sort(key=lambda r: int(r["fold"]))
            parent_key = f"amlb/{constraint}/{framework}/{task}"
            common = {"framework": framework, "framework_version": rows[0]["version"], "task": task,
                      "benchmark": size, "constraint": constraint, "cores": str(cores),
                      "max_runtime_hours": str(hours)}
            results = [v for v in (_number(r["result"]) for r in rows) if v is not None]
            failed = [r for r in rows if not r["result"].strip()]
            yield Record(
                key=parent_key, experiment="automl-benchmark-2019", name=f"{framework} on {task} ({constraint})",
                start=min(_utc(r["utc"]) for r in rows), params=common,
                metrics={"mean_result": sum(results) / len(results)} if results else {},
                tags={"openml_task": rows[0]["id"], "folds": str(len(rows))},
                status="FINISHED" if results else "FAILED",
                facts={**common, "cores": cores, "hours": hours, "folds": len(rows), "failed_folds": len(failed),
                       "parent": True, "infos": sorted({r["info"] for r in rows if r["info"].strip()})},
            )
            for row in rows:
                params = {**common, "fold": row["fold"], "seed": row["seed"], "mode": row["mode"]}
                try:
                    overrides = ast.literal_eval(row["params"]) if (row.get("params") or "").strip() else {}
                except (ValueError, SyntaxError):
                    overrides = {}
                params.update({str(k).lstrip("_"): str(v) for k, v in (overrides or {}).items()})
                metrics = {name: value for name in ("result", "acc", "auc", "logloss", "duration", "models")
                           if name in row
                           if (value := _number(row[name])) is not None}
                yield Record(
                    key=f"{parent_key}/{row['fold']}", experiment="automl-benchmark-2019",
                    name=f"{framework} {task} fold {row['fold']}", start=_utc(row["utc"]), params=params,
                    metrics=metrics, tags={"openml_task": row["id"]}, note=row["info"].strip(),
                    status="FAILED" if not row["result"].strip() else "FINISHED",
                    duration_s=_number(row["duration"]) or 60.0, parent=parent_key,
                    facts={**common, "cores": cores, "hours": hours, "fold": int(row["fold"]), "info": row["info"].strip(),
                           "failed": not row["result"].strip(), "start": _utc(row["utc"])},
                )


def timm_results(root: Path) -> Iterator[Record]:
    """timm: one evaluation run per pretrained model, top-1/top-5 on the eight ImageNet test sets."""
    folder = root / "timm-imagenet-results" / "results"
    first_seen = {r["model"]: r["first_seen_commit_date"]
                  for r in csv.DictReader(open(root / "timm-imagenet-results" / "derived" / "results-imagenet_first_seen.csv"))}
    pretrain = {r["model"]: r["pretrain"] for r in csv.DictReader(open(folder / "model_metadata-in1k.csv"))}
    sets = {"imagenet": "results-imagenet.csv", "imagenet_real": "results-imagenet-real.csv",
            "imagenet_v2": "results-imagenetv2-matched-frequency.csv", "sketch": "results-sketch.csv",
            "imagenet_a": "results-imagenet-a.csv", "imagenet_r": "results-imagenet-r.csv"}
    scores: dict[str, dict[str, float]] = {}
    base: dict[str, dict[str, str]] = {}
    for label, file_name in sets.items():
        for row in csv.DictReader(open(folder / file_name)):
            for metric in ("top1", "top5"):
                if (value := _number(row[metric])) is not None:
                    scores.setdefault(row["model"], {})[f"{label}_{metric}"] = value
            if label == "imagenet":
                base[row["model"]] = row
    for model, row in base.items():
        architecture, _, tag = model.partition(".")
        params = {"model": model, "architecture": architecture, "pretrained_tag": tag or "default",
                  "img_size": row["img_size"], "crop_pct": row["crop_pct"], "interpolation": row["interpolation"],
                  "param_count_m": row["param_count"]}
        tags = {"library": "timm"}
        if model in pretrain or architecture in pretrain:
            tags["pretrain"] = pretrain.get(model) or pretrain[architecture]
        yield Record(
            key=f"timm/{model}", experiment="timm-imagenet-eval", name=model,
            start=_utc(first_seen.get(model, "2022-01-01T00:00:00")), params=params, metrics=scores[model], tags=tags,
            facts={"model": model, "architecture": architecture, "tag": tag,
                   "param_count": _number(row["param_count"]), "top1": _number(row["top1"]),
                   "img_size": int(row["img_size"]), "start": _utc(first_seen.get(model, "2022-01-01T00:00:00"))},
        )


def _pwc_datasets(task: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]:
    here = path + (task["task"],)
    def walk(dataset: dict[str, Any], parent: str) -> Iterator[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]:
        name = dataset.get("dataset") or parent
        yield here, task, {**dataset, "dataset": name}
        for sub in dataset.get("subdatasets", []):
            yield from walk(sub, name)

    for dataset in task.get("datasets", []):
        yield from walk(dataset, task["task"])
    for sub in task.get("subtasks", []):
        yield from _pwc_datasets(sub, here)


def papers_with_code(root: Path) -> Iterator[Record]:
    """Papers with Code leaderboards: one run per leaderboard row (model × dataset), project per top task."""
    folder = root / "paperswithcode-sota-extractor-tasks" / "data" / "tasks"
    synonyms: dict[str, list[str]] = {}
    for row in csv.DictReader(open(folder / "synonyms.csv")):
        synonyms.setdefault(row["task"].lower(), []).append(row["synonym"])
    for file_name in PWC_FILES:
        for top in json.load(open(folder / file_name)):
            for path, task, dataset in _pwc_datasets(top, ()):
                for i, row in enumerate((dataset.get("sota") or {}).get("rows", [])):
                    date = row.get("paper_date") or PWC_SCRAPED.get(file_name)
                    if not date:
                        continue
                    metrics = {re.sub(r"[^\w.\- /]", "_", k): v for k, v in
                               ((k, _number(v)) for k, v in (row.get("metrics") or {}).items()) if v is not None}
                    task_synonyms = list(task.get("synonyms") or []) + synonyms.get(task["task"].lower(), [])
                    digest = hashlib.sha1(f"{file_name}/{'/'.join(path)}/{dataset['dataset']}/{i}".encode()).hexdigest()[:12]
                    tags = {"task": task["task"], "dataset": dataset["dataset"], "leaderboard": file_name.removesuffix(".json")}
                    if task_synonyms:
                        tags["task_synonyms"] = ", ".join(task_synonyms)
                    if row.get("paper_url"):
                        tags["paper_url"] = row["paper_url"]
                    yield Record(
                        key=f"pwc/{digest}", experiment=f"pwc-{path[0].lower().replace(' ', '-')}",
                        name=f"{row['model_name']} on {dataset['dataset']}", start=_utc(date + "T00:00:00"),
                        params={"model_name": row["model_name"], "task": task["task"], "dataset": dataset["dataset"],
                                "uses_additional_data": str(bool(row.get("uses_additional_data"))).lower()},
                        metrics=metrics, tags=tags, note=(row.get("paper_title") or "").strip(),
                        facts={"model_name": row["model_name"], "task": task["task"], "dataset": dataset["dataset"],
                               "dated": bool(row.get("paper_date")), "start": _utc(date + "T00:00:00"),
                               "paper_title": row.get("paper_title") or "", "synonyms": task_synonyms},
                    )


def autosklearn_configs(root: Path) -> Iterator[Record]:
    """auto-sklearn's meta-learning base: the best pipeline found per OpenML dataset, all its hyperparameters."""
    folder = root / "autosklearn-metalearning" / "autosklearn" / "metalearning" / "files"
    for directory in AUTOSKLEARN_DIRS:
        configs = {r["idx"]: r for r in csv.DictReader(open(folder / directory / "configurations.csv"))}
        metric = directory.split("_binary")[0].split("_regression")[0]
        lines = (folder / directory / "algorithm_runs.arff").read_text().splitlines()
        data = lines[next(i for i, line in enumerate(lines) if line.strip().upper() == "@DATA") + 1:]
        for line in data:
            if not line.strip():
                continue
            instance, repetition, algorithm, loss, status = next(csv.reader([line]))
            config = configs.get(algorithm, {})
            params = {k: v for k, v in config.items() if v not in ("", None) and k != "idx"}
            estimator = params.get("classifier:__choice__") or params.get("regressor:__choice__") or "unknown"
            yield Record(
                key=f"autosklearn/{directory}/{instance}", experiment="autosklearn-metalearning",
                name=f"auto-sklearn best pipeline for {instance} ({metric})", start=_utc("2022-08-05T00:00:00"),
                params=params, metrics={f"{metric}_loss": v} if (v := _number(loss)) is not None else {},
                tags={"openml_dataset": instance, "metric": metric, "runstatus": status},
                status="FINISHED" if status == "ok" else "FAILED",
                facts={"dataset": instance, "metric": metric, "estimator": estimator,
                       "preprocessor": params.get("feature_preprocessor:__choice__", "")},
            )


def load_records(root: Path) -> list[Record]:
    records = [*automl_benchmark(root), *timm_results(root), *papers_with_code(root), *autosklearn_configs(root)]
    seen: dict[str, int] = {}
    for record in records:  # a few leaderboard rows and auto-sklearn repetitions repeat exactly
        seen[record.key] = seen.get(record.key, 0) + 1
        if seen[record.key] > 1:
            record.key = f"{record.key}#{seen[record.key]}"
    return records


def fingerprint(records: list[Record]) -> str:
    """Changes when the loaded records change (the cached MLflow server and memory are rebuilt)."""
    digest = hashlib.sha1()
    for r in records:
        digest.update(json.dumps([r.key, r.name, r.params, r.metrics, r.tags, r.note, r.status, r.start.isoformat()],
                                 sort_keys=True).encode())
    return digest.hexdigest()[:12]
