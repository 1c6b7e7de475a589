"""The faces people use: the Streamlit app (:mod:`ui.app`) and the Slack bot (:mod:`ui.slack`)."""
