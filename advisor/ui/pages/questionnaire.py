"""Page script for st.navigation; the page itself is advisor.ui.questionnaire_page."""

from advisor.ui import questionnaire_page, state

state.run_page(questionnaire_page.render)
