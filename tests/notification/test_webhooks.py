"""Webhooks on real NATS and PostgreSQL: signed, retried, dead-lettered, re-sent, isolated.

A fill on ACCOUNTS that an account's rule names reaches a receiver the test starts; the
receiver verifies the signature, and refuses the same request replayed or tampered with. A
receiver that fails every attempt ends in the dead letters after the configured attempts, each
in the delivery log; once it recovers a re-send delivers it. A slow, a failing or a refusing
target holds back no other.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from nats.aio.client import Client

from papertape.common.testing.receivers import HttpStandIn
from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointKind,
    Happening,
    ListDeadLetters,
    ListDeliveries,
    ResendDeadLetter,
)
from papertape.contract.events.orders import OrderRole
from papertape.contract.subjects import Subjects
from papertape.notification.channels.webhooks import SIGNATURE, TIMESTAMP, sign
from tests.notification.conftest import (
    ACC,
    NotificationClient,
    SignedReceiver,
    filled,
    placed,
    publish_account_event,
    until,
)

pytestmark = [pytest.mark.integration]


async def add_webhook(
    notify: NotificationClient, receiver: SignedReceiver, endpoint_id: str = "hook"
) -> None:
    added = await notify.command(
        AddEndpoint(
            account_id=ACC,
            endpoint_id=endpoint_id,
            kind=EndpointKind.WEBHOOK,
            url=f"{receiver.server.url}/papertape",
        )
    )
    assert added.ok, added
    receiver.secret = added.result["secret"]
    assert receiver.secret.startswith("whsec_")


async def add_rule(
    notify: NotificationClient,
    *endpoints: str,
    happenings: tuple[Happening, ...] = (Happening.FILL,),
) -> None:
    rule = AddRule(account_id=ACC, rule_id="fills", happenings=happenings, endpoints=endpoints)
    answer = await notify.command(rule)
    assert answer.ok, answer


async def test_a_fill_reaches_a_webhook_signed_and_a_replay_is_refused(
    notify: NotificationClient, nats_client: Client, subjects: Subjects
) -> None:
    receiver = SignedReceiver()
    async with receiver.server as server:
        await add_webhook(notify, receiver)
        await add_rule(notify, "hook", happenings=(Happening.FILL, Happening.STOP_LOSS_HIT))

        await publish_account_event(nats_client, subjects, placed("o-1-sl", OrderRole.STOP_LOSS))
        await publish_account_event(nats_client, subjects, filled("o-1-sl", "95.00"))
        await until(lambda: len(receiver.accepted) == 2)

        bodies = [json.loads(r.body) for r in receiver.accepted]
        kinds = sorted(b["notification"]["happening"] for b in bodies)
        assert kinds == ["fill", "stop_loss_hit"]
        first = receiver.accepted[0]
        assert first.path == "/papertape"
        assert first.headers["content-type"] == "application/json"
        assert first.headers[SIGNATURE.lower()] == sign(
            receiver.secret, first.headers[TIMESTAMP.lower()], first.body
        )
        fill = next(b for b in bodies if b["notification"]["happening"] == "fill")
        assert fill["notification"]["details"]["price"] == "95.00"
        assert fill["notification"]["account_id"] == ACC

        async with httpx.AsyncClient() as client:
            replayed = await client.post(
                f"{server.url}/papertape", content=first.body, headers=first.headers
            )
            tampered = await client.post(
                f"{server.url}/papertape",
                content=first.body.replace(b"95.00", b"15.00"),
                headers=first.headers,
            )
            stale_at = str(int(time.time()) - 3600)
            stale = await client.post(
                f"{server.url}/papertape",
                content=first.body,
                headers={
                    **first.headers,
                    TIMESTAMP: stale_at,
                    SIGNATURE: sign(receiver.secret, stale_at, first.body),
                },
            )
        assert (replayed.status_code, tampered.status_code, stale.status_code) == (409, 401, 401)
        assert len(receiver.accepted) == 2

        log = await notify.deliveries_once(
            ListDeliveries(account_id=ACC, endpoint_id="hook"),
            lambda found: all(d["status"] == "delivered" for d in found),
        )
        assert [d["status"] for d in log] == ["delivered", "delivered"]
        assert all(d["history"][0]["status_code"] == 200 for d in log)


async def test_a_failing_receiver_ends_in_the_dead_letters_and_a_resend_delivers(
    notify: NotificationClient, nats_client: Client, subjects: Subjects
) -> None:
    receiver = SignedReceiver(failures=1_000)
    async with receiver.server:
        await add_webhook(notify, receiver)
        await add_rule(notify, "hook")
        await publish_account_event(nats_client, subjects, filled("o-2"))

        async def dead() -> list[dict[str, object]]:
            return list((await notify.query(ListDeadLetters(account_id=ACC))).result)

        for _ in range(200):
            letters = await dead()
            if letters:
                break
            await asyncio.sleep(0.05)
        assert len(letters) == 1, letters
        letter = letters[0]
        history = letter["history"]
        assert isinstance(history, list)
        assert letter["attempts"] == 3  # max_attempts of the test's settings
        assert [a["status_code"] for a in history] == [503, 503, 503]
        assert all(not a["ok"] and float(a["latency_ms"]) >= 0 for a in history)
        assert len(receiver.refused) == 3
        assert not receiver.accepted

        receiver.failures = 0  # the receiver is back
        resent = await notify.command(
            ResendDeadLetter(account_id=ACC, delivery_id=str(letter["delivery_id"]))
        )
        assert resent.ok, resent
        await until(lambda: len(receiver.accepted) == 1)
        assert receiver.accepted[0].headers["x-papertape-delivery"] == letter["delivery_id"]
        assert await dead() == []
        again = await notify.command(
            ResendDeadLetter(account_id=ACC, delivery_id=str(letter["delivery_id"]))
        )
        assert (again.ok, again.error_code) == (False, "not_dead_lettered")


async def test_a_slow_target_never_delays_another(
    notify: NotificationClient, nats_client: Client, subjects: Subjects
) -> None:
    slow, fast = SignedReceiver(delay_s=1.5), SignedReceiver()
    async with slow.server, fast.server:
        await add_webhook(notify, slow, "slow")
        await add_webhook(notify, fast, "fast")
        await add_rule(notify, "slow", "fast")
        started = time.monotonic()
        for n in range(6):  # more than the slow target's slots
            await publish_account_event(nats_client, subjects, filled(f"o-3-{n}"))
        await until(lambda: len(fast.accepted) == 6)
        assert time.monotonic() - started < 1.5
        assert len(slow.accepted) < 6
        await until(lambda: len(slow.accepted) == 6)


async def test_a_failing_and_a_refusing_target_never_delay_another(
    notify: NotificationClient, nats_client: Client, subjects: Subjects
) -> None:
    failing, fast = SignedReceiver(failures=1_000), SignedReceiver()
    closed = HttpStandIn()
    async with closed:
        refusing_url = f"{closed.url}/papertape"  # its port, closed: connections are refused
    async with failing.server, fast.server:
        await add_webhook(notify, failing, "failing")
        await add_webhook(notify, fast, "fast")
        down = AddEndpoint(
            account_id=ACC, endpoint_id="down", kind=EndpointKind.WEBHOOK, url=refusing_url
        )
        assert (await notify.command(down)).ok
        await add_rule(notify, "failing", "down", "fast")
        started = time.monotonic()
        for n in range(6):  # more than each misbehaving target's slots
            await publish_account_event(nats_client, subjects, filled(f"o-4-{n}"))
        await until(lambda: len(fast.accepted) == 6)
        assert time.monotonic() - started < 2.0
        dead = await notify.deliveries_once(
            ListDeadLetters(account_id=ACC), lambda found: len(found) == 12
        )
    assert sorted({d["endpoint_id"] for d in dead}) == ["down", "failing"]
    assert {d["attempts"] for d in dead} == {3}  # the configured budget, each
    assert {r[0] for r in failing.refused} == {503}
