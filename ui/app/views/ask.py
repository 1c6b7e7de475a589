"""Ask / Search: one box for plain questions; the parsed filters as editable chips; grouped hits
with outcome badges, who and when; facets with counts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import streamlit as st

from memory.errors import XmemError
from ui.app.filters import chips_of, facet_chip, where_of
from ui.app.pages import PageInfo, lineage_link
from ui.app.widgets import hit_card

PAGE = PageInfo(title="Ask", icon=":material/search:", url_path="ask", order=0, default=True)
FACETS = (("project", "project"), ("kind", "kind"), ("person", "person"), ("outcome", "outcome"), ("source", "source"))
FACET_DEPTH = 100  # facets count the grouped results among this many


def _facet_value(hit: Any, field: str) -> str | None:
    if field == "outcome":
        return hit.outcome.get("verdict")
    return getattr(hit, field, None)


def facet_counts(hits: list[Any]) -> dict[str, Counter[str]]:
    """Per facet field, how many results (sweeps counted by their members) have each value."""
    counts: dict[str, Counter[str]] = {field: Counter() for field, _ in FACETS}
    for hit in hits:
        for field, _ in FACETS:
            value = _facet_value(hit, field)
            if value:
                counts[field][str(value)] += hit.group_size
    return counts


def _add_chip(chip: str) -> None:
    chips = list(st.session_state.get("chips", []))
    if chip not in chips:
        chips.append(chip)
    st.session_state["chips"] = chips


def _new_question() -> None:
    st.session_state.pop("asked", None)


def render(memory: Any) -> None:
    st.title("Ask the memory")
    if "question" not in st.session_state and st.query_params.get("q"):
        st.session_state["question"] = st.query_params["q"]
    question = st.text_input(
        "Question", key="question", on_change=_new_question,
        placeholder="has anyone tried mixup on churn since March?",
        help="Plain words. Filters you name (a project, a person, since March, val_auc > 0.8, failed runs) "
             "become chips below, which you can remove or add to.",
    )
    limit = st.sidebar.slider("Results", 5, 50, 10, key="limit")
    if not question.strip():
        st.info("Ask something like *has anyone tried label smoothing?*, *failed runs in fraud-detection since June* "
                "or *why did churn-classifier@production fail?*")
        return
    st.query_params["q"] = question
    asked = st.session_state.get("asked")
    if asked is None or asked[0] != question or asked[1] != limit:
        try:
            with st.spinner("Searching…"):
                answer = memory.ask(question, limit=limit)
        except XmemError as exc:
            st.error(str(exc))
            return
        st.session_state["asked"] = (question, limit, answer)
        st.session_state["chips"] = chips_of(answer.parsed)
        st.session_state["words"] = answer.parsed.text
    answer = st.session_state["asked"][2]
    parsed = answer.parsed

    st.caption(f"Understood as **{parsed.intent}**" + (f" for “{parsed.text}”" if parsed.text else ""))
    parsed_chips = chips_of(parsed)
    options = list(dict.fromkeys([*parsed_chips, *st.session_state.get("chips", [])]))
    chips = st.multiselect(
        "Filters", options, key="chips", accept_new_options=True,
        placeholder="Add a filter, e.g. metric.val_auc > 0.8 or project = churn-prediction",
        help="Remove a chip to drop that filter; type one in the --where grammar to add it.",
    )
    words = st.text_input("Search words", key="words", help="What is searched for once the filters are taken out.")
    edited = chips != parsed_chips or words != parsed.text

    body, side = st.columns([3, 1])
    with body:
        if edited:
            try:
                result = memory.search(words, where=where_of(chips), limit=limit)
            except XmemError as exc:
                st.error(f"{exc}")
                return
            hits, closest = result.hits, []
            st.subheader(f"{len(hits)} results with the edited filters")
            if hits and result.confidence < 0.5:
                st.warning(f"No result matches all of “{words}” (confidence {result.confidence:.0%}): these are the closest.")
        else:
            st.markdown(f"#### {answer.summary}")
            for note in answer.notes:
                st.info(note)
            hits, closest = answer.hits, answer.closest
            if answer.lineage is not None:
                lineage_link(answer.lineage.root, "Open the lineage graph of " + answer.lineage.nodes[answer.lineage.root].name)
            if answer.diff is not None:
                for i, change in enumerate(answer.diff.changes[:5], start=1):
                    st.markdown(f"{i}. **{change.kind}** — {change.summary}  \n  <small>{change.reason}</small>",
                                unsafe_allow_html=True)
        for i, hit in enumerate(hits):
            hit_card(hit, i)
        if closest:
            st.subheader("Closest attempts (not matches)")
            for i, hit in enumerate(closest):
                hit_card(hit, 1000 + i)
        if not hits and not closest:
            st.write("No results. Remove a filter or try other words.")
    with side:
        st.subheader("Facets")
        try:
            wide = memory.search(words if edited else parsed.text, where=where_of(chips), limit=FACET_DEPTH)
        except XmemError:
            wide = None
        if wide is not None:
            # results found by meaning alone (no word of the query) would count everything: leave them out
            counted = [h for h in wide.hits if h.coverage is None or h.coverage > 0] if wide.query.text.strip() else wide.hits
            st.caption(f"counted over the {len(counted)} results that match the words")
            for field, counts in facet_counts(counted).items():
                if not counts:
                    continue
                st.markdown(f"**{field}**")
                for value, count in counts.most_common(6):
                    chip = facet_chip(field, value)
                    st.button(f"{value} ({count})", key=f"facet-{field}-{value}", on_click=_add_chip, args=(chip,),
                              disabled=chip in chips, help=f"add the filter {chip}")
