"""Entry point of the Streamlit app (``xmem ui`` runs ``streamlit run`` on this file)."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # `streamlit run ui/app/main.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import streamlit as st

from memory.errors import XmemError
from ui.app.memory import open_memory
from ui.app.pages import view_modules


def main(start: str | None = None) -> None:
    """Build the navigation from the views and run the page the URL names (``start``: the page opened at
    the app's root instead of the default one, for tests)."""
    st.set_page_config(page_title="Experiment Memory", page_icon=":material/neurology:", layout="wide")
    modules = view_modules()
    try:
        memory = open_memory()
    except XmemError as exc:  # e.g. the API does not answer or refuses the token: say so, not a traceback
        st.title("Experiment Memory")
        st.error(f"Cannot open the memory: {exc}")
        st.stop()

    def runner(module):  # noqa: ANN001, ANN202 - one closure per page
        return lambda: module.render(memory)

    pages = {
        m.PAGE.url_path: st.Page(runner(m), title=m.PAGE.title, icon=m.PAGE.icon, url_path=m.PAGE.url_path,
                                 default=m.PAGE.url_path == start if start else m.PAGE.default)
        for m in modules
    }
    st.session_state["_xmem_pages"] = pages
    current = st.navigation(list(pages.values()))
    with st.sidebar:
        st.caption(memory.describe())
    current.run()


if __name__ == "__main__":
    main()
