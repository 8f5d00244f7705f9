"""advisor in the browser: ``streamlit run app.py``. A router only; pages live in advisor/ui.

``streamlit run`` imports this file and serves ``app`` below, so every request passes
:mod:`advisor.ui.hosts` (a Host that is not this machine is refused) before Streamlit sees
it; each browser session then runs this file as its script: the router.
"""

import streamlit as st

if __name__ == "__main__":  # a browser session (or AppTest) running the script
    st.set_page_config(page_title="advisor: prompting, RAG or finetuning?", layout="wide")
    from advisor.ui.page_paths import PAGES

    st.navigation(
        [
            st.Page(path, title=title, url_path=url, default=i == 0)
            for i, (path, title, url) in enumerate(PAGES)
        ]
    ).run()
else:  # `streamlit run app.py` serving the app
    from advisor.ui.hosts import host_guard

    app = st.App(__file__, middleware=host_guard())
