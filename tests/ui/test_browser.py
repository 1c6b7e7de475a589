"""The app in a real browser: Debian's chromium (headless, through Playwright) against a real
``streamlit`` server over the demo memory. Each test saves a screenshot of its page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.ui.conftest import DemoMemory

pytestmark = pytest.mark.slow


def _sweep(demo: DemoMemory) -> tuple[str, str]:
    """A sweep of the demo organization: its idea and its parent run's name."""
    run = next(r for p in demo.org.projects for r in p.runs if r.name.startswith("sweep: "))
    return run.name.removeprefix("sweep: "), run.name


def _sweep_run_names(demo: DemoMemory, parent: str) -> set[str]:
    project = next(p for p in demo.org.projects if any(r.name == parent for r in p.runs))
    key = next(r.key for r in project.runs if r.name == parent)
    return {parent} | {r.name for r in project.runs if r.parent_key == key}


def _urn_of_run(demo: DemoMemory, name: str) -> str:
    hits = demo.service.search(demo.service.build_query(name, kinds=["run"], limit=20, group=False)).hits
    return next(h.urn for h in hits if h.title == name)


def _champion(demo: DemoMemory) -> str:
    model = next(m for m in demo.org.models if any("champion" in v.aliases for v in m.versions))
    return demo.service.resolve_model_ref(f"{model.name}@champion")


def _settled(page: Any) -> None:
    """Wait until the app finished its rerun: no 'running' status widget, no placeholder skeletons."""
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"], [data-testid=\"stSkeleton\"]')",
        timeout=60_000,
    )
    page.wait_for_timeout(500)


def test_ask_shows_grouped_hits_with_outcome_badges_and_facets(app_url: str, ui_demo: DemoMemory, page: Any,
                                                              screenshots: Path) -> None:
    idea, parent = _sweep(ui_demo)
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Question", exact=True)
    box.fill(f"has anyone tried {idea}?")
    box.press("Enter")
    page.locator(".st-key-hit-0 a").first.wait_for()
    _settled(page)
    page.screenshot(path=str(screenshots / "ask.png"), full_page=True)
    hits = page.locator("[class*='st-key-hit-']")
    text = " ".join(hits.all_inner_texts())
    sweep_runs = _sweep_run_names(ui_demo, parent)
    assert any(name in text for name in sweep_runs), (sweep_runs, text[:1500])  # the known demo sweep is found
    assert re.search(r"\+ \d+ similar runs grouped", text), text[:2000]  # the sweep folded into one row
    assert re.search(r"(better|worse) than baseline", text), text[:2000]  # outcome badges
    assert re.search(r"by [\w.\-]+ · 2026-\d\d-\d\d", text)  # who and when
    facets = page.get_by_text("Facets")
    assert facets.is_visible()
    project = ui_demo.org.projects[0].name
    # a facet click adds its filter as a chip, and the results then all belong to that project
    facet = page.locator("[class*='st-key-facet-project-'] button").first
    facet_label = facet.inner_text()
    facet.click()
    _settled(page)
    chosen = facet_label.rsplit(" (", 1)[0]
    page.get_by_text(f"project = {chosen}").first.wait_for()
    page.locator(".st-key-hit-0").wait_for()
    captions = " ".join(page.locator("[class*='st-key-hit-'] [data-testid='stCaptionContainer']").all_inner_texts())
    assert all(f"· {chosen} ·" in line for line in captions.split("\n") if "· by " in line), (chosen, captions, project)
    page.screenshot(path=str(screenshots / "ask-filtered.png"), full_page=True)


def test_node_page_shows_params_metrics_chart_and_sweep_siblings(app_url: str, ui_demo: DemoMemory, page: Any,
                                                                 screenshots: Path) -> None:
    idea, parent = _sweep(ui_demo)
    child = next(r for p in ui_demo.org.projects for r in p.runs
                 if r.parent_key and any(x.key == r.parent_key and x.name == parent for x in p.runs))
    urn = _urn_of_run(ui_demo, child.name)
    page.goto(f"{app_url}/node?urn={quote(urn, safe='')}")
    page.get_by_role("heading", name=child.name).wait_for()
    page.get_by_role("heading", name="Metrics").wait_for()
    page.locator("[data-testid='stVegaLiteChart'], [data-testid='stArrowVegaLiteChart']").first.wait_for()
    _settled(page)
    page.screenshot(path=str(screenshots / "node.png"), full_page=True)
    body = page.locator("section.main, [data-testid='stMain']").first.inner_text()
    assert "Params" in body and "Neighbours" in body
    for key in child.params:
        assert key in body, key
    assert "across the sweep" in body  # the comparison with its siblings
    assert page.get_by_role("link", name=re.compile("Open in mlflow")).get_attribute("href").startswith("http://127.0.0.1")
    charts = page.locator("[data-testid='stVegaLiteChart'], [data-testid='stArrowVegaLiteChart']")
    assert charts.count() >= 2


def test_compare_takes_more_than_ten_runs_across_projects(app_url: str, ui_demo: DemoMemory, page: Any,
                                                          screenshots: Path) -> None:
    page.goto(f"{app_url}/compare")
    find = page.get_by_role("textbox", name="Find runs", exact=True)
    find.fill("baseline learning rate sweep")
    find.press("Enter")
    add_all = page.get_by_role("button", name=re.compile(r"Add all \d+ runs found"))
    add_all.wait_for()
    found = int(re.search(r"Add all (\d+)", add_all.inner_text()).group(1))  # type: ignore[union-attr]
    assert found >= 12
    add_all.click()
    summary = page.get_by_text(re.compile(r"\d+ runs from \d+ project"))
    summary.wait_for()
    _settled(page)
    page.screenshot(path=str(screenshots / "compare.png"), full_page=True)
    runs, projects = map(int, re.search(r"(\d+) runs from (\d+) project", summary.inner_text()).groups())  # type: ignore[union-attr]
    assert runs == found and runs >= 12 and projects >= 2
    table = page.locator(".xmem-compare table")
    table.wait_for()
    # one column per run (after the section and 'what' columns), and only the differing rows by default
    assert table.locator("thead th").count() == runs + 2
    shown, total = map(int, re.search(r"(\d+) of (\d+) rows shown", page.locator("body").inner_text()).groups())  # type: ignore[union-attr]
    assert 0 < shown < total
    assert table.locator("tbody tr").count() == shown
    keys = table.locator("tbody th.key").all_inner_texts()
    assert "project" in keys and "param" in table.locator("tbody th.section").all_inner_texts()
    page.get_by_role("heading", name="Metrics side by side").wait_for()


def test_lineage_graph_changes_with_the_as_of_time_and_highlights_a_diff(app_url: str, ui_demo: DemoMemory,
                                                                        page: Any, screenshots: Path) -> None:
    urn = _champion(ui_demo)
    version = ui_demo.service.show(urn)
    page.goto(f"{app_url}/lineage?urn={quote(urn, safe='')}")
    page.get_by_role("heading", name=re.compile("Lineage of")).wait_for()
    caption = page.get_by_text(re.compile(r"\d+ nodes, \d+ edges · as of now"))
    caption.wait_for()
    graph_text = page.locator("svg text")
    graph_text.first.wait_for()
    _settled(page)
    page.screenshot(path=str(screenshots / "lineage-now.png"), full_page=True)
    labels = " ".join(graph_text.all_text_contents())
    run = next(n for e, n in version.neighbours if e.kind.value == "produced")
    assert run.name[:20] in labels, labels[:1000]
    nodes_now = int(re.match(r"(\d+) nodes", caption.inner_text()).group(1))  # type: ignore[union-attr]
    # move the as-of slider to its first moment: the graph is redrawn as it was then
    slider = page.get_by_role("slider")
    slider.focus()
    slider.press("Home")
    earlier = page.get_by_text(re.compile(r"\d+ nodes, \d+ edges · as of 20\d\d-"))
    earlier.wait_for()
    _settled(page)
    page.screenshot(path=str(screenshots / "lineage-as-of.png"), full_page=True)
    nodes_then = int(re.match(r"(\d+) nodes", earlier.inner_text()).group(1))  # type: ignore[union-attr]
    assert nodes_then < nodes_now
    # back to now, and highlight what changed against another version of the model
    slider.focus()
    slider.press("End")
    page.get_by_text(re.compile(r"· as of now")).wait_for()
    page.get_by_role("combobox", name="Highlight what changed against").click()
    page.get_by_role("option").nth(1).click()
    page.get_by_text(re.compile(r"\d+ changed against")).wait_for()
    page.get_by_role("heading", name=re.compile("What changed")).wait_for()
    _settled(page)
    page.screenshot(path=str(screenshots / "lineage-diff.png"), full_page=True)
    assert "changed" in " ".join(page.locator("svg text").all_text_contents())


def test_digest_page_is_browsable_by_week(app_url: str, ui_demo: DemoMemory, page: Any, screenshots: Path) -> None:
    from tests.ui.test_pages import busiest_week

    week, runs = busiest_week(ui_demo)
    page.goto(f"{app_url}/digest?week={week}")
    page.get_by_role("heading", name="What did we learn?").wait_for()
    page.get_by_text(re.compile(rf"^{runs:,} runs? of \d+ ideas?")).wait_for()
    _settled(page)
    page.screenshot(path=str(screenshots / "digest.png"), full_page=True)
    assert page.get_by_text(f"Learning digest {week}", exact=False).first.is_visible()
    links = page.locator("[data-testid='stPageLink'] a")
    assert links.count() > 0  # every item links to its node page
    links.first.click()
    page.get_by_role("heading").first.wait_for()
    _settled(page)
    assert "/node" in page.url
