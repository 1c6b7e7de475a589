"""The lineage graph as an ECharts ``graph`` series: a layered layout (upstream to the left,
downstream to the right, one column per hop), coloured by kind, changed nodes highlighted."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

KIND_COLOURS = {
    "run": "#4C78A8",
    "model": "#B279A2",
    "model_version": "#9D4EDD",
    "dataset": "#54A24B",
    "dataset_version": "#88D27A",
    "feature_view": "#EECA3B",
    "job": "#F58518",
    "job_run": "#FFBF79",
    "code_version": "#72B7B2",
    "evaluation": "#FF9DA6",
    "project": "#BAB0AC",
    "person": "#D8B5A5",
}
CHANGED = "#E45756"
COLUMN_GAP, ROW_GAP = 260, 70


def layered_positions(columns: dict[str, int], names: dict[str, tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """x by hop column, y stacked within the column (sorted by kind, then name), centred on 0."""
    by_column: dict[int, list[str]] = defaultdict(list)
    for urn, column in columns.items():
        by_column[column].append(urn)
    positions: dict[str, tuple[float, float]] = {}
    for column, urns in by_column.items():
        urns.sort(key=lambda u: (names[u][0], names[u][1].lower(), u))
        top = -(len(urns) - 1) / 2
        for row, urn in enumerate(urns):
            positions[urn] = (column * COLUMN_GAP, (top + row) * ROW_GAP)
    return positions


def columns_of(root: str, graphs: Iterable[Any]) -> dict[str, int]:
    """Hop column of every node: upstream graphs give negative columns, downstream ones positive."""
    columns = {root: 0}
    for graph in graphs:
        sign = -1 if graph.direction == "up" else 1
        for urn, depth in graph.depth_of.items():
            if urn != root and urn not in columns:
                columns[urn] = sign * depth
    return columns


def lineage_option(
    root: str,
    graphs: list[Any],
    *,
    changed: set[str] = frozenset(),  # type: ignore[assignment]
    label_width: int = 28,
) -> dict[str, Any]:
    """ECharts option for the union of ``graphs`` (Lineage values sharing ``root``)."""
    nodes: dict[str, Any] = {}
    edges: dict[tuple[str, str, str], Any] = {}
    for graph in graphs:
        nodes.update(graph.nodes)
        for edge in graph.edges:
            edges[(edge.src, edge.kind.value, edge.dst)] = edge
    columns = {u: c for u, c in columns_of(root, graphs).items() if u in nodes}
    names = {u: (n.kind.value, n.name) for u, n in nodes.items()}
    positions = layered_positions(columns, names)
    data = []
    for urn, node in nodes.items():
        if urn not in positions:
            continue
        x, y = positions[urn]
        kind = node.kind.value
        is_root, is_changed = urn == root, urn in changed
        label = node.name if len(node.name) <= label_width else node.name[: label_width - 1] + "…"
        data.append({
            "id": urn,
            "name": urn,
            "value": kind,
            "x": x,
            "y": y,
            "symbolSize": 34 if is_root else 22,
            "symbol": "roundRect" if kind in ("model_version", "model") else "circle",
            "itemStyle": {
                "color": KIND_COLOURS.get(kind, "#999999"),
                "borderColor": CHANGED if is_changed else ("#222222" if is_root else "#ffffff"),
                "borderWidth": 5 if is_changed else (3 if is_root else 1),
            },
            "label": {"show": True, "formatter": label + ("  ⚠ changed" if is_changed else ""),
                      "position": "bottom", "fontWeight": "bold" if is_root or is_changed else "normal",
                      "color": CHANGED if is_changed else "#333333"},
            "tooltip": {"formatter": f"{node.name}<br/>{kind}<br/>{urn}"},
        })
    links = [
        {"source": src, "target": dst, "value": kind,
         "label": {"show": True, "formatter": kind, "fontSize": 10, "color": "#666666"},
         "lineStyle": {"color": CHANGED if (src in changed or dst in changed) else "#9AA0A6", "width": 1.5}}
        for (src, kind, dst) in edges if src in positions and dst in positions
    ]
    legend = sorted({n["value"] for n in data})
    return {
        "tooltip": {"show": True},
        "legend": [{"data": legend, "bottom": 0}],
        "animation": False,
        "series": [{
            "type": "graph",
            "layout": "none",
            "roam": True,
            "draggable": True,
            "edgeSymbol": ["none", "arrow"],
            "edgeSymbolSize": 8,
            "categories": [{"name": k, "itemStyle": {"color": KIND_COLOURS.get(k, "#999999")}} for k in legend],
            "data": [{**d, "category": legend.index(d["value"])} for d in data],
            "links": links,
            "emphasis": {"focus": "adjacency"},
        }],
    }


def changed_urns(diff: Any) -> set[str]:
    """Nodes a version diff points at: changed dataset versions, pipeline runs, and the training run
    when its params or code changed."""
    found: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and "://" in value:
            found.add(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                add(item)
        elif isinstance(value, dict):
            for item in value.values():
                add(item)

    for change in diff.changes:
        add(change.subject)
        add(change.before)
        add(change.after)
        add(change.details)
        if change.kind in ("param_change", "code_change", "features_changed") and diff.current_run is not None:
            found.add(diff.current_run.urn)
    return found
