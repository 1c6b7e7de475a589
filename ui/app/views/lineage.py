"""Lineage: an interactive upstream/downstream graph of any node, as of a chosen moment, with what
changed against another version of a model highlighted."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pandas as pd
import streamlit as st

from memory.errors import XmemError
from ui.app.graph import changed_urns, lineage_option
from ui.app.pages import PageInfo, node_link
from ui.app.views.node import find_node

PAGE = PageInfo(title="Lineage", icon=":material/account_tree:", url_path="lineage", order=3)
NOW = "now"
MOMENTS_MAX = 60
CLICK = "function(params) { if (params.dataType === 'node') { return params.data.id; } }"


def moments(graphs: list[Any], events: list[Any]) -> list[datetime]:
    """The moments at which the graph changed: edges appearing or ending, the root's lifecycle events."""
    found = {e.at for e in events}
    for graph in graphs:
        for edge in graph.edges:
            found.update(t for t in (edge.valid_from, edge.valid_to) if t is not None)
    ordered = sorted(t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in found)
    if len(ordered) > MOMENTS_MAX:  # keep the first, the last and evenly spaced ones between
        step = (len(ordered) - 1) / (MOMENTS_MAX - 1)
        ordered = sorted({ordered[round(i * step)] for i in range(MOMENTS_MAX)})
    return ordered


def _label(moment: Any) -> str:
    return NOW if moment == NOW else moment.strftime("%Y-%m-%d %H:%M")


def _other_versions(memory: Any, view: Any) -> list[Any]:
    model = next((n for e, n in view.neighbours if e.kind.value == "version_of" and e.src == view.node.urn), None)
    if model is None:
        return []
    versions = [n for e, n in memory.show(model.urn).neighbours
                if e.kind.value == "version_of" and e.dst == model.urn and n.urn != view.node.urn]
    return sorted(versions, key=lambda n: int(n.properties.get("version", 0) or 0))


def _diff_section(diff: Any) -> None:
    st.subheader(f"What changed: {diff.baseline.name} → {diff.current.name}")
    if not diff.changes:
        st.write("No difference in params, code, data or upstream pipeline runs.")
    else:
        st.dataframe(pd.DataFrame([{"#": i, "change": c.kind, "what": c.summary, "score": c.score, "why ranked here": c.reason}
                                   for i, c in enumerate(diff.changes, 1)]), hide_index=True, width="stretch")
    if diff.metrics:
        st.dataframe(pd.DataFrame([{"metric": m.name, "before": m.before, "after": m.after, "delta": m.delta,
                                    "worse": m.worse} for m in diff.metrics]), hide_index=True, width="stretch")


def render(memory: Any) -> None:
    from streamlit_echarts import st_echarts  # registers its component: only inside a running app

    urn = st.query_params.get("urn")
    if not urn:
        st.title("Lineage")
        find_node(memory, "lineage")
        return
    try:
        view = memory.show(urn)
    except XmemError as exc:
        st.error(str(exc))
        return
    st.title(f"Lineage of {view.node.name}")
    node_link(urn, f"{view.node.kind.value} page", icon=":material/description:")
    cols = st.columns([2, 1, 3])
    way = cols[0].radio("Direction", ["upstream", "downstream", "both"], horizontal=True, key="lineage-direction")
    if "lineage-depth" not in st.session_state:  # ?depth=N opens the graph that deep
        asked = st.query_params.get("depth", "3")
        st.session_state["lineage-depth"] = min(20, max(1, int(asked))) if asked.isdigit() else 3
    depth = cols[1].number_input("Hops", 1, 20, key="lineage-depth")
    directions = {"upstream": ["up"], "downstream": ["down"], "both": ["up", "down"]}[way]
    try:
        current = [memory.lineage(urn, direction=d, depth=int(depth)) for d in directions]
        options: list[Any] = [*moments(current, view.events), NOW]
        chosen = cols[2].select_slider("As of", options, value=NOW, format_func=_label, key="lineage-as-of",
                                       help="The graph as it was at this moment (edges valid then, lifecycle events).")
        as_of = None if chosen == NOW else chosen
        graphs = current if as_of is None else [memory.lineage(urn, direction=d, depth=int(depth), as_of=as_of)
                                                 for d in directions]
    except XmemError as exc:
        st.error(str(exc))
        return
    diff = None
    if view.node.kind.value == "model_version":
        others = _other_versions(memory, view)
        if others:
            names = {n.urn: n.name for n in others}
            against = st.selectbox("Highlight what changed against", [None, *names], key="lineage-against",
                                   format_func=lambda u: "(nothing)" if u is None else names[u])
            if against:
                try:
                    diff = memory.diff(against, urn, at=as_of)
                except XmemError as exc:
                    st.warning(f"cannot compare: {exc}")
    changed = changed_urns(diff) if diff is not None else set()
    nodes = set().union(*(g.nodes for g in graphs))
    edges = sum(len(g.edges) for g in graphs)
    st.caption(f"{len(nodes)} nodes, {edges} edges · as of {_label(chosen)}"
               + (f" · {len(changed & nodes)} changed against {diff.baseline.name}" if diff is not None else "")
               + " · drag to pan, scroll to zoom, click a node to open it")
    height = max(420, min(1600, 70 * max(1, max((sum(1 for g in graphs for d in g.depth_of.values() if d == k)
                                                  for k in range(1, int(depth) + 1)), default=1))))
    clicked = st_echarts(lineage_option(urn, graphs, changed=changed), height=f"{height}px", renderer="svg",
                         events={"click": CLICK}, key=f"lineage-graph-{urn}")
    picked = clicked.get("chart_event") if isinstance(clicked, dict) else None
    if isinstance(picked, str) and picked in nodes:
        picked_node = next(g.nodes[picked] for g in graphs if picked in g.nodes)
        node_link(picked, f"Open {picked_node.name} ({picked_node.kind.value})", icon=":material/open_in_new:")
    if diff is not None:
        _diff_section(diff)
