"""Post a digest to Slack: through an incoming webhook, or by the bot to a channel (``chat.postMessage``)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from memory.digest import Digest
from memory.digest_render import fallback_text, slack_blocks
from memory.errors import InvalidConfig, SourceUnavailable
from memory.settings import Settings


def bot_client(settings: Settings) -> WebClient:
    """A Web API client with the bot token (``XMEM_SLACK_BOT_TOKEN``) at ``XMEM_SLACK_API_URL``."""
    if settings.slack_bot_token is None:
        raise InvalidConfig("posting as the bot needs XMEM_SLACK_BOT_TOKEN", hint="the bot token (xoxb-…) of the Slack app")
    return WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)


def post_webhook(url: str, digest: Digest, *, timeout: int = 30) -> None:
    """Send the digest's blocks to an incoming webhook; a refusal or an unreachable URL raises."""
    try:
        response = WebhookClient(url, timeout=timeout).send(text=fallback_text(digest), blocks=slack_blocks(digest))
    except OSError as exc:
        raise SourceUnavailable(f"cannot reach the Slack webhook: {exc}", hint="check the webhook URL and the network") from None
    if response.status_code != 200:
        raise SourceUnavailable(f"the Slack webhook answered {response.status_code}: {response.body}",
                                hint="check that the webhook URL is current (Slack app → Incoming Webhooks)")


def post_to_channel(client: WebClient, channel: str, digest: Digest) -> str:
    """Post the digest to ``channel`` as the bot; returns the message's ``ts``."""
    try:
        response = client.chat_postMessage(channel=channel, text=fallback_text(digest), blocks=slack_blocks(digest))
    except SlackApiError as exc:
        raise SourceUnavailable(f"Slack refused the digest for {channel}: {exc.response.get('error')}",
                                hint="invite the bot to the channel and check XMEM_SLACK_BOT_TOKEN") from None
    except OSError as exc:
        raise SourceUnavailable(f"cannot reach the Slack Web API: {exc}") from None
    return str(response.get("ts"))
