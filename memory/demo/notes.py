"""Researcher-style run notes for the demo organization: hypothesis, change, result, next step.

Templates with seeded choices, so the same idea reads differently from run to run.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from memory.demo.catalog import IdeaTemplate, ProjectTemplate

if TYPE_CHECKING:  # pragma: no cover
    from memory.demo.org import DatasetRef, RunSpec


def delta_text(rng: random.Random, t: ProjectTemplate, delta: float) -> str:
    """A metric difference the way people write it: points for rates, plain numbers otherwise."""
    if abs(t.baseline_value) <= 1.0 and rng.random() < 0.6:
        return f"{delta * 100:+.2f} pt"
    return f"{delta:+.4f}" if abs(t.baseline_value) <= 1.0 else f"{delta:+.2f}"


def phrase(rng: random.Random, idea: IdeaTemplate, value: str | None = None) -> str:
    options = [p for p in idea.phrases if value is not None or "{v}" not in p]
    return rng.choice(options).replace("{v}", value or "")


def _settings(swept: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in swept.items())


def _value(run: "RunSpec", t: ProjectTemplate) -> float:
    return run.final(t.primary_metric) or 0.0


def baseline_note(rng: random.Random, t: ProjectTemplate, run: "RunSpec", dataset: "DatasetRef", snapshot: str) -> str:
    value = _value(run, t)
    return rng.choice((
        f"Baseline for {t.name}: {t.framework} with the params we tuned last quarter, trained on {dataset.name} "
        f"({snapshot} snapshot). {t.primary_metric}={value:.4f}. Every idea this year gets compared against this run.",
        f"Reference run. Plain {t.framework}, feature set {run.params.get('feature_set', 'as in production')}, "
        f"{dataset.name} snapshot {snapshot}. Lands at {t.primary_metric} {value:.4f}. Compare everything to this.",
        f"Baseline = current production recipe retrained on the {snapshot} snapshot of {dataset.name}. "
        f"{t.primary_metric}: {value:.4f}.",
    ))


def refresh_note(rng: random.Random, t: ProjectTemplate, run: "RunSpec", baseline: "RunSpec", snapshot: str) -> str:
    value, before = _value(run, t), _value(baseline, t)
    return rng.choice((
        f"Baseline config retrained on the new {snapshot} snapshot of {run.dataset.name}. "
        f"{t.primary_metric} {value:.4f} (was {before:.4f} on the first snapshot), so the new data alone moves it {delta_text(rng, t, value - before)}.",
        f"New data snapshot ({snapshot}) landed; same baseline recipe. {t.primary_metric}={value:.4f} vs {before:.4f} before. "
        "Keep this in mind when comparing ideas across snapshots.",
    ))


def sweep_note(rng: random.Random, t: ProjectTemplate, idea: IdeaTemplate, swept: Sequence[str], trials: Sequence["RunSpec"],
               best: "RunSpec", baseline: "RunSpec | None", verdict: str, previous: tuple[datetime, str] | None,
               earlier_wins: Sequence[str], snapshot: str) -> str:
    """The parent run's note: what was tried and why, how the sweep went and what comes next."""
    main_param = idea.sweep[0][0]
    said = phrase(rng, idea, best.params.get(main_param))
    why = rng.choice(idea.why)
    swept_text = " and ".join(swept)
    opening = rng.choice((
        f"Trying {said}. {why}",
        f"Hypothesis: {_lower_first(why)} Testing {said}.",
        f"{why} So: {said}.",
        f"Idea: {said}. {why}",
    ))
    if previous:
        when, earlier = previous
        earlier = {"win": "it helped", "loss": "it hurt", "neutral": "no effect"}[earlier]
        opening = f"Second look at {said} (last tried {when:%b %d}: {earlier}), this time on the {snapshot} snapshot. {why}"
    change = rng.choice((
        f"Swept {swept_text} over {len(trials)} trials; everything else as in the baseline.",
        f"Same features and split as the baseline, only {swept_text} {'vary' if len(swept) > 1 else 'varies'} ({len(trials)} trials).",
        f"{len(trials)} trials over {swept_text} on {best.dataset.name}@{best.dataset.digest}.",
    ))
    value = _value(best, t)
    base = _value(baseline, t) if baseline else value
    delta = delta_text(rng, t, value - base)
    settings = _settings({k: best.params[k] for k in swept if k in best.params})
    result = rng.choice({
        "win": (
            f"Best trial ({settings}) reached {t.primary_metric}={value:.4f} vs {base:.4f} for the baseline, {delta}: well above seed noise.",
            f"It works: {delta} on {t.primary_metric} with {settings}.",
            f"{t.primary_metric} goes from {base:.4f} to {value:.4f} ({delta}) at {settings}.",
        ),
        "neutral": (
            f"No real difference: best trial {delta} on {t.primary_metric}, within run-to-run noise.",
            f"Flat. {t.primary_metric} moved {delta} at best ({settings}), which is noise for this setup.",
            f"Basically a wash ({t.primary_metric} {value:.4f} vs {base:.4f}).",
        ),
        "loss": (
            f"Worse across the board: even the best trial is {delta} on {t.primary_metric}.",
            f"Hurts. {t.primary_metric} drops to {value:.4f} ({delta}) with the best setting.",
            f"Did not help: {delta} vs baseline even at {settings}.",
        ),
    }[verdict])
    broken = [r for r in trials if r.status != "FINISHED"]
    if broken:
        result += rng.choice((f" {len(broken)} trial(s) did not finish.", f" Lost {len(broken)} of {len(trials)} trials along the way."))
    nexts = {
        "win": [f"Merging {phrase(rng, idea)} into the main config.", "Will register the best trial and shadow it next week.",
                "Rerunning on the next data snapshot before promoting."],
        "neutral": ["Not worth the extra complexity; leaving it out.", "Parking this; maybe revisit with more data.",
                    "Keeping the baseline recipe."],
        "loss": ["Dropping it.", "Dead end for this model, don't retry without a new angle.", "Reverting."],
    }[verdict]
    if verdict == "win" and earlier_wins:
        nexts.append(f"Next: combine with {rng.choice(list(earlier_wins))}.")
    return " ".join((opening, change, result, rng.choice(nexts)))


def trial_note(rng: random.Random, t: ProjectTemplate, idea: IdeaTemplate, swept: dict[str, str], index: int, size: int,
               units: float, steps: int) -> str:
    main_param = idea.sweep[0][0]
    said = phrase(rng, idea, swept.get(main_param))
    if units >= 1.0:
        seen = rng.choice(("Looks better than the baseline.", f"Clear gain on {t.primary_metric}.", "Beats the baseline."))
    elif units <= -0.6:
        seen = rng.choice(("Worse than the baseline.", f"Below the baseline on {t.primary_metric}.", "Not good."))
    else:
        seen = rng.choice(("About the same as the baseline.", "Within noise.", "Flat vs baseline."))
    curve = rng.choice((f" Val loss creeps up after step {max(2, steps * 2 // 3)}.", " Still improving at the last step.",
                        f" Plateaus around step {max(2, steps // 2)}.", "", ""))
    others = {k: v for k, v in swept.items() if k != main_param}
    extra = f" with {_settings(others)}" if others else ""
    said = said[0].upper() + said[1:]
    return rng.choice((
        f"{said}{extra}; everything else as the baseline. {seen}{curve}",
        f"{_settings(swept)}. {seen}",
        f"Trial {index + 1}/{size}: {_settings(swept)}. {seen}{curve}",
        f"{said}{extra}. {seen}",
    )).strip()


def _lower_first(sentence: str) -> str:
    """Lower-case the first letter unless it starts an acronym ("SMOTE", "ALS")."""
    if len(sentence) > 1 and sentence[1].islower():
        return sentence[0].lower() + sentence[1:]
    return sentence


def failure_note(rng: random.Random, error: str, follow_ups: Sequence[str], run: "RunSpec") -> str:
    text = error.format(step=rng.randint(300, 4000), pid=rng.randint(20000, 99999), n=f"{rng.randint(2, 40) * 100000:,}",
                        batch=run.params.get("batch_size", "512"))
    return text + (f" {rng.choice(list(follow_ups))}" if follow_ups and rng.random() < 0.8 else "")


def adhoc_note(rng: random.Random, t: ProjectTemplate, kind: str, run: "RunSpec", baseline: "RunSpec | None", seed: str) -> str:
    value = run.final(t.primary_metric)
    base = _value(baseline, t) if baseline else 0.0
    if kind == "repro":
        return rng.choice((
            f"Re-ran the baseline config with seed {seed} to get a feel for run-to-run noise: {t.primary_metric}={value:.4f} vs {base:.4f}.",
            f"Repro of the baseline on the new training cluster (seed {seed}). {t.primary_metric} {value:.4f}, close enough.",
        ))
    if kind == "smoke":
        return rng.choice((
            "Smoke test of the training pipeline on a 1% sample after the data-loader refactor; the numbers mean nothing.",
            "Quick end-to-end check on a 1% sample before launching the sweep. Ignore the metrics.",
        ))
    return rng.choice(KILLED_DEBUG_NOTES)


KILLED_DEBUG_NOTES = (
    "Debugging the eval job with the baseline config; killed once the metrics showed up in the UI.",
    "Checking memory use of the new feature join. Killed manually.",
)
