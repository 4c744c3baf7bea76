"""E-mail, Telegram and the socket feed on real NATS and PostgreSQL.

An e-mail reaches an SMTP server the test starts (aiosmtpd), in plain text and HTML; a Telegram
message reaches a stand-in of the Bot API that checks the request's path and JSON; a rule with
the socket on publishes the notification on ``notify.<account>``.
"""

from __future__ import annotations

import asyncio
import email
import json
import socket
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from nats.aio.client import Client

from papertape.common.testing.receivers import HttpStandIn, Received
from papertape.contract.codec import Codec
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointKind,
    Happening,
    ListDeliveries,
    Notified,
    RuleAdded,
)
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.notification.bootstrap import NotificationService
from tests.notification.conftest import (
    ACC,
    NotificationClient,
    filled,
    publish_account_event,
    settings_for,
    start_notification,
    stop_notification,
    until,
)

pytestmark = [pytest.mark.integration]
TOKEN = "123456:test-token-ABCdef_ghij"
feed: Codec[Envelope[Notified | RuleAdded]] = Codec(Envelope[Notified | RuleAdded])


class Inbox:
    """aiosmtpd's handler: every message the server accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class BotApi:
    """A stand-in of Telegram's Bot API that checks each request's shape."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.server = HttpStandIn(self.answer)

    async def answer(self, request: Received) -> tuple[int, bytes]:
        if request.method != "POST" or request.path != f"/bot{TOKEN}/sendMessage":
            self.problems.append(f"{request.method} {request.path}")
            return 404, b'{"ok": false, "description": "Not Found"}'
        if not request.headers.get("content-type", "").startswith("application/json"):
            self.problems.append("not json")
            return 400, b'{"ok": false, "description": "Bad Request"}'
        payload = json.loads(request.body)
        if set(payload) != {"chat_id", "text", "parse_mode", "disable_web_page_preview"}:
            self.problems.append(f"fields {sorted(payload)}")
            return 400, b'{"ok": false, "description": "Bad Request: fields"}'
        if payload["parse_mode"] != "HTML" or not 0 < len(payload["text"]) <= 4096:
            self.problems.append("text")
            return 400, b'{"ok": false, "description": "Bad Request: text"}'
        self.sent.append(payload)
        return 200, b'{"ok": true, "result": {"message_id": 1}}'


@pytest_asyncio.fixture
async def bot_api() -> AsyncIterator[BotApi]:
    api = BotApi()
    async with api.server:
        yield api


@pytest_asyncio.fixture
async def notify_with_channels(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    smtp: tuple[Inbox, int],
    bot_api: BotApi,
    nats_client: Client,
) -> AsyncIterator[NotificationClient]:
    settings = settings_for(
        nats_url,
        fresh_database,
        subjects,
        smtp_port=smtp[1],
        smtp_sender="bots@papertape.test",
        telegram_base_url=bot_api.server.url,
        secrets_key="0" * 43 + "=",
    )
    service: NotificationService
    service, serving = await start_notification(settings)
    try:
        yield await NotificationClient(nats_client, subjects).until_ready()
    finally:
        await stop_notification(service, serving)


async def test_an_email_reaches_the_smtp_server_in_text_and_html(
    notify_with_channels: NotificationClient,
    smtp: tuple[Inbox, int],
    nats_client: Client,
    subjects: Subjects,
) -> None:
    notify, (inbox, _port) = notify_with_channels, smtp
    added = await notify.command(
        AddEndpoint(
            account_id=ACC, endpoint_id="mail", kind=EndpointKind.EMAIL, email="me@example.com"
        )
    )
    assert added.ok, added
    rule = AddRule(account_id=ACC, rule_id="r", happenings=(Happening.FILL,), endpoints=("mail",))
    assert (await notify.command(rule)).ok

    await publish_account_event(nats_client, subjects, filled("o-mail", "101.50"))
    await until(lambda: len(inbox.messages) == 1)

    sender, recipients, message = inbox.messages[0]
    assert (sender, recipients) == ("bots@papertape.test", ["me@example.com"])
    assert message["Subject"] == f"[papertape {ACC}] Filled: buy 10 AAPL @ 101.50"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "101.50" in str(parts["text/plain"].get_payload(decode=True))
    assert "<h2>Filled: buy 10 AAPL @ 101.50</h2>" in str(
        parts["text/html"].get_payload(decode=True)
    )
    log = await notify.deliveries_once(
        ListDeliveries(account_id=ACC), lambda found: found[0]["status"] != "pending"
    )
    assert [d["status"] for d in log] == ["delivered"]


async def test_a_telegram_message_reaches_the_bot_api_in_its_shape(
    notify_with_channels: NotificationClient,
    bot_api: BotApi,
    nats_client: Client,
    subjects: Subjects,
) -> None:
    notify = notify_with_channels
    added = await notify.command(
        AddEndpoint(
            account_id=ACC,
            endpoint_id="tg",
            kind=EndpointKind.TELEGRAM,
            chat_id="-100123",
            secret=TOKEN,
        )
    )
    assert added.ok, added
    assert added.result["secret"] == TOKEN  # shown once, to the one who added it
    rule = AddRule(account_id=ACC, rule_id="r", happenings=(Happening.FILL,), endpoints=("tg",))
    assert (await notify.command(rule)).ok

    await publish_account_event(nats_client, subjects, filled("o-tg", "99.25"))
    await until(lambda: len(bot_api.sent) == 1)

    assert bot_api.problems == []
    sent = bot_api.sent[0]
    assert sent["chat_id"] == "-100123"
    assert sent["text"].startswith("<b>Filled: buy 10 AAPL @ 99.25</b>\n")


async def test_a_rule_with_the_socket_on_publishes_on_the_accounts_subject(
    notify_with_channels: NotificationClient, nats_client: Client, subjects: Subjects
) -> None:
    notify = notify_with_channels
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(msg: Any) -> None:
        await received.put(msg.data)

    subscription = await nats_client.subscribe(subjects.notify(ACC), cb=on_message)
    try:
        rule = AddRule(account_id=ACC, rule_id="live", happenings=(Happening.FILL,))
        assert (await notify.command(rule)).ok
        changed = feed.decode(await asyncio.wait_for(received.get(), 5))
        assert isinstance(changed.data, RuleAdded)

        await publish_account_event(nats_client, subjects, filled("o-ws"))
        told = feed.decode(await asyncio.wait_for(received.get(), 5))
    finally:
        await subscription.unsubscribe()
    assert isinstance(told.data, Notified)
    assert (told.data.happening, told.data.details["order_id"]) == (Happening.FILL, "o-ws")
