"""A demo memory (the demo organization in the session's real MLflow server, ingested), the app
served from it by a real ``streamlit`` process on loopback, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from ingest.base import IngestReport
from memory.demo.mlflow_server import free_port
from memory.demo.mlflow_writer import write_organization
from memory.demo.org import Organization, generate_organization
from memory.service import MemoryService
from memory.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]
DEMO_SCALE = 0.15


@dataclass
class DemoMemory:
    settings: Settings
    org: Organization
    service: MemoryService  # read-only use by the tests, next to the app's own process


@pytest.fixture(scope="session")
def ui_demo(tmp_path_factory: pytest.TempPathFactory, mlflow_server: Any, embedder: Any) -> Iterator[DemoMemory]:
    """The demo organization written to the session's MLflow server and ingested into a fresh memory."""
    org = generate_organization(seed=7, scale=DEMO_SCALE)
    write_organization(org, mlflow_server.url)
    settings = Settings(home=tmp_path_factory.mktemp("ui-demo") / "xmem")
    service = MemoryService(settings, embedder=embedder)
    config = {"tracking_uri": mlflow_server.url, "experiments": tuple(p.name for p in org.projects)}
    report = service.ingest(service.make_ingestor("mlflow", config, IngestReport()))
    assert report.new > org.run_count, report.as_dict()
    yield DemoMemory(settings, org, service)
    service.close()


@pytest.fixture(scope="session")
def app_url(ui_demo: DemoMemory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app (``streamlit run ui/app/main.py``) on a free loopback port over the demo memory."""
    from ui.app import launch

    port = free_port()
    log = tmp_path_factory.mktemp("ui-app") / "app.log"
    process = launch.start(ui_demo.settings, port=port, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        launch.wait_until_ready(process, url, timeout=120)
    except Exception:
        launch.stop(process)
        raise AssertionError(f"the app did not start; its log:\n{log.read_text()[-4000:]}") from None
    yield url
    launch.stop(process)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (installed by scripts/browser.sh; never downloaded)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/browser.sh` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where each browser test saves its screenshots (kept with pytest's tmp_path as test artifacts)."""
    folder = Path(os.environ.get("XMEM_TEST_ARTIFACTS", tmp_path)) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _run_app(start: str) -> None:
    from ui.app.main import main

    main(start)


def open_page(start: str, **query: Any) -> Any:
    """A Streamlit ``AppTest`` of the app opened at page ``start`` with these URL query parameters."""
    from streamlit.testing.v1 import AppTest

    test = AppTest.from_function(_run_app, args=(start,), default_timeout=120)
    for key, value in query.items():
        test.query_params[key] = value
    return test
