"""What every ingestor has in common: one constructor signature, one report, one registry.

Ingestors are found through the ``xmem.ingestors`` entry-point group; one whose optional
dependency is missing is listed as unavailable with the reason instead of crashing.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar, Iterator, Mapping, Sequence

from pydantic import BaseModel

from memory.entities import Event, Record, SourceState

MAX_SAMPLES = 10


@dataclass
class IngestWarning:
    title: str
    message: str
    context: list[str] = field(default_factory=list)
    count: int = 0


@dataclass
class IngestReport:
    """Counts and sampled warnings of one ingest; printed at the end of every CLI command."""

    source_key: str = ""
    read: int = 0
    rejected: int = 0
    skipped_unchanged: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    edges: int = 0
    events: int = 0
    embedded: int = 0
    indexed: int = 0
    embed_seconds: float = 0.0
    seconds: float = 0.0
    #: seconds from the start until every document was committed and searchable by BM25
    searchable_seconds: float = 0.0
    #: documents that needed a vector when the embedding phase started, and those still without one at the end
    vectors_total: int = 0
    vectors_pending: int = 0
    resumed: bool = False
    index_unavailable: str | None = None
    warnings: dict[str, IngestWarning] = field(default_factory=dict)

    def warn(self, title: str, message: str, context: str | None = None) -> None:
        """Record a problem with one item; the ingest goes on."""
        entry = self.warnings.setdefault(title, IngestWarning(title, message))
        entry.count += 1
        if context and len(entry.context) < MAX_SAMPLES:
            entry.context.append(context)

    @property
    def warning_count(self) -> int:
        return sum(w.count for w in self.warnings.values())

    @property
    def nothing_changed(self) -> bool:
        return self.new == self.changed == self.deleted == self.edges == self.events == 0

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "warnings"}
        data["warnings"] = [w.__dict__ for w in self.warnings.values()]
        return data


class Ingestor(abc.ABC):
    """Base of every source. Subclasses set ``system`` and ``config_class``."""

    system: ClassVar[str]
    config_class: ClassVar[type[BaseModel]]
    #: whether some records are folded from the stored event history of a subject (see ``derive``)
    derives_from_events: ClassVar[bool] = False
    #: whether ``records`` reads the fingerprints and cursor of ``SourceState`` (loading them costs a scan)
    uses_source_state: ClassVar[bool] = True

    def __init__(self, config: BaseModel, report: IngestReport) -> None:
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}")
        self.config = config
        self.report = report

    @property
    @abc.abstractmethod
    def source_key(self) -> str:
        """Identifies the source instance (its cursor and the nodes it owns)."""

    @abc.abstractmethod
    def check(self) -> None:
        """Fail fast with :class:`memory.errors.SourceUnavailable` or ``NotFound`` if the source can't be read."""

    @abc.abstractmethod
    def records(self, state: SourceState) -> Iterator[Record]:
        """Records in a deterministic order, with checkpoints between committed units."""

    def total_hint(self) -> int | None:
        """How many objects ``records`` will read, when cheap to know (for progress bars)."""
        return None

    def close(self) -> None:
        """Release connections."""

    def subjects(self, batch: Sequence[Record]) -> list[str]:
        """URNs whose records must be derived again once ``batch`` is committed (``derives_from_events``)."""
        return []

    def derive(self, history: Mapping[str, Sequence[Event]]) -> list[Record]:
        """Records computed from the whole stored event history of each subject; a pure function of it.

        Sources whose events may arrive out of order or twice (pushed lineage events) use this:
        the result depends only on the set of stored events, not on their arrival.
        """
        return []


@dataclass(frozen=True)
class IngestorInfo:
    name: str
    ingestor: type[Ingestor] | None
    error: str | None = None


def available_ingestors() -> dict[str, IngestorInfo]:
    """Every registered ingestor; unavailable ones carry the reason (e.g. a missing package)."""
    found: dict[str, IngestorInfo] = {}
    for ep in entry_points(group="xmem.ingestors"):
        try:
            found[ep.name] = IngestorInfo(ep.name, ep.load())
        except ImportError as exc:
            found[ep.name] = IngestorInfo(ep.name, None, f"{exc} (install the optional dependency)")
    return dict(sorted(found.items()))
