"""Page script for st.navigation; the page itself is advisor.ui.data_page."""

from advisor.ui import data_page, state

state.run_page(data_page.render)
