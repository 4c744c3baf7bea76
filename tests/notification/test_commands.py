"""Rules and endpoints through request-reply on real NATS and PostgreSQL: kept in the log (a
restarted service has them), secrets shown once and sealed at rest, bad input refused."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from nats.aio.client import Client

from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.codec import encode
from papertape.contract.events.envelope import Request
from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointKind,
    Happening,
    ListEndpoints,
    ListRules,
    RemoveRule,
    notify_stream,
)
from papertape.contract.ids import Actor
from papertape.contract.subjects import StreamSpec, Subjects
from tests.notification.conftest import (
    ACC,
    NotificationClient,
    settings_for,
    start_notification,
    stop_notification,
)
from tests.portfolio.conftest import replies

pytestmark = [pytest.mark.integration]


async def test_rules_and_endpoints_are_kept_in_the_log_and_secrets_never_shown_again(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
) -> None:
    settings = settings_for(nats_url, fresh_database, subjects, secrets_key="A" * 43 + "=")
    service, serving = await start_notification(settings)
    try:
        notify = await NotificationClient(nats_client, subjects).until_ready()
        added = await notify.command(
            AddEndpoint(
                account_id=ACC,
                endpoint_id="hook",
                kind=EndpointKind.WEBHOOK,
                url="https://hooks.example.com/p",
            )
        )
        secret = added.result["secret"]
        refused = await notify.command(
            AddEndpoint(
                account_id=ACC,
                endpoint_id="hook",
                kind=EndpointKind.WEBHOOK,
                url="https://hooks.example.com/p",
                email="not@used.example",
            )
        )
        assert (refused.ok, refused.error_code) == (False, "invalid_endpoint")
        for rule_id in ("a", "b"):
            rule = AddRule(
                account_id=ACC, rule_id=rule_id, happenings=(Happening.FILL,), endpoints=("hook",)
            )
            assert (await notify.command(rule)).ok
        assert (await notify.command(RemoveRule(account_id=ACC, rule_id="a"))).ok
    finally:
        await stop_notification(service, serving)

    log = await PostgresEventLog.connect(fresh_database)
    try:
        stored = [r async for batch in log.read_stream(notify_stream(ACC)) for r in batch]
    finally:
        await log.close()
    assert [r.type for r in stored] == [
        "endpoint_added",
        "rule_added",
        "rule_added",
        "rule_removed",
    ]
    assert all(secret not in r.data for r in stored)
    conn = await asyncpg.connect(fresh_database)
    try:
        sealed = await conn.fetchrow("SELECT sealed, sealed_with FROM notify_secrets")
    finally:
        await conn.close()
    assert sealed is not None
    assert sealed["sealed_with"] == "aes-gcm"
    assert secret.encode() not in bytes(sealed["sealed"])

    service, serving = await start_notification(settings)  # rebuilt from the log
    try:
        notify = await NotificationClient(nats_client, subjects).until_ready()
        rules = await notify.query(ListRules(account_id=ACC))
        endpoints = await notify.query(ListEndpoints(account_id=ACC))
        assert (
            service.vault.open(
                bytes(sealed["sealed"]), "aes-gcm", account_id=ACC, endpoint_id="hook"
            )
            == secret
        )
    finally:
        await stop_notification(service, serving)
    assert [r["rule_id"] for r in rules.result] == ["b"]
    assert endpoints.result == [
        {
            "type": "endpoint_view.v1",
            "endpoint_id": "hook",
            "kind": "webhook",
            "url": "https://hooks.example.com/p",
            "email": None,
            "chat_id": None,
            "has_secret": True,
            "secret": None,
        }
    ]


async def test_bad_input_is_refused_with_a_code_that_names_the_field(
    notify: NotificationClient, nats_client: Client, subjects: Subjects
) -> None:
    refused = await notify.command(
        AddRule(account_id=ACC, rule_id="r", happenings=(Happening.FILL,), endpoints=("none",))
    )
    assert (refused.ok, refused.error_code) == (False, "unknown_endpoint")

    request = encode(
        Request(
            request_id="bad-url",
            issued_at=datetime.now(UTC),
            actor=Actor("test"),
            body=AddEndpoint(
                account_id=ACC, endpoint_id="e", kind=EndpointKind.WEBHOOK, url="https://x.test/"
            ),
        )
    ).replace(b"https://x.test/", b"file:///etc/passwd")
    msg = await nats_client.request(subjects.notification_command(), request, timeout=10)
    malformed = replies.decode(msg.data)
    assert (malformed.ok, malformed.error_code) == (False, "malformed_request")
    assert "$.body.url" in str(malformed.error)
