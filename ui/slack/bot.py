"""The slack-bolt app: ``/xmem <question>``, ``@xmem`` mentions, and the "show more" / "lineage" buttons.

Every request's signature and timestamp are verified by Bolt (HMAC-SHA256 with the signing secret,
5-minute replay window) before any listener runs. Each answer is computed with the principal the
Slack workspace, channel and user map to (:mod:`ui.slack.access`); a button press is checked again
for the person who pressed it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from memory.entities import Principal
from memory.errors import XmemError
from memory.service import MemoryService
from ui.slack.access import SlackAccess
from ui.slack.blocks import LINEAGE_ACTION, MORE_ACTION, PAGE, answer_blocks, lineage_blocks, text_block

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
HELP = ("Ask the experiment memory, e.g. `/xmem has anyone tried label smoothing on churn?`, "
        "`/xmem what produced churn-classifier@champion?` or `/xmem what did we learn this week?`")


def refusal(channel: str | None) -> str:
    return (f"This channel ({channel or 'unknown'}) and you are not mapped to any project of the experiment memory, "
            "so I cannot answer here. Ask an admin to add the channel or your Slack user to the Slack access file "
            "(XMEM_SLACK_ACCESS).")


class SlackBot:
    """Holds the Bolt app; ``service()`` gives the memory (the API's, created at start-up)."""

    def __init__(self, service: Callable[[], MemoryService], access: SlackAccess, *, signing_secret: str,
                 token: str | None, client: WebClient | None = None) -> None:
        self.service = service
        self.access = access
        self.app = App(signing_secret=signing_secret, token=token, client=client, token_verification_enabled=False,
                       request_verification_enabled=True, ssl_check_enabled=True, url_verification_enabled=True)
        self.app.command("/xmem")(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.action(MORE_ACTION)(self._on_more)
        self.app.action(LINEAGE_ACTION)(self._on_lineage)
        self.app.error(self._on_error)

    def dispatch(self, request: BoltRequest) -> BoltResponse:
        return self.app.dispatch(request)

    # -- who is asking
    def _principal(self, team: str | None, channel: str | None, user: str | None) -> tuple[Principal | None, bool]:
        """(principal, public): the channel's when the answer can be posted there, else the asker's alone."""
        public = self.access.principal_for(team=team, channel=channel, user=user, public=True)
        if public is not None:
            return public, True
        return self.access.principal_for(team=team, channel=channel, user=user, public=False), False

    # -- listeners
    def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        question = (command.get("text") or "").strip()
        if not question:
            ack(response_type="ephemeral", text=HELP)
            return
        principal, public = self._principal(command.get("team_id"), command.get("channel_id"), command.get("user_id"))
        if principal is None:
            ack(response_type="ephemeral", text=refusal(command.get("channel_id")))
            return
        ack()
        text, blocks = self._answer(question, principal)
        respond(text=text, blocks=blocks, response_type="in_channel" if public else "ephemeral")

    def _on_mention(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        channel, user = event.get("channel"), event.get("user")
        thread = event.get("thread_ts") or event.get("ts")
        principal = self.access.principal_for(team=body.get("team_id") or event.get("team"), channel=channel, user=user,
                                              public=True)
        if principal is None:
            client.chat_postEphemeral(channel=channel, user=user, text=refusal(channel))
            return
        question = _MENTION.sub("", event.get("text") or "").strip()
        if not question:
            client.chat_postMessage(channel=channel, thread_ts=thread, text=HELP)
            return
        text, blocks = self._answer(question, principal)
        client.chat_postMessage(channel=channel, thread_ts=thread, text=text, blocks=blocks)

    def _on_more(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: WebClient) -> None:
        ack()
        try:
            value = json.loads(action.get("value") or "{}")
            question, offset = str(value["q"]), int(value["n"])
        except (ValueError, KeyError, TypeError):
            respond(response_type="ephemeral", replace_original=False, text="That button is broken; ask again.")
            return
        self._reply_to_action(body, respond, client, lambda principal: self._answer(question, principal, offset=offset))

    def _on_lineage(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: WebClient) -> None:
        ack()
        urn = action.get("value") or ""

        def lineage(principal: Principal) -> tuple[str, list[dict[str, Any]]]:
            try:
                return lineage_blocks(self.service().lineage(urn, direction="up", depth=3, principal=principal))
            except XmemError as exc:
                return str(exc), text_block(str(exc))

        self._reply_to_action(body, respond, client, lineage)

    def _reply_to_action(self, body: dict[str, Any], respond: Any, client: WebClient,
                         make: Callable[[Principal], tuple[str, list[dict[str, Any]]]]) -> None:
        """Answer a button press for the person who pressed it: in the message's thread when the message is public."""
        team = (body.get("team") or {}).get("id")
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        container = body.get("container") or {}
        message = body.get("message") or {}
        principal, public = self._principal(team, channel, user)
        if principal is None:
            respond(response_type="ephemeral", replace_original=False, text=refusal(channel))
            return
        text, blocks = make(principal)
        if public and not container.get("is_ephemeral") and message.get("ts"):
            client.chat_postMessage(channel=channel, thread_ts=message.get("thread_ts") or message["ts"], text=text,
                                    blocks=blocks)
        else:
            respond(response_type="ephemeral", replace_original=False, text=text, blocks=blocks)

    def _answer(self, question: str, principal: Principal, *, offset: int = 0) -> tuple[str, list[dict[str, Any]]]:
        try:
            answer = self.service().ask(question, principal, limit=offset + PAGE + 1)
        except XmemError as exc:
            return str(exc), text_block(f"Sorry: {exc}")
        return answer_blocks(answer, offset=offset)

    def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request failed: %s", error, exc_info=error)
