"""The Streamlit app's pages and widgets: the only package that imports streamlit.

``app.py`` routes to the four ``*_page`` modules: each is one page, and Streamlit runs it
as that page's script (``render`` through :func:`advisor.ui.state.run_page`). Logic that needs no
Streamlit (uploads, session files, the Host check in front of the server) lives in
``uploads.py``, ``store.py`` and ``hosts.py``.
"""
