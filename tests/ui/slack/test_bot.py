"""The Slack bot mounted in the API: real slack-bolt request handling, requests signed with slack_sdk's
signature code, and a loopback HTTP server standing in for the Slack Web API and response URLs that
records exactly what Slack would receive."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode

import pytest
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier

from memory.api import create_app
from memory.digest import parse_week
from memory.digest_render import slack_blocks
from memory.entities import Principal, Scope
from memory.service import MemoryService
from memory.settings import Settings
from ui.slack.access import SlackAccess

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ACCESS = """
[[principal]]
name = "credit-team"
projects = ["credit-scoring"]
channels = ["CCREDIT"]

[[principal]]
name = "all-projects"
channels = ["CALL"]

[[principal]]
name = "churn-analyst"
projects = ["churn-prediction"]
users = ["UCHURN"]
"""


class FakeSlack:
    """Records every Web API call and response_url post; answers like Slack does."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.auth_tests: list[dict[str, Any]] = []
        self.lock = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks",):
                        if key in body:
                            body[key] = json.loads(body[key])
                call = {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                if self.path == "/api/auth.test":  # Bolt asks who the token belongs to, once
                    owner.auth_tests.append(call)
                    answer: dict[str, Any] | None = {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "xmem",
                                                     "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"}
                else:
                    with owner.lock:
                        owner.calls.append(call)
                        owner.lock.notify_all()
                    answer = {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"} if self.path.startswith("/api/") else None
                self.send_response(200)
                self.send_header("Content-Type", "application/json" if answer else "text/plain")
                self.end_headers()
                self.wfile.write(json.dumps(answer).encode() if answer else b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The first ``count`` calls (listeners run after the ack, in Bolt's thread pool)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.calls) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"Slack got {len(self.calls)} calls, expected {count}: {self.calls}"
                self.lock.wait(left)
            return list(self.calls[:count])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack(demo_memory: dict[str, Any], demo_service: MemoryService, tmp_path: Path) -> Iterator[dict[str, Any]]:
    fake = FakeSlack()
    access = tmp_path / "slack-access.toml"
    access.write_text(ACCESS)
    settings = Settings(home=demo_memory["home"], slack_signing_secret=SECRET, slack_bot_token="xoxb-test-token",
                        slack_access=access, slack_api_url=f"{fake.base}/api/")
    with TestClient(create_app(settings, service=demo_service)) as client:
        yield {"client": client, "fake": fake, "service": demo_service}
    fake.close()


def signed(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def command(fake: FakeSlack, text: str, *, channel: str, user: str = "UANY") -> str:
    return urlencode({"command": "/xmem", "text": text, "team_id": "T1", "channel_id": channel, "user_id": user,
                      "response_url": f"{fake.base}/commands/T1/{channel}", "trigger_id": "1.2.3", "token": "legacy"})


def post(client: TestClient, body: str, headers: dict[str, str], form: bool = True) -> Any:
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    return client.post("/slack/events", content=body, headers={**headers, "Content-Type": kind})


def test_unsigned_badly_signed_and_stale_requests_are_rejected(slack: dict[str, Any]) -> None:
    client, fake = slack["client"], slack["fake"]
    body = command(fake, "has anyone tried class weights?", channel="CCREDIT")
    assert post(client, body, {}).status_code == 401
    assert post(client, body, signed(body, secret="not-the-secret")).status_code == 401
    assert post(client, body, signed(body, timestamp=int(time.time()) - 10 * 60)).status_code == 401  # replay window
    tampered = body.replace("class+weights", "everything")
    assert post(client, tampered, signed(body)).status_code == 401
    time.sleep(0.5)
    assert fake.calls == [] and fake.auth_tests == []  # nothing reached a listener, nothing was posted


def test_slash_command_answers_in_channel_with_hits_and_buttons(slack: dict[str, Any], demo_memory: dict[str, Any]) -> None:
    client, fake = slack["client"], slack["fake"]
    body = command(fake, "has anyone tried class weights?", channel="CCREDIT")
    response = post(client, body, signed(body))
    assert response.status_code == 200
    [call] = fake.wait(1)
    assert call["path"] == "/commands/T1/CCREDIT"
    message = call["body"]
    assert message["response_type"] == "in_channel" and message["text"]
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    hits = [b for b in sections if b.get("accessory", {}).get("action_id") == "xmem_lineage"]
    assert hits, message["blocks"]
    # the channel may only see credit-scoring: every hit (and its lineage button) is from there, or of no project
    urns = [b["accessory"]["value"] for b in hits]
    nodes = slack["service"].store.get_nodes(urns)
    assert "credit-scoring" in {n.project for n in nodes.values()} <= {"credit-scoring", None}
    # exactly the answer the memory gives the channel's principal: its summary and its top hits, in order
    channel = Principal(name="slack:credit-team", scopes=frozenset({Scope.read}), projects=frozenset({"credit-scoring"}))
    expected = slack["service"].ask("has anyone tried class weights?", channel, limit=6)
    assert message["text"] == expected.summary and sections[0]["text"]["text"] == expected.summary
    assert urns == [h.urn for h in expected.hits[:5]]


def test_unmapped_channel_and_user_get_a_clear_ephemeral_refusal(slack: dict[str, Any]) -> None:
    client, fake = slack["client"], slack["fake"]
    body = command(fake, "has anyone tried mixup?", channel="CRANDOM", user="USTRANGER")
    response = post(client, body, signed(body))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral" and "not mapped" in answer["text"] and "XMEM_SLACK_ACCESS" in answer["text"]
    time.sleep(0.5)
    assert fake.calls == []


def test_a_mapped_user_in_an_unmapped_channel_gets_an_ephemeral_answer_of_their_projects(slack: dict[str, Any]) -> None:
    client, fake = slack["client"], slack["fake"]
    body = command(fake, "baseline runs", channel="CRANDOM", user="UCHURN")
    assert post(client, body, signed(body)).status_code == 200
    [call] = fake.wait(1)
    assert call["body"]["response_type"] == "ephemeral"
    urns = [b["accessory"]["value"] for b in call["body"]["blocks"] if b.get("accessory")]
    assert urns and "churn-prediction" in {n.project for n in slack["service"].store.get_nodes(urns).values()} <= {
        "churn-prediction", None}


def test_mention_is_answered_in_its_thread_by_the_bot(slack: dict[str, Any]) -> None:
    client, fake = slack["client"], slack["fake"]
    event = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1",
             "event_time": int(time.time()), "event": {"type": "app_mention", "user": "UANY", "channel": "CALL",
                                                       "ts": "1700000000.000100", "thread_ts": "1700000000.000001",
                                                       "text": "<@UBOT> has anyone tried label smoothing?"}}
    body = json.dumps(event)
    assert post(client, body, signed(body), form=False).status_code == 200
    [call] = fake.wait(1)
    assert call["path"] == "/api/chat.postMessage" and call["auth"] == "Bearer xoxb-test-token"
    sent = call["body"]
    assert sent["channel"] == "CALL" and sent["thread_ts"] == "1700000000.000001"  # the thread is kept
    assert any("label smoothing" in json.dumps(b).lower() for b in sent["blocks"])


def test_buttons_show_more_and_lineage_in_the_thread(slack: dict[str, Any]) -> None:
    client, fake = slack["client"], slack["fake"]
    text = "sweep"
    body = command(fake, text, channel="CALL")
    post(client, body, signed(body))
    [first] = fake.wait(1)
    blocks = first["body"]["blocks"]
    more = next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "xmem_more")
    lineage_urn = next(b["accessory"]["value"] for b in blocks if b.get("accessory"))

    def press(action: dict[str, Any]) -> None:
        payload = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "UANY"}, "channel": {"id": "CALL"},
                   "container": {"type": "message", "message_ts": "1700000001.000200", "is_ephemeral": False},
                   "message": {"ts": "1700000001.000200", "text": "answer"}, "trigger_id": "1.2",
                   "response_url": f"{fake.base}/actions/1", "actions": [action], "api_app_id": "A1", "token": "legacy"}
        form = urlencode({"payload": json.dumps(payload)})
        assert post(client, form, signed(form)).status_code == 200

    press({**more, "type": "button", "block_id": "b1", "action_ts": "1"})
    second = fake.wait(2)[1]
    assert second["path"] == "/api/chat.postMessage" and second["body"]["thread_ts"] == "1700000001.000200"
    page_two = [b["accessory"]["value"] for b in second["body"]["blocks"] if b.get("accessory")]
    page_one = [b["accessory"]["value"] for b in blocks if b.get("accessory")]
    assert page_two and not set(page_two) & set(page_one)  # the next hits, not the same again

    press({"action_id": "xmem_lineage", "value": lineage_urn, "type": "button", "block_id": "b2", "action_ts": "2"})
    third = fake.wait(3)[2]
    text = json.dumps(third["body"]["blocks"])
    assert third["body"]["thread_ts"] == "1700000001.000200" and "Upstream of" in text and "hop" in text


def test_what_did_we_learn_is_answered_with_the_digest(slack: dict[str, Any]) -> None:
    client, fake = slack["client"], slack["fake"]
    body = command(fake, "what did we learn since 2026-05-11 before 2026-05-18?", channel="CCREDIT")
    post(client, body, signed(body))
    [call] = fake.wait(1)
    text = json.dumps(call["body"]["blocks"])
    assert "Learning digest" in text and "credit-scoring" in text and "churn-prediction" not in text


def test_the_bot_posts_the_digest_to_a_channel_with_chat_post_message(slack: dict[str, Any], tmp_path: Path) -> None:
    from ui.slack.posting import bot_client, post_to_channel

    fake, service = slack["fake"], slack["service"]
    settings = Settings(home=tmp_path, slack_bot_token="xoxb-test-token", slack_api_url=f"{fake.base}/api/")
    principal = SlackAccess.model_validate({"principal": [{"name": "c", "projects": ["credit-scoring"], "channels": ["CCREDIT"]}]}
                                           ).principal_for(team=None, channel="CCREDIT", user=None, public=True)
    assert principal == Principal(name="slack:c", scopes=frozenset({Scope.read}), projects=frozenset({"credit-scoring"}))
    digest = service.digest(*parse_week("2026-W20"), principal=principal)
    ts = post_to_channel(bot_client(settings), "CCREDIT", digest)
    [call] = fake.wait(1)
    assert ts and call["path"] == "/api/chat.postMessage" and call["auth"] == "Bearer xoxb-test-token"
    assert call["body"]["channel"] == "CCREDIT" and call["body"]["blocks"] == slack_blocks(digest)


def test_access_rules_intersect_and_refuse() -> None:
    access = SlackAccess.model_validate({"principal": [
        {"name": "ch", "projects": ["a", "b"], "channels": ["C1"]},
        {"name": "u", "projects": ["b", "c"], "users": ["U1"]},
        {"name": "ws", "teams": ["T9"]},
    ]})
    assert access.principal_for(team="T1", channel="C1", user="U1", public=True).projects == frozenset({"b"})
    assert access.principal_for(team="T1", channel="C1", user="U2", public=True).projects == frozenset({"a", "b"})
    assert access.principal_for(team="T1", channel="C2", user="U1", public=True) is None  # not in an unmapped channel
    assert access.principal_for(team="T1", channel="C2", user="U1", public=False).projects == frozenset({"b", "c"})
    assert access.principal_for(team="T9", channel="C2", user="U5", public=False).projects is None
    assert access.principal_for(team="T1", channel="C2", user="U5", public=False) is None
