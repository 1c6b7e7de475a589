"""The faces on the memory: the Slack bot (``ui.slack``) and the web app."""
