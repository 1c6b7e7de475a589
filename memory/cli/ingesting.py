"""Run an ingest with live progress bars and print its report (shared by `xmem ingest` and `xmem demo`).

Two bars, one per phase: the graph and BM25 (objects read, per second) and the vectors (documents
embedded of the backlog, per second, with the time left).
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from memory.cli import render
from memory.service import IngestReport, MemoryService


def progress_bar(console: Console) -> Progress:
    """A bar with a count, a rate, the elapsed time and, when the total is known, the time left."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}{task.fields[of]}"),
        TextColumn("[cyan]{task.fields[rate]}/s"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


class RateTracker:
    """Drives one task of a :func:`progress_bar`: count, rate since the start, total when known."""

    def __init__(self, progress: Progress, description: str, total: int | None = None) -> None:
        self.progress = progress
        self.started = time.monotonic()
        self.task: TaskID = progress.add_task(description, total=total, rate="0", of=_of(total))

    def update(self, done: int, total: int | None = None) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        fields: dict[str, Any] = {"completed": done, "rate": f"{done / elapsed:,.0f}"}
        if total is not None:
            fields.update(total=total, of=_of(total))
        self.progress.update(self.task, **fields)


def _of(total: int | None) -> str:
    return f" of {total:,}" if total else " done"


def run_ingest(
    svc: MemoryService,
    system: str,
    config: dict[str, Any],
    label: str,
    *,
    console: Console,
    progress_console: Console | None = None,
    vectors: bool = True,
) -> IngestReport:
    """Ingest one source system, showing progress on ``progress_console`` and the report on ``console``.

    ``vectors=False`` stops after the graph and BM25 phase (``xmem reindex --pending`` or a running
    ``xmem serve`` embeds the backlog)."""
    report = IngestReport()
    ingestor = svc.make_ingestor(system, config, report)
    with progress_bar(progress_console or console) as progress:
        reading = RateTracker(progress, f"ingest {label}: graph + BM25")
        embedding: RateTracker | None = None

        def on_progress(what: str, count: int) -> None:
            nonlocal embedding
            if what == "embedded":
                if embedding is None:
                    embedding = RateTracker(progress, "vectors", report.vectors_total or None)
                embedding.update(count, report.vectors_total or None)
            else:
                reading.update(count)

        svc.ingest(ingestor, on_progress=on_progress, vectors=vectors)
        reading.update(report.read, report.read)
    render.print_report(console, report)
    return report
