"""Answers as Block Kit: the summary, the top hits with their outcome, and "show more" / "lineage" buttons."""

from __future__ import annotations

import json
from typing import Any, Sequence

from memory.digest_render import fallback_text, slack_blocks, slack_escape
from memory.service import Answer, Hit, Lineage
from memory.similar import describe_outcome

PAGE = 5
MORE_ACTION, LINEAGE_ACTION = "xmem_more", "xmem_lineage"
#: Slack caps a button's value at 2000 characters
MAX_VALUE = 2000


def _link(title: str, url: str | None) -> str:
    name = slack_escape(title).replace("|", "¦")
    return f"<{url}|{name}>" if url else f"*{name}*"


def hit_block(hit: Hit) -> dict[str, Any]:
    when = f"{hit.time:%Y-%m-%d}" if hit.time else "—"
    facts = [slack_escape(hit.project or "—"), when]
    if hit.person:
        facts.append(slack_escape(hit.person))
    if hit.group_size > 1:
        facts.append(f"{hit.group_size} runs")
    outcome = describe_outcome(hit.outcome, hit.status) if hit.kind == "run" else hit.kind.replace("_", " ")
    text = f"{_link(hit.title, hit.source_url)} — {slack_escape(outcome)}\n{' · '.join(facts)}"
    if hit.snippet:
        text += f"\n>{slack_escape(hit.snippet[:280])}"
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    if len(hit.urn) <= MAX_VALUE:
        block["accessory"] = {"type": "button", "action_id": LINEAGE_ACTION, "value": hit.urn,
                              "text": {"type": "plain_text", "text": "Lineage"}}
    return block


def more_button(question: str, shown: int) -> dict[str, Any]:
    value = json.dumps({"q": question[:1500], "n": shown})
    return {"type": "actions", "elements": [{"type": "button", "action_id": MORE_ACTION, "value": value,
                                             "text": {"type": "plain_text", "text": "Show more"}}]}


def answer_blocks(answer: Answer, *, offset: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for an answer; hits from ``offset`` on, a page at a time."""
    if answer.digest is not None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(answer.summary)[:3000]}}]
        return fallback_text(answer.digest), blocks + slack_blocks(answer.digest, max_blocks=48)
    blocks: list[dict[str, Any]] = []
    if offset == 0:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(answer.summary)[:3000]}})
        chips = answer.parsed.chips()
        if chips:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(
                "Understood as: " + " · ".join([f"“{answer.parsed.text}”"] if answer.parsed.text else []) + (
                    " · " if answer.parsed.text else "") + " · ".join(chips))[:3000]}]})
        for note in answer.notes[:3]:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(note)[:3000]}]})
    hits = answer.hits or answer.closest
    if answer.nobody_tried and hits and offset == 0:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Closest attempts:"}]})
    page = hits[offset: offset + PAGE]
    blocks += [hit_block(h) for h in page]
    if not page and offset:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "No more results."}})
    if len(hits) > offset + PAGE:
        blocks.append(more_button(answer.question, offset + PAGE))
    return answer.summary, blocks


def lineage_blocks(graph: Lineage) -> tuple[str, list[dict[str, Any]]]:
    root = graph.nodes.get(graph.root)
    title = root.name if root else graph.root
    by_depth: dict[int, list[str]] = {}
    for urn, node in graph.nodes.items():
        if urn == graph.root:
            continue
        by_depth.setdefault(graph.depth_of.get(urn, 0), []).append(
            f"{_link(node.name, node.source.url)} ({node.kind.value.replace('_', ' ')})")
    lines = [f"*Upstream of {_link(title, root.source.url if root else None)}*"]
    for depth in sorted(by_depth):
        items = sorted(by_depth[depth])
        lines.append(f"{depth} hop{'s' if depth != 1 else ''}: " + ", ".join(items[:12])
                     + (f" … and {len(items) - 12} more" if len(items) > 12 else ""))
    if len(lines) == 1:
        lines.append("Nothing upstream is recorded.")
    return f"Lineage of {title}", [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}]


def text_block(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(text)[:3000]}}]


def flatten(blocks: Sequence[dict[str, Any]]) -> str:
    """The text of blocks (for logs and tests)."""
    return json.dumps(list(blocks))
