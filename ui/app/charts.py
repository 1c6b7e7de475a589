"""Altair charts of metrics: a run's metric history, and a run against its sweep siblings."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd


def history_chart(history: dict[str, list[list[float]]]) -> alt.Chart:
    """One line per metric over steps (``history``: metric -> [[step, value], ...])."""
    rows = [{"metric": metric, "step": point[0], "value": point[1]} for metric, points in history.items() for point in points]
    frame = pd.DataFrame(rows)
    return (
        alt.Chart(frame, title="Metric history")
        .mark_line(point=True)
        .encode(x=alt.X("step:Q", title="step"), y=alt.Y("value:Q", title="value", scale=alt.Scale(zero=False)),
                color="metric:N", tooltip=["metric", "step", "value"])
        .properties(height=280)
    )


def siblings_chart(metric: str, values: list[tuple[str, str, float]], current: str) -> alt.Chart:
    """The metric of every run in the sweep (``values``: urn, name, value), highest first, this run highlighted."""
    frame = pd.DataFrame([{"urn": u, "run": n, metric: v, "this run": u == current} for u, n, v in values])
    return (
        alt.Chart(frame, title=f"{metric} across the sweep")
        .mark_circle(size=140, opacity=1)
        .encode(
            x=alt.X("run:N", sort="-y", title=None, axis=alt.Axis(labelLimit=180, labelAngle=-40)),
            y=alt.Y(f"{metric}:Q", scale=alt.Scale(zero=False)),
            color=alt.condition(alt.datum["this run"], alt.value("#E45756"), alt.value("#4C78A8")),
            tooltip=["run", metric],
        )
        .properties(height=280)
    )


def metrics_side_by_side(frame: pd.DataFrame) -> alt.Chart:
    """Grouped bars: one panel per metric, one bar per run (``frame``: run, metric, value)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(x=alt.X("run:N", title=None, axis=alt.Axis(labels=False, ticks=False)), y=alt.Y("value:Q", title=None),
                color=alt.Color("run:N", legend=alt.Legend(orient="bottom", columns=3, labelLimit=220)),
                tooltip=["run", "metric", "value"])
        .properties(width=170, height=150)
        .facet(facet=alt.Facet("metric:N", title=None), columns=4)
        .resolve_scale(y="independent")
    )


def best_vs_final(metrics: dict[str, float], best: dict[str, Any]) -> pd.DataFrame:
    """Final and best value of each metric (for runs whose history the memory does not hold)."""
    rows = []
    for name, value in sorted(metrics.items()):
        rows.append({"metric": name, "final": value, "best": (best.get(name) or {}).get("value", value)})
    return pd.DataFrame(rows).set_index("metric")
