"""The Slack bot: ``/xmem <question>``, ``@xmem`` mentions and digest posts (slack-bolt, mounted at ``/slack/events``)."""
