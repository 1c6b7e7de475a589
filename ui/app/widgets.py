"""Small pieces shared by the pages: outcome badges, hit cards, when/who lines."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

import streamlit as st

from ui.app.pages import go_compare, node_link

VERDICT_COLOURS = {"better": "green", "worse": "red", "same": "gray", "baseline": "blue", "failed": "orange",
                   "no result": "orange", "no baseline": "gray"}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def outcome_label(outcome: dict[str, Any]) -> str | None:
    """``better than baseline: val_auc 0.861 (+0.012)``; None when the node has no key metric."""
    verdict, metric, value = outcome.get("verdict"), outcome.get("metric"), outcome.get("value")
    if not metric or not verdict:
        return None
    shown = f"{metric} {value:.4g}" if isinstance(value, (int, float)) else metric
    delta = outcome.get("delta")
    if verdict in ("better", "worse"):
        return f"{verdict} than baseline: {shown} ({delta:+.3g})" if isinstance(delta, (int, float)) else f"{verdict}: {shown}"
    return f"{verdict}: {shown}"


def outcome_badge(outcome: dict[str, Any]) -> None:
    label = outcome_label(outcome)
    if label:
        st.badge(label, color=VERDICT_COLOURS.get(str(outcome.get("verdict")), "gray"))  # type: ignore[arg-type]


def status_badge(status: str | None) -> None:
    if status and status not in ("FINISHED", "READY", "COMPLETE"):
        st.badge(status.lower(), color="red" if status in ("FAILED", "FAIL") else "orange")


def highlighted(snippet: str, words: list[str]) -> str:
    """The snippet as markdown-safe HTML with the matched words in bold."""
    text = html.escape(snippet)
    for word in words:
        text = re.sub(rf"(?i)\b({re.escape(html.escape(word))}\w*)", r"<b>\1</b>", text)
    return text


def hit_card(hit: Any, index: int, *, compare: bool = True) -> None:
    """One result: title (to its node page), kind, outcome badge, who and when, snippet, its group."""
    with st.container(border=True, key=f"hit-{index}"):
        top = st.columns([3, 2])
        with top[0]:
            node_link(hit.urn, f"**{hit.title}**", icon=":material/description:")
            st.caption(f"{hit.kind} · {hit.project or '—'} · by {hit.person or '—'} · {when(hit.time)} · {hit.source}")
        with top[1]:
            outcome_badge(hit.outcome)
            status_badge(hit.status)
        if hit.snippet:
            st.markdown(highlighted(hit.snippet, hit.highlights), unsafe_allow_html=True)
        if hit.group_size > 1:
            span = ""
            if hit.group_outcomes:
                span = f" · {hit.outcome.get('metric', 'key metric')} {min(hit.group_outcomes):.4g}–{max(hit.group_outcomes):.4g}"
            st.caption(f"\\+ {hit.group_size - 1} similar {hit.kind}s grouped{span}")
            if compare and hit.kind == "run" and st.button(
                f"Compare these {hit.group_size} runs", key=f"compare-group-{index}", icon=":material/compare_arrows:"
            ):
                go_compare(hit.group_members)
