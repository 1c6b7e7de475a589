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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Sequence, TypeVar

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
        self._http = httpx.Client(timeout=config.timeout_seconds * 6, auth=_mlflow_auth())

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

    def close(self) -> None:
        self._http.close()

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
        todo = [e for e in experiments if e.experiment_id not in done]
        for experiment, runs in _listed_ahead(todo, lambda e: self._list_runs(e.experiment_id)):
            progress = {"started_at": started, "done": list(done), "in_experiment": experiment.experiment_id}
            yield from self._experiment(experiment, runs, known_by_experiment.get(experiment.experiment_id, {}), now, progress)
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
        self, experiment: Any, runs: list[Any], known: dict[str, str], now: datetime, progress: dict[str, Any]
    ) -> Iterator[Record]:
        project_urn = self.urns.experiment(experiment.experiment_id)
        if experiment.lifecycle_stage == "deleted":
            for urn in sorted(set(known) | ({project_urn} if project_urn in known else set())):
                yield Tombstone(urn=urn, at=now, reason="experiment deleted in MLflow")
            return
        yield from experiment_records(experiment, self.urns, self.source_for("project", experiment.experiment_id))
        outcomes = ExperimentOutcomes(experiment, runs)
        seen: set[str] = set()
        changed: list[tuple[Any, dict[str, Any], str]] = []
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
            except Exception as exc:  # a malformed run is reported and skipped, the rest ingested
                self.report.warn("malformed run skipped", f"{type(exc).__name__}: {exc}", f"run {run.info.run_id}")
                continue
            if known.get(urn) == fingerprint:
                self.report.skipped_unchanged += 1
            else:
                changed.append((run, outcome, fingerprint))
        # only new or changed runs are read further, a checkpoint's worth at a time
        for start in range(0, len(changed), self.config.checkpoint_every):
            chunk = changed[start : start + self.config.checkpoint_every]
            best, history = self._best_metrics([run for run, _, _ in chunk])
            for run, outcome, fingerprint in chunk:
                try:
                    records = run_records(
                        run, experiment, self.urns, self.source_for, outcome, best.get(run.info.run_id, {}),
                        fingerprint, self.report.warn, history.get(run.info.run_id, {}),
                    )
                except Exception as exc:
                    self.report.warn("malformed run skipped", f"{type(exc).__name__}: {exc}", f"run {run.info.run_id}")
                    continue
                yield from records
            yield Checkpoint(cursor={"pass": progress})
        for urn in sorted(set(known) - seen - {project_urn}):
            yield Tombstone(urn=urn, at=now, reason="run no longer in MLflow")

    def _best_metrics(
        self, runs: list[Any]
    ) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, dict[str, list[list[float]]]]]:
        """Best value and its step of each metric of each run, and the (thinned) histories, by run id.

        A metric logged once needs no history. Others are read with the tracking server's bulk
        history endpoint (100 runs per request), or one call per run and metric elsewhere.
        """
        best: dict[str, dict[str, dict[str, float]]] = {run.info.run_id: {} for run in runs}
        history: dict[str, dict[str, list[list[float]]]] = {run.info.run_id: {} for run in runs}
        wanted: dict[str, list[str]] = {}
        for run in runs:
            for metric in run.data._metric_objs:
                if metric.step == 0:
                    _keep_best(best[run.info.run_id], metric.key, [metric])
                else:
                    wanted.setdefault(metric.key, []).append(run.info.run_id)
        for key, run_ids in sorted(wanted.items()):
            for start in range(0, len(run_ids), 100):
                chunk = run_ids[start : start + 100]
                histories = self._history_bulk(key, chunk) if self._is_http() else None
                for run_id in chunk:
                    points = histories[run_id] if histories is not None else self.client.get_metric_history(run_id, key)
                    _keep_best(best[run_id], key, points)
                    thinned = thin_history(points)
                    if len(thinned) > 1:
                        history[run_id][key] = thinned
        return best, history

    def _history_bulk(self, key: str, run_ids: list[str]) -> dict[str, list[Any]] | None:
        """Histories of one metric for many runs in one request; ``None`` if the server cannot answer so."""
        from mlflow.entities import Metric

        limit = 25_000
        try:
            response = self._http.get(
                f"{self.config.tracking_uri}/ajax-api/2.0/mlflow/metrics/get-history-bulk",
                params=[("metric_key", key), ("max_results", str(limit))] + [("run_id", r) for r in run_ids],
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        points = response.json().get("metrics", [])
        if len(points) >= limit:  # truncated: read this chunk run by run instead
            return None
        found: dict[str, list[Any]] = {r: [] for r in run_ids}
        for point in points:
            if point.get("run_id") in found:
                found[point["run_id"]].append(Metric(key, point["value"], point["timestamp"], point.get("step", 0)))
        return found

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


def _mlflow_auth() -> httpx.Auth | None:
    """The credentials MLflow's own client would use (its standard environment variables)."""
    import os

    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return httpx.BasicAuth(user, password)
    return None


#: most points of one metric's history kept per run (charts need the shape, not every step)
HISTORY_POINTS = 200


def thin_history(points: list[Any], limit: int = HISTORY_POINTS) -> list[list[float]]:
    """``[[step, value], …]`` in step order, finite values only, at most ``limit`` evenly spaced points
    (the first, the last and the best always among them)."""
    finite = sorted((m for m in points if m.value is not None and math.isfinite(m.value)), key=lambda m: (m.step, m.timestamp))
    if len(finite) > limit:
        step = (len(finite) - 1) / (limit - 2)
        keep = {round(i * step) for i in range(limit - 1)} | {len(finite) - 1}
        best = (min if lower_is_better(finite[0].key) else max)(range(len(finite)), key=lambda i: finite[i].value)
        finite = [finite[i] for i in sorted(keep | {best})]
    return [[int(m.step), float(m.value)] for m in finite]


def _keep_best(best: dict[str, dict[str, float]], key: str, points: list[Any]) -> None:
    finite = [m for m in points if m.value is not None and math.isfinite(m.value)]
    if finite:
        top = (min if lower_is_better(key) else max)(finite, key=lambda m: m.value)
        best[key] = {"value": float(top.value), "step": int(top.step)}


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


_Item = TypeVar("_Item")
_Listed = TypeVar("_Listed")


def _listed_ahead(items: Sequence[_Item], list_one: Callable[[_Item], _Listed]) -> Iterator[tuple[_Item, _Listed]]:
    """``(item, list_one(item))`` in order, the next item listed in a thread while the caller works
    on this one: the tracking server's work and ours overlap."""
    if not items:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="mlflow-list") as lister:
        following = lister.submit(list_one, items[0])
        for position, item in enumerate(items):
            listed = following.result()
            if position + 1 < len(items):
                following = lister.submit(list_one, items[position + 1])
            yield item, listed
