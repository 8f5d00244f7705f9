"""Page script for st.navigation; the page itself is advisor.ui.report_page."""

from advisor.ui import report_page, state

state.run_page(report_page.render)
