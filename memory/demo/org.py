"""Generate the demo organization: projects, runs, sweeps, notes and registered models.

Pure and deterministic: the same ``seed`` and ``scale`` always give the same organization
(one ``random.Random`` per project, seeded from ``seed`` and the project's name; no clock).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from itertools import product

from memory.demo.catalog import ERRORS, FOLLOW_UPS, IDEAS, KILL_NOTES, PROJECTS, TEAMS, IdeaTemplate, ProjectTemplate
from memory.demo.notes import adhoc_note, baseline_note, failure_note, refresh_note, sweep_note, trial_note

FIRST_DAY = datetime(2026, 1, 5, tzinfo=timezone.utc)
LAST_DAY = datetime(2026, 11, 20, tzinfo=timezone.utc)
NOISE_UNITS = 0.35  # run-to-run noise of the primary metric, in effect units
FAILS_AT_START = frozenset({"cuda_oom", "schema_plan_type", "schema_bureau", "feature_store_timeout", "query_groups"})


@dataclass(frozen=True)
class DatasetRef:
    name: str
    uri: str
    digest: str
    context: str = "training"


@dataclass(frozen=True)
class RunSpec:
    key: str
    name: str
    person: str
    start: datetime
    duration_s: float
    status: str  # FINISHED | FAILED | KILLED
    params: dict[str, str]
    metrics: dict[str, list[float]]  # one value per step
    tags: dict[str, str]
    note: str
    parent_key: str | None
    git_commit: str
    dataset: DatasetRef
    metric_steps: list[int] | None = None  # step numbers of the history (default 0..n-1)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)

    def final(self, metric: str) -> float | None:
        history = self.metrics.get(metric)
        return history[-1] if history else None


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    team: str
    description: str
    primary_metric: str
    goal: str  # max | min
    datasets: list[DatasetRef]  # versions over time, oldest first
    runs: list[RunSpec]  # chronological; a parent always precedes its children


@dataclass(frozen=True)
class ModelVersionSpec:
    run_key: str
    stage: str | None  # None | Staging | Production | Archived
    aliases: list[str]
    description: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    project: str
    description: str
    versions: list[ModelVersionSpec]


@dataclass(frozen=True)
class Organization:
    projects: list[ProjectSpec]
    models: list[ModelSpec]

    @property
    def run_count(self) -> int:
        return sum(len(p.runs) for p in self.projects)


def generate_organization(seed: int = 7, scale: float = 1.0) -> Organization:
    """The whole demo organization; ``scale`` multiplies the number of swept ideas (and so of runs)."""
    projects, models = [], []
    for template in PROJECTS:
        builder = _ProjectBuilder(template, random.Random(f"{seed}/{template.name}"), scale)
        projects.append(builder.build())
        models.append(builder.model())
    return Organization(projects=projects, models=models)


def _office_hours(rng: random.Random, day: datetime) -> datetime:
    """A weekday moment between 08:00 and 19:00 on or just after ``day``."""
    moment = day.replace(hour=rng.randint(8, 18), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0)
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


class _ProjectBuilder:
    def __init__(self, template: ProjectTemplate, rng: random.Random, scale: float) -> None:
        self.t, self.rng, self.scale = template, rng, scale
        self.sign = 1.0 if template.goal == "max" else -1.0
        self.people = self._people()
        self.runs: list[RunSpec] = []
        self.start = _office_hours(rng, FIRST_DAY + timedelta(days=rng.uniform(0, 12)))
        self.datasets = [DatasetRef(template.dataset[0], template.dataset[1], f"{rng.getrandbits(32):08x}") for _ in template.snapshots]
        self.switches = [self.start] + [
            max(self.start + timedelta(days=20), datetime.fromisoformat(s).replace(tzinfo=timezone.utc) + timedelta(days=rng.randint(3, 9)))
            for s in template.snapshots[1:]
        ]
        self.baseline: RunSpec | None = None
        self.winners: list[tuple[RunSpec, IdeaTemplate]] = []  # best trials of sweeps that beat the baseline
        self.tried: dict[str, tuple[datetime, str]] = {}  # idea key -> (when, verdict) of its last sweep

    # -- helpers
    def _people(self) -> list[tuple[str, int]]:
        first_team = {}
        for team, members in TEAMS.items():
            for person in members:
                first_team.setdefault(person, team)
        members = TEAMS[self.t.team]
        return [(p, 3 if i == 0 else (2 if first_team[p] == self.t.team else 1)) for i, p in enumerate(members)]

    def _person(self) -> str:
        names, weights = zip(*self.people)
        return self.rng.choices(names, weights=weights)[0]

    def _commit(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def _snapshot_at(self, when: datetime) -> int:
        return max(i for i, s in enumerate(self.switches) if s <= when) if when >= self.switches[0] else 0

    def _value(self, units: float) -> float:
        return self.t.baseline_value + self.sign * self.t.effect_unit * units

    def _units(self, value: float) -> float:
        return self.sign * (value - self.t.baseline_value) / self.t.effect_unit

    def _duration(self, cost: float) -> float:
        return self.t.minutes * 60 * cost * self.rng.uniform(0.8, 1.3)

    def _params(self, idea: IdeaTemplate | None, swept: dict[str, str], steps: int) -> dict[str, str]:
        params = dict(self.t.params)
        if idea:
            params.update(idea.fixed)
        params.update(swept)
        if self.t.framework == "pytorch":
            params["epochs"] = str(steps)
        params.setdefault("seed", "42")
        return params

    # -- metric histories
    def _history(self, final_units: float, steps: int, completed: int | None = None) -> dict[str, list[float]]:
        """Histories of every metric ending at ``final_units``; ``completed`` truncates them (killed runs)."""
        rng, t = self.rng, self.t
        final = self._value(final_units)
        dl = t.framework == "pytorch"
        gap_units = rng.uniform(25, 45) if dl else rng.uniform(5, 12)
        start = final - self.sign * t.effect_unit * gap_units
        if self.sign > 0:
            start = max(start, final * 0.2)
        ratio = rng.uniform(0.45, 0.72)
        span = 1 - ratio ** (steps - 1)
        shape = [(ratio**i - ratio ** (steps - 1)) / span for i in range(steps)]  # 1 -> 0
        overfit = rng.random() < 0.2

        def curve(first: float, last: float, jitter: float) -> list[float]:
            values = []
            for i, s in enumerate(shape):
                v = last + (first - last) * s
                if 0 < i < steps - 1:
                    v += rng.gauss(0, jitter)
                values.append(v)
            return values

        primary = curve(start, final, t.effect_unit * 0.15)
        if overfit and steps > 4:
            peak = int(steps * 0.7)
            for i in range(peak, steps - 1):
                primary[i] += self.sign * t.effect_unit * 0.4 * (1 - abs(i - peak) / steps)
        out = {t.primary_metric: primary}
        quality = final_units * t.effect_unit / max(abs(t.baseline_value), 1e-9)
        for (name, first, last), spread in ((t.train_loss, 0.03), (t.val_loss, 0.02)):
            end = last * (1 - 0.6 * quality) * rng.uniform(0.97, 1.03)
            out[name] = curve(first * rng.uniform(0.95, 1.05), end, abs(end) * spread)
            if overfit and name == t.val_loss[0]:
                out[name] = [v * (1 + 0.04 * max(0, i - steps * 0.6) / steps) for i, v in enumerate(out[name])]
        for extra in t.secondary:
            end = extra.base + extra.follows * (final - t.baseline_value) + rng.gauss(0, abs(extra.follows) * t.effect_unit * 0.2)
            first = end + extra.follows * (start - final)
            out[extra.name] = curve(first, end, abs(extra.follows) * t.effect_unit * 0.1)
        digits = 4 if abs(t.baseline_value) > 10 else 6
        out = {k: [round(v, digits) for v in values] for k, values in out.items()}
        if completed is not None:
            out = {k: v[:completed] for k, v in out.items() if v[:completed]}
        return out

    def _steps(self, params: dict[str, str], steps: int) -> list[int] | None:
        if "n_estimators" in params:
            every = 50 * max(1, round(int(params["n_estimators"]) / steps / 50))
            return [every * (i + 1) for i in range(steps)]
        return None

    def _run(self, key: str, name: str, person: str, start: datetime, units: float, steps: int, params: dict[str, str],
             tags: dict[str, str], commit: str, cost: float, parent: str | None, status: str = "FINISHED",
             note: str = "", error: str | None = None) -> RunSpec:
        """One run; FAILED runs keep the train loss of the steps they finished, KILLED runs every metric."""
        duration = self._duration(cost)
        dataset = self.datasets[self._snapshot_at(start)]
        if status == "FINISHED":
            metrics = self._history(units, steps)
        elif status == "KILLED":
            done = self.rng.randint(2, max(2, steps - 2))
            metrics = self._history(units, steps, completed=done)
            duration *= done / steps
        else:
            done = 0 if error in FAILS_AT_START else self.rng.randint(1, max(1, steps - 2))
            loss = self._history(units, steps)[self.t.train_loss[0]]
            metrics = {self.t.train_loss[0]: loss[:done]} if done else {}
            duration = max(60.0, duration * (done + self.rng.uniform(0.05, 0.4)) / steps)
            if error == "cuda_oom" and "batch_size" in params:  # someone doubled the batch
                params = {**params, "batch_size": str(2 * int(params["batch_size"]))}
        metric_steps = self._steps(params, steps)
        return RunSpec(key, name, person, start, round(duration, 1), status, params, metrics, tags, note, parent, commit,
                       dataset, metric_steps[: len(next(iter(metrics.values()), []))] if metric_steps and metrics else None)

    def _tags(self, **extra: str) -> dict[str, str]:
        return {"team": self.t.team, "framework": self.t.framework, **extra}

    # -- the project's story
    def build(self) -> ProjectSpec:
        rng, t = self.rng, self.t
        steps = rng.randint(*t.steps)
        person = self.people[0][0]
        self.baseline = self._run(f"{t.name}/baseline", "baseline", person, self.start, 0.0, steps,
                                  self._params(None, {}, steps), self._tags(baseline="true"), self._commit(), 1.0, None)
        self.baseline = _with_note(self.baseline, baseline_note(rng, t, self.baseline, self.datasets[0], t.snapshots[0]))
        self.runs.append(self.baseline)
        for i, switch in enumerate(self.switches[1:], start=1):
            when = _office_hours(rng, switch + timedelta(days=rng.uniform(0.5, 3)))
            units = self._dataset_units(i) + rng.gauss(0, NOISE_UNITS)
            run = self._run(f"{t.name}/refresh-{i}", f"baseline-refresh-{t.snapshots[i]}", self._person(), when, units, steps,
                            self._params(None, {}, steps), self._tags(), self._commit(), 1.0, None)
            self.runs.append(_with_note(run, refresh_note(rng, t, run, self.baseline, t.snapshots[i])))

        pool = list(t.ideas)
        rng.shuffle(pool)
        count = max(1, round(rng.randint(7, 9) * self.scale))
        first, last = self.start + timedelta(days=6), LAST_DAY - timedelta(days=4)
        gaps = [rng.expovariate(1.0) for _ in range(count + 1)]
        total, elapsed = sum(gaps), 0.0
        for n in range(count):
            elapsed += gaps[n]
            day = first + (last - first) * (elapsed / total)
            idea = IDEAS[pool[n % len(pool)]]
            self._sweep(n + 1, idea, n // len(pool) + 1, _office_hours(rng, day))
        for n in range(max(1, round(rng.randint(2, 4) * self.scale))):
            day = self.start + (LAST_DAY - self.start) * rng.random()
            self._adhoc(n + 1, _office_hours(rng, day), steps)
        self.runs.sort(key=lambda r: (r.start, r.key))
        return ProjectSpec(t.name, t.team, t.description, t.primary_metric, t.goal, list(self.datasets), self.runs)

    def _dataset_units(self, snapshot: int) -> float:
        return 0.15 * snapshot

    def _sweep(self, number: int, idea: IdeaTemplate, round_: int, start: datetime) -> None:
        rng, t = self.rng, self.t
        main_param, main_values = idea.sweep[0]
        second = idea.sweep[1] if len(idea.sweep) > 1 else (t.tuning if rng.random() < 0.7 else None)
        size = rng.randint(3, 6)
        if second is None and len(main_values) < size:
            second = ("seed", ("42", "1337"))  # too few values for the sweep: repeat some with another seed
        combos = list(product(main_values, second[1] if second else [None]))
        picked = sorted(rng.sample(range(len(combos)), min(size, len(combos))))
        best_main = rng.randrange(len(main_values))
        best_second = rng.randrange(len(second[1])) if second else 0
        true_effect, data_effect = t.ideas[idea.key], self._dataset_units(self._snapshot_at(start))
        steps = rng.randint(*t.steps)
        person, commit = self._person(), self._commit()
        key = f"{t.name}/idea-{number:03d}-{idea.key}"
        title = idea.title if round_ == 1 else f"{idea.title} (round {round_})"
        sweep_tag = idea.key if round_ == 1 else f"{idea.key}-r{round_}"
        lanes = [start + timedelta(seconds=rng.randint(20, 90))] * (2 if t.framework == "pytorch" else 3)
        trials: list[RunSpec] = []
        statuses = self._trial_statuses(len(picked))
        for j, combo_index in enumerate(picked):
            main_value, second_value = combos[combo_index]
            swept = {main_param: main_value}
            distance = abs(main_values.index(main_value) - best_main) / max(1, len(main_values) - 1)
            # the effect is strongest at the sweet spot of the main param; losing ideas lose less there
            units = true_effect * (1 - 0.6 * distance if true_effect > 0 else 1 + 0.6 * distance)
            if second:
                swept[second[0]] = second_value
                if second[0] != "seed":
                    units -= 0.4 * abs(second[1].index(second_value) - best_second) / max(1, len(second[1]) - 1)
            units += data_effect + rng.gauss(0, NOISE_UNITS)
            status, error = statuses[j]
            if error == "cuda_oom" and "batch_size" in swept:  # an OOM story needs a batch nobody chose on purpose
                error = "nan_loss"
            lane = min(range(len(lanes)), key=lambda i: lanes[i])
            when = lanes[lane] + timedelta(seconds=rng.randint(5, 120))
            name = _trial_name(idea.short, swept)
            run = self._run(f"{key}/trial-{j + 1}", name, person, when, units, steps, self._params(idea, swept, steps),
                            self._tags(sweep=sweep_tag), commit, idea.cost, key, status, error=error)
            note = self._trial_note(idea, run, swept, j, len(picked), error)
            trials.append(_with_note(run, note))
            lanes[lane] = run.end
        finished = [r for r in trials if r.status == "FINISHED"]
        best = max(finished, key=lambda r: self._units(r.final(t.primary_metric) or 0.0))
        best_value = best.final(t.primary_metric)
        swept_params = [main_param] + ([second[0]] if second else [])
        parent_params = {**self._params(idea, {}, steps), "n_trials": str(len(trials)), "search_space": ",".join(swept_params)}
        observed = self._units(best_value) if best_value is not None else 0.0
        verdict = "win" if observed >= 1.0 else ("loss" if observed <= -0.6 else "neutral")
        won_before = sorted({i.title for _, i in self.winners if i.key != idea.key})
        note = sweep_note(rng, t, idea, swept_params, trials, best, self.baseline, verdict, self.tried.get(idea.key),
                          won_before, t.snapshots[self._snapshot_at(start)])
        parent = RunSpec(key, f"sweep: {title}", person, start, round((max(r.end for r in trials) - start).total_seconds() + 30, 1),
                         "FINISHED", parent_params, {t.primary_metric: [best_value]} if best_value is not None else {},
                         self._tags(sweep=sweep_tag, best_trial=best.name), note, None, commit, best.dataset)
        self.runs.append(parent)
        self.runs.extend(trials)
        self.tried[idea.key] = (start, verdict)
        if verdict == "win":
            self.winners.append((best, idea))

    def _trial_statuses(self, count: int) -> list[tuple[str, str | None]]:
        statuses: list[tuple[str, str | None]] = []
        for _ in range(count):
            roll = self.rng.random()
            if roll < 0.065:
                statuses.append(("FAILED", self.rng.choice(self.t.errors)))
            elif roll < 0.08:
                statuses.append(("KILLED", None))
            else:
                statuses.append(("FINISHED", None))
        for i in range(count):  # a sweep keeps at least two finished trials
            if sum(s == "FINISHED" for s, _ in statuses) >= min(2, count):
                break
            statuses[i] = ("FINISHED", None)
        return statuses

    def _trial_note(self, idea: IdeaTemplate, run: RunSpec, swept: dict[str, str], index: int, size: int, error: str | None) -> str:
        if run.status == "FAILED" and error:
            return failure_note(self.rng, ERRORS[error], FOLLOW_UPS.get(error, ()), run)
        if run.status == "KILLED":
            return self.rng.choice(KILL_NOTES)
        if self.rng.random() > 0.6:
            return ""
        value = run.final(self.t.primary_metric)
        units = self._units(value) if value is not None else 0.0
        return trial_note(self.rng, self.t, idea, swept, index, size, units, len(run.metrics[self.t.primary_metric]))

    def _adhoc(self, number: int, when: datetime, steps: int) -> None:
        rng, t = self.rng, self.t
        kind = rng.choice(("repro", "repro", "repro", "smoke", "smoke", "killed"))
        person = self._person()
        units = {"repro": rng.gauss(0, NOISE_UNITS), "smoke": -rng.uniform(6, 10), "killed": rng.gauss(-0.5, NOISE_UNITS)}[kind]
        seed = str(rng.randint(1, 9999))
        params = {**self._params(None, {}, steps), "seed": seed}
        name = {"repro": f"baseline-repro-seed{seed}", "smoke": "smoke-test-1pct-sample", "killed": "baseline-debug"}[kind]
        status = "KILLED" if kind == "killed" else "FINISHED"
        run = self._run(f"{t.name}/adhoc-{number:03d}", name, person, when, units, steps, params, self._tags(),
                        self._commit(), 0.08 if kind == "smoke" else 1.0, None, status)
        self.runs.append(_with_note(run, adhoc_note(rng, t, kind, run, self.baseline, seed)))

    # -- the registry
    def model(self) -> ModelSpec:
        t, rng = self.t, self.rng
        assert self.baseline is not None
        chain: list[tuple[RunSpec, IdeaTemplate | None]] = [(self.baseline, None)]
        for run, idea in sorted(self.winners, key=lambda w: w[0].start):
            if self._units(run.final(t.primary_metric) or 0.0) > self._units(chain[-1][0].final(t.primary_metric) or 0.0):
                chain.append((run, idea))
        if len(chain) < 2:
            refreshes = [r for r in self.runs if r.key.startswith(f"{t.name}/refresh-") and r.status == "FINISHED"]
            chain.extend((r, None) for r in refreshes[-1:])
        wanted = rng.randint(2, 4)
        if len(chain) > wanted:
            chain = chain[:1] + chain[-(wanted - 1):]
        stages: list[tuple[str | None, list[str]]] = [("Archived", []) for _ in chain]
        stages[-1] = ("Production", ["champion"])
        if len(chain) >= 3 and rng.random() < 0.5:
            stages[-2], stages[-1] = ("Production", ["champion"]), ("Staging", ["challenger"])
        versions = []
        for (run, idea), (stage, aliases) in zip(chain, stages):
            value = run.final(t.primary_metric) or 0.0
            if idea is None:
                text = f"{t.framework} {'baseline' if run is self.baseline else 'baseline retrain'} on {run.dataset.name}@{run.dataset.digest}; {t.primary_metric}={value:.4f}."
            else:
                delta = value - (self.baseline.final(t.primary_metric) or 0.0)
                text = f"Best trial of the {idea.title} sweep ({run.name}): {t.primary_metric}={value:.4f}, {delta:+.4f} vs the baseline."
            versions.append(ModelVersionSpec(run.key, stage, aliases, text))
        return ModelSpec(t.model_name, t.name, t.model_description, versions)


def _with_note(run: RunSpec, note: str) -> RunSpec:
    return replace(run, note=note)


def _trial_name(prefix: str, swept: dict[str, str]) -> str:
    """E.g. ``ls0.1-lr0.05`` or ``focal-g2.0-a0.25``."""
    parts = [f"{_abbrev(p)}{v}" for p, v in swept.items()]
    return "-".join(parts) if _abbrev(next(iter(swept))) == prefix else "-".join([prefix, *parts])


def _abbrev(param: str) -> str:
    known = {"learning_rate": "lr", "label_smoothing": "ls", "weight_decay": "wd", "batch_size": "bs", "num_leaves": "nl",
             "max_depth": "md", "min_child_samples": "mcs", "embedding_dim": "dim", "temperature": "tau"}
    return known.get(param, "".join(part[0] for part in param.split("_")))


__all__ = ["DatasetRef", "ModelSpec", "ModelVersionSpec", "Organization", "ProjectSpec", "RunSpec", "generate_organization"]
