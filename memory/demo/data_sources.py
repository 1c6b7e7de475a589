"""The demo's data systems: a real DVC repository, a real Delta table, and MLflow runs trained on them.

The story they tell (project ``churn-pipeline``): raw customer data is tracked with ``dvc add``;
a DVC pipeline turns it into ``data/features.csv`` and trains a model; commits change a learning
rate, refresh the data and add a feature column; ``dvc exp run`` tries more trees. Each training
commit is also an MLflow run that logged the features file with DVC's md5 as its digest and the
commit as its git commit, and registered a model version — so ``xmem lineage <version> --up``
walks from the MLflow registry through the DVC data version to the commit that wrote it. A Delta
table of customer activity grows by appends, is overwritten by a backfill and changes schema
twice; MLflow runs that read a given table version (``DeltaDatasetSource``) land on that version.

Everything is built with the real tools (``git``, ``dvc``, ``deltalake``, ``MlflowClient``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROJECT = "churn-pipeline"
MODEL = "churn-pipeline-model"
AUTHOR = ("Priya Raman", "priya@acme.test")
FIRST_COMMIT = datetime(2026, 10, 5, 9, 30, tzinfo=timezone.utc)

PREPARE = '''"""Features from the raw customer table."""
import pandas as pd
import yaml

params = yaml.safe_load(open("params.yaml"))["prepare"]
raw = pd.read_csv("data/raw/customers.csv")
raw = raw[raw.tenure_months >= params["min_tenure"]]
features = raw[["customer_id", "tenure_months", "monthly_spend", "support_tickets", "churned"]].copy()
if params.get("tenure_buckets"):
    features["tenure_bucket"] = (features.tenure_months // 12).astype(int)
features.to_csv("data/features.csv", index=False)
'''

TRAIN = '''"""A deterministic stand-in for training: the score follows the data and the params."""
import json
import math
import pandas as pd
import yaml

params = yaml.safe_load(open("params.yaml"))["train"]
features = pd.read_csv("data/features.csv")
auc = 0.78 + 0.015 * math.log(params["n_estimators"] / 100) - 2.0 * abs(params["lr"] - 0.05)
auc += 0.01 * ("tenure_bucket" in features.columns) + 0.000004 * len(features)
json.dump({"val_auc": round(auc, 4), "rows": len(features)}, open("metrics.json", "w"))
open("model.pkl", "w").write(json.dumps({"params": params, "columns": list(features.columns)}))
'''

DVC_YAML = """stages:
  prepare:
    cmd: python src/prepare.py
    deps: [data/raw/customers.csv, src/prepare.py]
    params: [prepare]
    outs: [data/features.csv]
  train:
    cmd: python src/train.py
    deps: [data/features.csv, src/train.py]
    params: [train]
    outs: [model.pkl]
    metrics:
    - metrics.json:
        cache: false
artifacts:
  churn-model:
    path: model.pkl
    type: model
"""


@dataclass
class TrainingCommit:
    """A commit whose pipeline trained a model: what an MLflow run of that training would log."""

    sha: str
    message: str
    at: datetime
    params: dict[str, Any]
    metrics: dict[str, float]
    features_md5: str
    features_path: Path
    features: pd.DataFrame


@dataclass
class DeltaVersion:
    version: int
    what: str
    at: datetime


FEAST_PROJECT = "acme_churn"
FEAST_SERVICE = "churn_model_v2"
FEATURE_STORE_YAML = """project: acme_churn
provider: local
registry: data/registry.db
online_store:
  type: sqlite
  path: data/online.db
entity_key_serialization_version: 3
"""
FEAST_DEFINITIONS = '''"""Feature definitions of the churn model (applied with `feast apply`)."""
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource
from feast.types import Float64, Int64
from feast.value_type import ValueType

customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64,
                  description="A paying customer", tags={"team": "retention"})
customer_features_source = FileSource(name="customer_features_source", path="data/customer_features.parquet",
                                      timestamp_field="event_timestamp")
customer_profile = FeatureView(
    name="customer_profile", entities=[customer], ttl=timedelta(days=35), source=customer_features_source,
    schema=[Field(name="tenure_months", dtype=Int64), Field(name="monthly_spend", dtype=Float64),
            Field(name="support_tickets", dtype=Int64)],
    tags={"team": "retention"}, owner="priya@acme.test", description="Tenure, spend and tickets per customer")
customer_tenure = FeatureView(
    name="customer_tenure", entities=[customer], ttl=timedelta(days=35), source=customer_features_source,
    schema=[Field(name="tenure_bucket", dtype=Int64)], tags={"team": "retention"}, owner="priya@acme.test",
    description="Tenure in whole years (added with the tenure bucket feature)")
churn_model_v1 = FeatureService(name="churn_model_v1", features=[customer_profile],
                                description="Features of the churn model before tenure buckets")
churn_model_v2 = FeatureService(name="churn_model_v2", features=[customer_profile, customer_tenure],
                                description="Features of the churn model with tenure buckets")
'''


@dataclass
class DataWorld:
    dvc_repo: Path
    delta_table: Path
    feast_repo: Path | None = None
    commits: list[TrainingCommit] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    delta_versions: list[DeltaVersion] = field(default_factory=list)


def _bin(tool: str) -> str:
    """The tool installed next to this interpreter (the project's venv), else the one on PATH."""
    local = Path(sys.executable).parent / tool
    found = str(local) if local.exists() else shutil.which(tool)
    if not found:
        raise FileNotFoundError(f"`{tool}` is not installed; run `make install`")
    return found


class GitWorkspace:
    """A git + DVC working copy driven through the real command lines, with a fixed author and dates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "GIT_AUTHOR_NAME": AUTHOR[0], "GIT_AUTHOR_EMAIL": AUTHOR[1],
                    "GIT_COMMITTER_NAME": AUTHOR[0], "GIT_COMMITTER_EMAIL": AUTHOR[1],
                    "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(root.parent / ".dvc-site-cache"),
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(self, *args: str, at: datetime | None = None) -> str:
        env = dict(self.env)
        if at is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = at.isoformat()
        done = subprocess.run(args, cwd=self.root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(args)}` failed in {self.root}:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def dvc(self, *args: str, at: datetime | None = None) -> str:
        return self.run(_bin("dvc"), *args, at=at)

    def commit(self, message: str, at: datetime) -> str:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message, at=at)
        return self.run("git", "rev-parse", "HEAD").strip()


def _customers(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows)
    spend = np.round(rng.gamma(4.0, 18.0, rows), 2)
    tickets = rng.poisson(1.2, rows)
    churn_p = 1 / (1 + np.exp(0.06 * tenure - 0.5 * tickets + 0.5))
    return pd.DataFrame({"customer_id": np.arange(1, rows + 1), "tenure_months": tenure, "monthly_spend": spend,
                         "support_tickets": tickets, "churned": (rng.random(rows) < churn_p).astype(int)})


def _write_params(root: Path, *, min_tenure: int, buckets: bool, lr: float, n_estimators: int) -> None:
    import yaml

    (root / "params.yaml").write_text(yaml.safe_dump({
        "prepare": {"min_tenure": min_tenure, "tenure_buckets": buckets},
        "train": {"lr": lr, "n_estimators": n_estimators},
    }, sort_keys=False))


def _training(repo: GitWorkspace, sha: str, message: str, at: datetime) -> TrainingCommit:
    import yaml

    lock = yaml.safe_load((repo.root / "dvc.lock").read_text())
    features = next(o for o in lock["stages"]["prepare"]["outs"] if o["path"] == "data/features.csv")
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    metrics = json.loads((repo.root / "metrics.json").read_text())
    path = repo.root / "data" / "features.csv"
    return TrainingCommit(sha, message, at, params, metrics, features["md5"], path, pd.read_csv(path))


def build_dvc_repo(root: Path, *, experiments: bool = True) -> tuple[list[TrainingCommit], list[str]]:
    """A DVC repository with four pipeline commits (params, data refresh, schema change) and experiments."""
    root.mkdir(parents=True, exist_ok=True)
    repo = GitWorkspace(root)
    repo.run("git", "init", "-q", "-b", "main")
    repo.dvc("init", "-q")
    (root / "src").mkdir()
    (root / "data" / "raw").mkdir(parents=True)
    (root / "src" / "prepare.py").write_text(PREPARE)
    (root / "src" / "train.py").write_text(TRAIN)
    (root / "dvc.yaml").write_text(DVC_YAML)
    _customers(2000, seed=1).to_csv(root / "data" / "raw" / "customers.csv", index=False)
    repo.dvc("add", "-q", "data/raw/customers.csv")
    steps = [
        ("Baseline churn pipeline", dict(min_tenure=1, buckets=False, lr=0.1, n_estimators=100), None),
        ("Lower the learning rate to 0.05", dict(min_tenure=1, buckets=False, lr=0.05, n_estimators=100), None),
        ("November customer data refresh", dict(min_tenure=1, buckets=False, lr=0.05, n_estimators=100), 2600),
        ("Add tenure bucket feature", dict(min_tenure=1, buckets=True, lr=0.05, n_estimators=100), None),
    ]
    commits = []
    for number, (message, params, refresh_rows) in enumerate(steps):
        at = FIRST_COMMIT + timedelta(days=7 * number)
        _write_params(root, **params)
        if refresh_rows:
            _customers(refresh_rows, seed=2).to_csv(root / "data" / "raw" / "customers.csv", index=False)
            repo.dvc("add", "-q", "data/raw/customers.csv")
        repo.dvc("repro", "-q")
        sha = repo.commit(message, at)
        commits.append(_training(repo, sha, message, at))
    names = []
    if experiments:
        for name, value in (("more-trees", 400), ("fewer-trees", 50)):
            repo.dvc("exp", "run", "-q", "-n", name, "-S", f"train.n_estimators={value}")
            names.append(name)
        repo.run("git", "checkout", "-q", "--", ".")  # experiments leave their params in the workspace
        repo.dvc("checkout", "-q", "--force")
    return commits, names


def build_delta_table(path: Path) -> list[DeltaVersion]:
    """Customer activity: a create, three daily appends, a backfill overwrite, a new column, a type change."""
    from deltalake import write_deltalake

    def day(number: int, rows: int, extra: dict[str, Any] | None = None) -> pd.DataFrame:
        rng = np.random.default_rng(number)
        frame = pd.DataFrame({"customer_id": rng.integers(1, 2600, rows), "day": pd.Timestamp("2026-11-01") + pd.Timedelta(days=number),
                              "sessions": rng.poisson(3, rows), "spend": np.round(rng.gamma(2.0, 9.0, rows), 2)})
        for name, value in (extra or {}).items():
            frame[name] = value
        return frame

    steps: list[tuple[str, Any]] = [
        ("create", lambda: write_deltalake(path, day(0, 500), mode="error")),
        ("append day 1", lambda: write_deltalake(path, day(1, 480), mode="append")),
        ("append day 2", lambda: write_deltalake(path, day(2, 510), mode="append")),
        ("append day 3", lambda: write_deltalake(path, day(3, 495), mode="append")),
        ("backfill overwrite", lambda: write_deltalake(path, pd.concat([day(n, 500) for n in range(4)], ignore_index=True), mode="overwrite")),
        ("append with a new channel column", lambda: write_deltalake(path, day(4, 505, {"channel": "web"}), mode="append",
                                                                     schema_mode="merge")),
        ("overwrite: spend becomes text", lambda: write_deltalake(
            path, day(5, 520, {"channel": "app"}).astype({"spend": str}), mode="overwrite", schema_mode="overwrite")),
    ]
    versions = []
    for number, (what, write) in enumerate(steps):
        write()
        versions.append(DeltaVersion(number, what, datetime.now(timezone.utc)))
    return versions


def build_feast_repo(repo: Path, features: pd.DataFrame) -> Path:
    """A Feast repository (local provider, file registry) over the pipeline's features, applied with `feast apply`."""
    (repo / "data").mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(FEATURE_STORE_YAML)
    (repo / "definitions.py").write_text(FEAST_DEFINITIONS)
    frame = features.copy()
    frame["event_timestamp"] = pd.Timestamp("2026-10-26T09:00:00Z")
    frame.to_parquet(repo / "data" / "customer_features.parquet")
    done = subprocess.run([_bin("feast"), "apply"], cwd=repo, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "FEAST_USAGE": "False"})
    if done.returncode != 0:
        raise RuntimeError(f"`feast apply` failed in {repo}:\n{done.stdout}\n{done.stderr}")
    return repo


def build_data_world(folder: Path, *, experiments: bool = True, feast: bool = True) -> DataWorld:
    """The DVC repository, the Delta table and the Feast repository under ``folder`` (rebuilt from scratch)."""
    if folder.exists():
        shutil.rmtree(folder)
    commits, names = build_dvc_repo(folder / "churn-pipeline", experiments=experiments)
    versions = build_delta_table(folder / "delta" / "customer_activity")
    feast_repo = build_feast_repo(folder / "feature_repo", commits[-1].features) if feast else None
    return DataWorld(folder / "churn-pipeline", folder / "delta" / "customer_activity", feast_repo, commits, names, versions)


def file_md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def log_training_runs(world: DataWorld, tracking_uri: str) -> dict[str, int]:
    """MLflow runs of the DVC training commits (dataset digest = DVC's md5) and of Delta versions; a registered model.

    The versions are registered in commit order; the last is promoted to Production with the
    ``champion`` alias, the one before it was in Production first.
    """
    import mlflow
    from mlflow.data.delta_dataset_source import DeltaDatasetSource
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.tracking import MlflowClient

    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\..*")  # schema-inference hints
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name(PROJECT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(
        PROJECT, tags={"team": "retention", "primary_metric": "val_auc", "primary_metric_goal": "maximize",
                       "mlflow.note.content": "Churn model trained by a DVC pipeline on versioned customer data."})
    run_ids = []
    for commit in world.commits:
        dataset = mlflow.data.from_pandas(commit.features, source=str(commit.features_path.resolve()),
                                          name="churn-features", digest=commit.features_md5)
        started = int(commit.at.timestamp() * 1000) + 3_600_000
        run = client.create_run(experiment_id, start_time=started, run_name=commit.message, tags={
            "mlflow.source.git.commit": commit.sha, "mlflow.user": AUTHOR[1].split("@")[0],
            "mlflow.source.git.repoURL": str(world.dvc_repo), "mlflow.note.content":
                f"Trained by `dvc repro` at commit {commit.sha[:8]}: {commit.message}.",
            # the features it was served, named the way Feast's MLflow integration tags a run
            **({"feast.project": FEAST_PROJECT, "feast.feature_service":
                FEAST_SERVICE if "tenure_bucket" in commit.features.columns else "churn_model_v1"}
               if world.feast_repo else {})})
        run_id = run.info.run_id
        flat = {f"{section}.{k}": str(v) for section, values in commit.params.items() for k, v in values.items()}
        client.log_batch(run_id, params=[mlflow.entities.Param(k, v) for k, v in flat.items()],
                         metrics=[mlflow.entities.Metric(k, float(v), started, 0) for k, v in commit.metrics.items()])
        client.log_inputs(run_id, [DatasetInput(dataset._to_mlflow_entity(), [InputTag("mlflow.data.context", "training")])])
        client.set_terminated(run_id, end_time=started + 600_000)
        run_ids.append(run_id)
    # runs on given versions of the Delta table (MLflow's Delta source names the version)
    for version in world.delta_versions[-3:]:
        source = DeltaDatasetSource(path=str(world.delta_table.resolve()), delta_table_version=version.version)
        entity = Dataset(name="customer_activity", digest=f"v{version.version}", source_type=source._get_source_type(),
                         source=source.to_json())
        started = int(version.at.timestamp() * 1000) + 1000
        run = client.create_run(experiment_id, start_time=started, run_name=f"activity model on v{version.version}",
                                tags={"mlflow.user": "tomas", "mlflow.note.content":
                                      f"Activity features from customer_activity v{version.version} ({version.what})."})
        client.log_inputs(run.info.run_id, [DatasetInput(entity, [InputTag("mlflow.data.context", "training")])])
        client.set_terminated(run.info.run_id, end_time=started + 60_000)
    if not client.search_registered_models(filter_string=f"name = '{MODEL}'"):
        client.create_registered_model(MODEL, tags={"project": PROJECT}, description="Churn model from the DVC pipeline.")
    versions = []
    for run_id in run_ids:
        versions.append(client.create_model_version(MODEL, source=f"runs:/{run_id}/model", run_id=run_id).version)
    client.transition_model_version_stage(MODEL, versions[-2], "Production")
    client.transition_model_version_stage(MODEL, versions[-1], "Production", archive_existing_versions=True)
    client.set_registered_model_alias(MODEL, "champion", versions[-1])
    return {"runs": len(run_ids) + 3, "versions": len(versions)}
