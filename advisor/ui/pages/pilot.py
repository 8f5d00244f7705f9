"""Page script for st.navigation; the page itself is advisor.ui.pilot_page."""

from advisor.ui import pilot_page, state

state.run_page(pilot_page.render)
