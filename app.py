"""advisor in the browser: ``streamlit run app.py``. A router only; pages live in advisor/ui."""

import streamlit as st

st.set_page_config(page_title="advisor: prompting, RAG or finetuning?", layout="wide")
st.navigation(
    [
        st.Page("advisor/ui/pages/questionnaire.py", title="Questionnaire", default=True),
        st.Page("advisor/ui/pages/data.py", title="Data"),
        st.Page("advisor/ui/pages/pilot.py", title="Pilot"),
        st.Page("advisor/ui/pages/report.py", title="Recommendation and report"),
    ]
).run()
