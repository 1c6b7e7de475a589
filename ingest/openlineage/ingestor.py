"""The OpenLineage ingestor: event files replayed (``xmem ingest openlineage``) or events received over HTTP.

It yields each valid event as an :class:`EventRecord` filed under its subject; the service
commits them and then asks :meth:`OpenLineageIngestor.derive` for the records folded from
the whole stored history of every run a batch touched (see :mod:`ingest.openlineage.mapping`).
Invalid events are reported with ``file:line`` and the JSON path of the error, and skipped;
in strict mode (the HTTP receiver) the first one refuses the whole input before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping, Sequence

from ingest.base import IngestReport, Ingestor
from ingest.openlineage.config import OpenLineageConfig
from ingest.openlineage.mapping import EVENT_PREFIX, RUN_PREFIX, SOURCE_KEY, SYSTEM, event_records, run_records
from ingest.openlineage.validate import validate_event
from memory.entities import Checkpoint, Event, EventRecord, Record, SourceState
from memory.errors import InvalidEvent, NotFound

SUFFIXES = (".json", ".ndjson", ".jsonl")
REJECTED = "invalid event skipped"


class OpenLineageIngestor(Ingestor):
    system = SYSTEM
    config_class = OpenLineageConfig
    derives_from_events: ClassVar[bool] = True
    uses_source_state: ClassVar[bool] = False  # events are idempotent by content; no cursor, no fingerprints

    def __init__(self, config: OpenLineageConfig, report: IngestReport) -> None:
        super().__init__(config, report)
        self.config: OpenLineageConfig = config
        self._given: list[tuple[str, Any]] | None = None

    @classmethod
    def for_events(cls, events: Sequence[Any], report: IngestReport, origin: str = "request") -> "OpenLineageIngestor":
        """An ingestor over events already in memory (the HTTP receiver): strict, all or nothing."""
        ingestor = cls(OpenLineageConfig(strict=True, batch_size=max(len(events), 1)), report)
        ingestor._given = [(origin if len(events) == 1 else f"{origin}[{i}]", e) for i, e in enumerate(events)]
        return ingestor

    @property
    def source_key(self) -> str:
        return SOURCE_KEY

    def check(self) -> None:
        missing = [p for p in self.config.paths if not Path(p).exists()]
        if missing:
            raise NotFound(f"no such file or folder: {', '.join(missing)}", hint="give event files (.json, .ndjson) or folders")

    # -- reading
    def files(self) -> list[Path]:
        found: list[Path] = []
        for given in self.config.paths:
            path = Path(given)
            if path.is_dir():
                found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            else:
                found.append(path)
        return found

    def _events(self) -> Iterator[tuple[str, Any]]:
        if self._given is not None:
            yield from self._given
            return
        for path in self.files():
            yield from self._file_events(path)

    def _file_events(self, path: Path) -> Iterator[tuple[str, Any]]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._reject(str(path), f"cannot read: {exc}")
            return
        if path.suffix.lower() in (".ndjson", ".jsonl"):
            for number, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    try:
                        yield f"{path}:{number}", json.loads(line)
                    except ValueError as exc:
                        self._reject(f"{path}:{number}", f"not JSON: {exc}")
            return
        try:
            yield from ((f"{path}:{line}", item) for line, item in _json_items(text))
        except json.JSONDecodeError as exc:
            self._reject(f"{path}:{exc.lineno}", f"not JSON: {exc.msg} (column {exc.colno})")

    def _reject(self, origin: str, reason: str) -> None:
        if self.config.strict:
            raise InvalidEvent(f"{origin}: {reason}" if self._given is None or len(self._given) > 1 else reason)
        self.report.rejected += 1
        self.report.warn(REJECTED, "events that are not valid OpenLineage (file:line: JSON path: reason)", f"{origin}: {reason}")

    # -- records
    def records(self, state: SourceState) -> Iterator[Record]:
        stream = self._events()
        if self.config.strict:  # validate everything before the first write
            stream = iter(list(self._validated(stream)))
        else:
            stream = self._validated(stream)
        pending = 0
        for _, event in stream:
            self.report.read += 1
            yield from event_records(event)
            pending += 1
            if pending >= self.config.batch_size:
                yield Checkpoint(cursor={})
                pending = 0

    def _validated(self, stream: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
        for origin, event in stream:
            error = validate_event(event)
            if error is None:
                yield origin, event
            else:
                self._reject(origin, str(error))

    def subjects(self, batch: Sequence[Record]) -> list[str]:
        """The job runs whose records must be folded again after ``batch`` is committed."""
        return sorted({
            r.urn for r in batch
            if isinstance(r, EventRecord) and r.kind.startswith(EVENT_PREFIX) and r.urn.startswith(RUN_PREFIX)
        })

    def derive(self, history: Mapping[str, Sequence[Event]]) -> list[Record]:
        out: list[Record] = []
        for urn in sorted(history):
            events = [e.payload for e in history[urn] if e.kind.startswith(EVENT_PREFIX)]
            out += run_records(events)
        return out


def _json_items(text: str) -> Iterator[tuple[int, Any]]:
    """The events of a .json file (one object or a list), each with the line it starts on."""
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip())
    if not text[position:position + 1] == "[":
        value, end = decoder.raw_decode(text, position)
        if text[end:].strip():
            raise json.JSONDecodeError("extra data after the event", text, end + len(text[end:]) - len(text[end:].lstrip()))
        yield text.count("\n", 0, position) + 1, value
        return
    position += 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text):
            raise json.JSONDecodeError("unterminated list", text, position)
        if text[position] == "]":
            if text[position + 1:].strip():
                raise json.JSONDecodeError("extra data after the list", text, position + 1)
            return
        value, end = decoder.raw_decode(text, position)
        yield text.count("\n", 0, position) + 1, value
        position = end
