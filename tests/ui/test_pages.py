"""Each page's logic with Streamlit's AppTest (in-process, no browser) over the demo memory."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.ui.conftest import DemoMemory, open_page


@pytest.fixture
def app(ui_demo: DemoMemory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A factory of AppTests opening one page; the app reads the memory the XMEM_* settings name."""

    from memory.settings import settings_environment
    from ui.app.memory import open_memory

    for name, value in settings_environment(ui_demo.settings).items():
        monkeypatch.setenv(name, value)
    open_memory.clear()

    def make(start: str, **query: Any) -> Any:
        return open_page(start, **query)

    yield make
    open_memory.clear()


def test_ask_shows_the_summary_chips_and_badged_hits(app: Any, ui_demo: DemoMemory) -> None:
    project = ui_demo.org.projects[0].name
    at = app("ask").run()
    assert not at.exception
    at.text_input(key="question").input(f"failed runs in {project}").run()
    assert not at.exception, at.exception
    chips = at.multiselect(key="chips").value
    assert f"project = {project}" in chips and "status = FAILED" in chips
    markdown = " ".join(m.value for m in at.markdown)
    assert "run" in markdown.lower()
    captions = [c.value for c in at.caption]
    assert any(f"· {project} ·" in c for c in captions), captions
    # removing the status chip searches again without it: more results, all still in the project
    at.multiselect(key="chips").unselect("status = FAILED").run()
    assert not at.exception
    assert any("results with the edited filters" in s.value for s in at.subheader)
    assert all(f"· {project} ·" in c for c in (c.value for c in at.caption) if "· by " in c)


def test_a_bad_filter_chip_is_reported_not_raised(app: Any) -> None:
    at = app("ask").run()
    at.text_input(key="question").input("has anyone tried dropout").run()
    at.multiselect(key="chips").set_value(["metric.val_auc > high"]).run()
    assert not at.exception
    assert at.error and "metric.val_auc compares to numbers" in at.error[0].value


def test_node_page_of_a_run_and_of_an_unknown_urn(app: Any, ui_demo: DemoMemory) -> None:
    run = next(h for h in ui_demo.service.search(ui_demo.service.build_query("", kinds=["run"], limit=50)).hits
               if h.outcome.get("verdict") in ("better", "worse"))
    at = app("node", urn=run.urn).run()
    assert not at.exception, at.exception
    assert at.title[0].value == run.title
    assert {"Params", "Metrics", "Neighbours"} <= {s.value for s in at.subheader}
    assert any("than baseline" in str(b.proto.label) for b in at.get("badge")) or any(
        "than baseline" in m.value for m in at.markdown)
    at = app("node", urn="mlflow://nowhere/runs/none").run()
    assert not at.exception and "no node" in at.error[0].value


def test_compare_page_takes_runs_from_the_url(app: Any, ui_demo: DemoMemory) -> None:
    hits = ui_demo.service.search(ui_demo.service.build_query("", kinds=["run"], limit=15, group=False)).hits
    at = app("compare", urn=[h.urn for h in hits]).run()
    assert not at.exception, at.exception
    assert any(f"**{len(hits)} runs**" in m.value for m in at.markdown)
    assert any("xmem-compare" in h.proto.body for h in at.get("html"))


def test_lineage_page_builds_the_graph_and_the_diff_against_another_version(app: Any, ui_demo: DemoMemory) -> None:
    model = next(m for m in ui_demo.org.models if any("champion" in v.aliases for v in m.versions))
    urn = ui_demo.service.resolve_model_ref(f"{model.name}@champion")
    at = app("lineage", urn=urn).run()
    assert not at.exception, at.exception
    caption = next(c.value for c in at.caption if " nodes, " in c.value)
    assert caption.endswith("click a node to open it") and "as of now" in caption
    assert at.select_slider(key="lineage-as-of").value == "now"
    at.selectbox(key="lineage-against").select_index(1).run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("What changed:") for s in at.subheader)
    assert any(" changed against " in c.value for c in at.caption)


def busiest_week(demo: DemoMemory) -> tuple[str, int]:
    """The ISO week with the most demo runs, and how many runs started in it."""
    from collections import Counter

    from memory.digest import week_name

    weeks = Counter(week_name(run.start) for project in demo.org.projects for run in project.runs)
    return weeks.most_common(1)[0]


def test_digest_page_shows_the_week_asked_for(app: Any, ui_demo: DemoMemory) -> None:
    week, runs = busiest_week(ui_demo)
    at = app("digest", week=week).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="digest-week").value == week
    headline = next(i.value for i in at.info)
    assert headline.startswith(f"{runs:,} run"), (headline, runs)  # the exact count of the week's runs
    assert any(f"Learning digest {week}" in c.value for c in at.caption)
    assert any(" runs" in s.value for s in at.subheader)  # one section per active project
    # narrowing to one project keeps only its section
    project = next(s.value.split(" · ")[0] for s in at.subheader)
    at.multiselect(key="digest-projects").select(project).run()
    assert not at.exception, at.exception
    assert {s.value.split(" · ")[0] for s in at.subheader} == {project}
