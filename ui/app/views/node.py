"""Node page (run, model version, dataset version, job run, …): params, metrics with charts
(history, siblings in the same sweep), tags, notes, events, the link to its source, neighbours."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from memory.errors import XmemError
from ui.app.charts import best_vs_final, history_chart, siblings_chart
from ui.app.pages import PageInfo, go_compare, lineage_link, node_link
from ui.app.widgets import outcome_badge, status_badge, when

PAGE = PageInfo(title="Node", icon=":material/description:", url_path="node", order=1)
SHOWN_ELSEWHERE = {"params", "metrics", "metrics_best", "metric_history", "tags", "notes", "outcome", "status"}
SIBLINGS_MAX = 200


def find_node(memory: Any, key: str) -> None:
    """A small search to pick a node when the page was opened without one."""
    text = st.text_input("Find a node", key=f"{key}-find", placeholder="a run, model, dataset or pipeline name")
    if text.strip():
        for hit in memory.search(text, limit=10, group=False).hits:
            node_link(hit.urn, f"{hit.title} · {hit.kind} · {hit.project or '—'}")


def sweep(memory: Any, view: Any) -> tuple[Any, list[Any]] | None:
    """The sweep parent of a run and its child runs (the run itself may be the parent)."""
    node = view.node
    parent_urn = next((e.dst for e, _ in view.neighbours if e.kind.value == "child_of" and e.src == node.urn), None)
    parent = memory.show(parent_urn) if parent_urn else view
    children = [n for e, n in parent.neighbours if e.kind.value == "child_of" and e.dst == parent.node.urn]
    return (parent.node, children) if children else None


def _params_and_metrics(memory: Any, view: Any) -> None:
    props = view.node.properties
    params, metrics = props.get("params") or {}, props.get("metrics") or {}
    left, right = st.columns(2)
    if params:
        with left:
            st.subheader("Params")
            st.table(pd.DataFrame(sorted(params.items()), columns=["param", "value"]).set_index("param"))
    if not metrics:
        return
    table = best_vs_final(metrics, props.get("metrics_best") or {})
    with right if params else left:
        st.subheader("Metrics")
        st.table(table)
    history = {k: v for k, v in (props.get("metric_history") or {}).items() if len(v) > 1}
    found = sweep(memory, view) if view.node.kind.value == "run" else None
    left, right = st.columns(2)
    with left:
        if history:
            st.altair_chart(history_chart(history), width="stretch")
        else:
            st.caption("Final and best value of each metric (the memory holds no step history for this run).")
            st.bar_chart(table, stack=False)
    if not found:
        return
    parent, children = found
    metric = (props.get("outcome") or {}).get("metric") or sorted(metrics)[0]
    values = [(c.urn, c.name, float(c.properties["metrics"][metric])) for c in children[:SIBLINGS_MAX]
              if isinstance((c.properties.get("metrics") or {}).get(metric), (int, float))]
    if values:
        with right:
            st.altair_chart(siblings_chart(metric, values, view.node.urn), width="stretch")
            st.caption(f"{len(children)} runs in the sweep “{parent.name}”")
            if st.button(f"Compare the {len(children)} runs of this sweep", icon=":material/compare_arrows:"):
                go_compare([c.urn for c in children])


def _neighbours(view: Any) -> None:
    if not view.neighbours:
        return
    st.subheader("Neighbours")
    by_kind: dict[str, list[tuple[Any, Any]]] = {}
    for edge, other in view.neighbours:
        arrow = f"{edge.kind.value} →" if edge.src == view.node.urn else f"← {edge.kind.value}"
        by_kind.setdefault(arrow, []).append((edge, other))
    for arrow, items in sorted(by_kind.items()):
        with st.expander(f"{arrow} ({len(items)})", expanded=len(items) <= 5):
            for i, (_edge, other) in enumerate(items[:100]):
                node_link(other.urn, f"{other.name} · {other.kind.value}", key_hint=f"{arrow}-{i}")
            if len(items) > 100:
                st.caption(f"… and {len(items) - 100} more")


def render(memory: Any) -> None:
    urn = st.query_params.get("urn")
    if not urn:
        st.title("Node")
        find_node(memory, "node")
        return
    try:
        view = memory.show(urn)
    except XmemError as exc:
        st.error(str(exc))
        find_node(memory, "node")
        return
    node, props = view.node, view.node.properties
    st.title(node.name)
    st.caption(f"{node.kind.value} · project {node.project or '—'} · {node.source.system} ({node.source.instance}) · "
               f"created {when(node.created_at)} · by {props.get('person') or '—'}")
    st.code(node.urn, language=None)
    badges = st.container(horizontal=True)
    with badges:
        outcome_badge(props.get("outcome") or {})
        status_badge(props.get("status"))
        if props.get("stage") and props["stage"] != "None":
            st.badge(f"stage {props['stage']}", color="violet")
        for alias in props.get("aliases") or []:
            st.badge(f"@{alias}", color="blue")
    links = st.container(horizontal=True)
    with links:
        if node.source.url:
            st.link_button(f"Open in {node.source.system}", node.source.url, icon=":material/open_in_new:")
        lineage_link(node.urn)
    notes = node.description or props.get("notes")
    if notes:
        st.subheader("Notes")
        st.markdown(notes)
    _params_and_metrics(memory, view)
    if props.get("tags"):
        st.subheader("Tags")
        st.table(pd.DataFrame(sorted(props["tags"].items()), columns=["tag", "value"]).set_index("tag"))
    if view.events:
        st.subheader("Events")
        st.dataframe(pd.DataFrame([{"when": e.at, "event": e.kind, "details": str(e.payload)} for e in view.events]),
                     hide_index=True, width="stretch")
    _neighbours(view)
    rest = {k: v for k, v in props.items() if k not in SHOWN_ELSEWHERE and v not in (None, "", [], {})}
    if rest:
        with st.expander("All properties"):
            st.json(rest, expanded=False)
