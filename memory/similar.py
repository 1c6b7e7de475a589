"""Near-duplicate experiments: how alike two runs are by params, data and text.

A run is compared with earlier runs on three things, each a score in [0, 1]:

* **params**: 1 when every parameter agrees, halved for each one that differs or is missing on
  one side (a number within 10 % of the other costs 15 % instead); seeds and sweep bookkeeping are
  ignored, so a re-run with another seed is a repeat;
* **data**: 1 for the same dataset version, 0.7 for another version of the same dataset, 0 for
  different datasets; unknown (a run with no recorded input) leaves data out of the score;
* **text**: the cosine of the two search documents' embeddings (name, notes, tags, links),
  rescaled so unrelated texts of one project (cosine ~0.5) score 0 and paraphrases (~0.9) score 1.

The weighted mean (params 0.5, data 0.2, text 0.3 over the parts that are known) is the
similarity; at :data:`REPEAT_AT` or above, with the same dataset version (or no recorded data),
the later run repeats the earlier one — a re-run on a new snapshot of the data is new evidence, not a repeat. The thresholds are measured in ``bench/digest.py`` (precision and recall on
known repeats and distinct runs).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import Any, Iterable

import numpy as np

#: params that do not change what was tried (another seed is the same experiment)
IGNORED_PARAMS = frozenset({"seed", "random_seed", "random_state", "n_trials", "search_space", "run_id", "trial"})
WEIGHTS = {"params": 0.5, "data": 0.2, "text": 0.3}
#: at or above this similarity (and with data not known to differ) a run repeats an earlier one
REPEAT_AT = 0.8
#: text cosine mapped to 0 and to 1 (all-MiniLM-L6-v2 on run documents)
TEXT_FLOOR, TEXT_CEILING = 0.5, 0.9
CLOSE_NUMBERS = 0.10
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


@dataclass(frozen=True)
class RunProfile:
    """What near-duplicate detection knows of a run (or of a planned run, ``urn`` empty)."""

    urn: str
    name: str
    project: str | None = None
    time: datetime | None = None
    person: str | None = None
    team: str | None = None
    status: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    datasets: frozenset[str] = frozenset()  # dataset version (or dataset) URNs it used
    text: str = ""
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    outcome: dict[str, Any] = field(default_factory=dict)
    group: str | None = None  # the sweep (parent run) it belongs to
    source_url: str | None = None
    planned: bool = False  # a config someone is about to run: only the params it names are compared
    system: str | None = None  # the source system that recorded it
    commit: str | None = None  # the code version it ran

    def same_execution(self, other: "RunProfile") -> bool:
        """Two systems' records of one execution (e.g. a DVC commit and the MLflow run it logged): not a repeat."""
        return bool(self.commit and self.commit == other.commit and self.system and other.system
                    and self.system != other.system)

    @cached_property
    def prepared_params(self) -> dict[str, tuple[str, float | None]]:
        return _prepared(self.params)

    @cached_property
    def unit_vector(self) -> np.ndarray | None:
        if self.vector is None:
            return None
        return self.vector / (float(np.linalg.norm(self.vector)) or 1.0)

    @property
    def data_roots(self) -> frozenset[str]:
        return frozenset(dataset_of(urn) for urn in self.datasets)

    def describe_outcome(self) -> str:
        """E.g. ``val_auc 0.8100, worse than the baseline (-0.0120)``, or the status when there is no value."""
        return describe_outcome(self.outcome, self.status)


@dataclass(frozen=True)
class Similarity:
    earlier: RunProfile
    score: float
    params: float | None
    data: float | None
    text: float | None
    same_params: tuple[str, ...] = ()
    changed_params: tuple[str, ...] = ()

    @property
    def is_repeat(self) -> bool:
        return self.score >= REPEAT_AT and self.data in (None, 1.0)

    def reasons(self) -> str:
        """Why they look alike, in words: ``same params (lr, depth), same dataset version, similar notes``."""
        parts = []
        if self.params is not None:
            if self.params >= 0.999:
                parts.append("same params")
            elif self.changed_params:
                parts.append(f"params differ in {', '.join(self.changed_params[:4])}")
        if self.data is not None:
            parts.append({1.0: "same dataset version", 0.7: "same dataset, another version"}.get(self.data, "different data"))
        if self.text is not None:
            parts.append("similar notes" if self.text >= 0.5 else "different notes")
        return ", ".join(parts)


def dataset_of(urn: str) -> str:
    """The dataset of a dataset-version URN (``dataset://x@v`` → ``dataset://x``); a dataset URN is itself."""
    tail = urn.rsplit("/", 1)[-1]
    return urn.rsplit("@", 1)[0] if "@" in tail else urn


def _number(value: str) -> float | None:
    text = value.strip()
    if not _NUMBER.match(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _prepared(params: dict[str, str]) -> dict[str, tuple[str, float | None]]:
    """Each counted param as (lower-case text, number or None), computed once per run."""
    return {name: ((text := str(value).strip().lower()), _number(text))
            for name, value in params.items() if name not in IGNORED_PARAMS and value is not None}


def param_similarity(a: dict[str, str], b: dict[str, str], *, only_a: bool = False
                     ) -> tuple[float | None, tuple[str, ...], tuple[str, ...]]:
    """(score, names that agree, names that differ); ``None`` when no param counts.

    Most params of a project are its base config, shared by every run, so a share of equal values
    would call any two runs alike; instead each differing param halves the score (a number within
    10 % of the other costs 15 %). ``only_a``: compare only the names ``a`` sets (a planned config
    names what it cares about).
    """
    return _param_similarity(_prepared(a), _prepared(b), only_a=only_a)


def _param_similarity(a: dict[str, tuple[str, float | None]], b: dict[str, tuple[str, float | None]], *,
                      only_a: bool = False) -> tuple[float | None, tuple[str, ...], tuple[str, ...]]:
    names = sorted(set(a) if only_a else set(a) | set(b))
    if not names:
        return None, (), ()
    score, same, changed = 1.0, [], []
    for name in names:
        left, right = a.get(name), b.get(name)
        if left is not None and right is not None:
            if left[0] == right[0]:
                same.append(name)
                continue
            x, y = left[1], right[1]
            if x is not None and y is not None:
                if math.isclose(x, y, rel_tol=1e-9):
                    same.append(name)
                    continue
                score *= 0.85 if abs(x - y) <= CLOSE_NUMBERS * max(abs(x), abs(y)) else 0.5
                changed.append(name)
                continue
        score *= 0.5
        changed.append(name)
    return score, tuple(same), tuple(changed)


def data_similarity(a: RunProfile, b: RunProfile) -> float | None:
    if not a.datasets or not b.datasets:
        return None
    if a.datasets & b.datasets:
        return 1.0
    if a.data_roots & b.data_roots:
        return 0.7
    return 0.0


def text_similarity(a: RunProfile, b: RunProfile) -> float | None:
    if a.unit_vector is None or b.unit_vector is None:
        return None
    cosine = float(np.dot(a.unit_vector, b.unit_vector))
    return min(1.0, max(0.0, (cosine - TEXT_FLOOR) / (TEXT_CEILING - TEXT_FLOOR)))


def min_repeat_cosine() -> float:
    """Below this text cosine no pair can reach :data:`REPEAT_AT`, even with equal params and data."""
    needed = (REPEAT_AT - WEIGHTS["params"] - WEIGHTS["data"]) / WEIGHTS["text"]
    return TEXT_FLOOR + (TEXT_CEILING - TEXT_FLOOR) * max(0.0, needed)


def compare(run: RunProfile, earlier: RunProfile) -> Similarity:
    """How much ``run`` looks like ``earlier`` (see the module docstring)."""
    params, same, changed = _param_similarity(run.prepared_params, earlier.prepared_params, only_a=run.planned)
    data = data_similarity(run, earlier)
    text = text_similarity(run, earlier)
    parts = {"params": params, "data": data, "text": text}
    known = {k: v for k, v in parts.items() if v is not None}
    weight = sum(WEIGHTS[k] for k in known)
    score = sum(WEIGHTS[k] * v for k, v in known.items()) / weight if weight else 0.0
    return Similarity(earlier, round(score, 4), params, data, None if text is None else round(text, 4), same, changed)


def most_similar(run: RunProfile, candidates: Iterable[RunProfile], limit: int = 5) -> list[Similarity]:
    """The ``limit`` most similar candidates (never the run itself, nor runs of its own sweep), best first."""
    found = [
        compare(run, other) for other in candidates
        if other.urn != run.urn and not (run.group and other.group == run.group) and not run.same_execution(other)
    ]
    found.sort(key=lambda s: (-s.score, -(s.earlier.time.timestamp() if s.earlier.time else 0.0), s.earlier.urn))
    return found[:limit]


def describe_outcome(outcome: dict[str, Any], status: str | None = None) -> str:
    metric, value, verdict = outcome.get("metric"), outcome.get("value"), outcome.get("verdict")
    if not isinstance(value, (int, float)):
        return (status or "no result").lower()
    text = f"{metric} {value:.4f}"
    delta = outcome.get("delta")
    if verdict in ("better", "worse", "same") and isinstance(delta, (int, float)):
        word = {"better": "better than", "worse": "worse than", "same": "the same as"}[verdict]
        text += f", {word} the baseline ({delta:+.4f})"
    elif verdict == "baseline":
        text += " (the baseline)"
    return text


def params_text(params: dict[str, str]) -> str:
    """Params as the words the search index matches lexically (``learning_rate 0.05 …``)."""
    return " ".join(f"{k} {v}" for k, v in sorted(params.items()) if k not in IGNORED_PARAMS)
