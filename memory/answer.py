"""Answers in plain words: an extractive summary of grouped hits ("3 projects tried mixup: 2 improved …")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memory.index import Hit
from memory.index.analysis import analyze, query_stems
from memory.query.natural import ParsedQuestion


@dataclass
class Answer:
    question: str
    parsed: ParsedQuestion
    summary: str
    hits: list[Hit]
    notes: list[str] = field(default_factory=list)
    lineage: Any = None  # a Lineage for lineage questions about a known model version


def _delta(hit: Hit) -> float | None:
    value = hit.outcome.get("delta")
    return float(value) if isinstance(value, (int, float)) else None


def _range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:+.3g}" if abs(high - low) < 1e-12 else f"{low:+.3g} to {high:+.3g}"


def summarize(parsed: ParsedQuestion, hits: list[Hit]) -> str:
    """What the hits say, counted exactly: who tried it where, and how it went against the baselines."""
    if not hits:
        return "Nothing in the memory matches" + (f" “{parsed.text}”" if parsed.text else "") + (
            " with these filters." if parsed.chips() else "."
        )
    # with words to look for, only hits that contain all of them count; the rest are merely nearby
    wanted = set(query_stems(parsed.text))
    matched = [h for h in hits if wanted <= set(analyze(f"{h.title} {h.text}").split())]
    if not matched:
        return f"No result mentions “{parsed.text}”; the closest are shown below."
    hits = matched
    runs = [h for h in hits if h.kind == "run"]
    attempts = sum(h.group_size for h in runs)
    projects = sorted({h.project for h in runs if h.project})
    people = sorted({h.person for h in runs if h.person})
    parts: list[str] = []
    if runs:
        where = f" in {len(projects)} project{'s' if len(projects) != 1 else ''} ({', '.join(projects[:4])}{'…' if len(projects) > 4 else ''})" if projects else ""
        who = f" by {len(people)} {'people' if len(people) != 1 else 'person'}" if people else ""
        parts.append(f"{attempts} run{'s' if attempts != 1 else ''} in {len(runs)} group{'s' if len(runs) != 1 else ''}{where}{who}.")
        better = [h for h in runs if h.outcome.get("verdict") == "better"]
        worse = [h for h in runs if h.outcome.get("verdict") == "worse"]
        failed = [h for h in runs if h.status == "FAILED"]
        verdicts = []
        if better:
            metrics = sorted({h.outcome.get("metric") for h in better if h.outcome.get("metric")})
            deltas = [d for d in map(_delta, better) if d is not None]
            verdicts.append(f"{len(better)} beat the baseline" + (f" on {', '.join(metrics)} ({_range(deltas)})" if deltas else ""))
        if worse:
            deltas = [d for d in map(_delta, worse) if d is not None]
            verdicts.append(f"{len(worse)} did worse" + (f" ({_range(deltas)})" if deltas else ""))
        if failed:
            verdicts.append(f"{len(failed)} failed")
        if verdicts:
            parts.append("; ".join(verdicts).capitalize() + ".")
        best = max(better, key=lambda h: abs(_delta(h) or 0.0), default=None)
        if best is not None:
            parts.append(f"Best: {best.title} in {best.project or '—'} ({best.outcome.get('metric')} {_delta(best):+.3g}).")
    others = [h for h in hits if h.kind != "run"]
    if others:
        kinds = sorted({h.kind.replace("_", " ") for h in others})
        parts.append(f"Also {len(others)} {', '.join(kinds)} result{'s' if len(others) != 1 else ''}.")
    return " ".join(parts)
