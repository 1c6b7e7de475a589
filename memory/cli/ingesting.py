"""Run an ingest with a live progress bar and print its report (shared by `xmem ingest` and `xmem demo`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from memory.cli import render
from memory.service import IngestReport, MemoryService


def progress_bar(console: Console) -> Progress:
    """A bar with a count, a rate and the elapsed time; the total may be unknown."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} done"),
        TextColumn("[cyan]{task.fields[rate]}/s"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def run_ingest(
    svc: MemoryService,
    system: str,
    config: dict[str, Any],
    label: str,
    *,
    console: Console,
    progress_console: Console | None = None,
) -> IngestReport:
    """Ingest one source system, showing progress on ``progress_console`` and the report on ``console``."""
    report = IngestReport()
    ingestor = svc.make_ingestor(system, config, report)
    with progress_bar(progress_console or console) as progress:
        task = progress.add_task(f"ingest {label}", total=None, rate="0")
        start = datetime.now()

        def on_progress(what: str, count: int) -> None:
            elapsed = max((datetime.now() - start).total_seconds(), 1e-6)
            progress.update(task, completed=count, rate=f"{count / elapsed:,.0f}")

        svc.ingest(ingestor, on_progress=on_progress)
        on_progress("read", report.read)
    render.print_report(console, report)
    return report
