"""Where each app page lives, said once: the router and every link between pages use these.

Why a module without Streamlit: ``app.py`` (the router) and the pages' "Go to ..." links
must name the same files; a page renamed in one place and not the other is a dead link
Streamlit reports only when it is clicked.
"""

from __future__ import annotations

# One file per page: each page module is also the script Streamlit runs for it (its code
# under ``if __name__ == "__main__"``), so the tests import the same file the app serves.
QUESTIONNAIRE = "advisor/ui/questionnaire_page.py"
DATA = "advisor/ui/data_page.py"
PILOT = "advisor/ui/pilot_page.py"
REPORT = "advisor/ui/report_page.py"
# (path, title, URL path) in the order the sidebar lists them; the first is the default page
PAGES = (
    (QUESTIONNAIRE, "Questionnaire", "questionnaire"),
    (DATA, "Data", "data"),
    (PILOT, "Pilot", "pilot"),
    (REPORT, "Recommendation and report", "report"),
)
