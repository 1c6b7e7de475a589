"""Map MLflow entities to graph records. Pure functions over MLflow's entity objects."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import quote, urlparse

from ingest.feast.urns import feature_links
from memory.entities import EdgeKind, EdgeUpsert, EventRecord, NodeKind, NodeUpsert, Source
from memory.entities import identity

#: bump when the mapping changes, so every object is re-read once
MAPPING_VERSION = "3"
NOTE_TAG = "mlflow.note.content"
PARENT_TAG = "mlflow.parentRunId"
_SYSTEM_TAG_KEEP = {"mlflow.source.git.commit", "mlflow.source.name", "mlflow.source.git.repoURL", "mlflow.user"}
_LOWER_IS_BETTER = ("loss", "error", "err", "rmse", "mse", "mae", "mape", "perplexity", "wer", "cer", "latency", "logloss")
_HIGHER_IS_BETTER = ("auc", "acc", "f1", "precision", "recall", "map", "ndcg", "r2", "bleu", "rouge", "score")


def instance_of(tracking_uri: str) -> str:
    """A stable, readable name of the tracking store, used inside URNs."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme in ("http", "https"):
        return parsed.netloc + parsed.path.rstrip("/")
    return parsed.scheme + ":" + quote((parsed.netloc + parsed.path).lstrip("/"), safe="/")


def ms(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000.0, tz=timezone.utc)


def lower_is_better(metric: str) -> bool:
    name = metric.lower()
    if any(word in name for word in _HIGHER_IS_BETTER) and not any(w in name for w in ("loss", "error")):
        return False
    return any(word in name for word in _LOWER_IS_BETTER)


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]


class Urns:
    def __init__(self, instance: str) -> None:
        self.base = f"mlflow://{instance}"

    def experiment(self, experiment_id: str) -> str:
        return f"{self.base}/experiments/{experiment_id}"

    def run(self, run_id: str) -> str:
        return f"{self.base}/runs/{run_id}"

    def model(self, name: str) -> str:
        return f"{self.base}/models/{quote(name, safe='')}"

    def model_version(self, name: str, version: str) -> str:
        return f"{self.model(name)}/versions/{version}"

    @staticmethod
    def person(user: str) -> str:
        return f"person://{quote(user, safe='@.')}"

    @staticmethod
    def code(commit: str) -> str:
        return f"git://commit/{commit}"

    @staticmethod
    def dataset(location: str) -> str:
        """Shared with every source (see :mod:`memory.entities.identity`), so pipelines join on it."""
        return identity.dataset_urn(location)


def _dataset_location(dataset: Any) -> str:
    """The dataset's identity: its source URI when MLflow recorded one, else its name."""
    try:
        source = json.loads(dataset.source) if dataset.source else {}
    except (TypeError, ValueError):
        source = {}
    for key in ("uri", "url", "path", "table_name", "repo_id"):
        if isinstance(source, dict) and source.get(key):
            return str(source[key])
    return dataset.name


def _content_key(dataset: Any) -> str:
    """The version key other systems agree on: a Delta table's version number, else MLflow's digest.

    MLflow computes its own digest of the rows it saw; a Delta source also names the table version,
    which is what the Delta ingestor and OpenLineage's version facet use (see README, "Dataset identity").
    """
    if dataset.source_type in ("delta", "delta_table"):
        try:
            source = json.loads(dataset.source) if dataset.source else {}
        except (TypeError, ValueError):
            source = {}
        version = source.get("delta_table_version") if isinstance(source, dict) else None
        if version is not None and str(version).isdigit():
            return str(int(version))
    return dataset.digest


class ExperimentOutcomes:
    """Per experiment: the primary metric, its direction and the baseline run's value."""

    def __init__(self, experiment: Any, runs: list[Any]) -> None:
        tags = experiment.tags or {}
        finished = [r for r in runs if r.info.status == "FINISHED" and r.info.lifecycle_stage == "active"]
        self.metric = tags.get("xmem.primary_metric") or tags.get("primary_metric") or self._guess_metric(finished)
        goal = (tags.get("xmem.primary_metric_goal") or tags.get("primary_metric_goal") or "").lower()
        self.lower_is_better = goal == "min" if goal in ("min", "max") else (lower_is_better(self.metric or ""))
        self.baseline_run_id: str | None = None
        self.baseline_value: float | None = None
        candidates = [
            r for r in finished
            if (r.data.tags.get("baseline", "").lower() in ("true", "1", "yes"))
            or "baseline" in (r.info.run_name or "").lower()
        ]
        candidates.sort(key=lambda r: (r.info.start_time or 0, r.info.run_id))
        for run in candidates:
            value = run.data.metrics.get(self.metric) if self.metric else None
            if value is not None and math.isfinite(value):
                self.baseline_run_id, self.baseline_value = run.info.run_id, float(value)
                break

    @staticmethod
    def _guess_metric(runs: list[Any]) -> str | None:
        counts: Counter[str] = Counter()
        for run in runs:
            counts.update(run.data.metrics.keys())
        if not counts:
            return None

        def preference(name: str) -> tuple[int, int, str]:
            lowered = name.lower()
            validation = 0 if lowered.startswith(("val", "valid", "eval", "test")) else 1
            quality = 0 if any(w in lowered for w in _HIGHER_IS_BETTER) else 1
            return (-counts[name], validation * 2 + quality, name)

        return sorted(counts, key=preference)[0]

    def outcome(self, run: Any) -> dict[str, Any]:
        if not self.metric:
            return {}
        value = run.data.metrics.get(self.metric)
        result: dict[str, Any] = {"metric": self.metric, "higher_is_better": not self.lower_is_better}
        if value is None or not math.isfinite(value):
            result["verdict"] = "failed" if run.info.status == "FAILED" else "no result"
            return result
        result["value"] = float(value)
        if self.baseline_value is None:
            result["verdict"] = "no baseline"
            return result
        result["baseline_value"] = self.baseline_value
        result["baseline_run_id"] = self.baseline_run_id
        if run.info.run_id == self.baseline_run_id:
            result["verdict"] = "baseline"
            result["delta"] = 0.0
            return result
        delta = float(value) - self.baseline_value
        result["delta"] = round(delta, 10)
        improved = delta < 0 if self.lower_is_better else delta > 0
        result["verdict"] = "better" if improved else ("same" if delta == 0 else "worse")
        return result


def run_fingerprint(run: Any, outcome: dict[str, Any]) -> str:
    metrics = sorted((m.key, m.value if math.isfinite(m.value) else str(m.value), m.step, m.timestamp) for m in run.data._metric_objs)
    inputs = []
    if run.inputs and run.inputs.dataset_inputs:
        inputs = sorted((d.dataset.name, d.dataset.digest, d.dataset.source) for d in run.inputs.dataset_inputs)
    return f"{run.info.experiment_id}:" + digest(
        [MAPPING_VERSION, run.info.to_proto().SerializeToString().hex(), sorted(run.data.params.items()),
         sorted(run.data.tags.items()), metrics, inputs, outcome]
    )


def person_of(*candidates: str | None) -> str | None:
    """The first real user name; MLflow records 'unknown' when it could not tell."""
    for name in candidates:
        if name and name.strip() and name.strip().lower() != "unknown":
            return name.strip()
    return None


def project_name(experiment: Any) -> str:
    tags = experiment.tags or {}
    return tags.get("xmem.project") or tags.get("project") or experiment.name


def experiment_records(experiment: Any, urns: Urns, source: Source) -> Iterator[NodeUpsert]:
    tags = {k: v for k, v in (experiment.tags or {}).items() if not k.startswith("mlflow.")}
    yield NodeUpsert(
        urn=urns.experiment(experiment.experiment_id),
        kind=NodeKind.project,
        name=project_name(experiment),
        source=source,
        project=project_name(experiment),
        description=(experiment.tags or {}).get(NOTE_TAG),
        created_at=ms(getattr(experiment, "creation_time", None)),
        updated_at=ms(getattr(experiment, "last_update_time", None)),
        properties={"experiment_name": experiment.name, "tags": tags, "artifact_location": experiment.artifact_location},
        fingerprint="experiments:" + digest([MAPPING_VERSION, experiment.to_proto().SerializeToString().hex()]),
    )


def run_records(
    run: Any,
    experiment: Any,
    urns: Urns,
    source_for: Any,
    outcome: dict[str, Any],
    best: dict[str, dict[str, float]],
    fingerprint: str,
    warn: Any,
    history: dict[str, list[list[float]]] | None = None,
) -> list[Any]:
    """Records for one run: the run node and its edges (datasets, code, parent, person, project)."""
    info, data = run.info, run.data
    run_urn = urns.run(info.run_id)
    started = ms(info.start_time)
    metrics: dict[str, float] = {}
    for key, value in data.metrics.items():
        if value is None or not math.isfinite(value):
            warn("non-finite metric value", f"metric {key!r} is {value}; it is left out", f"run {info.run_id}")
            continue
        metrics[key] = float(value)
    tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
    commit = data.tags.get("mlflow.source.git.commit")
    project = project_name(experiment)
    properties: dict[str, Any] = {
        "params": dict(data.params),
        "metrics": metrics,
        "metrics_best": best,
        "metric_history": history or {},
        "tags": tags,
        "notes": data.tags.get(NOTE_TAG),
        "status": info.status,
        "person": person_of(info.user_id, data.tags.get("mlflow.user")),
        "experiment_id": info.experiment_id,
        "experiment_name": experiment.name,
        "start_time": started.isoformat() if started else None,
        "end_time": ms(info.end_time).isoformat() if info.end_time else None,
        "duration_seconds": (info.end_time - info.start_time) / 1000.0 if info.end_time and info.start_time else None,
        "git_commit": commit,
        "source_name": data.tags.get("mlflow.source.name"),
        "parent_run_id": data.tags.get(PARENT_TAG),
        "artifact_uri": info.artifact_uri,
        "outcome": outcome,
    }
    out: list[Any] = [
        NodeUpsert(
            urn=run_urn,
            kind=NodeKind.run,
            name=info.run_name or info.run_id,
            source=source_for("run", info.run_id, experiment_id=info.experiment_id),
            project=project,
            description=data.tags.get(NOTE_TAG),
            created_at=started,
            updated_at=ms(info.end_time) or started,
            properties=properties,
            fingerprint=fingerprint,
        ),
        EdgeUpsert(src=run_urn, kind=EdgeKind.in_project, dst=urns.experiment(info.experiment_id), valid_from=started),
    ]
    person = properties["person"]
    if person:
        out.append(_person(person, source_for))
        out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.by, dst=urns.person(person), valid_from=started))
    if commit:
        out.append(
            NodeUpsert(
                urn=urns.code(commit),
                kind=NodeKind.code_version,
                name=commit[:12],
                source=source_for("code", commit),
                properties={
                    "commit": commit,
                    "repository": data.tags.get("mlflow.source.git.repoURL"),
                    "branch": data.tags.get("mlflow.source.git.branch"),
                },
            )
        )
        out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.ran_code, dst=urns.code(commit), valid_from=started))
    parent = data.tags.get(PARENT_TAG)
    if parent:
        out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.child_of, dst=urns.run(parent), valid_from=started))
    if run.inputs and run.inputs.dataset_inputs:
        for dataset_input in run.inputs.dataset_inputs:
            out.extend(_dataset_records(run_urn, started, dataset_input, urns, source_for))
    # Feast's MLflow integration tags the run with feast.project + feast.feature_service / feast.feature_views
    for key, feature_urn in feature_links(data.tags):
        out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.used_features, dst=feature_urn, valid_from=started,
                              properties={"via": key}))
    return out


def _person(user: str, source_for: Any) -> NodeUpsert:
    return NodeUpsert(
        urn=Urns.person(user), kind=NodeKind.person, name=user, source=source_for("person", user), properties={}
    )


def _dataset_records(run_urn: str, started: datetime | None, dataset_input: Any, urns: Urns, source_for: Any) -> list[Any]:
    dataset = dataset_input.dataset
    location = _dataset_location(dataset)
    dataset_urn = urns.dataset(location)
    version_urn = identity.dataset_version_urn(location, _content_key(dataset))
    context = {t.key: t.value for t in (dataset_input.tags or [])}.get("mlflow.data.context")
    try:
        schema = json.loads(dataset.schema) if dataset.schema else None
    except ValueError:
        schema = None
    try:
        profile = json.loads(dataset.profile) if dataset.profile else None
    except ValueError:
        profile = None
    return [
        NodeUpsert(
            urn=dataset_urn,
            kind=NodeKind.dataset,
            name=dataset.name,
            source=source_for("dataset", location),
            properties={"location": location, "source_type": dataset.source_type},
        ),
        NodeUpsert(
            urn=version_urn,
            kind=NodeKind.dataset_version,
            name=f"{dataset.name}@{dataset.digest}",
            source=source_for("dataset", f"{location}@{dataset.digest}"),
            properties={
                "location": location,
                "digest": dataset.digest,
                "source_type": dataset.source_type,
                "schema": schema,
                "profile": profile,
            },
        ),
        EdgeUpsert(src=version_urn, kind=EdgeKind.version_of, dst=dataset_urn),
        EdgeUpsert(
            src=run_urn,
            kind=EdgeKind.used,
            dst=version_urn,
            valid_from=started,
            properties={"context": context} if context else {},
        ),
    ]


def registry_records(
    model: Any, versions: list[Any], urns: Urns, source_for: Any, project_of_run: Any
) -> tuple[list[Any], dict[str, str]]:
    """Records for a registered model and its versions, plus their fingerprints by URN.

    ``project_of_run(run_id)`` names the project of the run that produced a version.
    """
    model_urn = urns.model(model.name)
    aliases_by_version: dict[str, list[str]] = {}
    raw_aliases = model.aliases or {}
    items = raw_aliases.items() if isinstance(raw_aliases, dict) else [(a.alias, a.version) for a in raw_aliases]
    for alias, version in items:
        aliases_by_version.setdefault(str(version), []).append(alias)
    model_fp = "registry:" + digest([MAPPING_VERSION, model.name, model.description, sorted((model.tags or {}).items()),
                                     sorted(aliases_by_version.items()), model.last_updated_timestamp])
    out: list[Any] = [
        NodeUpsert(
            urn=model_urn,
            kind=NodeKind.model,
            name=model.name,
            source=source_for("model", model.name),
            description=model.description or None,
            created_at=ms(model.creation_timestamp),
            updated_at=ms(model.last_updated_timestamp),
            properties={"tags": dict(model.tags or {}), "aliases": {a: v for v, al in aliases_by_version.items() for a in al}},
            fingerprint=model_fp,
        )
    ]
    fingerprints = {model_urn: model_fp}
    projects: list[str | None] = []
    for version in sorted(versions, key=lambda v: int(v.version)):
        urn = urns.model_version(model.name, str(version.version))
        aliases = sorted(aliases_by_version.get(str(version.version), []))
        project = project_of_run(version.run_id) if version.run_id else None
        projects.append(project)
        fp = "registry:" + digest([MAPPING_VERSION, version.to_proto().SerializeToString().hex(), aliases, project])
        fingerprints[urn] = fp
        created = ms(version.creation_timestamp)
        changed = ms(version.last_updated_timestamp) or created
        out.append(
            NodeUpsert(
                urn=urn,
                kind=NodeKind.model_version,
                name=f"{model.name} v{version.version}",
                source=source_for("model_version", f"{model.name}/{version.version}", model=model.name),
                project=project,
                description=version.description or None,
                created_at=created,
                updated_at=changed,
                properties={
                    "model": model.name,
                    "version": str(version.version),
                    "stage": version.current_stage,
                    "aliases": aliases,
                    "status": version.status,
                    "run_id": version.run_id,
                    "source_uri": version.source,
                    "tags": dict(version.tags or {}),
                    "person": person_of(version.user_id),
                },
                fingerprint=fp,
            )
        )
        out.append(EdgeUpsert(src=urn, kind=EdgeKind.version_of, dst=model_urn, valid_from=created))
        if version.run_id:
            out.append(EdgeUpsert(src=urns.run(version.run_id), kind=EdgeKind.produced, dst=urn, valid_from=created))
        user = person_of(version.user_id)
        if user:
            out.append(_person(user, source_for))
            out.append(EdgeUpsert(src=urn, kind=EdgeKind.by, dst=Urns.person(user), valid_from=created))
        out.append(EventRecord(urn=urn, kind="registered", at=created, payload={"version": str(version.version)}))
        if version.current_stage and version.current_stage != "None":
            out.append(EventRecord(urn=urn, kind="stage", at=changed, payload={"stage": version.current_stage}))
        alias_time = max(filter(None, [changed, ms(model.last_updated_timestamp)]))
        for alias in aliases:
            out.append(EventRecord(urn=urn, kind="alias", at=alias_time, payload={"alias": alias, "model": model.name}))
    known_projects = [p for p in projects if p]
    if known_projects:
        out[0] = out[0].model_copy(update={"project": Counter(known_projects).most_common(1)[0][0]})
    return out, fingerprints
