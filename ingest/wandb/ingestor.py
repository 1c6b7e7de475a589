"""The W&B ingestor: run files written by the W&B client (``wandb/offline-run-*/run-<id>.wandb``).

Every run file under the given paths is read whole (framing, checksums, protobufs) before any of
its records is yielded, so a damaged file contributes nothing: it is reported with its path and
the offset of the damage, and the other runs are ingested. A file whose last record is
incomplete (a run still being written) yields the complete records and a warning.

Incremental by fingerprint: each run and artifact node's fingerprint is a hash of what it maps
to, so an unchanged run is skipped and a grown one (a resumed or still-running run) is written
again. Runs whose files are gone become tombstones, as do artifacts no remaining run logs.
"""

from __future__ import annotations

import importlib.util
import re
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ingest.base import IngestReport, Ingestor
from ingest.wandb.config import WandbConfig
from ingest.wandb.mapping import DEFAULT_PROJECT, SYSTEM, RunData, Urns, fold, project_outcomes, run_records
from ingest.wandb.reader import CorruptRunFile, ReadResult, iter_records
from memory.entities import Checkpoint, NodeUpsert, Record, SourceState, Tombstone
from memory.errors import NotFound

if importlib.util.find_spec("wandb") is None:  # listed as unavailable, with this reason
    raise ImportError("the wandb package is not installed (pip install 'experiment-memory[wandb]')")

RUN_FILE = re.compile(r"^run-(?P<id>[^.]+)\.wandb$")
UNREADABLE = "unreadable run file skipped"
TRUNCATED = "run file still being written"


def decode_run_file(path: Path, data: RunData | None = None) -> tuple[RunData, ReadResult]:
    """Read and fold one run file (onto ``data``: the earlier segments of a resumed run)."""
    from google.protobuf.message import DecodeError
    from wandb.proto.wandb_internal_pb2 import Record as RecordProto

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorruptRunFile(path, 0, f"cannot read: {exc.strerror or exc}") from None
    result = ReadResult()

    def decoded() -> Iterator[Any]:
        for offset, payload in iter_records(path, raw, result):
            record = RecordProto()
            try:
                record.ParseFromString(payload)
            except DecodeError as exc:
                raise CorruptRunFile(path, offset, f"not a W&B record ({exc})") from None
            yield record

    folded = fold(str(path), decoded(), data)
    folded.truncated = folded.truncated or result.truncated_at is not None
    return folded, result


class WandbIngestor(Ingestor):
    system = SYSTEM
    config_class = WandbConfig

    def __init__(self, config: WandbConfig, report: IngestReport) -> None:
        super().__init__(config, report)
        self.config: WandbConfig = config
        self._files: list[Path] | None = None

    @property
    def source_key(self) -> str:
        return "wandb:" + ",".join(sorted(str(Path(p).resolve()) for p in self.config.paths))

    def check(self) -> None:
        if not self.config.paths:
            raise NotFound("no W&B path given", hint="give a run file (run-<id>.wandb) or a folder holding wandb/offline-run-*")
        missing = [p for p in self.config.paths if not Path(p).exists()]
        if missing:
            raise NotFound(f"no such file or folder: {', '.join(missing)}", hint="give a run file or a folder of W&B runs")
        if not self.files():
            raise NotFound(
                f"no W&B run files (run-<id>.wandb) under {', '.join(self.config.paths)}",
                hint="runs are written to DIR/wandb/offline-run-*/ by wandb.init(mode='offline', dir=DIR)",
            )

    def files(self) -> list[Path]:
        """Run files in a stable order: by run id, then by the folder (its name starts with the start time)."""
        if self._files is None:
            found: dict[Path, Path] = {}
            for given in self.config.paths:
                path = Path(given)
                candidates = [path] if path.is_file() else path.rglob("run-*.wandb")
                for candidate in candidates:
                    if "latest-run" in candidate.parts:  # a symlink to one of the run folders
                        continue
                    found.setdefault(candidate.resolve(), candidate)
            self._files = sorted(found.values(), key=lambda p: (_run_id(p), p.parent.name, str(p)))
        return self._files

    def total_hint(self) -> int | None:
        return len({_run_id(p) for p in self.files()})

    # -- records
    def records(self, state: SourceState) -> Iterator[Record]:
        now = datetime.now(timezone.utc)
        runs, bad_ids = self._read_runs()
        by_project: dict[tuple[str, str], list[RunData]] = defaultdict(list)
        for run in runs:
            by_project[(run.entity or self.config.default_entity, run.project or DEFAULT_PROJECT)].append(run)
        outcomes: dict[tuple[str, str, str], dict[str, Any]] = {}
        for (entity, project), members in sorted(by_project.items()):
            for run_id, outcome in project_outcomes(members).items():
                outcomes[(entity, project, run_id)] = outcome

        owned: set[str] = set()  # every fingerprinted node the folder maps to now
        pending = 0
        for run in runs:
            entity, project = run.entity or self.config.default_entity, run.project or DEFAULT_PROJECT
            self.report.read += 1
            try:
                records = run_records(run, self.config.default_entity, outcomes.get((entity, project, run.run_id), {}),
                                      self.report.warn)
            except Exception as exc:  # a run the mapping cannot take is reported; the others go on
                self.report.rejected += 1
                self.report.warn(UNREADABLE, "run files that could not be read (path: offset: reason)",
                                 f"{run.path}: {type(exc).__name__}: {exc}")
                bad_ids.add(run.run_id)
                continue
            fingerprinted = {r.urn: r.fingerprint for r in records if isinstance(r, NodeUpsert) and r.fingerprint}
            owned.update(fingerprinted)
            if all(state.fingerprints.get(urn) == fp for urn, fp in fingerprinted.items()):
                self.report.skipped_unchanged += 1
                continue
            yield from records
            pending += 1
            if pending >= self.config.checkpoint_every:
                yield Checkpoint(cursor={})
                pending = 0
        yield from self._tombstones(state, owned, bad_ids, now)
        yield Checkpoint(cursor={"run_files": len(self.files())})

    def _read_runs(self) -> tuple[list[RunData], set[str]]:
        """Every readable run, its segments (a resumed run writes one file per segment) folded together."""
        runs: list[RunData] = []
        bad_ids: set[str] = set()
        by_id: dict[str, list[Path]] = defaultdict(list)
        for path in self.files():
            by_id[_run_id(path)].append(path)
        for run_id, paths in by_id.items():
            data: RunData | None = None
            try:
                for path in paths:
                    data, result = decode_run_file(path, data)
                    if result.truncated_at is not None:
                        self.report.warn(
                            TRUNCATED,
                            "the last record was incomplete (the run may still be running); the complete records were read",
                            f"{path}: offset {result.truncated_at}: {result.truncated_bytes} byte(s) left out",
                        )
            except CorruptRunFile as exc:
                self.report.rejected += 1
                self.report.warn(UNREADABLE, "run files that could not be read (path: offset: reason)", str(exc))
                bad_ids.add(run_id)
                continue
            if data is None or not data.run_id:
                self.report.warn(TRUNCATED, "the run record was not written yet; the run is left for the next ingest",
                                 f"{paths[-1]}: no run record")
                bad_ids.add(run_id)
                continue
            runs.append(data)
        return runs, bad_ids

    def _tombstones(self, state: SourceState, owned: set[str], bad_ids: set[str], now: datetime) -> Iterator[Tombstone]:
        """Nodes the folder no longer maps to. While a run file is unreadable, only other runs can go
        (its artifacts and project cannot be told apart from vanished ones)."""
        for urn in sorted(set(state.fingerprints) - owned):
            is_run = "/runs/" in urn and urn.startswith("wandb://")
            if bad_ids and (not is_run or urn.rsplit("/", 1)[-1] in bad_ids):
                continue
            yield Tombstone(urn=urn, at=now, reason="run file no longer present" if is_run else "no run logs it any more")


def _run_id(path: Path) -> str:
    match = RUN_FILE.match(path.name)
    return match.group("id") if match else path.stem


__all__ = ["WandbIngestor", "decode_run_file", "Urns"]
