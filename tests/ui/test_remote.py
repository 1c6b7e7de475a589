"""The app in remote mode (``xmem ui --api URL``): the same pages, through a real API served by uvicorn on
loopback over the demo memory, as a read token; compared with the same pages in-process."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator

import pytest
import uvicorn

from memory.api import create_app
from memory.demo.mlflow_server import free_port
from tests.ui.conftest import DemoMemory, open_page
from tests.ui.test_pages import busiest_week


@pytest.fixture(scope="module")
def api_url(ui_demo: DemoMemory) -> Iterator[str]:
    """The API over the demo memory, served by a real uvicorn on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ui_demo.settings, service=ui_demo.service), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def tokens(ui_demo: DemoMemory) -> dict[str, str]:
    """A read token for every project, and one limited to all projects but the last."""
    projects = [p.name for p in ui_demo.org.projects]
    every, _ = ui_demo.service.create_token("app-reader", ["read"], None)
    some, _ = ui_demo.service.create_token("app-some", ["read"], projects[:-1])
    return {"all": every, "some": some}


@pytest.fixture
def app(ui_demo: DemoMemory, api_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A factory of AppTests opening one page, in-process (``token=None``) or through the API as ``token``."""

    from memory.settings import settings_environment
    from ui.app.memory import open_memory

    for name, value in settings_environment(ui_demo.settings).items():
        monkeypatch.setenv(name, value)

    def make(start: str, *, token: str | None = None, url: str = api_url, **query: Any) -> Any:
        if token is None:
            monkeypatch.delenv("XMEM_UI_API_URL", raising=False)
            monkeypatch.delenv("XMEM_API_TOKEN", raising=False)
        else:
            monkeypatch.setenv("XMEM_UI_API_URL", url)
            monkeypatch.setenv("XMEM_API_TOKEN", token)
        open_memory.clear()
        return open_page(start, **query)

    yield make
    open_memory.clear()


def _ask(at: Any, question: str) -> Any:
    at.run()
    at.text_input(key="question").input(question).run()
    assert not at.exception, at.exception
    return at


def _hit_captions(at: Any) -> list[str]:
    return [c.value for c in at.caption if " · by " in c.value]


def test_ask_through_the_api_shows_what_the_embedded_memory_shows(app: Any, ui_demo: DemoMemory, api_url: str,
                                                                  tokens: dict[str, str]) -> None:
    project = ui_demo.org.projects[0].name
    question = f"failed runs in {project}"
    local = _ask(app("ask"), question)
    remote = _ask(app("ask", token=tokens["all"]), question)
    sidebar = [c.value for c in remote.sidebar.caption]
    assert any(f"API at {api_url}, as token app-reader" in c for c in sidebar), sidebar
    assert remote.multiselect(key="chips").value == local.multiselect(key="chips").value
    assert "status = FAILED" in remote.multiselect(key="chips").value
    summaries = [m.value for m in remote.markdown if m.value.startswith("#### ")]
    assert summaries and summaries == [m.value for m in local.markdown if m.value.startswith("#### ")]
    assert _hit_captions(remote) and _hit_captions(remote) == _hit_captions(local)  # the same hits, in the same order
    # an edited chip searches again through GET /search, like the in-process search
    local.multiselect(key="chips").unselect("status = FAILED").run()
    remote.multiselect(key="chips").unselect("status = FAILED").run()
    assert not remote.exception, remote.exception
    assert _hit_captions(remote) == _hit_captions(local)
    # a bad filter gives the API's message, as the embedded memory gives its own
    remote.multiselect(key="chips").set_value(["metric.val_auc > high"]).run()
    assert not remote.exception and "metric.val_auc compares to numbers" in remote.error[0].value


def test_node_compare_and_lineage_pages_through_the_api(app: Any, ui_demo: DemoMemory, tokens: dict[str, str]) -> None:
    service = ui_demo.service
    run = next(h for h in service.search(service.build_query("", kinds=["run"], limit=50)).hits
               if h.outcome.get("verdict") in ("better", "worse"))
    at = app("node", token=tokens["all"], urn=run.urn).run()
    assert not at.exception, at.exception
    assert at.title[0].value == run.title
    assert {"Params", "Metrics", "Neighbours"} <= {s.value for s in at.subheader}

    runs = service.search(service.build_query("", kinds=["run"], limit=12, group=False)).hits
    at = app("compare", token=tokens["all"], urn=[h.urn for h in runs]).run()
    assert not at.exception, at.exception
    assert any(f"**{len(runs)} runs**" in m.value for m in at.markdown)
    remote_table = next(h.proto.body for h in at.get("html") if "xmem-compare" in h.proto.body)
    local = app("compare", urn=[h.urn for h in runs]).run()
    assert remote_table == next(h.proto.body for h in local.get("html") if "xmem-compare" in h.proto.body)

    model = next(m for m in ui_demo.org.models if any("champion" in v.aliases for v in m.versions))
    urn = service.resolve_model_ref(f"{model.name}@champion")
    pages = {}
    for mode, token in (("remote", tokens["all"]), ("local", None)):
        at = app("lineage", token=token, urn=urn).run()
        assert not at.exception, at.exception
        at.selectbox(key="lineage-against").select_index(1).run()
        assert not at.exception, at.exception
        pages[mode] = at
    caption = lambda at: next(c.value for c in at.caption if " nodes, " in c.value)  # noqa: E731
    assert caption(pages["remote"]) == caption(pages["local"]) and " changed against " in caption(pages["remote"])
    heading = lambda at: [s.value for s in at.subheader if s.value.startswith("What changed:")]  # noqa: E731
    assert heading(pages["remote"]) and heading(pages["remote"]) == heading(pages["local"])


def test_digest_page_through_the_api(app: Any, ui_demo: DemoMemory, tokens: dict[str, str]) -> None:
    week, runs = busiest_week(ui_demo)
    at = app("digest", token=tokens["all"], week=week).run()
    assert not at.exception, at.exception
    headline = next(i.value for i in at.info)
    assert headline.startswith(f"{runs:,} run"), (headline, runs)
    assert any(f"Learning digest {week}" in c.value for c in at.caption)
    local = app("digest", week=week).run()
    assert [s.value for s in at.subheader] == [s.value for s in local.subheader]


def test_a_project_the_token_may_not_see_is_not_shown(app: Any, ui_demo: DemoMemory, tokens: dict[str, str]) -> None:
    hidden = ui_demo.org.projects[-1].name
    service = ui_demo.service
    run = service.search(service.build_query("", projects=[hidden], kinds=["run"], limit=1)).hits[0]
    at = app("node", token=tokens["some"], urn=run.urn).run()
    assert not at.exception, at.exception
    assert at.error and "no node" in at.error[0].value, [e.value for e in at.error]
    assert run.title not in [t.value for t in at.title]
    at = app("digest", token=tokens["some"], week=busiest_week(ui_demo)[0]).run()
    assert not at.exception, at.exception
    assert hidden not in at.multiselect(key="digest-projects").options
    assert all(not s.value.startswith(f"{hidden} ·") for s in at.subheader)
    at = _ask(app("ask", token=tokens["some"]), f"runs in {hidden}")
    assert all(f"· {hidden} ·" not in c for c in _hit_captions(at))


def test_a_bad_token_or_no_api_is_a_clear_message(app: Any, api_url: str) -> None:
    at = app("ask", token="not-a-token").run()
    assert not at.exception, at.exception
    message = at.error[0].value
    assert f"the API at {api_url} refused the token" in message and "--scopes read" in message, message
    port = free_port()
    at = app("ask", token="whatever", url=f"http://127.0.0.1:{port}").run()
    assert not at.exception, at.exception
    message = at.error[0].value
    assert f"the API at http://127.0.0.1:{port} does not answer" in message and "xmem serve" in message, message
