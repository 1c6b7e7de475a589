"""Map one W&B run file to graph records. Pure functions over the decoded protobuf records.

A run file is folded into a :class:`RunData` (the run record, config and summary updates applied
in order, the best value of each metric over the history, the exit, the environment, the
artifacts logged and used), then mapped:

* run → ``run`` node ``wandb://<entity>/<project>/runs/<id>`` (config flattened into ``params``,
  numeric summary into ``metrics``, best history values into ``metrics_best`` as the MLflow
  ingestor stores them, tags, notes as the description, exit code as the status), with its
  ``project`` node ``wandb://<entity>/<project>``, the person of the environment's user name,
  and the git commit as a ``code_version``;
* an artifact logged → a version keyed by its digest: type ``model`` → ``model_version`` of
  ``wandb://<entity>/<project>/models/<name>`` (``run -produced->``); any other type →
  ``dataset_version`` of the dataset at ``wandb-artifact://<entity>/<project>/<name>``
  (``run -wrote->``). A reference entry (``add_reference``: ``s3://…``, ``file://…``) is the
  external data itself: a ``dataset_version`` of ``dataset://<normalised location>`` keyed by
  the entry's checksum (an MD5 in base64 is turned into hex, as DVC writes it), so the same
  file seen by MLflow, OpenLineage or DVC is the same node;
* an artifact used (only written by online runs) → ``run -used->`` its dataset or model;
* ``feast.feature_service`` / ``feast.feature_views`` in the config (with ``feast.project``) →
  ``run -used_features->`` the Feast nodes (see :mod:`ingest.feast.urns`).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Callable, Iterable
from urllib.parse import quote

from ingest.feast.urns import feature_links
from ingest.mlflow.mapping import ExperimentOutcomes, Urns as MlflowUrns, digest, lower_is_better, person_of
from memory.entities import EdgeKind, EdgeUpsert, NodeKind, NodeUpsert, Source
from memory.entities import identity

SYSTEM = "wandb"
#: bump when the mapping changes, so every run is mapped again once
MAPPING_VERSION = "1"
DEFAULT_PROJECT = "uncategorized"  # what W&B calls a run's project when none was given
SKIPPED_ARTIFACT_TYPES = ("job", "code")  # W&B's own bookkeeping, not data or models
MAX_FILES_LISTED = 100
MAX_PARAM_CHARS = 1000  # a config value can be a whole document; params stay short (MLflow allows 6000)

Warn = Callable[[str, str, str], None]


@dataclass
class Artifact:
    entity: str
    project: str
    name: str
    type: str
    digest: str
    description: str
    metadata: dict[str, Any]
    aliases: list[str]
    entries: list[dict[str, Any]]


@dataclass
class RunData:
    """Everything one run file says, folded in write order."""

    path: str
    run_id: str = ""
    entity: str = ""
    project: str = ""
    display_name: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    group: str = ""
    job_type: str = ""
    sweep_id: str = ""
    host: str = ""
    start_time: datetime | None = None
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    best: dict[str, dict[str, float]] = field(default_factory=dict)
    history_rows: int = 0
    exit_code: int | None = None
    exit_runtime: float | None = None
    preempted: bool = False
    username: str = ""
    email: str = ""
    program: str = ""
    git_commit: str = ""
    git_remote: str = ""
    wandb_version: str = ""
    logged: list[Artifact] = field(default_factory=list)
    used: list[dict[str, str]] = field(default_factory=list)
    records: int = 0
    truncated: bool = False

    @property
    def status(self) -> str:
        if self.exit_code is not None:
            return "FINISHED" if self.exit_code == 0 else "FAILED"
        return "KILLED" if self.preempted else "RUNNING"

    @property
    def end_time(self) -> datetime | None:
        runtime = self.exit_runtime if self.exit_runtime is not None else _number(self.summary.get("_runtime"))
        if self.start_time is None or runtime is None:
            return None
        return self.start_time + timedelta(seconds=float(runtime))


# -- folding the records --------------------------------------------------------------------------


def _value(item: Any) -> Any:
    """The value of a config/summary/history item (JSON text; NaN and Infinity allowed)."""
    if item.value_json:
        return json.loads(item.value_json)
    oneof = "value" in item.DESCRIPTOR.oneofs_by_name and item.WhichOneof("value")  # typed history values
    if not oneof or oneof == "none":
        return None
    value = getattr(item, oneof)
    return json.loads(value) if oneof == "json" else value


def _path(item: Any) -> tuple[str, ...]:
    return tuple(item.nested_key) if item.nested_key else (item.key,)


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        child = tree.get(key)
        if not isinstance(child, dict):
            child = tree[key] = {}
        tree = child
    tree[path[-1]] = value


def _remove(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        tree = tree.get(key)  # type: ignore[assignment]
        if not isinstance(tree, dict):
            return
    tree.pop(path[-1], None)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys: ``{"model": {"depth": 6}}`` → ``{"model.depth": 6}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _timestamp(ts: Any) -> datetime | None:
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=timezone.utc)


def fold(path: str, records: Iterable[Any], data: RunData | None = None) -> RunData:
    """Fold decoded ``Record`` protobufs into one :class:`RunData` (or onto ``data``, an earlier segment)."""
    if data is None:
        data = RunData(path=path)
    data.path = path
    for record in records:
        data.records += 1
        kind = record.WhichOneof("record_type")
        if kind == "run":
            _fold_run(data, record.run)
        elif kind == "config":
            _apply(data.config, record.config)
        elif kind == "summary":
            _apply(data.summary, record.summary)
        elif kind == "history":
            _fold_history(data, record.history)
        elif kind == "exit":
            data.exit_code, data.exit_runtime = record.exit.exit_code, float(record.exit.runtime)
        elif kind == "preempting":
            data.preempted = True
        elif kind == "environment":
            env = record.environment
            data.username = data.username or env.username
            data.email = data.email or env.email
            data.program = data.program or env.code_path or env.program
            if env.HasField("git"):
                data.git_commit = data.git_commit or env.git.commit
                data.git_remote = data.git_remote or env.git.remote_url
        elif kind == "header":
            data.wandb_version = record.header.version_info.producer.split("+", 1)[0]
        elif kind == "artifact":
            artifact = _artifact(data, record.artifact)
            if artifact is not None:
                data.logged.append(artifact)
        elif kind == "use_artifact":
            use = record.use_artifact
            data.used.append({"id": use.id, "type": use.type, "name": use.name})
    return data


def _fold_run(data: RunData, run: Any) -> None:
    """The run record comes first; a resumed run writes it again (later values win)."""
    data.run_id = run.run_id or data.run_id
    data.entity = run.entity or data.entity
    data.project = run.project or data.project
    data.display_name = run.display_name or data.display_name
    data.notes = run.notes or data.notes
    data.tags = list(run.tags) or data.tags
    data.group = run.run_group or data.group
    data.job_type = run.job_type or data.job_type
    data.sweep_id = run.sweep_id or data.sweep_id
    data.host = run.host or data.host
    data.start_time = data.start_time or _timestamp(run.start_time if run.HasField("start_time") else None)
    if run.HasField("git"):
        data.git_commit = run.git.commit or data.git_commit
        data.git_remote = run.git.remote_url or data.git_remote
    _apply(data.config, run.config)
    _apply(data.summary, run.summary)


def _apply(tree: dict[str, Any], update: Any) -> None:
    for item in update.update:
        _set(tree, _path(item), _value(item))
    for item in update.remove:
        _remove(tree, _path(item))


def _fold_history(data: RunData, history: Any) -> None:
    row: dict[str, Any] = {}
    for item in history.item:
        _set(row, _path(item), _value(item))
    data.history_rows += 1
    step = _number(row.get("_step"))
    step = int(step) if step is not None else (history.step.num if history.HasField("step") else data.history_rows - 1)
    for key, value in flatten({k: v for k, v in row.items() if not k.startswith("_")}).items():
        number = _number(value)
        if number is None or not math.isfinite(number):
            continue
        current = data.best.get(key)
        better = current is None or (number < current["value"] if lower_is_better(key) else number > current["value"])
        if better:
            data.best[key] = {"value": number, "step": int(step)}


def _artifact(data: RunData, record: Any) -> Artifact | None:
    if record.type in SKIPPED_ARTIFACT_TYPES or record.type.startswith("wandb-"):
        return None
    try:
        metadata = json.loads(record.metadata) if record.metadata else {}
    except ValueError:
        metadata = {"raw": record.metadata}
    entries = [
        {
            "path": e.path,
            "digest": e.digest,
            "size": int(e.size),
            **({"ref": e.ref} if e.ref else {}),
        }
        for e in record.manifest.contents
    ]
    return Artifact(
        entity=record.entity or data.entity,
        project=record.project or data.project,
        name=record.name,
        type=record.type,
        digest=record.digest,
        description=record.description,
        metadata=metadata if isinstance(metadata, dict) else {"value": metadata},
        aliases=sorted(set(record.aliases)),
        entries=entries,
    )


# -- mapping to records ----------------------------------------------------------------------------


class Urns:
    def __init__(self, entity: str, project: str) -> None:
        self.entity, self.project = entity, project
        self.base = f"wandb://{quote(entity, safe='')}/{quote(project, safe='')}"

    def run(self, run_id: str) -> str:
        return f"{self.base}/runs/{quote(run_id, safe='')}"

    def model(self, name: str) -> str:
        return f"{self.base}/models/{quote(name, safe='')}"

    def model_version(self, name: str, artifact_digest: str) -> str:
        return f"{self.model(name)}/versions/{artifact_digest}"

    def artifact_location(self, name: str) -> str:
        """The dataset location of a W&B artifact that has no external reference."""
        return f"wandb-artifact://{quote(self.entity, safe='')}/{quote(self.project, safe='')}/{quote(name, safe='')}"


def content_key(entry_digest: str, ref: str) -> str | None:
    """The content key of a reference entry: an MD5 in hex (W&B writes file checksums as base64),
    an ETag or version id as given; ``None`` when W&B was told not to checksum (digest = the ref)."""
    if not entry_digest or entry_digest == ref:
        return None
    if len(entry_digest) == 24 and entry_digest.endswith("=="):
        try:
            raw = base64.b64decode(entry_digest, validate=True)
        except ValueError:
            raw = b""
        if len(raw) == 16:
            return raw.hex()
    return entry_digest


def project_outcomes(runs: list[RunData]) -> dict[str, dict[str, Any]]:
    """Each run's outcome against the baseline of its project, by the MLflow ingestor's rules
    (primary metric: the most common one, validation first; baseline: a run tagged or named so)."""
    adapted = []
    for run in runs:
        tags = {t: "true" for t in run.tags}
        metrics = {k: v for k, v in _metrics(run).items()}
        adapted.append(SimpleNamespace(
            info=SimpleNamespace(run_id=run.run_id, status=run.status, lifecycle_stage="active",
                                 run_name=run.display_name, start_time=run.start_time.timestamp() if run.start_time else 0),
            data=SimpleNamespace(tags=tags, metrics=metrics),
        ))
    outcomes = ExperimentOutcomes(SimpleNamespace(tags={}), adapted)
    return {run.info.run_id: outcomes.outcome(run) for run in adapted}


def _metrics(run: RunData, warn: Warn | None = None) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for key, value in flatten({k: v for k, v in run.summary.items() if not k.startswith("_")}).items():
        number = _number(value)
        if number is None:
            continue
        if not math.isfinite(number):
            if warn:
                warn("non-finite metric value", f"metric {key!r} is {number}; it is left out", f"run {run.run_id} ({run.path})")
            continue
        metrics[key] = number
    return metrics


def _param(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 1] + "…"


def run_records(run: RunData, default_entity: str, outcome: dict[str, Any], warn: Warn) -> list[Any]:
    """Records for one run: its node, project, person, code, artifacts and feature links.

    Every node the run alone owns carries a fingerprint (so it is tombstoned when the run file
    goes); shared nodes (datasets at an external location, people, commits) do not.
    """
    entity = run.entity or default_entity
    project = run.project or DEFAULT_PROJECT
    urns = Urns(entity, project)
    run_urn = urns.run(run.run_id)
    started = run.start_time
    config = {k: v for k, v in run.config.items() if k != "_wandb"}
    params = {k: _param(v) for k, v in flatten(config).items()}
    person = person_of(run.username, run.email)
    keys = {"wandb": {"entity": entity, "project": project, "run_id": run.run_id}}
    properties: dict[str, Any] = {
        "params": params,
        "metrics": _metrics(run, warn),
        "metrics_best": run.best,
        "tags": {t: "true" for t in run.tags},
        "notes": run.notes or None,
        "status": run.status,
        "exit_code": run.exit_code,
        "person": person,
        "entity": entity,
        "project_name": project,
        "group": run.group or None,
        "job_type": run.job_type or None,
        "sweep_id": run.sweep_id or None,
        "host": run.host or None,
        "program": run.program or None,
        "start_time": started.isoformat() if started else None,
        "end_time": run.end_time.isoformat() if run.end_time else None,
        "duration_seconds": (run.end_time - started).total_seconds() if started and run.end_time else None,
        "history_rows": run.history_rows,
        "git_commit": run.git_commit or None,
        "wandb_version": run.wandb_version or None,
        "run_file": run.path,
        "outcome": outcome,
        "keys": keys,
    }
    source = Source(system=SYSTEM, instance=entity, id=run.run_id, url=None)
    node_fields = dict(
        urn=run_urn, kind=NodeKind.run, name=run.display_name or run.run_id, source=source, project=project,
        description=run.notes or None, created_at=started, updated_at=run.end_time or started, properties=properties,
    )
    out: list[Any] = [NodeUpsert(**node_fields, fingerprint=_fingerprint(node_fields))]
    project_fields = dict(
        urn=urns.base, kind=NodeKind.project, name=project, project=project,
        source=Source(system=SYSTEM, instance=entity, id=f"{entity}/{project}"),
        properties={"entity": entity, "keys": {"wandb": {"entity": entity, "project": project}}},
    )
    out.append(NodeUpsert(**project_fields, fingerprint=_fingerprint(project_fields)))
    out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.in_project, dst=urns.base, valid_from=started))
    if person:
        out.append(NodeUpsert(urn=MlflowUrns.person(person), kind=NodeKind.person, name=person,
                              source=Source(system=SYSTEM, instance=entity, id=person)))
        out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.by, dst=MlflowUrns.person(person), valid_from=started))
    if run.git_commit:
        code = MlflowUrns.code(run.git_commit)
        out.append(NodeUpsert(urn=code, kind=NodeKind.code_version, name=run.git_commit[:12],
                              source=Source(system=SYSTEM, instance=entity, id=run.git_commit),
                              properties={"commit": run.git_commit, "repository": run.git_remote or None}))
        out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.ran_code, dst=code, valid_from=started))
    for artifact in run.logged:
        out.extend(_logged_artifact(artifact, run_urn, started, default_entity))
    for use in run.used:
        out.extend(_used_artifact(use, urns, run_urn, started))
    for kind, dst in feature_links(flatten(config), run.tags):
        out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.used_features, dst=dst, valid_from=started,
                              properties={"via": kind}))
    return out


def _fingerprint(fields: dict[str, Any]) -> str:
    return digest([MAPPING_VERSION, {k: v for k, v in fields.items() if k != "source"}, fields["source"].model_dump()])


def _logged_artifact(artifact: Artifact, run_urn: str, started: datetime | None, default_entity: str) -> list[Any]:
    urns = Urns(artifact.entity or default_entity, artifact.project or DEFAULT_PROJECT)
    entity, project = urns.entity, urns.project
    wandb_key = {"entity": entity, "project": project, "name": artifact.name, "type": artifact.type, "digest": artifact.digest}
    source = Source(system=SYSTEM, instance=entity, id=f"{entity}/{project}/{artifact.name}:{artifact.digest}")
    edge_props = {"aliases": artifact.aliases} if artifact.aliases else {}
    files = [e for e in artifact.entries if "ref" not in e]
    refs = [e for e in artifact.entries if "ref" in e]
    common = {
        "digest": artifact.digest,
        "artifact_type": artifact.type,
        "metadata": artifact.metadata,
        "file_count": len(artifact.entries),
        "size_bytes": sum(e["size"] for e in artifact.entries),
        "files": artifact.entries[:MAX_FILES_LISTED],
    }
    out: list[Any] = []
    if artifact.type == "model":
        model_urn, version_urn = urns.model(artifact.name), urns.model_version(artifact.name, artifact.digest)
        model_fields = dict(urn=model_urn, kind=NodeKind.model, name=artifact.name, project=project,
                            source=Source(system=SYSTEM, instance=entity, id=f"{entity}/{project}/{artifact.name}"),
                            properties={"keys": {"wandb": {k: wandb_key[k] for k in ("entity", "project", "name")}}})
        version_fields = dict(urn=version_urn, kind=NodeKind.model_version, name=f"{artifact.name}:{artifact.digest[:12]}",
                              project=project, source=source, description=artifact.description or None,
                              properties={**common, "model": artifact.name, "keys": {"wandb": wandb_key}})
        out += [
            NodeUpsert(**model_fields, fingerprint=_fingerprint(model_fields)),
            NodeUpsert(**version_fields, fingerprint=_fingerprint(version_fields)),
            EdgeUpsert(src=version_urn, kind=EdgeKind.version_of, dst=model_urn),
            EdgeUpsert(src=run_urn, kind=EdgeKind.produced, dst=version_urn, valid_from=started, properties=edge_props),
        ]
        return out
    if files or not refs:  # the artifact's own content, stored by W&B
        location = urns.artifact_location(artifact.name)
        dataset_fields = dict(urn=identity.dataset_urn(location), kind=NodeKind.dataset, name=artifact.name, project=project,
                              source=Source(system=SYSTEM, instance=entity, id=f"{entity}/{project}/{artifact.name}"),
                              properties={"location": location, "keys": {"wandb": {k: wandb_key[k] for k in ("entity", "project", "name")}}})
        version_urn = identity.dataset_version_urn(location, artifact.digest)
        version_fields = dict(urn=version_urn, kind=NodeKind.dataset_version, name=f"{artifact.name}:{artifact.digest[:12]}",
                              project=project, source=source, description=artifact.description or None,
                              properties={**common, "location": location, "keys": {"wandb": wandb_key}})
        out += [
            NodeUpsert(**dataset_fields, fingerprint=_fingerprint(dataset_fields)),
            NodeUpsert(**version_fields, fingerprint=_fingerprint(version_fields)),
            EdgeUpsert(src=version_urn, kind=EdgeKind.version_of, dst=dataset_fields["urn"]),
            EdgeUpsert(src=run_urn, kind=EdgeKind.wrote, dst=version_urn, valid_from=started, properties=edge_props),
        ]
    for entry in refs:  # data that lives elsewhere: the shared node of its location
        location = identity.normalize_location(entry["ref"])
        key = content_key(entry["digest"], entry["ref"])
        ref_key = {"wandb": {**wandb_key, "path": entry["path"], "checksum": entry["digest"]}}
        dataset_urn = identity.dataset_urn(location)
        out.append(NodeUpsert(urn=dataset_urn, kind=NodeKind.dataset, name=location.rsplit("/", 1)[-1] or location,
                              source=Source(system=SYSTEM, instance=entity, id=location),
                              properties={"location": location}))
        target = dataset_urn
        if key:
            target = identity.dataset_version_urn(location, key)
            out.append(NodeUpsert(urn=target, kind=NodeKind.dataset_version, name=f"{location.rsplit('/', 1)[-1]}@{key[:12]}",
                                  source=Source(system=SYSTEM, instance=entity, id=f"{location}@{key}"),
                                  properties={"location": location, "digest": key, "size_bytes": entry["size"], "keys": ref_key}))
            out.append(EdgeUpsert(src=target, kind=EdgeKind.version_of, dst=dataset_urn))
        out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.wrote, dst=target, valid_from=started,
                              properties={**edge_props, "artifact": f"{entity}/{project}/{artifact.name}:{artifact.digest}"}))
    return out


def _used_artifact(use: dict[str, str], urns: Urns, run_urn: str, started: datetime | None) -> list[Any]:
    """``run.use_artifact`` (online runs only): the record names the artifact, not its digest,
    so the edge goes to the dataset or model, with the version the name carries."""
    name = use["name"]
    if "/" in name:  # entity/project/name:alias
        parts = name.split("/")
        if len(parts) == 3:
            urns = Urns(parts[0], parts[1])
        name = parts[-1]
    base, _, version = name.partition(":")
    if use["type"] in SKIPPED_ARTIFACT_TYPES or use["type"].startswith("wandb-"):
        return []
    dst = urns.model(base) if use["type"] == "model" else identity.dataset_urn(urns.artifact_location(base))
    props = {k: v for k, v in {"artifact_id": use["id"], "version": version}.items() if v}
    return [EdgeUpsert(src=run_urn, kind=EdgeKind.used, dst=dst, valid_from=started, properties=props)]
