"""Where each app page lives, said once: the router and every link between pages use these.

Why a module without Streamlit: ``app.py`` (the router) and the pages' "Go to ..." links
must name the same files; a page renamed in one place and not the other is a dead link
Streamlit reports only when it is clicked.
"""

from __future__ import annotations

QUESTIONNAIRE = "advisor/ui/pages/questionnaire.py"
DATA = "advisor/ui/pages/data.py"
PILOT = "advisor/ui/pages/pilot.py"
REPORT = "advisor/ui/pages/report.py"
# (path, title) in the order the sidebar lists them; the first is the default page
PAGES = (
    (QUESTIONNAIRE, "Questionnaire"),
    (DATA, "Data"),
    (PILOT, "Pilot"),
    (REPORT, "Recommendation and report"),
)
