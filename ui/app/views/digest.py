"""Digest page: what the organization learned in a week, browsable week by week.

The same digest as ``xmem digest`` (``MemoryService.digest``): per project the ideas tried (a sweep
is one line), what improved the best known result, registry changes, failures with their reasons,
repeats of earlier experiments and open threads; overall, failed pipeline runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import streamlit as st

from memory.digest import last_full_week, parse_week, week_name
from memory.errors import XmemError
from ui.app.pages import PageInfo, node_link

PAGE = PageInfo(title="Digest", icon=":material/summarize:", url_path="digest", order=4)
WEEKS_OFFERED = 26


def weeks(now: datetime, count: int = WEEKS_OFFERED) -> list[str]:
    """ISO week names, the last full week first."""
    since, _ = last_full_week(now)
    return [week_name(since - timedelta(weeks=n)) for n in range(count)]


@st.cache_data(ttl=300, show_spinner="Reading the week…")
def _digest(_memory: Any, memory_name: str, week: str, projects: tuple[str, ...]) -> Any:
    """One week's digest, cached per memory (``memory_name``: its description) and projects."""
    since, until = parse_week(week)
    return _memory.digest(since, until, projects=projects)


def _activity(digest: Any) -> pd.DataFrame:
    rows = [{"project": p.project, "runs": p.runs, "ideas": len(p.ideas), "failed": len(p.failures),
             "repeats": len(p.repeats)} for p in digest.projects]
    return pd.DataFrame(rows).set_index("project") if rows else pd.DataFrame()


def _run(ref: Any, prefix: str = "") -> None:
    """A line naming a run, with a link to its node page."""
    node_link(ref.urn, f"{prefix}{ref.name}" + (f" — {ref.outcome}" if ref.outcome else ""))


def _project(section: Any) -> None:
    st.subheader(f"{section.project} · {section.runs:,} runs")
    if section.improvement:
        change = section.improvement
        before = "first result" if change.before is None else f"{change.before:.4f} →"
        delta = "" if change.delta is None else f" ({change.delta:+.4f})"
        st.success(f"Best {change.metric}: {before} {change.after:.4f}{delta} by {change.run.name}", icon=":material/trending_up:")
    if section.ideas:
        st.markdown("**Tried**")
        for idea in section.ideas:
            outcome = f" · best: {idea.best.outcome}" if idea.best and idea.best.outcome else ""
            node_link(idea.urn, f"{idea.title} — {idea.runs} run{'s' if idea.runs != 1 else ''}, "
                                f"{idea.better} better / {idea.worse} worse{outcome}")
    for change in section.registry:
        node_link(change.version.urn, f"{change.model}: {change.change} — {change.detail}", icon=":material/inventory_2:")
    if section.failures:
        st.markdown("**Failed**")
        for failure in section.failures:
            node_link(failure.run.urn, f"{failure.run.name} ({failure.status}): {failure.reason}", icon=":material/error:")
    if section.repeats:
        st.markdown("**Repeated earlier experiments**")
        for repeat in section.repeats:
            node_link(repeat.run.urn, f"{repeat.run.name}: {repeat.sentence}", icon=":material/history:")
    if section.open_threads:
        st.markdown("**Open threads**")
        for thread in section.open_threads:
            node_link(thread.run.urn, f"{thread.kind}: {thread.run.name} — {thread.detail}")


def render(memory: Any) -> None:
    st.title("What did we learn?")
    offered = weeks(datetime.now(timezone.utc))
    asked = st.query_params.get("week")
    if asked and asked not in offered:
        offered.insert(0, asked)
    cols = st.columns([1, 3])
    week = cols[0].selectbox("Week", offered, index=offered.index(asked) if asked else 0, key="digest-week")
    projects = tuple(cols[1].multiselect("Projects (all you may see when empty)", memory.projects(), key="digest-projects"))
    st.query_params["week"] = week
    try:
        digest = _digest(memory, memory.describe(), week, projects)
    except XmemError as exc:
        st.error(str(exc))
        return
    st.caption(digest.title)
    st.info(digest.headline(), icon=":material/lightbulb:")
    activity = _activity(digest)
    if not activity.empty:
        st.bar_chart(activity[["runs", "failed", "repeats"]], horizontal=True, stack=False)
    for failed in digest.pipelines_failed:
        node_link(failed.run.urn, f"Pipeline {failed.job} failed: {failed.error}", icon=":material/warning:")
    for section in digest.projects:
        with st.container(border=True):
            _project(section)
