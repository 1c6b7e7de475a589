"""The weekly learning digest: what was tried, what improved, what was promoted, what failed,
which experiments repeated earlier ones, and the open threads — per project and overall.

:func:`build_digest` is pure: the service reads the week's runs, the best results known before
it, registry events, failed pipeline runs and the repeats it found, and this module groups and
counts them. Every item keeps the URN (and the source link) of the node it is about.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Sequence

from memory.entities import Edge, Event, Node
from memory.errors import InvalidQuery
from memory.similar import Similarity, describe_outcome

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.I)
#: registry stages by rank: moving up is a promotion, down (or to Archived) a demotion
STAGE_RANK = {"none": 0, "archived": -1, "staging": 1, "production": 2}


def parse_week(text: str) -> tuple[datetime, datetime]:
    """``2026-W47`` → (Monday 00:00 UTC, the next Monday 00:00 UTC)."""
    match = _WEEK.match(text.strip())
    if not match:
        raise InvalidQuery(f"--week {text!r} is not an ISO week", hint="write it like 2026-W47")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InvalidQuery(f"{year} has no ISO week {week}", hint="weeks run from W01 to W52 (W53 in some years)") from None
    start = datetime.combine(monday, time(0), timezone.utc)
    return start, start + timedelta(days=7)


def week_name(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def last_full_week(now: datetime) -> tuple[datetime, datetime]:
    """The ISO week before the one ``now`` is in (what a Monday-morning digest reports)."""
    this_monday = datetime.combine(now.astimezone(timezone.utc).date() - timedelta(days=now.weekday()), time(0), timezone.utc)
    return this_monday - timedelta(days=7), this_monday


# -- the digest's values ------------------------------------------------------------------
@dataclass
class RunRef:
    urn: str
    name: str
    url: str | None = None
    project: str | None = None
    person: str | None = None
    time: datetime | None = None
    outcome: str = ""  # in words, with exact numbers


@dataclass
class IdeaTried:
    title: str
    urn: str  # the sweep's parent run, or the run itself
    url: str | None
    runs: int
    finished: int
    failed: int
    killed: int
    people: list[str]
    better: int
    worse: int
    best: RunRef | None = None


@dataclass
class Improvement:
    metric: str
    higher_is_better: bool
    before: float | None  # the best value known before the period (None: the first result)
    after: float
    delta: float | None
    run: RunRef
    previous: RunRef | None = None


@dataclass
class RegistryChange:
    model: str
    version: RunRef
    change: str  # promoted | demoted | alias | registered
    detail: str  # e.g. "Staging → Production", "alias champion"
    at: datetime


@dataclass
class Failure:
    run: RunRef
    status: str
    reason: str
    idea: str | None = None


@dataclass
class PipelineFailure:
    run: RunRef
    job: str
    error: str


@dataclass
class Repeat:
    run: RunRef
    idea: str
    earlier: RunRef
    score: float
    why: str
    sentence: str  # "this was tried in March by team B: val_auc 0.8100, worse than the baseline"


@dataclass
class OpenThread:
    kind: str  # promising | unresolved-failure | running
    run: RunRef
    detail: str


@dataclass
class ProjectDigest:
    project: str
    runs: int
    ideas: list[IdeaTried] = field(default_factory=list)
    improvement: Improvement | None = None
    registry: list[RegistryChange] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)
    open_threads: list[OpenThread] = field(default_factory=list)


@dataclass
class Digest:
    since: datetime
    until: datetime
    generated_at: datetime
    projects: list[ProjectDigest]
    pipelines_failed: list[PipelineFailure]
    totals: dict[str, int]

    @property
    def title(self) -> str:
        last = self.until - timedelta(microseconds=1)
        week = week_name(self.since) if self.until - self.since == timedelta(days=7) and self.since.weekday() == 0 \
            and self.since.time() == time(0) else None
        span = f"{self.since:%Y-%m-%d} – {last:%Y-%m-%d}"
        return f"Learning digest {week} ({span})" if week else f"Learning digest {span}"

    def headline(self) -> str:
        t = self.totals
        if not t["runs"] and not self.pipelines_failed and not t["registry_changes"]:
            return "No experiments, registry changes or pipeline runs in this period."
        parts = [f"{t['runs']:,} run{'s' if t['runs'] != 1 else ''} of {t['ideas']:,} idea{'s' if t['ideas'] != 1 else ''} "
                 f"in {t['projects']} project{'s' if t['projects'] != 1 else ''}"]
        parts.append(f"{t['improved']} improved the best known result")
        parts.append(f"{t['promoted']} promoted, {t['demoted']} demoted")
        parts.append(f"{t['failed']} failed run{'s' if t['failed'] != 1 else ''}")
        parts.append(f"{t['pipelines_failed']} failed pipeline run{'s' if t['pipelines_failed'] != 1 else ''}")
        parts.append(f"{t['repeats']} repeated earlier experiments")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return {"title": self.title, "headline": self.headline(), **plain(asdict(self))}


# -- building it --------------------------------------------------------------------------
def ref(node: Node) -> RunRef:
    props = node.properties
    return RunRef(urn=node.urn, name=node.name, url=node.source.url, project=node.project, person=props.get("person"),
                  time=node.created_at, outcome=describe_outcome(props.get("outcome") or {}, props.get("status")))


def group_of(node: Node) -> str:
    """The sweep a run belongs to (its parent's URN), or the run itself."""
    parent = node.properties.get("parent_run_id")
    if parent and "/runs/" in node.urn:
        return node.urn.rsplit("/runs/", 1)[0] + f"/runs/{parent}"
    return node.urn


def _value(node: Node) -> float | None:
    outcome = node.properties.get("outcome") or {}
    value = outcome.get("value")
    return float(value) if isinstance(value, (int, float)) else None


def _better(a: float, b: float, higher: bool) -> bool:
    return a > b if higher else a < b


def best_result(runs: Iterable[Node]) -> tuple[str, bool, Node] | None:
    """The finished run with the best primary-metric value: (metric, higher_is_better, run)."""
    best: tuple[str, bool, Node] | None = None
    for node in runs:
        outcome = node.properties.get("outcome") or {}
        value = _value(node)
        if value is None or node.properties.get("status") != "FINISHED" or not outcome.get("metric"):
            continue
        higher = bool(outcome.get("higher_is_better", True))
        if best is None or _better(value, _value(best[2]) or 0.0, higher) or (
                value == _value(best[2]) and (node.created_at or datetime.min.replace(tzinfo=timezone.utc))
                < (best[2].created_at or datetime.min.replace(tzinfo=timezone.utc))):
            best = (str(outcome["metric"]), higher, node)
    return best


def first_line(text: str | None, limit: int = 240) -> str:
    if not text:
        return ""
    line = next((part.strip() for part in text.strip().splitlines() if part.strip()), "")
    sentence = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def _ideas(runs: Sequence[Node], by_urn: dict[str, Node], parents: dict[str, Node]) -> list[IdeaTried]:
    groups: dict[str, list[Node]] = defaultdict(list)
    for node in runs:
        groups[group_of(node)].append(node)
    ideas = []
    for key, members in groups.items():
        head = parents.get(key) or by_urn.get(key)
        trials = [m for m in members if m.urn != key] or members
        title = (head.name if head else trials[0].name).removeprefix("sweep: ")
        statuses = Counter(m.properties.get("status") for m in trials)
        verdicts = Counter((m.properties.get("outcome") or {}).get("verdict") for m in trials)
        best = best_result(trials)
        ideas.append(IdeaTried(
            title=title, urn=key, url=(head or trials[0]).source.url, runs=len(trials), finished=statuses["FINISHED"],
            failed=statuses["FAILED"], killed=statuses["KILLED"],
            people=sorted({p for m in trials if (p := m.properties.get("person"))}),
            better=verdicts["better"], worse=verdicts["worse"], best=ref(best[2]) if best else None,
        ))
    ideas.sort(key=lambda i: (-i.runs, i.title))
    return ideas


def _registry(events: Sequence[Event], versions: dict[str, Node], history: dict[str, list[Event]]) -> list[RegistryChange]:
    changes = []
    for event in events:
        node = versions.get(event.urn)
        if node is None:
            continue
        model = str(node.properties.get("model") or node.name)
        if event.kind == "stage":
            to = str(event.payload.get("stage", "None"))
            before = [e for e in history.get(event.urn, []) if e.kind == "stage" and e.at < event.at]
            came_from = str(before[-1].payload.get("stage", "None")) if before else "None"
            rank_to, rank_from = STAGE_RANK.get(to.lower(), 0), STAGE_RANK.get(came_from.lower(), 0)
            kind = "promoted" if rank_to > rank_from else "demoted"
            changes.append(RegistryChange(model, ref(node), kind, f"{came_from} → {to}", event.at))
        elif event.kind == "alias":
            changes.append(RegistryChange(model, ref(node), "alias", f"alias {event.payload.get('alias')}", event.at))
        elif event.kind == "registered":
            changes.append(RegistryChange(model, ref(node), "registered", f"version {node.properties.get('version')}", event.at))
    changes.sort(key=lambda c: (c.at, c.version.urn, c.change))
    return changes


def repeat_sentence(match: Similarity, run_project: str | None) -> str:
    earlier = match.earlier
    when = f"in {earlier.time:%B %Y}" if earlier.time else "before"
    who = f" by team {earlier.team}" if earlier.team else (f" by {earlier.person}" if earlier.person else "")
    where = f" in {earlier.project}" if earlier.project and earlier.project != run_project else ""
    return f"this was tried {when}{who}{where}: {earlier.describe_outcome()}"


def build_digest(
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    runs: Sequence[Node],
    parents: dict[str, Node],
    best_before: dict[str, tuple[str, bool, Node] | None],
    edges: Sequence[Edge],
    registry_events: Sequence[Event],
    versions: dict[str, Node],
    version_history: dict[str, list[Event]],
    failed_pipelines: Sequence[Node],
    repeats: dict[str, tuple[Node, Similarity]],
) -> Digest:
    """Group and count what the service read. ``repeats``: group URN → (the week's run, its closest earlier match)."""
    by_urn = {n.urn: n for n in runs}
    produced = {e.src for e in edges if e.kind.value == "produced"}
    by_project: dict[str, list[Node]] = defaultdict(list)
    for node in runs:
        by_project[node.project or "(no project)"].append(node)
    changes = _registry(registry_events, versions, version_history)
    for change in changes:
        by_project.setdefault(change.version.project or "(no project)", [])
    projects = []
    for name in sorted(by_project):
        members = by_project[name]
        digest = ProjectDigest(project=name, runs=len(members))
        digest.ideas = _ideas(members, by_urn, parents)
        titles = {i.urn: i.title for i in digest.ideas}
        best_now = best_result(members)
        if best_now is not None:
            metric, higher, winner = best_now
            previous = best_before.get(name)
            value = _value(winner)
            assert value is not None
            if previous is None or previous[0] != metric:
                digest.improvement = Improvement(metric, higher, None, value, None, ref(winner))
            else:
                old = _value(previous[2])
                if old is not None and _better(value, old, higher):
                    digest.improvement = Improvement(metric, higher, old, value, round(value - old, 10), ref(winner),
                                                     ref(previous[2]))
        digest.registry = [c for c in changes if (c.version.project or "(no project)") == name]
        for node in sorted(members, key=lambda n: (n.created_at or since, n.urn)):
            status = node.properties.get("status")
            if status in ("FAILED", "KILLED"):
                note = node.properties.get("notes") or node.description
                digest.failures.append(Failure(ref(node), str(status), first_line(note) or "no note", titles.get(group_of(node))))
        for key, (node, match) in sorted(repeats.items(), key=lambda item: item[0]):
            if (node.project or "(no project)") != name:
                continue
            earlier = match.earlier
            digest.repeats.append(Repeat(
                run=ref(node), idea=titles.get(key, node.name),
                earlier=RunRef(urn=earlier.urn, name=earlier.name, url=earlier.source_url, project=earlier.project,
                               person=earlier.person, time=earlier.time, outcome=earlier.describe_outcome()),
                score=match.score, why=match.reasons(), sentence=repeat_sentence(match, node.project),
            ))
        digest.open_threads = _open_threads(members, digest, produced, titles)
        projects.append(digest)
    totals = {
        "runs": len(runs),
        "ideas": sum(len(p.ideas) for p in projects),
        "projects": sum(1 for p in projects if p.runs),
        "improved": sum(1 for p in projects if p.improvement is not None and p.improvement.before is not None),
        "promoted": sum(1 for c in changes if c.change == "promoted"),
        "demoted": sum(1 for c in changes if c.change == "demoted"),
        "registry_changes": len(changes),
        "failed": sum(1 for p in projects for f in p.failures if f.status == "FAILED"),
        "killed": sum(1 for p in projects for f in p.failures if f.status == "KILLED"),
        "pipelines_failed": len(failed_pipelines),
        "repeats": sum(len(p.repeats) for p in projects),
        "open_threads": sum(len(p.open_threads) for p in projects),
    }
    pipelines = [
        PipelineFailure(ref(n), str((n.properties.get("job") or {}).get("name") or n.name),
                        first_line(n.properties.get("error_message")) or "no error message")
        for n in sorted(failed_pipelines, key=lambda n: (n.created_at or since, n.urn))
    ]
    return Digest(since=since, until=until, generated_at=now, projects=projects, pipelines_failed=pipelines, totals=totals)


def _open_threads(members: Sequence[Node], digest: ProjectDigest, produced: set[str], titles: dict[str, str]) -> list[OpenThread]:
    """Promising ideas not registered yet, failures not followed by a finished run of the same idea, runs still going."""
    threads: list[OpenThread] = []
    groups: dict[str, list[Node]] = defaultdict(list)
    for node in members:
        groups[group_of(node)].append(node)
    for idea in digest.ideas:
        if idea.better and idea.best is not None and not any(m.urn in produced for m in groups[idea.urn]):
            threads.append(OpenThread("promising", idea.best,
                                      f"{idea.title}: {idea.better} run(s) beat the baseline, best {idea.best.outcome}; "
                                      "no model version registered from it yet"))
    for key, nodes in groups.items():
        failed = [n for n in nodes if n.properties.get("status") == "FAILED"]
        if not failed:
            continue
        last_failure = max(n.created_at or datetime.min.replace(tzinfo=timezone.utc) for n in failed)
        retried = any(n.properties.get("status") == "FINISHED" and n.urn != key and (n.created_at or last_failure) > last_failure
                      for n in nodes)
        if not retried:
            latest = max(failed, key=lambda n: (n.created_at or last_failure, n.urn))
            threads.append(OpenThread("unresolved-failure", ref(latest),
                                      f"{titles.get(key, latest.name)}: failed and not re-run since — "
                                      f"{first_line(latest.properties.get('notes')) or 'no note'}"))
    for node in members:
        if node.properties.get("status") == "RUNNING":
            threads.append(OpenThread("running", ref(node), f"{node.name} is still running"))
    return threads
