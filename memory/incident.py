"""Incident documents from a :class:`~memory.why.WhyReport` or a :class:`~memory.why.Diff`.

JSON (the API's shape too), Markdown and HTML (paste into a postmortem; links go to the source
systems), and pictures of the upstream graph as Mermaid or Graphviz DOT text. Pure functions.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from memory.entities import Node
from memory.store.base import Lineage
from memory.why import Diff, WhyReport

FORMATS = ("text", "markdown", "json", "html", "mermaid", "dot")
#: edges drawn from the thing made to what it was made from, as in the lineage tree
_PRODUCES = ("produced", "wrote")


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def node_summary(node: Node, depth: int | None = None) -> dict[str, Any]:
    """The few facts of a node an incident document shows."""
    props = node.properties
    keep = {k: props[k] for k in ("params", "metrics", "git_commit", "state", "status", "stage", "aliases", "digest",
                                   "version", "error_message", "start_time", "end_time", "operation", "num_rows",
                                   "schema_change", "md5") if props.get(k) not in (None, {}, [])}
    if props.get("also_known_as"):  # the other systems that know this very node (dataset identity)
        keep["also_known_as"] = sorted(props["also_known_as"])
    return {"urn": node.urn, "kind": node.kind.value, "name": node.name, "created_at": _iso(node.created_at),
            "system": node.source.system, "url": node.source.url, "depth": depth, **keep}


def lineage_dict(graph: Lineage) -> dict[str, Any]:
    return {
        "root": graph.root,
        "as_of": _iso(graph.as_of),
        "nodes": [node_summary(n, graph.depth_of.get(u)) for u, n in sorted(graph.nodes.items(), key=lambda kv: (graph.depth_of.get(kv[0], 0), kv[0]))],
        "edges": [{"src": e.src, "kind": e.kind.value, "dst": e.dst} for e in graph.edges],
    }


def why_dict(report: WhyReport) -> dict[str, Any]:
    return {
        "ref": report.ref,
        "version": node_summary(report.version, 0),
        "at": _iso(report.at),
        "label": report.label,
        "held_since": _iso(report.tenure.start) if report.tenure else None,
        "baseline": report.baseline_how,
        "diff": report.diff.as_dict() if report.diff else None,
        "notes": report.notes,
        "lineage": lineage_dict(report.lineage),
    }


# -- markdown ---------------------------------------------------------------------------------
def _link(name: str, url: str | None) -> str:
    return f"[{name}]({url})" if url else f"`{name}`"


def diff_markdown(result: Diff) -> list[str]:
    lines = [f"## What changed: {result.baseline.name} → {result.current.name}", ""]
    if result.baseline_run or result.current_run:
        lines += [f"Training runs: {_link(result.baseline_run.name, result.baseline_run.source.url) if result.baseline_run else '—'}"
                  f" → {_link(result.current_run.name, result.current_run.source.url) if result.current_run else '—'}", ""]
    if result.changes:
        lines += ["### Likely culprits (most likely first)", "", "| # | change | score | why ranked here | links |",
                  "|---|---|---|---|---|"]
        for i, change in enumerate(result.changes, 1):
            links = " ".join(f"[link]({u})" for u in change.links)
            lines.append(f"| {i} | **{change.kind}**: {_cell(change.summary)} | {change.score:g} | {_cell(change.reason)} | {links} |")
    else:
        lines.append("No difference found in params, code, data or upstream pipeline runs.")
    if result.metrics:
        lines += ["", "### Metrics", "", "| metric | before | after | delta | |", "|---|---|---|---|---|"]
        for m in result.metrics:
            lines.append(f"| {m.name} | {m.before:.6g} | {m.after:.6g} | {m.delta:+.6g} | {'worse' if m.worse else ('same' if m.delta == 0 else 'better')} |")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def lineage_markdown(graph: Lineage) -> list[str]:
    """The upstream tree as a nested list, each node with its kind, time and link."""
    children = _children(graph)
    lines: list[str] = []

    def walk(urn: str, level: int, seen: set[str]) -> None:
        for kind, child in children.get(urn, []):
            node = graph.nodes[child]
            extra = _facts(node)
            lines.append(f"{'  ' * level}- *{kind}* {_link(node.name, node.source.url)} ({node.kind.value}, "
                         f"{_iso(node.created_at) or 'time unknown'}){extra}")
            if child not in seen:
                walk(child, level + 1, seen | {child})

    root = graph.nodes[graph.root]
    lines.append(f"- {_link(root.name, root.source.url)} ({root.kind.value}, {_iso(root.created_at) or 'time unknown'})")
    walk(graph.root, 1, {graph.root})
    return lines


def _facts(node: Node) -> str:
    props = node.properties
    facts = []
    if props.get("state"):
        facts.append(f"state {props['state']}")
    if props.get("git_commit"):
        facts.append(f"commit {str(props['git_commit'])[:12]}")
    if props.get("params"):
        facts.append("params " + ", ".join(f"{k}={v}" for k, v in sorted(props["params"].items())))
    return (" — " + "; ".join(facts)) if facts else ""


def why_markdown(report: WhyReport) -> str:
    version = report.version
    lines = [f"# Incident: {version.name}", ""]
    lines.append(f"- Asked: `{report.ref}`" + (f" as of {_iso(report.at)}" if report.at else ""))
    if report.label and report.tenure:
        lines.append(f"- {version.name} held **{report.label}** since {_iso(report.tenure.start)}")
    lines.append(f"- Model version: {_link(version.urn, version.source.url)}")
    if report.baseline_how:
        lines.append(f"- Compared with {report.baseline_how}")
    lines += [f"- Note: {n}" for n in report.notes]
    lines.append("")
    if report.diff is not None:
        lines += diff_markdown(report.diff) + [""]
    lines += ["## Upstream lineage" + (f" as of {_iso(report.lineage.as_of)}" if report.lineage.as_of else ""), ""]
    lines += lineage_markdown(report.lineage)
    return "\n".join(lines) + "\n"


# -- html ---------------------------------------------------------------------------------------
def markdown_to_html(markdown: str, title: str) -> str:
    """A small, dependency-free rendering of the Markdown this module writes (headings, lists, tables, links)."""
    out = ["<!doctype html>", f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top}code{background:#f4f4f4}</style>",
           "</head><body>"]
    in_table, list_depth = False, 0
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if all(set(c) <= {"-"} for c in cells):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
                out.append("<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells) + "</tr>")
                continue
            out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        item = re.match(r"^( *)- (.*)$", line)
        if item:
            depth = len(item.group(1)) // 2 + 1
            while list_depth < depth:
                out.append("<ul>")
                list_depth += 1
            while list_depth > depth:
                out.append("</ul>")
                list_depth -= 1
            out.append(f"<li>{_inline(item.group(2))}</li>")
            continue
        while list_depth:
            out.append("</ul>")
            list_depth -= 1
        heading = re.match(r"^(#+) (.*)$", line)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    out += ["</table>"] if in_table else []
    out += ["</ul>"] * list_depth
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _inline(text: str) -> str:
    escaped = html.escape(text.replace("\\|", "|"), quote=True)
    escaped = re.sub(r"\[([^\]]+)\]\(((?:https?://)[^)\s]+)\)", r"<a href='\2'>\1</a>", escaped)  # web links only
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
    escaped = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", escaped)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def why_html(report: WhyReport) -> str:
    return markdown_to_html(why_markdown(report), f"Incident: {report.version.name}")


def diff_html(result: Diff) -> str:
    return markdown_to_html(diff_markdown_document(result), f"{result.baseline.name} → {result.current.name}")


def diff_markdown_document(result: Diff) -> str:
    return "\n".join(["# " + diff_markdown(result)[0][3:], *diff_markdown(result)[1:]]) + "\n"


# -- pictures ---------------------------------------------------------------------------------
def _children(graph: Lineage) -> dict[str, list[tuple[str, str]]]:
    """Upstream tree: each node's (edge kind, upstream node) pairs."""
    children: dict[str, list[tuple[str, str]]] = {}
    for edge in graph.edges:
        parent, child = (edge.dst, edge.src) if edge.kind.value in _PRODUCES else (edge.src, edge.dst)
        if parent in graph.nodes and child in graph.nodes:
            children.setdefault(parent, []).append((edge.kind.value, child))
    for pairs in children.values():
        pairs.sort(key=lambda kc: (graph.depth_of.get(kc[1], 0), kc[1]))
    return children


def _arrows(graph: Lineage) -> list[tuple[str, str, str]]:
    """(made from, kind, made): the arrows point the way data flows."""
    return sorted({(child, kind, parent) for parent, pairs in _children(graph).items() for kind, child in pairs})


def _label(node: Node) -> str:
    state = node.properties.get("state")
    return f"{node.name}\\n{node.kind.value}" + (f" {state}" if state else "")


def mermaid(graph: Lineage) -> str:
    ids = {urn: f"n{i}" for i, urn in enumerate(sorted(graph.nodes))}
    lines = ["flowchart LR"]
    for urn, node in sorted(graph.nodes.items()):
        text = _label(node).replace('"', "#quot;").replace("\\n", "<br/>")
        lines.append(f'  {ids[urn]}["{text}"]')
        if node.properties.get("state") in ("FAIL", "ABORT"):
            lines.append(f"  style {ids[urn]} fill:#fdd,stroke:#c00")
    lines.append(f"  style {ids[graph.root]} stroke-width:3px")
    for src, kind, dst in _arrows(graph):
        lines.append(f"  {ids[src]} -->|{kind}| {ids[dst]}")
    for urn, node in sorted(graph.nodes.items()):
        if node.source.url:
            lines.append(f'  click {ids[urn]} href "{node.source.url}" _blank')
    return "\n".join(lines) + "\n"


def dot(graph: Lineage) -> str:
    def quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n") + '"'

    lines = ["digraph lineage {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for urn, node in sorted(graph.nodes.items()):
        attrs = [f"label={quote(_label(node))}"]
        if node.source.url:
            attrs.append(f"URL={quote(node.source.url)}")
        if node.properties.get("state") in ("FAIL", "ABORT"):
            attrs += ["style=filled", 'fillcolor="#ffdddd"']
        if urn == graph.root:
            attrs.append("penwidth=3")
        lines.append(f"  {quote(urn)} [{', '.join(attrs)}];")
    for src, kind, dst in _arrows(graph):
        lines.append(f"  {quote(src)} -> {quote(dst)} [label={quote(kind)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_why(report: WhyReport, fmt: str) -> str:
    """``report`` in one of the document formats (everything but ``text``, which the CLI draws with rich)."""
    if fmt == "json":
        return json.dumps(why_dict(report), indent=2, default=str) + "\n"
    if fmt == "markdown":
        return why_markdown(report)
    if fmt == "html":
        return why_html(report)
    if fmt == "mermaid":
        return mermaid(report.lineage)
    if fmt == "dot":
        return dot(report.lineage)
    raise ValueError(f"unknown format {fmt!r}")


def render_diff(result: Diff, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.as_dict(), indent=2, default=str) + "\n"
    if fmt == "markdown":
        return diff_markdown_document(result)
    if fmt == "html":
        return diff_html(result)
    raise ValueError(f"{fmt!r} is not a format of diff: use text, markdown, json or html")
