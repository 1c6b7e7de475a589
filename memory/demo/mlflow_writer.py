"""Log a generated organization into an MLflow tracking server through the real ``MlflowClient``.

Each run costs four requests (create, one batch of params/metrics/tags, inputs, terminate);
the registry follows once every run exists.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from datetime import datetime
from typing import Any, Callable, Iterator

from memory.demo.org import Organization, ProjectSpec, RunSpec

REPOSITORY_URL = "https://github.com/acme-ml/{project}"
#: no "View run at" line per run (it also costs a get_run request each), no usage telemetry
_QUIET_ENV = {"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """No per-run "View run at" lines, no INFO logs and no deprecation warnings from MLflow."""
    previous_env = {name: os.environ.get(name) for name in _QUIET_ENV}
    os.environ.update(_QUIET_ENV)
    import mlflow  # noqa: F401  (configures its loggers on import; adjust them afterwards)

    logger = logging.getLogger("mlflow")
    previous_level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            yield
    finally:
        logger.setLevel(previous_level)
        for name, value in previous_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def write_organization(
    org: Organization, tracking_uri: str, *, on_run: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Create the experiments, runs and registered models of ``org``; returns what was created.

    Runs are written one after the other, in each project's chronological order (so a parent
    exists before its children): the server's SQLite store serialises writes, and concurrent
    writers only made it slower.
    """
    counts = {"experiments": 0, "runs": 0, "models": 0, "versions": 0}
    run_ids: dict[str, str] = {}
    with quiet_mlflow():
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        for project in org.projects:
            experiment_id = client.create_experiment(
                project.name,
                tags={
                    "team": project.team,
                    "primary_metric": project.primary_metric,
                    "primary_metric_goal": project.goal,
                    "mlflow.note.content": project.description,
                },
            )
            counts["experiments"] += 1
            for run in project.runs:
                run_ids[run.key] = _write_run(client, experiment_id, project, run, run_ids)
                counts["runs"] += 1
                if on_run:
                    on_run(counts["runs"])
        for model in org.models:
            client.create_registered_model(
                model.name, tags={"project": model.project}, description=f"{model.description} Project: {model.project}."
            )
            counts["models"] += 1
            for spec in model.versions:
                run_id = run_ids[spec.run_key]
                version = client.create_model_version(
                    model.name, source=f"runs:/{run_id}/model", run_id=run_id, description=spec.description
                )
                counts["versions"] += 1
                if spec.stage and spec.stage != "None":
                    client.transition_model_version_stage(model.name, version.version, spec.stage)
                for alias in spec.aliases:
                    client.set_registered_model_alias(model.name, alias, version.version)
    return counts


def _write_run(client: Any, experiment_id: str, project: ProjectSpec, run: RunSpec, run_ids: dict[str, str]) -> str:
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag

    tags = {
        "mlflow.user": run.person,
        "mlflow.source.name": "train.py",
        "mlflow.source.type": "LOCAL",
        "mlflow.source.git.commit": run.git_commit,
        "mlflow.source.git.repoURL": REPOSITORY_URL.format(project=project.name),
    }
    if run.note:
        tags["mlflow.note.content"] = run.note
    if run.parent_key:
        tags["mlflow.parentRunId"] = run_ids[run.parent_key]
    created = client.create_run(experiment_id, start_time=_ms(run.start), run_name=run.name, tags=tags)
    run_id = created.info.run_id

    start_ms, duration_ms = _ms(run.start), run.duration_s * 1000
    metrics = []
    for key, history in run.metrics.items():
        steps = run.metric_steps or list(range(len(history)))
        for i, value in enumerate(history):
            at = start_ms + int(duration_ms * (i + 1) / max(len(history), 1))
            metrics.append(Metric(key, float(value), at, steps[i] if i < len(steps) else i))
    params = [Param(k, v) for k, v in run.params.items()]
    extra_tags = [RunTag(k, v) for k, v in run.tags.items()]
    client.log_batch(run_id, metrics=metrics, params=params, tags=extra_tags)

    dataset = Dataset(
        name=run.dataset.name,
        digest=run.dataset.digest,
        source_type="s3",
        source=json.dumps({"uri": run.dataset.uri}),
    )
    client.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", run.dataset.context)])])
    client.set_terminated(run_id, run.status, end_time=_ms(run.end))
    return run_id
