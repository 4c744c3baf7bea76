"""Webhooks go to public addresses only unless private targets are allowed, on real NATS and
PostgreSQL: an endpoint whose host is loopback, private, link-local (the metadata service) or
``localhost`` is refused when added, naming the url; a name that resolves to loopback is a dead
letter after one attempt, its reason recorded, and nothing reaches the receiver; a literal
address stored before the allowance was withdrawn is refused too; a redirect is not followed.
With the allowance the same name is delivered (so the refusals are not a broken lookup).

The names are made up (``*.example``) and answered by the system's lookup, patched, with the
receiver's loopback address: what a hostile or rebinding DNS server would answer.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client

from papertape.common.testing.receivers import HttpStandIn
from papertape.contract.events.notifications import (
    AddEndpoint,
    EndpointKind,
    Happening,
    ListDeadLetters,
    ListEndpoints,
)
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.notification.channels.destinations import NOT_PUBLIC
from papertape.notification.channels.webhooks import WebhookChannel
from papertape.notification.outcomes import NOT_PUBLIC_TARGET, reason_of
from papertape.notification.settings import NotificationSettings
from papertape.notification.store import Attempt, Delivery, NewDelivery
from tests.notification.conftest import (
    ACC,
    NotificationClient,
    SignedReceiver,
    filled,
    pending,
    publish_account_event,
    settings_for,
    start_notification,
    stop_notification,
)
from tests.notification.test_webhooks import add_rule, add_webhook

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
REBOUND = "hooks.rebound.example"
"""A name whose DNS answers loopback (here: the patched lookup)."""


@pytest.fixture
def rebound_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == REBOUND else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _delivery(target: str) -> Delivery:
    new = NewDelivery(
        delivery_id="d-1",
        account_id="acc",
        endpoint_id="hook",
        kind=EndpointKind.WEBHOOK,
        target=target,
        notification_id="n-1",
        happening=Happening.FILL,
        payload=b'{"fill": 1}',
    )
    return pending(new, NOW)


async def _sent(channel: WebhookChannel, target: str) -> Attempt:
    try:
        return await channel.send(_delivery(target), "secret")
    finally:
        await channel.close()


def test_private_targets_are_refused_unless_the_setting_allows_them() -> None:
    assert NotificationSettings().allow_private_targets is False


async def test_an_endpoint_to_loopback_private_link_local_or_localhost_is_refused_when_added(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
) -> None:
    urls = [
        "http://127.0.0.1:9101/metrics",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://localhost/",
    ]
    settings = settings_for(nats_url, fresh_database, subjects, allow_private_targets=False)
    service, serving = await start_notification(settings)
    try:
        notify = await NotificationClient(nats_client, subjects).until_ready()
        answers = [
            await notify.command(
                AddEndpoint(account_id=ACC, endpoint_id=f"e{n}", kind=EndpointKind.WEBHOOK, url=u)
            )
            for n, u in enumerate(urls)
        ]
        public = AddEndpoint(
            account_id=ACC, endpoint_id="ok", kind=EndpointKind.WEBHOOK, url="https://x.example/h"
        )
        assert (await notify.command(public)).ok
        listed = (await notify.query(ListEndpoints(account_id=ACC))).result
    finally:
        await stop_notification(service, serving)
    for answer in answers:
        assert (answer.ok, answer.error_code) == (False, "invalid_endpoint")
        assert str(answer.error).startswith("url must have a public host: ")
    assert "'169.254.169.254' is link-local" in str(answers[2].error)
    assert [e["endpoint_id"] for e in listed] == ["ok"]


async def test_a_name_that_resolves_to_loopback_is_a_dead_letter_and_never_sent(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
    rebound_to_loopback: None,
) -> None:
    receiver = SignedReceiver()
    settings = settings_for(nats_url, fresh_database, subjects, allow_private_targets=False)
    service, serving = await start_notification(settings)
    try:
        async with receiver.server:
            notify = await NotificationClient(nats_client, subjects).until_ready()
            url = f"http://{REBOUND}:{receiver.server.port}/papertape"
            added = await notify.command(
                AddEndpoint(account_id=ACC, endpoint_id="hook", kind=EndpointKind.WEBHOOK, url=url)
            )
            assert added.ok, added  # a name: checked when it is used
            await add_rule(notify, "hook")
            await publish_account_event(nats_client, subjects, filled("o-1"))
            letters: list[Any] = []
            for _ in range(200):
                letters = list((await notify.query(ListDeadLetters(account_id=ACC))).result)
                if letters:
                    break
                await asyncio.sleep(0.05)
    finally:
        await stop_notification(service, serving)
    assert len(letters) == 1, letters
    (attempt,) = letters[0]["history"]  # failed for good at once: no retries
    assert attempt["error"] == f"{NOT_PUBLIC}: {REBOUND} resolves to 127.0.0.1, loopback"
    assert attempt["status_code"] is None
    assert receiver.server.requests == []


async def test_with_the_allowance_a_name_that_resolves_to_loopback_is_delivered(
    notify: NotificationClient, nats_client: Client, subjects: Subjects, rebound_to_loopback: None
) -> None:
    receiver = SignedReceiver()
    async with receiver.server:
        await add_webhook(notify, receiver)
        await add_rule(notify, "hook")
        await publish_account_event(nats_client, subjects, filled("o-1"))
        for _ in range(200):
            if receiver.accepted:
                break
            await asyncio.sleep(0.05)
    assert len(receiver.accepted) == 1


async def test_the_channel_refuses_a_literal_or_a_resolved_address_that_is_not_public(
    rebound_to_loopback: None,
) -> None:
    async with HttpStandIn() as receiver:
        by_name = f"http://{REBOUND}:{receiver.port}/hook"
        literal = f"http://127.0.0.1:{receiver.port}/hook"  # added while it was allowed
        mapped = f"http://[::ffff:127.0.0.1]:{receiver.port}/hook"
        full_width = f"http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{receiver.port}/hook"
        refused = [
            await _sent(WebhookChannel(5.0, allow_private=False), url)
            for url in (by_name, literal, mapped, full_width)
        ]
        assert receiver.requests == []
        sent = await _sent(WebhookChannel(5.0, allow_private=True), by_name)
    assert [a.ok for a in refused] == [False, False, False, False]
    assert all(a.error.startswith(NOT_PUBLIC) for a in refused), refused
    assert {reason_of(a) for a in refused} == {NOT_PUBLIC_TARGET}
    assert sent.ok
    assert len(receiver.requests) == 1  # only the allowed one reached it


async def test_a_redirect_is_a_failure_and_is_not_followed() -> None:
    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        location = f"http://127.0.0.1:{inner.port}/stolen"
        head = f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\n"
        writer.write(f"{head}Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async with HttpStandIn() as inner:
        server = await asyncio.start_server(redirect, "127.0.0.1", 0)
        try:
            port = server.sockets[0].getsockname()[1]
            attempt = await _sent(
                WebhookChannel(5.0, allow_private=True), f"http://127.0.0.1:{port}/hook"
            )
        finally:
            server.close()
            await server.wait_closed()
    assert (attempt.ok, attempt.status_code, attempt.error) == (False, 307, "HTTP 307")
    assert inner.requests == []
