"""The digest as Markdown, HTML, Slack Block Kit or JSON. Every item links to its node's source page
(e.g. the MLflow run) and names its URN, so every number can be checked."""

from __future__ import annotations

import html
import json
from typing import Any, Callable

from memory.digest import Digest, ProjectDigest, RunRef

FORMATS = ("markdown", "html", "slack", "json")
#: Slack's limits: 50 blocks per message, 3000 characters per section text
SLACK_MAX_BLOCKS, SLACK_MAX_TEXT = 50, 3000
ITEMS_PER_SECTION = 8


def render_digest(digest: Digest, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(digest.to_dict(), indent=2) + "\n"
    if fmt == "markdown":
        return markdown(digest)
    if fmt == "html":
        return html_page(digest)
    if fmt == "slack":
        return json.dumps({"text": fallback_text(digest), "blocks": slack_blocks(digest)}, indent=2) + "\n"
    raise ValueError(f"unknown digest format {fmt!r}")


def _delta(value: float | None) -> str:
    return "" if value is None else f"{value:+.4f}"


# -- text lines shared by every format (link builders differ) ---------------------------------------
Link = Callable[[RunRef], str]


def _lines(section: ProjectDigest, link: Link) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if section.ideas:
        out["Tried"] = [
            f"{link_idea(idea, link)}: {idea.runs} run{'s' if idea.runs != 1 else ''}"
            + (f" ({idea.finished} finished, {idea.failed} failed, {idea.killed} stopped)" if idea.failed or idea.killed else "")
            + (f" by {', '.join(idea.people)}" if idea.people else "")
            + ((f"; best {link(idea.best)}: {idea.best.outcome}" if idea.runs > 1 else f": {idea.best.outcome}")
               if idea.best else "")
            for idea in section.ideas
        ]
    if section.improvement:
        imp = section.improvement
        if imp.before is None:
            out["Improved"] = [f"first {imp.metric} result: {imp.after:.4f} by {link(imp.run)}"]
        else:
            out["Improved"] = [f"best {imp.metric} {imp.before:.4f} → {imp.after:.4f} ({_delta(imp.delta)}) by {link(imp.run)}"
                               + (f", was {link(imp.previous)}" if imp.previous else "")]
    if section.registry:
        out["Registry"] = [f"{c.model} {link(c.version)} {c.change}: {c.detail} ({c.at:%a %d %b %H:%M})" for c in section.registry]
    if section.failures:
        out["Failed"] = [f"{link(f.run)} {f.status.lower()}" + (f" ({f.idea})" if f.idea else "") + f": {f.reason}"
                         for f in section.failures]
    if section.repeats:
        out["Repeated"] = [f"{link(r.run)} ({r.idea}) repeats {link(r.earlier)} — {r.sentence} [similarity {r.score:.2f}: {r.why}]"
                           for r in section.repeats]
    if section.open_threads:
        out["Open threads"] = [f"{link(t.run)}: {t.detail}" for t in section.open_threads]
    return out


def link_idea(idea: Any, link: Link) -> str:
    return link(RunRef(urn=idea.urn, name=idea.title, url=idea.url))


def _overall(digest: Digest, link: Link) -> list[str]:
    lines = [digest.headline()]
    for section in digest.projects:
        if section.improvement and section.improvement.before is not None:
            imp = section.improvement
            lines.append(f"{section.project}: {imp.metric} {imp.before:.4f} → {imp.after:.4f} ({_delta(imp.delta)})")
    return lines


# -- Markdown -------------------------------------------------------------------------------
def _md_link(item: RunRef) -> str:
    name = item.name.replace("[", "(").replace("]", ")")
    return f"[{name}]({item.url})" if item.url else f"`{item.name}` (`{item.urn}`)"


def markdown(digest: Digest) -> str:
    out = [f"# {digest.title}", ""]
    out += [f"- {line}" for line in _overall(digest, _md_link)]
    if digest.pipelines_failed:
        out += ["", "## Pipelines that failed", ""]
        out += [f"- {_md_link(p.run)} ({p.job}, {p.run.time:%a %d %b %H:%M}): {p.error}" if p.run.time else
                f"- {_md_link(p.run)} ({p.job}): {p.error}" for p in digest.pipelines_failed]
    for section in digest.projects:
        out += ["", f"## {section.project} — {section.runs} run{'s' if section.runs != 1 else ''}"]
        for title, lines in _lines(section, _md_link).items():
            out += ["", f"**{title}**", ""] + [f"- {line}" for line in lines]
    out += ["", f"_Generated {digest.generated_at:%Y-%m-%d %H:%M} UTC; node URNs: `xmem show URN`._", ""]
    return "\n".join(out)


# -- HTML -----------------------------------------------------------------------------------
def _html_link(item: RunRef) -> str:
    name = html.escape(item.name)
    urn = html.escape(item.urn, quote=True)
    if item.url:
        return f'<a href="{html.escape(item.url, quote=True)}" title="{urn}">{name}</a>'
    return f'<span title="{urn}">{name}</span>'


def html_page(digest: Digest) -> str:
    # lines are built from escaped names; the free text around them is escaped piece by piece below
    def section_html(title: str, lines: list[str]) -> str:
        return f"<h3>{html.escape(title)}</h3><ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>"

    def escaped_lines(section: ProjectDigest) -> dict[str, list[str]]:
        marker: dict[str, str] = {}

        def link(item: RunRef) -> str:
            key = f"\x00{len(marker)}\x00"
            marker[key] = _html_link(item)
            return key

        out = {}
        for title, lines in _lines(section, link).items():
            rendered = []
            for line in lines:
                text = html.escape(line)
                for key, value in marker.items():
                    text = text.replace(html.escape(key), value)
                rendered.append(text)
            out[title] = rendered
        return out

    body = [f"<h1>{html.escape(digest.title)}</h1>", "<ul>"]
    body += [f"<li>{html.escape(line)}</li>" for line in _overall(digest, lambda r: r.name)]
    body.append("</ul>")
    if digest.pipelines_failed:
        body.append("<h2>Pipelines that failed</h2><ul>")
        body += [f"<li>{_html_link(p.run)} ({html.escape(p.job)}): {html.escape(p.error)}</li>" for p in digest.pipelines_failed]
        body.append("</ul>")
    for section in digest.projects:
        body.append(f"<h2>{html.escape(section.project)} — {section.runs} runs</h2>")
        body += [section_html(title, lines) for title, lines in escaped_lines(section).items()]
    return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>" + html.escape(digest.title)
            + "</title></head><body>" + "\n".join(body) + "</body></html>\n")


# -- Slack Block Kit ------------------------------------------------------------------------
def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(item: RunRef) -> str:
    name = slack_escape(item.name).replace("|", "¦")
    return f"<{item.url}|{name}>" if item.url else f"*{name}*"


def _clip(text: str, limit: int = SLACK_MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fallback_text(digest: Digest) -> str:
    """The notification text (Slack shows it where blocks cannot be shown)."""
    return f"{digest.title}: {digest.headline()}"


def slack_blocks(digest: Digest, *, max_blocks: int = SLACK_MAX_BLOCKS) -> list[dict[str, Any]]:
    """Block Kit blocks: a header, the overall lines, then one section per project (items clipped to fit)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(digest.title, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(
            "• " + slack_escape(line) for line in _overall(digest, lambda r: r.name)))}},
    ]
    if digest.pipelines_failed:
        lines = [f"• {_slack_link(p.run)} ({slack_escape(p.job)}): {slack_escape(p.error)}" for p in digest.pipelines_failed]
        blocks.append(_section("*Pipelines that failed*", lines))
    sections = [s for s in digest.projects if s.runs or s.registry]
    for index, section in enumerate(sections):
        if len(blocks) + 3 > max_blocks:
            rest = len(sections) - index
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                           f"… and {rest} more project{'s' if rest != 1 else ''}: see `xmem digest`."}]})
            break
        blocks.append({"type": "divider"})
        lines = [f"*{slack_escape(section.project)}* — {section.runs} run{'s' if section.runs != 1 else ''}"]
        for title, items in _lines(section, _slack_link).items():
            shown = items[:ITEMS_PER_SECTION]
            lines.append(f"_{title}_")
            lines += [f"• {slack_escape_outside_links(item)}" for item in shown]
            if len(items) > len(shown):
                lines.append(f"• … and {len(items) - len(shown)} more")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines))}})
    return blocks


def _section(title: str, lines: list[str]) -> dict[str, Any]:
    shown = lines[:ITEMS_PER_SECTION] + ([f"• … and {len(lines) - ITEMS_PER_SECTION} more"] if len(lines) > ITEMS_PER_SECTION else [])
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join([title, *shown]))}}


def slack_escape_outside_links(text: str) -> str:
    """Lines already hold escaped ``<url|name>`` links; escape the free text around them only."""
    out, rest = [], text
    while "<" in rest:
        before, _, after = rest.partition("<")
        inside, closed, tail = after.partition(">")
        if not closed or "|" not in inside:
            out.append(slack_escape(before + "<"))
            rest = after
            continue
        out.append(slack_escape(before) + "<" + inside + ">")
        rest = tail
    out.append(slack_escape(rest))
    return "".join(out)
