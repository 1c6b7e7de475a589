"""The weekly digest and near-duplicate detection on the demo organization (its truth is the generated spec)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from memory.demo.org import Organization, ProjectSpec, RunSpec
from memory.digest import first_line, group_of, last_full_week, parse_week
from memory.digest_render import render_digest, slack_blocks
from memory.entities import Principal, Scope
from memory.errors import InvalidQuery, NotFound, SourceUnavailable
from memory.schedule import Weekly, run_every
from memory.service import MemoryService

W20 = parse_week("2026-W20")  # credit-scoring's class-weights sweep (two trials failed), churn's data refresh
NOW = datetime(2026, 11, 25, 10, tzinfo=timezone.utc)


def in_period(run: RunSpec, period: tuple[datetime, datetime]) -> bool:
    return period[0] <= run.start < period[1]


def spec_runs(org: Organization, period: tuple[datetime, datetime]) -> list[tuple[ProjectSpec, RunSpec]]:
    return [(p, r) for p in org.projects for r in p.runs if in_period(r, period)]


def node_of(service: MemoryService, project: str, run: RunSpec) -> Any:
    """The ingested node of a spec run (same project, name and start time)."""
    page = service.store.list_nodes(kind="run", project=project, name=run.name, page_size=50)
    found = [n for n in page.items if n.created_at == run.start]
    assert len(found) == 1, (project, run.name)
    return found[0]


def test_week_digest_counts_runs_ideas_and_failures_exactly(demo_service: MemoryService, demo_memory: dict) -> None:
    org: Organization = demo_memory["org"]
    digest = demo_service.digest(*W20, now=NOW)
    expected = spec_runs(org, W20)
    assert digest.totals["runs"] == len(expected) > 0
    for project in {p.name for p, _ in expected}:
        section = next(s for s in digest.projects if s.project == project)
        runs = [r for p, r in expected if p.name == project]
        assert section.runs == len(runs)
        # a sweep's trials fold into one idea (the parent's name), not one line per trial
        groups = {r.parent_key or r.key for r in runs}
        assert len(section.ideas) == len(groups)
        assert sum(i.runs for i in section.ideas) == sum(1 for r in runs if not any(c.parent_key == r.key for c in runs))
        failed = sorted((r.name, first_line(r.note)) for r in runs if r.status in ("FAILED", "KILLED"))
        assert sorted((f.run.name, f.reason) for f in section.failures) == failed
    assert digest.totals["failed"] == sum(1 for _, r in expected if r.status == "FAILED") >= 2
    # the pipeline run that failed that week, with its error
    assert [(p.job, p.error) for p in digest.pipelines_failed] == [
        ("nightly_credit_features", "java.lang.OutOfMemoryError: Java heap space while joining bureau records")]


def test_improvements_are_exact_against_the_best_known_before(demo_service: MemoryService, demo_memory: dict) -> None:
    org: Organization = demo_memory["org"]
    checked = 0
    for week in ("2026-W17", "2026-W20", "2026-W25", "2026-W31"):
        period = parse_week(week)
        digest = demo_service.digest(*period, now=NOW, repeats=False)
        for section in digest.projects:
            spec = next(p for p in org.projects if p.name == section.project)
            sign = 1 if spec.goal == "max" else -1

            def finished(runs: list[RunSpec]) -> list[float]:
                return [v for r in runs if r.status == "FINISHED" and (v := r.final(spec.primary_metric)) is not None]

            before = finished([r for r in spec.runs if r.start < period[0]])
            during = finished([r for r in spec.runs if in_period(r, period)])
            best_before = max(before, key=lambda v: sign * v) if before else None
            best_now = max(during, key=lambda v: sign * v) if during else None
            if best_now is None or best_before is None or sign * (best_now - best_before) <= 0:
                assert section.improvement is None or section.improvement.before is None, section
                continue
            imp = section.improvement
            assert imp is not None and imp.metric == spec.primary_metric
            assert imp.before == pytest.approx(best_before, abs=1e-12) and imp.after == pytest.approx(best_now, abs=1e-12)
            assert imp.delta == pytest.approx(best_now - best_before, abs=1e-9)
            checked += 1
    assert checked >= 1


def same_config_before(project: ProjectSpec, run: RunSpec) -> list[RunSpec]:
    """Earlier runs with the same params (seed aside) on the same dataset version: what ``run`` repeats."""
    def config(r: RunSpec) -> dict[str, str]:
        return {k: v for k, v in r.params.items() if k != "seed"}

    return [r for r in project.runs if r.start < run.start and config(r) == config(run) and r.dataset == run.dataset]


def test_a_repro_of_the_baseline_is_reported_as_a_repeat(demo_service: MemoryService, demo_memory: dict) -> None:
    org: Organization = demo_memory["org"]
    project = next(p for p in org.projects if p.name == "churn-prediction")
    repro = next(r for r in project.runs if r.name.startswith("baseline-repro"))
    week = f"{repro.start.isocalendar()[0]}-W{repro.start.isocalendar()[1]:02d}"
    digest = demo_service.digest(*parse_week(week), now=NOW)
    section = next(s for s in digest.projects if s.project == project.name)
    repeat = next(r for r in section.repeats if r.run.name == repro.name)
    earlier = {node_of(demo_service, project.name, r).urn: r for r in same_config_before(project, repro)}
    assert repeat.earlier.urn in earlier
    spec = earlier[repeat.earlier.urn]
    value, baseline = spec.final(project.primary_metric), next(r for r in project.runs if r.tags.get("baseline"))
    verdict = "(the baseline)" if spec is baseline else (
        f"{'better' if (value - baseline.final(project.primary_metric)) * (1 if project.goal == 'max' else -1) > 0 else 'worse'}"
        f" than the baseline ({value - baseline.final(project.primary_metric):+.4f})")
    assert repeat.sentence == (f"this was tried in {spec.start:%B %Y} by team {spec.tags['team']}: "
                               f"{project.primary_metric} {value:.4f}" + (" " if spec is baseline else ", ") + verdict)
    assert "same params" in repeat.why and "same dataset version" in repeat.why
    # and nothing in the same week repeats an experiment on other data (a data refresh is new evidence)
    assert all("another version" not in r.why for s in digest.projects for r in s.repeats)


def test_similar_ranks_the_earlier_run_with_the_same_config_first(demo_service: MemoryService, demo_memory: dict) -> None:
    org: Organization = demo_memory["org"]
    project = next(p for p in org.projects if p.name == "churn-prediction")
    repro = next(r for r in project.runs if r.name.startswith("baseline-repro"))
    found = demo_service.similar(node_of(demo_service, project.name, repro).urn, limit=3)
    top = found.matches[0]
    assert top.earlier.urn in {node_of(demo_service, project.name, r).urn for r in same_config_before(project, repro)}
    assert top.is_repeat and top.params == 1.0 and top.data == 1.0
    assert all(m.earlier.time is not None and m.earlier.time < repro.start for m in found.matches)
    # a sweep's own trials are not "earlier attempts" of each other
    sweep = next(r for r in project.runs if r.parent_key)
    trial = demo_service.similar(node_of(demo_service, project.name, sweep).urn)
    parent = node_of(demo_service, project.name, next(r for r in project.runs if r.key == sweep.parent_key))
    assert all(m.earlier.group != parent.urn and m.earlier.urn != parent.urn for m in trial.matches)


def test_a_planned_config_finds_what_was_run_with_it(demo_service: MemoryService, demo_memory: dict) -> None:
    org: Organization = demo_memory["org"]
    project = next(p for p in org.projects if p.name == "credit-scoring")
    baseline = next(r for r in project.runs if r.tags.get("baseline") == "true")
    planned = {"project": project.name, "params": {k: v for k, v in baseline.params.items() if k != "seed"},
               "dataset": f"{baseline.dataset.uri}@{baseline.dataset.digest}", "notes": baseline.note}
    found = demo_service.similar_to_config(planned, limit=3, now=NOW)
    top = found.matches[0]
    assert top.earlier.project == project.name and top.is_repeat and top.params == 1.0 and top.data == 1.0
    assert top.earlier.params == {k: str(v) for k, v in top.earlier.params.items()}
    with pytest.raises(InvalidQuery, match="unknown field"):
        demo_service.similar_to_config({"project": project.name, "paramz": {}})


def test_registry_promotions_and_demotions_are_counted(demo_service: MemoryService, demo_memory: dict) -> None:
    org: Organization = demo_memory["org"]
    moment = datetime.now(timezone.utc)
    digest = demo_service.digest(moment - timedelta(days=2), moment + timedelta(minutes=1), now=moment, repeats=False)
    stages = [v.stage for m in org.models for v in m.versions if v.stage]
    assert digest.totals["promoted"] == sum(s in ("Production", "Staging") for s in stages)
    assert digest.totals["demoted"] == sum(s == "Archived" for s in stages)
    change = next(c for s in digest.projects for c in s.registry if c.change == "promoted")
    assert change.detail.endswith("Production") or change.detail.endswith("Staging")


def test_a_principal_sees_only_its_projects(demo_service: MemoryService, demo_memory: dict) -> None:
    org: Organization = demo_memory["org"]
    reader = Principal(name="credit", scopes=frozenset({Scope.read}), projects=frozenset({"credit-scoring"}))
    digest = demo_service.digest(*W20, principal=reader, now=NOW)
    assert {s.project for s in digest.projects} == {"credit-scoring"}
    assert digest.totals["runs"] == sum(1 for p, _ in spec_runs(org, W20) if p.name == "credit-scoring")
    churn = next(p for p in org.projects if p.name == "churn-prediction")
    with pytest.raises(NotFound):
        demo_service.similar(node_of(demo_service, churn.name, churn.runs[-1]).urn, principal=reader)
    credit = next(p for p in org.projects if p.name == "credit-scoring")
    found = demo_service.similar(node_of(demo_service, credit.name, credit.runs[-1]).urn, principal=reader, limit=10)
    assert found.matches and {m.earlier.project for m in found.matches} == {"credit-scoring"}


def test_renderings_link_every_item_and_fit_slack(demo_service: MemoryService) -> None:
    digest = demo_service.digest(*W20, now=NOW)
    markdown = render_digest(digest, "markdown")
    assert markdown.startswith("# Learning digest 2026-W20 (2026-05-11 – 2026-05-17)")
    for section in digest.projects:
        assert f"## {section.project} — {section.runs} run" in markdown
        for failure in section.failures:
            assert failure.run.urn in markdown and failure.reason in markdown
    html = render_digest(digest, "html")
    assert html.count("<h2>") == len(digest.projects) + 1 and "<script" not in html
    assert json.loads(render_digest(digest, "json"))["totals"] == digest.totals
    blocks = slack_blocks(digest)
    assert 0 < len(blocks) <= 50 and blocks[0]["type"] == "header"
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert len(slack_blocks(digest, max_blocks=5)) <= 5


def test_html_escapes_what_people_wrote() -> None:
    from memory.digest import Digest, Failure, ProjectDigest, RunRef
    from memory.digest_render import html_page

    evil = RunRef(urn="mlflow://x/runs/1", name="<img src=x onerror=alert(1)>", url="https://mlflow/x?a=1&b=<2>")
    section = ProjectDigest(project="p<b>", runs=1, failures=[Failure(evil, "FAILED", "loss < 0 & <script>")])
    page = html_page(Digest(W20[0], W20[1], NOW, [section], [], {k: 0 for k in (
        "runs", "ideas", "projects", "improved", "promoted", "demoted", "registry_changes", "failed", "killed",
        "pipelines_failed", "repeats", "open_threads")}))
    assert "<img" not in page and "<script>" not in page and "&lt;script&gt;" in page and "p&lt;b&gt;" in page


def test_week_names_and_periods() -> None:
    assert parse_week("2026-W47") == (datetime(2026, 11, 16, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert last_full_week(datetime(2026, 11, 23, 9, tzinfo=timezone.utc)) == parse_week("2026-W47")
    for bad in ("2026-47", "W47", "2026-W54"):
        with pytest.raises(InvalidQuery):
            parse_week(bad)


def test_the_schedule_fires_every_monday_at_nine_with_an_injected_clock() -> None:
    schedule = Weekly.parse("monday-09:00")
    assert schedule.next_after(datetime(2026, 11, 25, 12, tzinfo=timezone.utc)) == datetime(2026, 11, 30, 9, tzinfo=timezone.utc)
    assert schedule.next_after(datetime(2026, 11, 30, 9, tzinfo=timezone.utc)) == datetime(2026, 12, 7, 9, tzinfo=timezone.utc)
    assert schedule.cron() == "0 9 * * 1" and Weekly.parse("fri-17:30").cron() == "30 17 * * 5"
    for bad in ("monday", "someday-09:00", "monday-25:00", "mo-09:00"):
        with pytest.raises(InvalidQuery):
            Weekly.parse(bad)

    clock = [datetime(2026, 11, 25, 12, tzinfo=timezone.utc)]
    slept: list[float] = []
    fired: list[tuple[datetime, datetime]] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    def job(at: datetime) -> None:
        fired.append((at, clock[0]))
        clock[0] += timedelta(minutes=3)  # making and posting the digest takes time
        if len(fired) == 2:
            raise SourceUnavailable("webhook down")

    errors: list[datetime] = []
    ran = run_every(schedule, job, clock=lambda: clock[0], sleep=sleep, times=3, on_error=lambda at, exc: errors.append(at))
    mondays = [datetime(2026, 11, 30, 9, tzinfo=timezone.utc) + timedelta(days=7 * i) for i in range(3)]
    assert ran == 3 and [at for at, _ in fired] == mondays and errors == [mondays[1]]
    assert all(now >= at for at, now in fired) and max(slept) <= 3600


@pytest.fixture
def slack_double() -> Iterator[dict[str, Any]]:
    """A loopback HTTP server standing in for a Slack incoming webhook: it records each JSON body."""
    received: list[dict[str, Any]] = []
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "content_type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(state["status"])
            self.end_headers()
            self.wfile.write(b"ok" if state["status"] == 200 else b"invalid_blocks")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/secret", "received": received, "state": state}
    server.shutdown()
    server.server_close()


def test_the_digest_is_posted_to_an_incoming_webhook(demo_service: MemoryService, slack_double: dict[str, Any]) -> None:
    from ui.slack.posting import post_webhook

    digest = demo_service.digest(*W20, now=NOW)
    post_webhook(slack_double["url"], digest)
    [request] = slack_double["received"]
    assert request["path"] == "/services/T0/B0/secret" and request["content_type"].startswith("application/json")
    assert request["json"] == {"text": f"{digest.title}: {digest.headline()}", "blocks": slack_blocks(digest)}
    slack_double["state"]["status"] = 400
    with pytest.raises(SourceUnavailable, match="answered 400: invalid_blocks"):
        post_webhook(slack_double["url"], digest)


def test_ask_what_did_we_learn_answers_with_the_digest(demo_service: MemoryService) -> None:
    answer = demo_service.ask("what did we learn last week?", now=datetime(2026, 5, 20, 9, tzinfo=timezone.utc))
    assert answer.parsed.intent == "digest" and answer.digest is not None and not answer.nobody_tried
    assert answer.summary == answer.digest.headline() and answer.digest.totals["runs"] > 0


def test_group_of_a_trial_is_its_sweep(demo_service: MemoryService, demo_memory: dict) -> None:
    org: Organization = demo_memory["org"]
    project = org.projects[0]
    trial = next(r for r in project.runs if r.parent_key)
    parent = next(r for r in project.runs if r.key == trial.parent_key)
    assert group_of(node_of(demo_service, project.name, trial)) == node_of(demo_service, project.name, parent).urn


def test_two_systems_recording_one_execution_is_not_a_repeat() -> None:
    """A DVC pipeline commit and the MLflow run that logged the same training at that commit are one execution."""
    from datetime import datetime, timezone

    import numpy as np

    from memory.similar import RunProfile, compare, most_similar

    vector = np.ones(4, dtype=np.float32)
    params = {"train.lr": "0.05", "train.n_estimators": "100"}
    common = dict(params=params, datasets=frozenset({"dataset://file:///repo/data/features.csv@abc"}), vector=vector)
    dvc = RunProfile(urn="dvc:///repo/commits/c1", name="refresh", time=datetime(2026, 10, 19, 9, 30, tzinfo=timezone.utc),
                     system="dvc", commit="c1", **common)
    mlflow = RunProfile(urn="mlflow://h/runs/r1", name="refresh", time=datetime(2026, 10, 19, 10, 30, tzinfo=timezone.utc),
                        system="mlflow", commit="c1", **common)
    rerun = RunProfile(urn="mlflow://h/runs/r2", name="refresh again", time=datetime(2026, 10, 20, tzinfo=timezone.utc),
                       system="mlflow", commit="c1", **common)
    assert compare(mlflow, dvc).is_repeat  # alike in every way …
    assert mlflow.same_execution(dvc) and most_similar(mlflow, [dvc]) == []  # … but the same execution
    assert not rerun.same_execution(mlflow) and most_similar(rerun, [mlflow])[0].is_repeat  # a re-run is a repeat
