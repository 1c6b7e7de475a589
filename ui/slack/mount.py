"""Mount the Slack bot in the API: ``POST /slack/events`` (slash commands, events and interactive actions)."""

from __future__ import annotations

from typing import Any

from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from memory.errors import InvalidConfig
from memory.settings import Settings
from ui.slack.access import SlackAccess
from ui.slack.bot import SlackBot


def build_bot(app: Any, settings: Settings, *, client: WebClient | None = None) -> SlackBot:
    """The bot over the API's memory (``app.state.service``), configured by the ``XMEM_SLACK_*`` settings."""
    if settings.slack_signing_secret is None:
        raise InvalidConfig("the Slack bot needs XMEM_SLACK_SIGNING_SECRET", hint="copy it from the Slack app's Basic Information page")
    access = SlackAccess.load(settings.slack_access) if settings.slack_access else SlackAccess()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if client is None:
        client = WebClient(token=token, base_url=settings.slack_api_url)
    return SlackBot(lambda: app.state.service, access, signing_secret=settings.slack_signing_secret.get_secret_value(),
                    token=token, client=client)


def mount_slack(app: Any, settings: Settings, *, client: WebClient | None = None) -> SlackBot:
    """Add ``POST /slack/events`` to the API app (a Starlette route: Slack signs its requests, no API token)."""
    bot = build_bot(app, settings, client=client)

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        response: Any = await run_in_threadpool(bot.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    app.add_route("/slack/events", slack_events, methods=["POST"], include_in_schema=False)
    app.state.slack_bot = bot
    return bot
