"""How a page declares itself, how pages are found, and links between them."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import streamlit as st


@dataclass(frozen=True)
class PageInfo:
    title: str
    icon: str
    url_path: str
    order: int
    default: bool = False


def view_modules() -> list[ModuleType]:
    """Every module of ``ui.app.views`` that declares ``PAGE`` and ``render``, in menu order."""
    from ui.app import views

    found = []
    for info in pkgutil.iter_modules(views.__path__):
        module = importlib.import_module(f"ui.app.views.{info.name}")
        if isinstance(getattr(module, "PAGE", None), PageInfo) and callable(getattr(module, "render", None)):
            found.append(module)
    return sorted(found, key=lambda m: m.PAGE.order)


def _pages() -> dict[str, Any]:
    """The ``st.Page`` of each view by url path (built by :func:`ui.app.main.main`)."""
    return st.session_state.setdefault("_xmem_pages", {})


def page(url_path: str) -> Any:
    return _pages()[url_path]


def node_link(urn: str, label: str, *, icon: str | None = None, key_hint: str = "") -> None:
    """A link to the node page of ``urn``."""
    st.page_link(page("node"), label=label, icon=icon, query_params={"urn": urn})


def lineage_link(urn: str, label: str = "Lineage graph") -> None:
    st.page_link(page("lineage"), label=label, icon=":material/account_tree:", query_params={"urn": urn})


def go_compare(urns: list[str]) -> None:
    """Open the compare page with these runs selected."""
    st.session_state["compare_urns"] = list(dict.fromkeys(urns))
    st.switch_page(page("compare"))
