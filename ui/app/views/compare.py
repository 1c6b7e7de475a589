"""Compare any number of runs (across projects and source systems): only what differs — params,
data versions, code — and their metrics side by side. No cap on how many."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from memory.errors import XmemError
from ui.app.charts import metrics_side_by_side
from ui.app.compare import comparison_html, comparison_rows, differing, run_label
from ui.app.pages import PageInfo

PAGE = PageInfo(title="Compare", icon=":material/compare_arrows:", url_path="compare", order=2)


def _selected() -> list[str]:
    urns = st.session_state.get("compare_urns")
    if urns is None:
        urns = st.query_params.get_all("urn")
        st.session_state["compare_urns"] = urns
    return list(urns)


def _add(urns: list[str]) -> None:
    st.session_state["compare_urns"] = list(dict.fromkeys([*st.session_state.get("compare_urns", []), *urns]))


def _picker(memory: Any) -> None:
    with st.expander("Add runs", expanded=not st.session_state.get("compare_urns")):
        text = st.text_input("Find runs", key="compare-find", placeholder="e.g. label smoothing sweep, or a project name")
        if text.strip():
            hits = memory.search(text, where="kind = run", limit=50, group=False).hits
            labels = {h.urn: f"{h.title} · {h.project or '—'} · {h.source}" for h in hits}
            chosen = st.multiselect("Runs found", list(labels), format_func=labels.__getitem__, key="compare-found")
            cols = st.columns(2)
            if cols[0].button("Add the chosen runs", disabled=not chosen):
                _add(chosen)
                st.rerun()
            if cols[1].button(f"Add all {len(hits)} runs found", disabled=not hits):
                _add(list(labels))
                st.rerun()
        pasted = st.text_area("…or paste run URNs (one per line)", key="compare-paste")
        if st.button("Add the pasted URNs", disabled=not pasted.strip()):
            _add([line.strip() for line in pasted.splitlines() if line.strip()])
            st.rerun()


def render(memory: Any) -> None:
    st.title("Compare runs")
    _picker(memory)
    urns = _selected()
    if not urns:
        st.info("Pick runs above, or use *Compare these runs* on a sweep in the Ask page.")
        return
    views, problems = [], []
    for urn in urns:
        try:
            views.append(memory.show(urn))
        except XmemError as exc:
            problems.append(f"{urn}: {exc}")
    for problem in problems:
        st.warning(problem)
    if not views:
        return
    taken: set[str] = set()
    labels = [run_label(v, taken) for v in views]
    st.query_params["urn"] = [v.node.urn for v in views]
    projects = sorted({v.node.project or "—" for v in views})
    systems = sorted({v.node.source.system for v in views})
    st.markdown(f"**{len(views)} runs** from {len(projects)} project(s) ({', '.join(projects)}) and "
                f"{len(systems)} source system(s) ({', '.join(systems)})")
    if st.button("Clear the selection"):
        st.session_state["compare_urns"] = []
        st.query_params.clear()
        st.rerun()
    rows = comparison_rows(views)
    only_diff = st.toggle("Only what differs", value=True)
    shown = differing(rows) if only_diff else rows
    st.caption(f"{len(shown)} of {len(rows)} rows shown" + (" (the same for every run are hidden)" if only_diff else " (differing rows are marked)"))
    st.html(comparison_html(shown, labels))
    metric_rows = [r for r in rows if r.section == "metric"]
    if metric_rows:
        st.subheader("Metrics side by side")
        frame = pd.DataFrame([{"run": label, "metric": r.key, "value": value}
                              for r in metric_rows[:12] for label, value in zip(labels, r.values)
                              if isinstance(value, (int, float))])
        if not frame.empty:
            st.altair_chart(metrics_side_by_side(frame))
