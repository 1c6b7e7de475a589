"""Ranking metrics over answer units (binary relevance), and the "nobody tried this" verdict scores."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import mean
from typing import Sequence

K = 10


def dedupe(units: Sequence[str]) -> list[str]:
    """Keep each answer unit at its first (best) rank: ten folds of one run are one answer."""
    return list(dict.fromkeys(units))


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int = K) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, unit in enumerate(ranked[:k]) if unit in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int = K) -> float:
    """Share of the relevant units found in the top k, out of at most k (a list of k can hold no more)."""
    return len(set(ranked[:k]) & relevant) / min(len(relevant), k) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int = K) -> float:
    return next((1.0 / (i + 1) for i, unit in enumerate(ranked[:k]) if unit in relevant), 0.0)


@dataclass
class Outcome:
    """One system's answer to one question."""

    ranked: list[str]
    nobody: bool  # the system says nobody has tried this
    confidence: float | None = None
    coverage: float | None = None  # the best hit's concept coverage (what confidence is calibrated from)
    similarity: float | None = None  # the best hit's embedding cosine
    seconds: float = 0.0


@dataclass
class Scores:
    ndcg: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)
    negatives_caught: list[bool] = field(default_factory=list)
    positives_dismissed: list[bool] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, relevant: set[str], outcome: Outcome) -> None:
        self.seconds.append(outcome.seconds)
        if not relevant:
            self.negatives_caught.append(outcome.nobody)
            return
        ranked = dedupe(outcome.ranked)
        self.ndcg.append(ndcg_at_k(ranked, relevant))
        self.recall.append(recall_at_k(ranked, relevant))
        self.rr.append(reciprocal_rank(ranked, relevant))
        self.positives_dismissed.append(outcome.nobody)

    def summary(self) -> dict[str, float | int]:
        def avg(values: list[float] | list[bool]) -> float:
            return round(mean(map(float, values)), 3) if values else float("nan")

        return {
            "ndcg@10": avg(self.ndcg), "recall@10": avg(self.recall), "mrr": avg(self.rr),
            "negative_detection": avg(self.negatives_caught), "positives_called_nobody": avg(self.positives_dismissed),
            "positives": len(self.ndcg), "negatives": len(self.negatives_caught),
            "p50_ms": round(sorted(self.seconds)[len(self.seconds) // 2] * 1000, 1) if self.seconds else float("nan"),
        }
