"""Side-by-side comparison of any number of runs (across projects and source systems)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class Row:
    section: str  # run, param, data, code, metric
    key: str
    values: tuple[Any, ...]  # one per run, None where the run has none

    @property
    def differs(self) -> bool:
        return len({_comparable(v) for v in self.values}) > 1


def _comparable(value: Any) -> Any:
    return round(value, 12) if isinstance(value, float) else value


def _neighbour_names(view: Any, edge_kind: str) -> str | None:
    names = sorted(other.name for edge, other in view.neighbours if edge.kind.value == edge_kind and edge.src == view.node.urn)
    return ", ".join(names) if names else None


def comparison_rows(views: Sequence[Any]) -> list[Row]:
    """Every attribute of the runs in ``views`` (NodeView values), one row each, in a stable order."""
    rows: list[Row] = []

    def add(section: str, key: str, values: list[Any]) -> None:
        rows.append(Row(section, key, tuple(values)))

    add("run", "project", [v.node.project for v in views])
    add("run", "source", [v.node.source.system for v in views])
    add("run", "person", [v.node.properties.get("person") for v in views])
    add("run", "status", [v.node.properties.get("status") for v in views])
    add("run", "outcome", [(v.node.properties.get("outcome") or {}).get("verdict") for v in views])
    for section, prop in (("param", "params"), ("metric", "metrics")):
        keys = sorted({k for v in views for k in (v.node.properties.get(prop) or {})})
        for key in keys:
            add(section, key, [(v.node.properties.get(prop) or {}).get(key) for v in views])
    add("data", "dataset versions", [_neighbour_names(v, "used") for v in views])
    add("data", "features", [_neighbour_names(v, "used_features") for v in views])
    add("code", "commit", [v.node.properties.get("git_commit") or _neighbour_names(v, "ran_code") for v in views])
    add("code", "entry point", [v.node.properties.get("source_name") for v in views])
    # a row nobody has says nothing
    return [r for r in rows if any(value is not None for value in r.values)]


def differing(rows: Sequence[Row]) -> list[Row]:
    """Only the rows whose value is not the same for every run; metrics are always kept."""
    return [r for r in rows if r.differs or r.section == "metric"]


def comparison_html(rows: Sequence[Row], labels: Sequence[str]) -> str:
    """The rows as an HTML table (one column per run, scrolling sideways), differing cells marked."""
    def cell(value: Any) -> str:
        text = "—" if value is None else (f"{value:.6g}" if isinstance(value, float) else str(value))
        return html.escape(text)

    head = "".join(f"<th>{html.escape(label)}</th>" for label in labels)
    body = []
    for row in rows:
        mark = ' class="differs"' if row.differs else ""
        values = "".join(f"<td>{cell(v)}</td>" for v in row.values)
        body.append(f"<tr{mark}><th class='section'>{row.section}</th><th class='key'>{html.escape(row.key)}</th>{values}</tr>")
    return (
        "<style>.xmem-compare{overflow:auto;max-height:640px;border:1px solid #ddd;border-radius:6px}"
        ".xmem-compare table{border-collapse:collapse;font-size:0.85rem;white-space:nowrap}"
        ".xmem-compare th,.xmem-compare td{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}"
        ".xmem-compare thead th{position:sticky;top:0;background:#f6f6f6}"
        ".xmem-compare .section{color:#888;font-weight:normal}"
        ".xmem-compare tr.differs td{background:#fff4d6}</style>"
        f"<div class='xmem-compare'><table><thead><tr><th></th><th>what</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def run_label(view: Any, taken: set[str]) -> str:
    """A short unique column name: the run name, with its source id when two runs share it."""
    label = view.node.name
    if label in taken:
        label = f"{label} · {view.node.source.id[:8]}"
    taken.add(label)
    return label
