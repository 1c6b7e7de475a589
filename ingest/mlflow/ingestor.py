"""The MLflow ingestor: experiments, runs and the model registry, incrementally.

One *pass* reads every experiment. Listing runs is cheap (``search_runs`` pages); each
run's fingerprint is compared with what the memory holds, and only new or changed runs
are read further (metric histories for best values) and emitted. The cursor records the
experiments finished in the current pass, so a crashed pass resumes after them; runs of
the experiment in progress that were already committed are skipped by fingerprint.
Runs that vanished from an experiment, or are deleted in MLflow, become tombstones.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from typing import Any, Iterator

import httpx

from ingest.base import IngestReport, Ingestor
from ingest.mlflow.config import MlflowConfig
from ingest.mlflow.mapping import (
    ExperimentOutcomes,
    Urns,
    experiment_records,
    instance_of,
    lower_is_better,
    project_name,
    registry_records,
    run_fingerprint,
    run_records,
)
from memory.entities import Checkpoint, Record, Source, SourceState, Tombstone
from memory.errors import NotFound, SourceUnavailable

log = logging.getLogger(__name__)


class MlflowIngestor(Ingestor):
    system = "mlflow"
    config_class = MlflowConfig

    def __init__(self, config: MlflowConfig, report: IngestReport) -> None:
        super().__init__(config, report)
        self.config: MlflowConfig = config
        self.instance = instance_of(config.tracking_uri)
        self.urns = Urns(self.instance)
        self._client: Any = None
        self._experiments: list[Any] | None = None
        self._run_projects: dict[str, str | None] = {}

    @property
    def source_key(self) -> str:
        return f"mlflow:{self.instance}"

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.config.tracking_uri, registry_uri=self.config.tracking_uri)
        return self._client

    def _is_http(self) -> bool:
        return self.config.tracking_uri.startswith(("http://", "https://"))

    def source_for(self, kind: str, object_id: str, **extra: str) -> Source:
        url = None
        if self._is_http():
            base = self.config.tracking_uri
            if kind == "run" and "experiment_id" in extra:
                url = f"{base}/#/experiments/{extra['experiment_id']}/runs/{object_id}"
            elif kind == "project":
                url = f"{base}/#/experiments/{object_id}"
            elif kind == "model":
                url = f"{base}/#/models/{object_id}"
            elif kind == "model_version" and "model" in extra:
                url = f"{base}/#/models/{extra['model']}/versions/{object_id.rsplit('/', 1)[-1]}"
        return Source(system=self.system, instance=self.instance, id=object_id, url=url)

    # -- checks
    def check(self) -> None:
        """Reach the server quickly (MLflow's own client retries for minutes) and resolve experiments."""
        if self._is_http():
            try:
                response = httpx.get(f"{self.config.tracking_uri}/health", timeout=self.config.timeout_seconds)
            except httpx.HTTPError as exc:
                raise SourceUnavailable(
                    f"cannot reach the MLflow tracking server at {self.config.tracking_uri}: {exc}",
                    hint="start it (mlflow server --port ...) or fix --tracking-uri",
                ) from None
            if response.status_code >= 400:
                raise SourceUnavailable(
                    f"{self.config.tracking_uri} answered {response.status_code} to /health; is it an MLflow tracking server?",
                    hint="point --tracking-uri at the server root, e.g. http://127.0.0.1:5000",
                )
        experiments = self._list_experiments()
        if self.config.experiments:
            names = {e.name for e in experiments}
            missing = [n for n in self.config.experiments if n not in names]
            if missing:
                raise NotFound(
                    f"experiment(s) not found on {self.config.tracking_uri}: {', '.join(missing)}",
                    hint="list them with `mlflow experiments search` or drop --experiment",
                )

    def _list_experiments(self) -> list[Any]:
        if self._experiments is None:
            from mlflow.entities import ViewType
            from mlflow.exceptions import MlflowException

            found: list[Any] = []
            token = None
            try:
                while True:
                    page = self.client.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=token)
                    found.extend(page)
                    token = page.token
                    if not token:
                        break
            except MlflowException as exc:
                raise SourceUnavailable(f"MLflow at {self.config.tracking_uri} failed to list experiments: {exc.message}") from None
            found.sort(key=lambda e: int(e.experiment_id) if str(e.experiment_id).isdigit() else 0)
            self._experiments = found
        return self._experiments

    def _selected_experiments(self) -> list[Any]:
        experiments = self._list_experiments()
        if self.config.experiments:
            wanted = set(self.config.experiments)
            experiments = [e for e in experiments if e.name in wanted]
        return experiments

    def total_hint(self) -> int | None:
        return None

    # -- records
    def records(self, state: SourceState) -> Iterator[Record]:
        now = datetime.now(timezone.utc)
        cursor = dict(state.cursor)
        in_pass = cursor.get("pass") or {}
        done: list[str] = list(in_pass.get("done", []))
        if in_pass:
            self.report.resumed = True
        started = in_pass.get("started_at") or now.isoformat()
        known_by_experiment: dict[str, dict[str, str]] = {}
        for urn, fp in state.fingerprints.items():
            scope = fp.split(":", 1)[0]
            known_by_experiment.setdefault(scope, {})[urn] = fp

        experiments = self._selected_experiments()
        for experiment in experiments:
            if experiment.experiment_id in done:
                continue
            progress = {"started_at": started, "done": list(done), "in_experiment": experiment.experiment_id}
            yield from self._experiment(experiment, known_by_experiment.get(experiment.experiment_id, {}), now, progress)
            done.append(experiment.experiment_id)
            yield Checkpoint(cursor={"pass": {"started_at": started, "done": done}})

        if not self.config.experiments:
            # experiments that vanished entirely (hard-deleted): their runs are tombstoned
            listed = {e.experiment_id for e in experiments}
            for scope, known in sorted(known_by_experiment.items()):
                if scope.isdigit() and scope not in listed:
                    for urn in sorted(known):
                        yield Tombstone(urn=urn, at=now, reason="experiment no longer in MLflow")
        if self.config.registry:
            yield from self._registry(state, now)
        yield Checkpoint(cursor={"last_complete_pass": started})

    def _list_runs(self, experiment_id: str) -> list[Any]:
        from mlflow.entities import ViewType
        from mlflow.exceptions import MlflowException

        runs: list[Any] = []
        token = None
        try:
            while True:
                page = self.client.search_runs(
                    [experiment_id],
                    run_view_type=ViewType.ALL,
                    max_results=self.config.page_size,
                    order_by=["attributes.start_time ASC"],
                    page_token=token,
                )
                runs.extend(page)
                token = page.token
                if not token:
                    break
        except MlflowException as exc:
            raise SourceUnavailable(f"MLflow failed to list runs of experiment {experiment_id}: {exc.message}") from None
        runs.sort(key=lambda r: (r.info.start_time or 0, r.info.run_id))
        return runs

    def _experiment(
        self, experiment: Any, known: dict[str, str], now: datetime, progress: dict[str, Any]
    ) -> Iterator[Record]:
        project_urn = self.urns.experiment(experiment.experiment_id)
        runs = self._list_runs(experiment.experiment_id)
        if experiment.lifecycle_stage == "deleted":
            for urn in sorted(set(known) | ({project_urn} if project_urn in known else set())):
                yield Tombstone(urn=urn, at=now, reason="experiment deleted in MLflow")
            return
        yield from experiment_records(experiment, self.urns, self.source_for("project", experiment.experiment_id))
        outcomes = ExperimentOutcomes(experiment, runs)
        seen: set[str] = set()
        since_checkpoint = 0
        for run in runs:
            urn = self.urns.run(run.info.run_id)
            self.report.read += 1
            if run.info.lifecycle_stage == "deleted":
                if urn in known:
                    yield Tombstone(urn=urn, at=now, reason="run deleted in MLflow")
                continue
            seen.add(urn)
            try:
                outcome = outcomes.outcome(run)
                fingerprint = run_fingerprint(run, outcome)
                if known.get(urn) == fingerprint:
                    self.report.skipped_unchanged += 1
                    continue
                best = self._best_metrics(run)
                records = run_records(
                    run, experiment, self.urns, self.source_for, outcome, best, fingerprint, self.report.warn
                )
            except Exception as exc:  # a malformed run is reported and skipped, the rest ingested
                self.report.warn("malformed run skipped", f"{type(exc).__name__}: {exc}", f"run {run.info.run_id}")
                continue
            yield from records
            since_checkpoint += 1
            if since_checkpoint >= self.config.checkpoint_every:
                since_checkpoint = 0
                yield Checkpoint(cursor={"pass": progress})
        for urn in sorted(set(known) - seen - {project_urn}):
            yield Tombstone(urn=urn, at=now, reason="run no longer in MLflow")

    def _best_metrics(self, run: Any) -> dict[str, dict[str, float]]:
        """Best value and its step of each metric, from the metric history (read for changed runs only)."""
        best: dict[str, dict[str, float]] = {}
        for metric in run.data._metric_objs:
            # a metric logged once needs no history call
            history = [metric] if metric.step == 0 else self.client.get_metric_history(run.info.run_id, metric.key)
            finite = [m for m in history if m.value is not None and math.isfinite(m.value)]
            if not finite:
                continue
            pick = min if lower_is_better(metric.key) else max
            top = pick(finite, key=lambda m: m.value)
            best[metric.key] = {"value": float(top.value), "step": int(top.step)}
        return best

    def _registry(self, state: SourceState, now: datetime) -> Iterator[Record]:
        from mlflow.exceptions import MlflowException

        known = {u: fp for u, fp in state.fingerprints.items() if fp.startswith("registry:")}
        seen: set[str] = set()
        try:
            models: list[Any] = []
            token = None
            while True:
                page = self.client.search_registered_models(max_results=100, page_token=token)
                models.extend(page)
                token = page.token
                if not token:
                    break
            for model in sorted(models, key=lambda m: m.name):
                versions = list(self.client.search_model_versions(filter_string=f"name = '{_quote(model.name)}'"))
                records, fingerprints = registry_records(model, versions, self.urns, self.source_for, self._project_of_run)
                seen.update(fingerprints)
                if all(known.get(u) == fp for u, fp in fingerprints.items()):
                    self.report.skipped_unchanged += len(fingerprints)
                    continue
                self.report.read += len(fingerprints)
                yield from records
        except MlflowException as exc:
            raise SourceUnavailable(f"MLflow failed to list the model registry: {exc.message}") from None
        for urn in sorted(set(known) - seen):
            yield Tombstone(urn=urn, at=now, reason="no longer in the MLflow model registry")


    def _project_of_run(self, run_id: str) -> str | None:
        from mlflow.exceptions import MlflowException

        if run_id not in self._run_projects:
            try:
                experiment_id = self.client.get_run(run_id).info.experiment_id
                experiment = next((e for e in self._list_experiments() if e.experiment_id == experiment_id), None)
                self._run_projects[run_id] = project_name(experiment) if experiment else None
            except MlflowException:
                self.report.warn("model version of a missing run", "the producing run is not in MLflow", f"run {run_id}")
                self._run_projects[run_id] = None
        return self._run_projects[run_id]


def _quote(name: str) -> str:
    return name.replace("'", "\\'")
