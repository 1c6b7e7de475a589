"""“Why did this production model fail?”: who held a stage/alias when, and what changed between two versions.

Pure functions over what the store returns (events, lineage subgraphs); the service fetches, this decides.

**Tenures.** A stage or alias is held by a version from the event that gave it (``stage`` with that
stage, ``alias`` with that alias, as the MLflow mapping records them) until the version's next stage
event names another stage (stages) or another version receives the alias (aliases). The memory only
knows the transitions it saw: a registry synced after each promotion has the full history.

**previous-good** is the last *other* version whose tenure of the same stage/alias started before the
current version's tenure started.

**Culprit ranking** (:func:`rank`): every difference gets a base score by kind, then evidence moves it.

=====================  =====  ==============================================================
kind                   base   evidence
=====================  =====  ==============================================================
schema_change          50     +5 when a field was removed or changed type (breaks readers)
dataset_swap           40     +5 when the row count changed by more than 10 %
dataset_added/removed  35
features_changed       32
code_change            30
param_change           20     +3 when the value changed by 2× or more (numbers)
upstream_failed        10     +25 when the failed run wrote a dataset the model trained on
upstream_late           8     +10 when the late run wrote a dataset the model trained on
=====================  =====  ==============================================================

Data changes come first because a model retrained on different data is the most common cause of a
silent quality drop and the hardest to see from the model's own run; a code or parameter change is
visible in the run page. Metric deltas are symptoms, not culprits: they are reported, never ranked.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

from memory.entities import Edge, Event, Node
from memory.store.base import Lineage

BASE_SCORE = {
    "schema_change": 50.0, "dataset_swap": 40.0, "dataset_added": 35.0, "dataset_removed": 35.0,
    "features_changed": 32.0, "code_change": 30.0, "param_change": 20.0, "upstream_failed": 10.0,
    "upstream_late": 8.0,
}
#: a pipeline run that started this much after its nominal (scheduled) time ran late
LATE_AFTER = timedelta(minutes=30)
_FAILED_STATES = ("FAIL", "ABORT")
_HIGHER_IS_BETTER = ("auc", "acc", "f1", "precision", "recall", "ndcg", "r2", "bleu", "rouge", "score", "map")


# -- who held a stage or alias, when ---------------------------------------------------------
@dataclass(frozen=True)
class Tenure:
    """``version_urn`` held ``label`` from ``start`` until ``end`` (``None``: still holds it, as far as we know)."""

    version_urn: str
    label: str
    start: datetime
    end: datetime | None = None

    def holds_at(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


def tenures(events_by_version: dict[str, Sequence[Event]], label: str) -> list[Tenure]:
    """Every tenure of ``label`` (a stage or an alias, case-insensitive) over a model's versions, by start."""
    wanted = label.lower()
    out: list[Tenure] = []
    alias_moves: list[tuple[datetime, str]] = []
    for urn, events in events_by_version.items():
        held: datetime | None = None
        for event in sorted((e for e in events if e.kind == "stage"), key=lambda e: e.at):
            is_label = str(event.payload.get("stage", "")).lower() == wanted
            if is_label and held is None:
                held = event.at
            elif not is_label and held is not None:
                out.append(Tenure(urn, label, held, event.at))
                held = None
        if held is not None:
            out.append(Tenure(urn, label, held))
        alias_moves += [(e.at, urn) for e in events if e.kind == "alias" and str(e.payload.get("alias", "")).lower() == wanted]
    alias_moves.sort()
    distinct = [move for i, move in enumerate(alias_moves) if i == 0 or move[1] != alias_moves[i - 1][1]]
    for i, (at, urn) in enumerate(distinct):
        out.append(Tenure(urn, label, at, distinct[i + 1][0] if i + 1 < len(distinct) else None))
    return sorted(out, key=lambda t: (t.start, t.version_urn))


def holder_at(all_tenures: Sequence[Tenure], moment: datetime) -> Tenure | None:
    """The tenure in force at ``moment`` (the most recently started one when several versions share a stage)."""
    live = [t for t in all_tenures if t.holds_at(moment)]
    return live[-1] if live else None


def previous_good(all_tenures: Sequence[Tenure], current: Tenure) -> Tenure | None:
    """The last tenure of another version that started before ``current`` started."""
    earlier = [t for t in all_tenures if t.version_urn != current.version_urn and t.start < current.start]
    return earlier[-1] if earlier else None


# -- what a model version was made from ------------------------------------------------------
@dataclass(frozen=True)
class DataUse:
    """One dataset a training run used: the version, its schema and size, and the pipeline run that wrote it."""

    dataset: str  # the dataset URN (the version's ``version_of`` target), or the version URN without one
    version: Node
    schema: dict[str, str] | None
    schema_source: str | None
    rows: int | None
    writer: Node | None


@dataclass(frozen=True)
class Profile:
    """What one model version's upstream lineage says about how it was made."""

    version: Node
    run: Node | None
    commits: tuple[str, ...]
    data: dict[str, DataUse]
    features: dict[str, Node]
    pipeline_runs: tuple[Node, ...]


def _schema_fields(fields: Any) -> dict[str, str] | None:
    if not isinstance(fields, list):
        return None
    out = {str(f.get("name")): str(f.get("type", "?")) for f in fields if isinstance(f, dict) and f.get("name")}
    return out or None


def _mlflow_schema(version: Node) -> dict[str, str] | None:
    schema = version.properties.get("schema")
    if isinstance(schema, dict):
        return _schema_fields(schema.get("mlflow_colspec") or schema.get("fields"))
    return _schema_fields(schema)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _when(node: Node, key: str = "start_time") -> datetime | None:
    raw = node.properties.get(key)
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return None
    return node.created_at


def profile(lineage: Lineage) -> Profile:
    """Read a model version's upstream lineage: its run, commits, datasets (with writers), features, pipeline runs."""
    nodes = lineage.nodes
    version = nodes[lineage.root]
    by_kind: dict[str, list[Edge]] = {}
    for edge in lineage.edges:
        by_kind.setdefault(edge.kind.value, []).append(edge)
    run = next((nodes[e.src] for e in by_kind.get("produced", []) if e.dst == version.urn and e.src in nodes), None)
    trained_at = _when(run) if run else version.created_at
    commits: tuple[str, ...] = ()
    data: dict[str, DataUse] = {}
    features: dict[str, Node] = {}
    if run is not None:
        commits = tuple(sorted({nodes[e.dst].properties.get("commit") or nodes[e.dst].name
                                for e in by_kind.get("ran_code", []) if e.src == run.urn and e.dst in nodes}))
        if not commits and run.properties.get("git_commit"):
            commits = (str(run.properties["git_commit"]),)
        features = {nodes[e.dst].name: nodes[e.dst] for e in by_kind.get("used_features", [])
                    if e.src == run.urn and e.dst in nodes}
        for edge in by_kind.get("used", []):
            if edge.src != run.urn or edge.dst not in nodes:
                continue
            used = nodes[edge.dst]
            dataset = next((e.dst for e in by_kind.get("version_of", []) if e.src == used.urn), used.urn)
            writes = [e for e in by_kind.get("wrote", []) if e.dst in (used.urn, dataset) and e.src in nodes]
            writes = [e for e in writes if trained_at is None or (_when(nodes[e.src]) or trained_at) <= trained_at]
            completed = [e for e in writes if nodes[e.src].properties.get("state") not in _FAILED_STATES]
            writes = completed or writes  # a failed run's output is not what the model read, when a good one exists
            write = max(writes, key=lambda e: (_when(nodes[e.src]) or e.valid_from or datetime.min, e.src), default=None)
            seen = write.properties if write else {}
            ol_schema = _schema_fields(seen.get("schema"))
            schema, source = (ol_schema, "openlineage") if ol_schema else (_mlflow_schema(used), used.source.system)
            stats = seen.get("statistics") or {}
            profile_ = used.properties.get("profile") or {}
            rows = _int(stats.get("rowCount")) if isinstance(stats, dict) else None
            if rows is None and isinstance(profile_, dict):
                rows = _int(profile_.get("num_rows"))
            if rows is None:  # a table version that counted its rows (Delta)
                rows = _int(used.properties.get("num_rows"))
            data[dataset] = DataUse(dataset, used, schema, source if schema else None, rows,
                                    nodes[write.src] if write else None)
    pipeline = tuple(sorted((n for n in nodes.values() if n.kind.value == "job_run"), key=lambda n: n.urn))
    return Profile(version, run, commits, data, features, pipeline)


# -- the difference --------------------------------------------------------------------------
@dataclass
class Change:
    """One difference between the baseline and the current version, scored for how likely it caused the drop."""

    kind: str
    subject: str
    before: Any
    after: Any
    summary: str
    score: float = 0.0
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MetricDelta:
    name: str
    before: float
    after: float
    delta: float
    higher_is_better: bool
    worse: bool


@dataclass
class Diff:
    """``current`` against ``baseline``: ranked changes (most likely culprit first) and metric deltas."""

    current: Node
    baseline: Node
    current_run: Node | None
    baseline_run: Node | None
    changes: list[Change]
    metrics: list[MetricDelta]

    def as_dict(self) -> dict[str, Any]:
        def node(n: Node | None) -> dict[str, Any] | None:
            return None if n is None else {"urn": n.urn, "name": n.name, "kind": n.kind.value, "url": n.source.url}

        return {
            "current": node(self.current), "baseline": node(self.baseline),
            "current_run": node(self.current_run), "baseline_run": node(self.baseline_run),
            "changes": [asdict(c) for c in self.changes],
            "metrics": [asdict(m) for m in self.metrics],
        }


def _url(node: Node | None) -> list[str]:
    return [node.source.url] if node is not None and node.source.url else []


def _schema_change(before: dict[str, str], after: dict[str, str]) -> dict[str, Any]:
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "type_changed": {k: [before[k], after[k]] for k in sorted(set(before) & set(after)) if before[k] != after[k]},
    }


def _describe_schema(change: dict[str, Any]) -> str:
    parts = []
    if change["removed"]:
        parts.append("removed " + ", ".join(change["removed"]))
    if change["added"]:
        parts.append("added " + ", ".join(change["added"]))
    parts += [f"{k}: {a} → {b}" for k, (a, b) in change["type_changed"].items()]
    return "; ".join(parts)


def _data_changes(old: Profile, new: Profile) -> list[Change]:
    out: list[Change] = []
    for dataset in sorted(set(old.data) | set(new.data)):
        a, b = old.data.get(dataset), new.data.get(dataset)
        if a is None and b is not None:
            out.append(Change("dataset_added", dataset, None, b.version.urn, f"now also trains on {b.version.name}",
                              links=_url(b.writer)))
            continue
        if b is None and a is not None:
            out.append(Change("dataset_removed", dataset, a.version.urn, None, f"no longer trains on {a.version.name}"))
            continue
        assert a is not None and b is not None
        swapped = a.version.urn != b.version.urn or (a.writer and b.writer and a.writer.urn != b.writer.urn)
        if not swapped:
            continue
        details: dict[str, Any] = {"before_version": a.version.urn, "after_version": b.version.urn,
                                   "rows": [a.rows, b.rows],
                                   "writers": [a.writer.urn if a.writer else None, b.writer.urn if b.writer else None]}
        links = _url(b.writer) + _url(b.version)
        rows = f"; rows {a.rows:,} → {b.rows:,}" if a.rows is not None and b.rows is not None and a.rows != b.rows else ""
        writer = f" (written by {b.writer.name}, {b.writer.properties.get('state', '?')})" if b.writer else ""
        schema = _schema_change(a.schema, b.schema) if a.schema and b.schema else None
        if schema and (schema["added"] or schema["removed"] or schema["type_changed"]):
            details["schema"] = schema
            details["schema_source"] = b.schema_source
            out.append(Change("schema_change", dataset, a.version.name, b.version.name,
                              f"schema of {_short(dataset)} changed: {_describe_schema(schema)}{rows}{writer}",
                              details=details, links=links))
        else:
            out.append(Change("dataset_swap", dataset, a.version.name, b.version.name,
                              f"{_short(dataset)}: {a.version.name} → {b.version.name}{rows}{writer}",
                              details=details, links=links))
    return out


def _short(urn: str) -> str:
    return urn.removeprefix("dataset://")


def _param_changes(old: Profile, new: Profile) -> list[Change]:
    a = (old.run.properties.get("params") if old.run else None) or {}
    b = (new.run.properties.get("params") if new.run else None) or {}
    out = []
    for name in sorted(set(a) | set(b)):
        if a.get(name) == b.get(name):
            continue
        summary = f"param {name}: {a.get(name, '(unset)')} → {b.get(name, '(unset)')}"
        out.append(Change("param_change", name, a.get(name), b.get(name), summary, links=_url(new.run)))
    return out


def _upstream_changes(old: Profile, new: Profile) -> list[Change]:
    """Pipeline runs of the new lineage that ran between the two trainings and failed or started late."""
    since = _when(old.run) if old.run else old.version.created_at
    until = _when(new.run) if new.run else new.version.created_at
    feeding = {d.writer.urn for d in new.data.values() if d.writer}
    out = []
    for run in new.pipeline_runs:
        started = _when(run)
        if started is None or (since and started < since) or (until and started > until):
            continue
        state = str(run.properties.get("state", ""))
        details = {"state": state, "start_time": run.properties.get("start_time"), "feeds_training": run.urn in feeding}
        if state in _FAILED_STATES:
            message = run.properties.get("error_message")
            out.append(Change("upstream_failed", run.urn, None, state,
                              f"pipeline run {run.name} {state}" + (f": {message}" if message else ""),
                              details=details, links=_url(run)))
        nominal = run.properties.get("nominal_start_time")
        if isinstance(nominal, str) and started is not None:
            try:
                scheduled = datetime.fromisoformat(nominal.replace("Z", "+00:00"))
            except ValueError:
                continue
            if scheduled.tzinfo and started.tzinfo and started - scheduled > LATE_AFTER:
                late = started - scheduled
                details = {**details, "late_by_seconds": late.total_seconds()}
                out.append(Change("upstream_late", run.urn, nominal, run.properties.get("start_time"),
                                  f"pipeline run {run.name} started {late} after its scheduled time",
                                  details=details, links=_url(run)))
    return out


def _higher_is_better(name: str, run: Node | None) -> bool:
    outcome = (run.properties.get("outcome") if run else None) or {}
    if outcome.get("metric") == name and "higher_is_better" in outcome:
        return bool(outcome["higher_is_better"])
    lowered = name.lower()
    return any(w in lowered for w in _HIGHER_IS_BETTER) and not any(w in lowered for w in ("loss", "error"))


def metric_deltas(old: Profile, new: Profile) -> list[MetricDelta]:
    a = (old.run.properties.get("metrics") if old.run else None) or {}
    b = (new.run.properties.get("metrics") if new.run else None) or {}
    out = []
    for name in sorted(set(a) & set(b)):
        delta = float(b[name]) - float(a[name])
        higher = _higher_is_better(name, new.run)
        out.append(MetricDelta(name, float(a[name]), float(b[name]), round(delta, 10), higher,
                               delta < 0 if higher else delta > 0))
    return out


def rank(changes: Iterable[Change]) -> list[Change]:
    """Score each change by the table in the module docstring, most likely culprit first (stable)."""
    ranked = []
    for change in changes:
        score, reasons = BASE_SCORE.get(change.kind, 5.0), [_BASE_REASON.get(change.kind, "other difference")]
        if change.kind == "schema_change":
            schema = change.details.get("schema") or {}
            if schema.get("removed") or schema.get("type_changed"):
                score += 5
                reasons.append("a field was removed or changed type")
        if change.kind == "dataset_swap":
            before, after = (change.details.get("rows") or [None, None])
            if before and after is not None and abs(after - before) / before > 0.10:
                score += 5
                reasons.append(f"row count changed by {abs(after - before) / before:.0%}")
        if change.kind == "param_change" and _ratio(change.before, change.after) >= 2:
            score += 3
            reasons.append("the value changed by 2× or more")
        if change.kind in ("upstream_failed", "upstream_late") and change.details.get("feeds_training"):
            score += 25 if change.kind == "upstream_failed" else 10
            reasons.append("it wrote a dataset this version trained on")
        change.score, change.reason = score, "; ".join(reasons)
        ranked.append(change)
    return sorted(ranked, key=lambda c: -c.score)


_BASE_REASON = {
    "schema_change": "the training data's schema changed",
    "dataset_swap": "the model trained on a different version of the data",
    "dataset_added": "the model trained on an additional dataset",
    "dataset_removed": "the model no longer trained on a dataset",
    "features_changed": "the feature set changed",
    "code_change": "the training code changed",
    "param_change": "a training parameter changed",
    "upstream_failed": "an upstream pipeline run failed",
    "upstream_late": "an upstream pipeline run ran late",
}


def _ratio(a: Any, b: Any) -> float:
    try:
        x, y = abs(float(a)), abs(float(b))
    except (TypeError, ValueError):
        return 0.0
    if x == 0 or y == 0:
        return math.inf if x != y else 1.0
    return max(x, y) / min(x, y)


@dataclass
class WhyReport:
    """The answer to ``xmem why``: the version asked about (as of a moment), its lineage, and the diff."""

    ref: str
    version: Node
    lineage: Lineage
    at: datetime | None
    label: str | None
    tenure: Tenure | None
    baseline_how: str | None
    diff: Diff | None
    notes: list[str] = field(default_factory=list)


def diff(baseline: Lineage, current: Lineage) -> Diff:
    """The ranked difference between two model versions' upstream lineages."""
    old, new = profile(baseline), profile(current)
    changes = _data_changes(old, new)
    added, removed = sorted(set(new.features) - set(old.features)), sorted(set(old.features) - set(new.features))
    if added or removed:
        changes.append(Change("features_changed", "features", removed, added,
                              "features " + "; ".join(filter(None, [
                                  "added " + ", ".join(added) if added else "",
                                  "removed " + ", ".join(removed) if removed else ""]))))
    if old.commits != new.commits and (old.commits or new.commits):
        before, after = ", ".join(c[:12] for c in old.commits) or "(none)", ", ".join(c[:12] for c in new.commits) or "(none)"
        changes.append(Change("code_change", "code", list(old.commits), list(new.commits),
                              f"code commit {before} → {after}", links=_url(new.run)))
    changes += _param_changes(old, new)
    changes += _upstream_changes(old, new)
    return Diff(new.version, old.version, new.run, old.run, rank(changes), metric_deltas(old, new))
