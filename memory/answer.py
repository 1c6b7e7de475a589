"""Answers in plain words: an extractive summary of grouped hits ("3 projects tried mixup: 2 improved …")."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from memory.index import Hit
from memory.query.natural import ParsedQuestion


#: P(the best hit really is an attempt at what was asked | concept coverage, embedding similarity):
#: a logistic model fitted on the development questions of ``bench/quality``
#: (``python bench/quality/run.py --split dev --calibrate`` prints the fit)
CALIBRATION = {"coverage": 20.95, "similarity": 0.5, "bias": -16.62}
#: below this confidence the answer is "nobody has tried this", and the hits are closest attempts
NOBODY_BELOW = 0.5
#: a hit matching this share of the question's concepts counts as a real match in the summary
FULL_MATCH = 0.999


def confidence(coverage: float, similarity: float, has_hits: bool) -> float:
    """Calibrated confidence that the best hit is a real match (0 with no hit at all)."""
    if not has_hits:
        return 0.0
    z = CALIBRATION["coverage"] * coverage + CALIBRATION["similarity"] * similarity + CALIBRATION["bias"]
    return round(1.0 / (1.0 + math.exp(-z)), 3)


@dataclass
class Answer:
    question: str
    parsed: ParsedQuestion
    summary: str
    hits: list[Hit]  # the real matches; empty when nobody has tried it
    notes: list[str] = field(default_factory=list)
    lineage: Any = None  # a Lineage for lineage questions about a known model version
    confidence: float = 0.0
    coverage: float = 0.0  # the best hit's share of the question's concepts (confidence is calibrated from it)
    similarity: float = 0.0  # the best hit's embedding cosine with the question
    closest: list[Hit] = field(default_factory=list)  # nearest attempts shown when nobody tried it
    diff: Any = None  # a memory.why.Diff for "what changed between A and B?"
    digest: Any = None  # a memory.digest.Digest for "what did we learn this week?"

    @property
    def nobody_tried(self) -> bool:
        return not self.hits and self.digest is None


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
    # only hits that match everything the question names count; the rest are merely nearby
    matched = [h for h in hits if h.names_matched is None or h.names_matched >= FULL_MATCH]
    if not matched:
        return f"Nobody seems to have tried “{parsed.text}”: no result matches all of it; the closest attempts are shown below."
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
