"""The DVC ingestor: a repository's git history and experiments (``xmem ingest dvc``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ingest.base import IngestReport, Ingestor
from ingest.dvc.config import DvcConfig
from ingest.dvc.history import GitHistory, Revision, UnreadableFile
from ingest.dvc.mapping import (
    MAPPING_VERSION, SYSTEM, RepoMapping, dvc_file_outs, flatten, metric_values, stage_entries, stage_params,
)
from memory.entities import Checkpoint, Record, SourceState, Tombstone
from memory.errors import NotFound, SourceUnavailable

try:
    import pygit2
except ImportError as exc:  # pragma: no cover - reported by `xmem sources`
    raise ImportError("the DVC ingestor needs 'pygit2' and 'dvc': pip install 'experiment-memory[dvc]'") from exc

PIPELINE_FILES = ("dvc.lock", "dvc.yaml", "params.yaml")
REJECTED = "revision skipped: unreadable pipeline file"


class DvcIngestor(Ingestor):
    system = SYSTEM
    config_class = DvcConfig

    def __init__(self, config: DvcConfig, report: IngestReport) -> None:
        super().__init__(config, report)
        self.config: DvcConfig = config
        self.path = Path(config.repo_path).expanduser().resolve()
        self._history: GitHistory | None = None

    @property
    def source_key(self) -> str:
        return f"dvc:{self.path}"

    def check(self) -> None:
        if not self.path.is_dir():
            raise NotFound(f"no such folder: {self.path}", hint="give the root of a DVC repository")
        try:
            history = GitHistory(str(self.path))
        except pygit2.GitError:
            raise NotFound(f"{self.path} is not a git repository", hint="DVC history is read from git: run `git init` and `dvc init` there") from None
        if history.repo.head_is_unborn:
            raise NotFound(f"{self.path} has no commits yet", hint="commit the pipeline (git add dvc.yaml dvc.lock; git commit)")
        if not history.head_has_dvc() or Path(history.root) != self.path:
            raise NotFound(
                f"{self.path} is not a DVC repository (no .dvc/ folder at its root)",
                hint="run `dvc init` in the repository, or give the repository's root folder",
            )
        self._history = history

    def records(self, state: SourceState) -> Iterator[Record]:
        history = self._history or GitHistory(str(self.path))
        try:
            revisions = self._pipeline_revisions(history)
        except pygit2.GitError as exc:
            raise SourceUnavailable(f"cannot read the git history of {self.path}: {exc}") from None
        mapping = RepoMapping(str(history.root), history.remote_url, self.config.project or self.path.name,
                              known=[u for u, f in state.fingerprints.items() if f.startswith(str(MAPPING_VERSION))])
        live: set[str] = set()
        yield from mapping.project_records()
        pending = 0
        for revision in revisions:
            urn = mapping.run_urn(revision)
            live.add(urn)
            self.report.read += 1
            if state.fingerprints.get(urn) == f"{MAPPING_VERSION}:{revision.sha}":
                self.report.skipped_unchanged += 1
                continue
            try:
                records = self._revision_records(history, mapping, revision)
            except UnreadableFile as exc:
                self.report.rejected += 1
                self.report.warn(REJECTED, "the revision is left out; the rest of the history is read",
                                 f"{revision.sha[:8]} ({revision.name}): {exc}")
                live.discard(urn)
                continue
            yield from records
            pending += 1
            if pending >= self.config.checkpoint_every:
                pending = 0
                yield Checkpoint(cursor={"revision": revision.sha})
        prefix = mapping.base + "/"
        for urn in sorted(state.fingerprints):
            if urn.startswith((prefix + "commits/", prefix + "experiments/")) and urn not in live:
                yield Tombstone(urn=urn, at=revisions[-1].at if revisions else _now(), reason="no longer in the git history")
        yield Checkpoint(cursor={"revision": revisions[-1].sha if revisions else None})

    def _pipeline_revisions(self, history: GitHistory) -> list[Revision]:
        """Commits that changed the pipeline's state, then experiments; at most ``max_commits`` newest commits."""
        chosen = []
        for revision in history.commits():
            changed = history.changed_paths(revision)
            if any(p in PIPELINE_FILES or p.endswith(".dvc") or p.endswith("/dvc.lock") for p in changed):
                chosen.append(revision)
        if self.config.max_commits:
            chosen = chosen[-self.config.max_commits:]
        if self.config.experiments:
            chosen += history.experiments()
        return chosen

    def _revision_records(self, history: GitHistory, mapping: RepoMapping, revision: Revision) -> list[Any]:
        """All records of one revision, or :class:`UnreadableFile` before anything is emitted."""
        sha = revision.sha
        stages = stage_entries(history.load_yaml(sha, "dvc.lock"))
        pipeline = history.load_yaml(sha, "dvc.yaml") or {}
        if not isinstance(pipeline, dict):
            raise UnreadableFile("dvc.yaml", "not a mapping of stages")
        added = []
        for path in history.dvc_files(sha):
            added += dvc_file_outs(history.load_yaml(sha, path), path)
        params: dict[str, Any] = {}
        params_files = {"params.yaml"} | {f for e in stages.values() for f in (e.get("params") or {})}
        for path in sorted(params_files):
            loaded = history.load_yaml(sha, path)
            if isinstance(loaded, dict):
                params.update(flatten(loaded))
        for entry in stages.values():  # what each stage actually ran with wins over the file
            params.update(stage_params(entry))
        metric_paths = _metric_paths(pipeline)
        metrics: dict[str, float] = {}
        for path in sorted(metric_paths):
            raw = history.read(sha, path)
            if raw is None:
                continue
            try:
                data = json.loads(raw) if path.endswith(".json") else history.load_yaml(sha, path)
            except ValueError as exc:
                raise UnreadableFile(path, f"not valid JSON: {exc}") from None
            metrics.update(metric_values(data))
        models = {name: str(a.get("path")) for name, a in (pipeline.get("artifacts") or {}).items()
                  if isinstance(a, dict) and a.get("type") == "model" and a.get("path")}
        return mapping.revision_records(revision, stages, added, params, metrics, metric_paths, models)


def _metric_paths(pipeline: dict[str, Any]) -> set[str]:
    """Metrics files: the top-level ``metrics:`` list and every stage's ``metrics:`` outputs."""
    def names(entries: Any) -> set[str]:
        found = set()
        for entry in entries or []:
            if isinstance(entry, str):
                found.add(entry)
            elif isinstance(entry, dict):
                found.update(str(k) for k in entry)
        return found

    paths = names(pipeline.get("metrics"))
    for stage in (pipeline.get("stages") or {}).values():
        if isinstance(stage, dict):
            paths |= names(stage.get("metrics"))
    return paths


def _now() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
