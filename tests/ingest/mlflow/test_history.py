"""Metric histories are kept thinned: at most HISTORY_POINTS points, the first, last and best among them."""

from __future__ import annotations

import math

from mlflow.entities import Metric

from ingest.mlflow.ingestor import HISTORY_POINTS, thin_history


def test_long_histories_are_thinned_keeping_first_last_and_best() -> None:
    points = [Metric("val_loss", 1.0 / (1 + s) + (0.5 if s == 777 else 0.0), 1000 + s, s) for s in range(5000)]
    points[4321] = Metric("val_loss", 0.0001, 1000 + 4321, 4321)  # the best (lowest loss) step
    points.append(Metric("val_loss", math.nan, 9999, 5000))  # non-finite values are left out
    thinned = thin_history(list(reversed(points)))
    steps = [s for s, _ in thinned]
    assert len(thinned) <= HISTORY_POINTS and steps == sorted(steps)
    assert steps[0] == 0 and steps[-1] == 4999 and 4321 in steps
    assert all(math.isfinite(v) for _, v in thinned)


def test_short_histories_are_kept_whole() -> None:
    points = [Metric("val_auc", 0.5 + s / 100, s, s) for s in range(12)]
    assert thin_history(points) == [[s, 0.5 + s / 100] for s in range(12)]
