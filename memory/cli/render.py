"""Rich rendering of results for people; ``--json`` output is produced next to it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree


from memory.index import SearchResult
from memory.service import Answer, Diff, IngestReport, Lineage, MemoryStats, NodeView, WhyReport


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def outcome_text(outcome: dict[str, Any]) -> Text:
    verdict = outcome.get("verdict")
    metric = outcome.get("metric")
    value = outcome.get("value")
    if not metric:
        return Text("—", style="dim")
    shown = f"{metric}={value:.4g}" if isinstance(value, (int, float)) else metric
    if verdict in ("better", "worse") and isinstance(outcome.get("delta"), (int, float)):
        style = "green" if verdict == "better" else "red"
        return Text(f"{shown} ({outcome['delta']:+.3g} vs baseline, {verdict})", style=style)
    if verdict:
        return Text(f"{shown} ({verdict})", style="yellow" if verdict in ("failed", "no result") else "")
    return Text(shown)


def highlight(snippet: str, words: list[str]) -> Text:
    text = Text(snippet)
    for word in words:
        text.highlight_regex(re.compile(rf"(?i)\b{re.escape(word)}\w*"), style="bold yellow")
    return text


def search_table(result: SearchResult) -> Table:
    return hits_table(result.hits, f"{len(result.hits)} results ({result.backend} index)")


def hits_table(hits: list[Any], title: str) -> Table:
    table = Table(show_lines=True, title=title, title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("what", ratio=3)
    table.add_column("project / who / when", ratio=2)
    table.add_column("outcome", ratio=2)
    table.add_column("score", justify="right", style="dim")
    for i, hit in enumerate(hits, start=1):
        what = Text()
        what.append(f"{hit.title}", style="bold")
        what.append(f"  [{hit.kind}]\n", style="cyan")
        what.append_text(highlight(hit.snippet, hit.highlights))
        what.append(f"\n{hit.urn}", style="dim")
        if hit.group_size > 1:
            what.append(f"\n+ {hit.group_size - 1} similar {hit.kind}s grouped", style="magenta")
        who = Text(f"{hit.project or '—'}\n{hit.person or '—'}\n{when(hit.time)}")
        outcome = outcome_text(hit.outcome)
        if hit.group_size > 1 and hit.group_outcomes:
            outcome.append(f"\nrange {min(hit.group_outcomes):.4g}–{max(hit.group_outcomes):.4g}", style="magenta")
            if hit.group_best and hit.group_best != hit.urn:
                outcome.append(f"\nbest: {hit.group_best.rsplit('/', 1)[-1]}", style="magenta")
        if hit.status and hit.status not in ("FINISHED", "READY"):
            outcome.append(f"\n{hit.status.lower()}", style="red")
        table.add_row(str(i), what, who, outcome, f"{hit.score:.4f}")
    return table


def answer_parts(answer: Answer) -> list[Any]:
    parsed = answer.parsed
    understood = Text("understood as: ", style="dim")
    understood.append(parsed.intent, style="bold cyan")
    if parsed.text:
        understood.append(f"  “{parsed.text}”", style="bold")
    for chip in parsed.chips():
        understood.append("  ")
        understood.append(f" {chip} ", style="black on bright_cyan")
    parts: list[Any] = [understood, Text(answer.summary, style="bold")]
    parts += [Text(note, style="yellow") for note in answer.notes]
    if answer.lineage is not None:
        parts.append(lineage_tree(answer.lineage))
    if answer.hits:
        parts.append(hits_table(answer.hits, f"{len(answer.hits)} results · confidence {answer.confidence:.0%}"))
    elif answer.closest:
        parts.append(hits_table(answer.closest, "closest attempts (not matches)"))
    return parts


def report_table(report: IngestReport) -> Table:
    table = Table(title=f"Ingest report — {report.source_key}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("read", report.read),
        *([("rejected (invalid)", report.rejected)] if report.rejected else []),
        ("unchanged (skipped)", report.skipped_unchanged),
        ("new", report.new),
        ("changed", report.changed),
        ("deleted (tombstoned)", report.deleted),
        ("edges written", report.edges),
        ("events written", report.events),
        ("documents indexed", report.indexed),
        ("texts embedded", report.embedded),
        *([("vectors pending", f"{report.vectors_pending:,} (searchable by BM25; `xmem reindex --pending` embeds them)")]
          if report.vectors_pending else []),
        ("warnings", report.warning_count),
        ("seconds", f"{report.seconds:.1f} (searchable by BM25 after {report.searchable_seconds:.1f}, "
                    f"embedding {report.embed_seconds:.1f})"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def print_report(console: Console, report: IngestReport) -> None:
    console.print(report_table(report))
    if report.resumed:
        console.print("[yellow]Resumed an interrupted pass from its last committed checkpoint.[/]")
    for warning in report.warnings.values():
        console.print(f"[yellow]warning[/] {warning.title} ×{warning.count}: {warning.message}", highlight=False)
        for context in warning.context:
            console.print(f"  - {context}", highlight=False, soft_wrap=True)
        if warning.count > len(warning.context):
            console.print(f"  … and {warning.count - len(warning.context):,} more")
    if report.nothing_changed:
        console.print("[green]Nothing changed since the last sync: nothing written.[/]")


def edge_details(properties: dict[str, Any]) -> str:
    """What an edge records, in a few lines: schema, column lineage (output column ← input fields), context."""
    lines = []
    if properties.get("context"):
        lines.append(f"context {properties['context']}")
    if properties.get("schema"):
        names = [f.get("name", "?") for f in properties["schema"]]
        lines.append(f"{len(names)} columns: {', '.join(names[:8])}{'…' if len(names) > 8 else ''}")
    for column, inputs in sorted((properties.get("column_lineage") or {}).items()):
        sources = ", ".join(f"{i['dataset'].rsplit('/', 1)[-1]}.{i['field']}" for i in inputs)
        lines.append(f"{column} ← {sources or '—'}")
    if properties.get("statistics"):
        lines.append(", ".join(f"{k} {v}" for k, v in sorted(properties["statistics"].items())))
    return "\n".join(lines)


def node_view(view: NodeView) -> list[Any]:
    node = view.node
    props = node.properties
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("urn", node.urn)
    head.add_row("kind", node.kind.value)
    head.add_row("name", node.name)
    head.add_row("project", node.project or "—")
    head.add_row("source", f"{node.source.system} {node.source.instance} id={node.source.id}")
    if node.source.url:
        head.add_row("link", node.source.url)
    head.add_row("created", str(node.created_at or "—"))
    for key in ("status", "person", "stage", "git_commit", "state", "error_message"):
        if props.get(key):
            head.add_row(key, str(props[key]))
    if props.get("outcome"):
        head.add_row("outcome", outcome_text(props["outcome"]))
    if node.description:
        head.add_row("notes", node.description)
    parts: list[Any] = [head]
    for title, bag in (("params", props.get("params")), ("metrics", props.get("metrics")), ("tags", props.get("tags"))):
        if bag:
            table = Table(title=title, title_justify="left")
            table.add_column("key")
            table.add_column("value")
            if title == "metrics":
                table.add_column("best")
            for key in sorted(bag):
                row = [key, f"{bag[key]:.6g}" if isinstance(bag[key], float) else str(bag[key])]
                if title == "metrics":
                    best = (props.get("metrics_best") or {}).get(key)
                    row.append(f"{best['value']:.6g} @ step {best['step']}" if best else "")
                table.add_row(*row)
            parts.append(table)
    if view.neighbours:
        table = Table(title="neighbours", title_justify="left")
        table.add_column("edge")
        table.add_column("node")
        table.add_column("kind")
        table.add_column("details")
        for edge, other in view.neighbours:
            arrow = f"-{edge.kind.value}->" if edge.src == node.urn else f"<-{edge.kind.value}-"
            table.add_row(arrow, f"{other.name}\n[dim]{other.urn}[/]", other.kind.value, edge_details(edge.properties))
        parts.append(table)
    if view.events:
        table = Table(title="events", title_justify="left")
        table.add_column("when")
        table.add_column("what")
        for event in view.events:
            payload = json.dumps(event.payload)
            payload = payload if len(payload) <= 160 else payload[:160] + "…"
            table.add_row(event.at.isoformat(timespec="seconds"), f"{event.kind} {payload}")
        parts.append(table)
    return parts


def lineage_tree(lineage: Lineage) -> Tree:
    root = lineage.nodes[lineage.root]
    arrow = "upstream" if lineage.direction == "up" else "downstream"
    suffix = f" as of {lineage.as_of.isoformat()}" if lineage.as_of else ""
    tree = Tree(f"[bold]{root.name}[/] [cyan]{root.kind.value}[/] — {arrow}{suffix}\n[dim]{root.urn}[/]")
    children: dict[str, list[tuple[str, str]]] = {}
    for edge in lineage.edges:
        if lineage.direction == "up":
            parent, child = (edge.dst, edge.src) if edge.kind.value in ("produced", "wrote") else (edge.src, edge.dst)
        else:
            parent, child = (edge.src, edge.dst) if edge.kind.value in ("produced", "wrote") else (edge.dst, edge.src)
        children.setdefault(parent, []).append((edge.kind.value, child))

    def grow(branch: Tree, urn: str, seen: set[str]) -> None:
        for kind, child in sorted(children.get(urn, []), key=lambda kc: (lineage.depth_of.get(kc[1], 0), kc[1])):
            node = lineage.nodes.get(child)
            if node is None:
                continue
            label = f"[magenta]{kind}[/] [bold]{node.name}[/] [cyan]{node.kind.value}[/] {when(node.created_at)}\n[dim]{node.urn}[/]"
            sub = branch.add(label)
            if child not in seen:
                grow(sub, child, seen | {child})

    grow(tree, lineage.root, {lineage.root})
    return tree


def stats_tables(stats: MemoryStats) -> list[Table]:
    counts = Table(title="Nodes by kind and source", title_justify="left")
    counts.add_column("kind")
    counts.add_column("source")
    counts.add_column("nodes", justify="right")
    for (kind, system), n in sorted(stats.store.nodes_by_kind_and_system.items()):
        counts.add_row(kind, system, f"{n:,}")
    totals = Table(show_header=False, title="Totals", title_justify="left")
    totals.add_row("live edges", f"{stats.store.edges:,}")
    totals.add_row("events", f"{stats.store.events:,}")
    totals.add_row("tombstones", f"{stats.store.deleted:,}")
    if stats.index_error:
        totals.add_row("search index", f"[red]unavailable[/] ({stats.index_backend}): {stats.index_error}")
    else:
        totals.add_row("indexed documents", f"{stats.indexed_documents:,} ({stats.index_backend})")
        totals.add_row("index size", f"{(stats.index_bytes or 0) / 1e6:.1f} MB")
    totals.add_row("index backlog", f"{stats.store.index_backlog:,}")
    if stats.vectors_pending is not None:
        hint = " — searchable by BM25; `xmem reindex --pending` embeds them" if stats.vectors_pending else ""
        totals.add_row("vectors pending", f"{stats.vectors_pending:,} ({stats.vector_model}){hint}")
    syncs = Table(title="Sources", title_justify="left")
    syncs.add_column("source")
    syncs.add_column("last sync")
    syncs.add_column("last report")
    for sync in stats.store.syncs:
        report = sync.last_report
        summary = ", ".join(f"{k} {report.get(k, 0)}" for k in ("read", "new", "changed", "deleted")) if report else "—"
        state = " (pass in progress)" if "pass" in sync.cursor else ""
        syncs.add_row(sync.source_key, f"{sync.last_sync_at or 'never'}{state}", summary)
    return [counts, totals, syncs]


def diff_parts(result: Diff) -> list[Any]:
    """The ranked changes (most likely culprit first, with the reason) and the metric deltas."""
    head = Text(f"{result.baseline.name} → {result.current.name}", style="bold")
    parts: list[Any] = [head]
    if not result.changes:
        parts.append(Text("No difference in params, code, data or upstream pipeline runs.", style="yellow"))
    else:
        table = Table(title="What changed, most likely culprit first", title_justify="left", show_lines=True)
        table.add_column("#", justify="right", style="dim")
        table.add_column("change", ratio=3)
        table.add_column("score", justify="right")
        table.add_column("why ranked here", ratio=2, style="dim")
        for i, change in enumerate(result.changes, 1):
            what = Text(change.kind, style="bold magenta")
            what.append(f"\n{change.summary}", style="")
            for link in change.links:
                what.append(f"\n{link}", style="dim")
            table.add_row(str(i), what, f"{change.score:g}", change.reason)
        parts.append(table)
    if result.metrics:
        table = Table(title="Metrics", title_justify="left")
        for column in ("metric", "before", "after", "delta"):
            table.add_column(column, justify="left" if column == "metric" else "right")
        for m in result.metrics:
            style = "red" if m.worse else ("green" if m.delta else "")
            table.add_row(m.name, f"{m.before:.6g}", f"{m.after:.6g}", Text(f"{m.delta:+.6g}", style=style))
        parts.append(table)
    return parts


def why_parts(report: WhyReport) -> list[Any]:
    """Which version, since when, compared with what; the ranked diff; the upstream tree as of the moment."""
    head = Text(f"{report.version.name}", style="bold")
    if report.label and report.tenure:
        head.append(f" held {report.label} since {report.tenure.start.isoformat(timespec='seconds')}")
    if report.at:
        head.append(f" (asked as of {report.at.isoformat(timespec='seconds')})", style="dim")
    parts: list[Any] = [head]
    if report.version.source.url:
        parts.append(Text(report.version.source.url, style="dim"))
    if report.baseline_how:
        parts.append(Text(f"compared with {report.baseline_how}", style="cyan"))
    parts += [Text(note, style="yellow") for note in report.notes]
    if report.diff is not None:
        parts += diff_parts(report.diff)[1:]
    parts.append(lineage_tree(report.lineage))
    return parts
