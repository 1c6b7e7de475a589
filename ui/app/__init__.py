"""The Streamlit app: ask/search, node pages, compare, lineage.

Run it with ``xmem ui`` (or ``streamlit run ui/app/main.py`` with ``XMEM_*`` set). Each page is
one module of :mod:`ui.app.views` declaring ``PAGE`` and ``render(memory)``; the navigation
finds them, so a page is added by adding one file.
"""
