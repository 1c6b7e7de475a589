"""Build real MLflow content through the real client, deterministically (times are fixed)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param
from mlflow.tracking import MlflowClient

T0 = int(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc).timestamp() * 1000)
HOUR = 3_600_000


def log_run(
    client: MlflowClient,
    experiment_id: str,
    name: str,
    *,
    hour: int,
    params: dict[str, str] | None = None,
    metrics: dict[str, list[float]] | None = None,
    tags: dict[str, str] | None = None,
    note: str | None = None,
    status: str = "FINISHED",
    user: str = "maria.garcia",
    parent: str | None = None,
    commit: str | None = None,
    dataset: tuple[str, str, str] | None = None,
) -> str:
    start = T0 + hour * HOUR
    run_tags = {"mlflow.user": user, **(tags or {})}
    if note:
        run_tags["mlflow.note.content"] = note
    if parent:
        run_tags["mlflow.parentRunId"] = parent
    if commit:
        run_tags["mlflow.source.git.commit"] = commit
    run = client.create_run(experiment_id, start_time=start, run_name=name, tags=run_tags)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, start + step * 60_000, step) for k, values in (metrics or {}).items() for step, v in enumerate(values)],
        params=[Param(k, v) for k, v in (params or {}).items()],
    )
    if dataset:
        ds_name, digest, uri = dataset
        client.log_inputs(
            run_id,
            datasets=[DatasetInput(Dataset(ds_name, digest, "s3", json.dumps({"uri": uri})), [InputTag("mlflow.data.context", "training")])],
        )
    client.set_terminated(run_id, status=status, end_time=start + HOUR // 2)
    return run_id


def build_churn_experiment(client: MlflowClient, name: str, *, registry_model: str | None = None) -> dict[str, Any]:
    """A small realistic experiment: baseline, ideas, a sweep, a failure, a NaN metric, a registered model."""
    experiment_id = client.create_experiment(
        name, tags={"team": "growth", "primary_metric": "val_auc", "mlflow.note.content": "Predict churn 30 days ahead."}
    )
    train = ("churn_train", "a1b2c3d4", "s3://lake/churn/train/2026-03-01.parquet")
    ids: dict[str, str] = {}
    ids["baseline"] = log_run(
        client, experiment_id, "baseline-lgbm", hour=0, params={"learning_rate": "0.1", "num_leaves": "31"},
        metrics={"val_auc": [0.74, 0.78, 0.80], "val_loss": [0.52, 0.47, 0.45]}, tags={"baseline": "true"},
        note="Plain LightGBM on the 30-day churn label. This is the number to beat.", commit="1" * 40, dataset=train,
    )
    ids["smoothing"] = log_run(
        client, experiment_id, "label-smoothing-0.1", hour=5, params={"learning_rate": "0.1", "label_smoothing": "0.1"},
        metrics={"val_auc": [0.77, 0.81, 0.83], "val_loss": [0.50, 0.45, 0.44]},
        note="Hypothesis: the churn labels are noisy (support tickets mislabelled). Smoothed targets with eps=0.1: +0.03 AUC.",
        commit="2" * 40, dataset=train, user="li.wei",
    )
    ids["sweep"] = log_run(client, experiment_id, "sweep: focal loss", hour=10, note="Sweep over focal-loss gamma.")
    for i, gamma in enumerate(("1", "2")):
        ids[f"focal-{gamma}"] = log_run(
            client, experiment_id, f"focal-loss-gamma-{gamma}", hour=11 + i, params={"gamma": gamma},
            metrics={"val_auc": [0.76, 0.78 - i * 0.01]}, parent=ids["sweep"], commit="3" * 40, dataset=train,
        )
    ids["failed"] = log_run(
        client, experiment_id, "tabnet-big-batch", hour=20, params={"batch_size": "8192", "api_token": "sk-" + "x" * 24},
        metrics={"val_auc": [0.61]}, status="FAILED", user="sam.okafor",
        note="CUDA out of memory at batch 8192 on the T4 node; will retry with gradient accumulation.",
    )
    ids["nan"] = log_run(
        client, experiment_id, "mixup-tabular", hour=25, params={"alpha": "0.4"}, metrics={"val_auc": [0.79, float("nan")]},
        note="Mixup for tabular rows; the loss went NaN in the last epoch.",
    )
    if registry_model:
        client.create_registered_model(registry_model, description="Churn classifier served by the retention team.")
        v1 = client.create_model_version(registry_model, f"runs:/{ids['baseline']}/model", ids["baseline"])
        v2 = client.create_model_version(registry_model, f"runs:/{ids['smoothing']}/model", ids["smoothing"])
        client.transition_model_version_stage(registry_model, v1.version, "Archived")
        client.transition_model_version_stage(registry_model, v2.version, "Production")
        client.set_registered_model_alias(registry_model, "champion", v2.version)
    return {"experiment_id": experiment_id, "runs": ids}
