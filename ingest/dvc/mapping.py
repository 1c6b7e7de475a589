"""From DVC pipeline files at a revision to records.

* Every commit that changed the pipeline's state (``dvc.lock``, a ``*.dvc`` file, ``dvc.yaml``,
  a params or metrics file) and every ``dvc exp run`` experiment is a ``run``: the params DVC
  recorded, the metrics files, the commit as ``code_version`` (``git://commit/<sha>``, the URN
  the MLflow ingestor gives a run's git commit, so both meet), the author as person.
* Every stage execution in ``dvc.lock`` is a ``job_run`` of the stage's ``job``, keyed by the
  lock entry's content (an unchanged stage is the same execution in later commits, as DVC's
  run cache sees it): it ``read`` its data deps and ``wrote`` its outs, at the commit that
  first recorded it. A file added with ``dvc add`` is written by a "dvc add" execution of
  the commit that recorded it.
* A data path's version is ``dataset://file://<repo>/<path>@<md5>`` (see README, "Dataset
  identity"): the md5 of the bytes DVC recorded, so a run elsewhere that logged the same
  file with that digest lands on the same node. Deps that are neither a stage's output nor
  ``dvc add``-ed are code (recorded with the stage, not as datasets).
* Artifacts declared in ``dvc.yaml`` with ``type: model`` are a ``model`` whose versions are
  keyed by the file's md5; the run ``produced`` them.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from typing import Any, Iterable
from urllib.parse import quote

from ingest.dvc.history import Revision, UnreadableFile
from memory.entities import EdgeKind, EdgeUpsert, NodeKind, NodeUpsert, Source
from memory.entities.identity import dataset_urn, dataset_version_urn, normalize_location

SYSTEM = "dvc"
MAPPING_VERSION = 1


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested params/metrics as DVC shows them: ``{"train": {"lr": 0.1}}`` → ``{"train.lr": 0.1}``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value} if prefix else {}


def stage_entries(lock: Any, path: str = "dvc.lock") -> dict[str, dict[str, Any]]:
    """The stages of a ``dvc.lock`` (schema 2.0), checked enough to trust what is read from them."""
    if lock is None:
        return {}
    if not isinstance(lock, dict) or not isinstance(lock.get("stages", {}), dict):
        raise UnreadableFile(path, "not a dvc.lock: expected a mapping with 'stages'")
    if str(lock.get("schema", "2.0")) != "2.0":
        raise UnreadableFile(path, f"dvc.lock schema {lock.get('schema')!r} is not supported (DVC 2+ writes '2.0')")
    stages = lock.get("stages") or {}
    for name, entry in stages.items():
        if not isinstance(entry, dict):
            raise UnreadableFile(path, f"stage {name!r} is not a mapping")
        for section in ("deps", "outs"):
            items = entry.get(section) or []
            if not isinstance(items, list) or any(not isinstance(i, dict) or "path" not in i for i in items):
                raise UnreadableFile(path, f"stage {name!r}: {section} must be a list of {{path, md5}} entries")
    return stages


def dvc_file_outs(data: Any, path: str) -> list[dict[str, Any]]:
    """The outputs of a ``*.dvc`` file, with paths relative to the repository root."""
    if not isinstance(data, dict) or not isinstance(data.get("outs"), list):
        raise UnreadableFile(path, "not a .dvc file: expected a mapping with an 'outs' list")
    folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    outs = []
    for out in data["outs"]:
        if not isinstance(out, dict) or "path" not in out:
            raise UnreadableFile(path, "an entry of 'outs' has no path")
        outs.append({**out, "path": folder + str(out["path"])})
    return outs


def content_key(item: dict[str, Any]) -> str | None:
    value = item.get("md5") or item.get("etag") or item.get("checksum")
    return str(value) if value else None


def metric_values(data: Any) -> dict[str, float]:
    return {
        k: float(v) for k, v in flatten(data).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }


class RepoMapping:
    """Builds the records of one repository; remembers what it already emitted in this ingest."""

    def __init__(self, root: str, remote_url: str | None, project: str, known: Iterable[str] = ()) -> None:
        self.root = root
        self.repository = remote_url or root
        self.base = "dvc://" + quote(normalize_location(self.repository).split("://", 1)[-1], safe="/:@.-_")
        self.project = project
        self.project_urn = f"{self.base}/project"
        self.emitted: set[str] = set(known)

    # -- URNs
    def location(self, path: str) -> str:
        return normalize_location(f"{self.root}/{path}")

    def run_urn(self, revision: Revision) -> str:
        kind = "experiments" if revision.kind == "experiment" else "commits"
        return f"{self.base}/{kind}/{revision.sha}"

    def source(self, object_id: str) -> Source:
        return Source(system=SYSTEM, instance=self.repository, id=object_id)

    def _once(self, urn: str) -> bool:
        if urn in self.emitted:
            return False
        self.emitted.add(urn)
        return True

    # -- records
    def project_records(self) -> list[Any]:
        if not self._once(self.project_urn):
            return []
        return [NodeUpsert(urn=self.project_urn, kind=NodeKind.project, name=self.project, source=self.source("project"),
                           project=self.project, properties={"repository": self.repository}, fingerprint=str(MAPPING_VERSION))]

    def revision_records(
        self,
        revision: Revision,
        stages: dict[str, dict[str, Any]],
        added: list[dict[str, Any]],
        params: dict[str, Any],
        metrics: dict[str, float],
        metric_paths: set[str],
        models: dict[str, str],
    ) -> list[Any]:
        """Everything one pipeline state says; nodes already emitted (or stored) are not repeated."""
        out: list[Any] = []
        at = revision.at
        commit_urn = f"git://commit/{revision.sha}"
        run_urn = self.run_urn(revision)
        produced_paths = {o["path"] for e in stages.values() for o in e.get("outs") or []}
        data_paths = (produced_paths | {o["path"] for o in added}) - metric_paths - set(models.values())
        person = revision.email.split("@", 1)[0] if revision.email else revision.author
        used: set[str] = set()

        out.append(NodeUpsert(
            urn=commit_urn, kind=NodeKind.code_version, name=revision.sha[:12], source=self.source(f"commit/{revision.sha}"),
            project=self.project, created_at=at,
            properties={"commit": revision.sha, "repository": self.repository, "message": revision.message,
                        "author": revision.author},
        ))
        for item in added:  # `dvc add`: the commit wrote the data version
            key = content_key(item)
            if not key:
                continue
            version = self._data_version(item["path"], key, item, at, out)
            writer = f"{self.base}/add/{quote(item['path'], safe='/.-_')}@{key}"
            if self._once(writer):
                out.append(NodeUpsert(
                    urn=writer, kind=NodeKind.job_run, name=f"dvc add {item['path']}", source=self.source(writer),
                    project=self.project, created_at=at,
                    properties={"state": "COMPLETE", "start_time": at.isoformat(), "command": f"dvc add {item['path']}",
                                "git_commit": revision.sha},
                    fingerprint=str(MAPPING_VERSION),
                ))
                out += [EdgeUpsert(src=writer, kind=EdgeKind.wrote, dst=version, valid_from=at),
                        EdgeUpsert(src=writer, kind=EdgeKind.ran_code, dst=commit_urn, valid_from=at),
                        EdgeUpsert(src=writer, kind=EdgeKind.in_project, dst=self.project_urn, valid_from=at)]
        for name, entry in sorted(stages.items()):
            job = f"{self.base}/stages/{quote(name, safe='-_.@')}"
            if self._once(job):
                out.append(NodeUpsert(urn=job, kind=NodeKind.job, name=name, source=self.source(f"stage/{name}"),
                                      project=self.project, properties={"command": entry.get("cmd")},
                                      fingerprint=str(MAPPING_VERSION)))
                out.append(EdgeUpsert(src=job, kind=EdgeKind.in_project, dst=self.project_urn))
            execution = f"{job}@{_entry_key(entry)}"
            deps = [d for d in entry.get("deps") or [] if d["path"] in data_paths and content_key(d)]
            outs = [o for o in entry.get("outs") or [] if o["path"] in data_paths and content_key(o)]
            used.update(self._data_version(d["path"], content_key(d) or "", d, at, out) for d in deps)
            if not self._once(execution):
                continue
            code = {d["path"]: content_key(d) for d in entry.get("deps") or [] if d["path"] not in data_paths}
            out.append(NodeUpsert(
                urn=execution, kind=NodeKind.job_run, name=f"{name} @ {revision.sha[:8]}", source=self.source(execution),
                project=self.project, created_at=at, description=f"dvc stage {name}: {entry.get('cmd')}",
                properties={"state": "COMPLETE", "start_time": at.isoformat(), "command": entry.get("cmd"),
                            "params": stage_params(entry), "code_deps": code, "git_commit": revision.sha},
                fingerprint=str(MAPPING_VERSION),
            ))
            out += [EdgeUpsert(src=execution, kind=EdgeKind.version_of, dst=job, valid_from=at),
                    EdgeUpsert(src=execution, kind=EdgeKind.ran_code, dst=commit_urn, valid_from=at),
                    EdgeUpsert(src=execution, kind=EdgeKind.in_project, dst=self.project_urn, valid_from=at)]
            for dep in deps:
                out.append(EdgeUpsert(src=execution, kind=EdgeKind.read,
                                      dst=dataset_version_urn(self.location(dep["path"]), content_key(dep) or ""), valid_from=at))
            for item in outs:
                version = self._data_version(item["path"], content_key(item) or "", item, at, out)
                out.append(EdgeUpsert(src=execution, kind=EdgeKind.wrote, dst=version, valid_from=at))

        out.append(NodeUpsert(
            urn=run_urn, kind=NodeKind.run, name=revision.name, source=self.source(run_urn.removeprefix(self.base + "/")),
            project=self.project, description=revision.message, created_at=at, updated_at=at,
            properties={
                "params": {k: _param_text(v) for k, v in params.items()},
                "metrics": metrics,
                "tags": {"dvc.kind": revision.kind, **({"dvc.branch": ",".join(revision.branches)} if revision.branches else {})},
                "status": "FINISHED",
                "person": person,
                "start_time": at.isoformat(),
                "git_commit": revision.sha,
                "baseline_commit": revision.baseline,
                "repository": self.repository,
                "stages": sorted(stages),
            },
            fingerprint=f"{MAPPING_VERSION}:{revision.sha}",
        ))
        out += [EdgeUpsert(src=run_urn, kind=EdgeKind.in_project, dst=self.project_urn, valid_from=at),
                EdgeUpsert(src=run_urn, kind=EdgeKind.ran_code, dst=commit_urn, valid_from=at)]
        if person:
            person_urn = f"person://{quote(person, safe='@.')}"
            if self._once(person_urn):
                out.append(NodeUpsert(urn=person_urn, kind=NodeKind.person, name=person, source=self.source(f"person/{person}")))
            out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.by, dst=person_urn, valid_from=at))
        if revision.kind == "experiment" and revision.baseline:
            out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.child_of, dst=f"{self.base}/commits/{revision.baseline}",
                                  valid_from=at, properties={"relation": "experiment of baseline"}))
        for version in sorted(used):
            out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.used, dst=version, valid_from=at))
        for model_name, path in sorted(models.items()):
            item = next((o for e in stages.values() for o in e.get("outs") or [] if o["path"] == path), None) or \
                next((o for o in added if o["path"] == path), None)
            key = content_key(item) if item else None
            if key:
                out += self._model_version(model_name, path, key, item or {}, at, out)
                out.append(EdgeUpsert(src=run_urn, kind=EdgeKind.produced, dst=f"{self.base}/models/{model_name}@{key}",
                                      valid_from=at))
        return out

    def _data_version(self, path: str, key: str, item: dict[str, Any], at: datetime, out: list[Any]) -> str:
        location = self.location(path)
        version = dataset_version_urn(location, key)
        if self._once(dataset_urn(location)):
            out.append(NodeUpsert(urn=dataset_urn(location), kind=NodeKind.dataset, name=path,
                                  source=self.source(f"{self.base}/{path}"), project=self.project,
                                  properties={"location": location, "path": path, "repository": self.repository},
                                  fingerprint=str(MAPPING_VERSION)))
        if self._once(version):
            out.append(NodeUpsert(
                urn=version, kind=NodeKind.dataset_version, name=f"{path}@{key[:8]}",
                source=self.source(f"{self.base}/{path}@{key}"), project=self.project, created_at=at,
                properties={"location": location, "path": path, "md5": key, "size": item.get("size"),
                            "nfiles": item.get("nfiles"), "directory": key.endswith(".dir")},
                fingerprint=str(MAPPING_VERSION),
            ))
            out.append(EdgeUpsert(src=version, kind=EdgeKind.version_of, dst=dataset_urn(location), valid_from=at))
        return version

    def _model_version(self, name: str, path: str, key: str, item: dict[str, Any], at: datetime, out: list[Any]) -> list[Any]:
        records: list[Any] = []
        model = f"{self.base}/models/{name}"
        version = f"{model}@{key}"
        if self._once(model):
            records.append(NodeUpsert(urn=model, kind=NodeKind.model, name=name, source=self.source(f"artifact/{name}"),
                                      project=self.project, properties={"path": path, "type": "model"},
                                      fingerprint=str(MAPPING_VERSION)))
            records.append(EdgeUpsert(src=model, kind=EdgeKind.in_project, dst=self.project_urn))
        if self._once(version):
            records.append(NodeUpsert(urn=version, kind=NodeKind.model_version, name=f"{name}@{key[:8]}",
                                      source=self.source(f"artifact/{name}@{key}"), project=self.project, created_at=at,
                                      properties={"path": path, "md5": key, "size": item.get("size"), "version": key[:8]},
                                      fingerprint=str(MAPPING_VERSION)))
            records.append(EdgeUpsert(src=version, kind=EdgeKind.version_of, dst=model, valid_from=at))
        return records


def stage_params(entry: dict[str, Any]) -> dict[str, Any]:
    """A lock entry's params, ``{"params.yaml": {"train": {"lr": 0.1}}}`` → ``{"train.lr": 0.1}``."""
    out: dict[str, Any] = {}
    for values in (entry.get("params") or {}).values():
        out.update(flatten(values))
    return out


def _entry_key(entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _param_text(value: Any) -> str:
    """Params as text, the way MLflow records them (``str``), so the same setting reads the same in both."""
    return json.dumps(value) if isinstance(value, (list, dict)) or value is None else str(value)
