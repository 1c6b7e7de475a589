"""The app's pure pieces: filter chips round-trip through the --where grammar, the comparison
keeps only what differs, the lineage layout and the diff highlight."""

from __future__ import annotations

from datetime import datetime, timezone

from memory.entities import Edge, EdgeKind, Node, NodeKind, Source
from memory.query import parse_where
from memory.query.natural import Vocabulary, parse_question
from memory.service import Lineage, NodeView
from memory.why import Change, Diff
from ui.app.compare import comparison_rows, differing, run_label
from ui.app.filters import chips_of, facet_chip, value_text, where_of
from ui.app.graph import changed_urns, lineage_option

VOCABULARY = Vocabulary(projects=("churn-prediction", "fraud detection"), people=("ana",), models=(), datasets=(),
                        metrics=("val_auc",), params=("learning_rate",), values=())


def node(urn: str, kind: str = "run", name: str | None = None, **properties: object) -> Node:
    return Node(urn=urn, kind=NodeKind(kind), name=name or urn.rsplit("/", 1)[-1],
                source=Source(system=urn.split(":", 1)[0], instance="local", id=urn.rsplit("/", 1)[-1]),
                project=str(properties.pop("project", "p")), properties=dict(properties))


def test_chips_of_a_parsed_question_are_valid_filters_and_mean_the_same() -> None:
    now = datetime(2026, 6, 15, tzinfo=timezone.utc)
    parsed = parse_question("failed runs in churn-prediction by ana since March with val_auc > 0.8", VOCABULARY, now=now)
    chips = chips_of(parsed)
    assert "project = churn-prediction" in chips and "person = ana" in chips and "time >= 2026-03-01" in chips
    assert any(c.startswith("metric.val_auc > 0.8") for c in chips), chips
    # the chips joined are the question's own filter (a date without a zone is UTC, as everywhere in filters)
    utc = ", tzinfo=datetime.timezone.utc"
    assert repr(parse_where(where_of(chips))) == repr(parsed.filter()).replace(utc, ""), (chips, parsed.filter())


def test_values_are_quoted_only_when_the_grammar_needs_it() -> None:
    assert value_text("churn-prediction") == "churn-prediction"
    assert value_text("fraud detection") == "'fraud detection'"
    assert value_text("it's") == "'it\\'s'"
    assert value_text("and") == "'and'"
    assert value_text(0.8) == "0.8"
    chip = facet_chip("project", "fraud detection")
    assert parse_where(chip).value == "fraud detection"  # type: ignore[union-attr]
    assert where_of([]) is None and where_of(["kind = run"]) == "kind = run"
    assert where_of(["kind = run", "status = FAILED or status = KILLED"]) == "(kind = run) and (status = FAILED or status = KILLED)"


def test_comparison_keeps_what_differs_for_any_number_of_runs() -> None:
    views = []
    for i in range(14):
        run = node(f"mlflow://s/runs/r{i}", project="a" if i < 7 else "b",
                   params={"lr": "0.1" if i % 2 else "0.05", "seed": "7"}, metrics={"auc": 0.8 + i / 100}, git_commit="abc")
        data = node(f"dataset://d@{'v1' if i < 10 else 'v2'}", "dataset_version")
        views.append(NodeView(run, [(Edge(src=run.urn, kind=EdgeKind.used, dst=data.urn), data)], []))
    rows = comparison_rows(views)
    kept = {(r.section, r.key) for r in differing(rows)}
    assert ("param", "lr") in kept and ("run", "project") in kept and ("data", "dataset versions") in kept
    assert ("param", "seed") not in kept and ("code", "commit") not in kept
    assert ("metric", "auc") in kept and all(len(r.values) == 14 for r in rows)
    taken: set[str] = set()
    assert len({run_label(v, taken) for v in views}) == 14


def _lineage() -> tuple[Lineage, Diff]:
    mv = node("mlflow://s/models/m/versions/2", "model_version", "m v2")
    old_mv = node("mlflow://s/models/m/versions/1", "model_version", "m v1")
    run = node("mlflow://s/runs/r2")
    data = node("dataset://d@v2", "dataset_version")
    edges = [Edge(src=run.urn, kind=EdgeKind.produced, dst=mv.urn), Edge(src=run.urn, kind=EdgeKind.used, dst=data.urn)]
    graph = Lineage(root=mv.urn, direction="up", nodes={n.urn: n for n in (mv, run, data)},
                    depth_of={mv.urn: 0, run.urn: 1, data.urn: 2}, edges=edges)
    change = Change("dataset_swap", "dataset://d", "d@v1", "d@v2", "d: v1 → v2",
                    details={"before_version": "dataset://d@v1", "after_version": data.urn})
    diff = Diff(current=mv, baseline=old_mv, current_run=run, baseline_run=None, changes=[change], metrics=[])
    return graph, diff


def test_lineage_layout_puts_upstream_left_by_hop_and_highlights_the_diff() -> None:
    graph, diff = _lineage()
    changed = changed_urns(diff)
    assert "dataset://d@v2" in changed and graph.root not in changed
    option = lineage_option(graph.root, [graph], changed=changed)
    data = {d["id"]: d for d in option["series"][0]["data"]}
    assert data[graph.root]["x"] == 0 and data["mlflow://s/runs/r2"]["x"] < 0 and data["dataset://d@v2"]["x"] < data["mlflow://s/runs/r2"]["x"]
    assert data["dataset://d@v2"]["itemStyle"]["borderColor"] == "#E45756"
    assert "changed" in data["dataset://d@v2"]["label"]["formatter"]
    assert {(link["source"], link["target"]) for link in option["series"][0]["links"]} == {
        ("mlflow://s/runs/r2", graph.root), ("mlflow://s/runs/r2", "dataset://d@v2")}


def test_a_param_change_highlights_the_training_run() -> None:
    graph, diff = _lineage()
    diff.changes = [Change("param_change", "learning_rate", "0.1", "0.3", "param learning_rate: 0.1 → 0.3")]
    assert changed_urns(diff) == {"mlflow://s/runs/r2"}


def test_xmem_ui_refuses_to_listen_beyond_loopback(tmp_path: object) -> None:
    from typer.testing import CliRunner

    from memory.cli.main import app

    result = CliRunner().invoke(app, ["--home", str(tmp_path), "ui", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "only listens on loopback" in result.output and "0.0.0.0" in result.output
