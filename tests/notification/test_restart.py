"""A service killed mid-retry (SIGKILL, a separate process) completes the delivery after restart,
once: the pending delivery is in PostgreSQL, and the receiver sees one success for its id."""

from __future__ import annotations

import asyncio
import signal

import pytest
from nats.aio.client import Client

from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointKind,
    Happening,
    ListDeliveries,
)
from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.processes import service_env, start_service
from tests.notification.conftest import (
    ACC,
    NotificationClient,
    SignedReceiver,
    filled,
    publish_account_event,
    until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_a_delivery_pending_when_the_service_is_killed_completes_once_after_restart(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
) -> None:
    env = {
        **service_env(nats_url, fresh_database, subjects.namespace),
        "PAPERTAPE_MAX_ATTEMPTS": "10",
        "PAPERTAPE_BACKOFF_BASE_S": "3",  # the retry waits long enough to be killed in
        "PAPERTAPE_BACKOFF_MAX_S": "3",
        "PAPERTAPE_POLL_INTERVAL_S": "0.2",
        "PAPERTAPE_TIMEOUT_S": "2",
        "PAPERTAPE_ALLOW_PRIVATE_TARGETS": "true",  # the receiver is on loopback
    }
    receiver = SignedReceiver(failures=1)  # down for the first attempt
    async with receiver.server:
        first = await start_service("notification", env)
        try:
            await first.wait_ready()
            notify = await NotificationClient(nats_client, subjects).until_ready()
            added = await notify.command(
                AddEndpoint(
                    account_id=ACC,
                    endpoint_id="hook",
                    kind=EndpointKind.WEBHOOK,
                    url=f"{receiver.server.url}/hook",
                )
            )
            receiver.secret = added.result["secret"]
            rule = AddRule(
                account_id=ACC, rule_id="r", happenings=(Happening.FILL,), endpoints=("hook",)
            )
            assert (await notify.command(rule)).ok
            await publish_account_event(nats_client, subjects, filled("o-kill"))
            await until(lambda: len(receiver.refused) == 1)
            log = await notify.deliveries_once(
                ListDeliveries(account_id=ACC), lambda found: found[0]["attempts"] == 1
            )
            assert [(d["status"], d["attempts"]) for d in log] == [("pending", 1)]
        finally:
            first.proc.send_signal(signal.SIGKILL)  # mid-retry: no clean stop
            await first.proc.wait()
        assert first.proc.returncode == -signal.SIGKILL
        assert receiver.accepted == []

        second = await start_service("notification", env)
        try:
            await second.wait_ready()
            await until(lambda: len(receiver.accepted) == 1, seconds=20)
            await asyncio.sleep(1.0)  # nothing more arrives
            log = await notify.deliveries_once(
                ListDeliveries(account_id=ACC), lambda found: found[0]["status"] == "delivered"
            )
        finally:
            await second.stop()
    assert len(receiver.accepted) == 1
    assert [r[0] for r in receiver.refused] == [503]  # no replay, no second success
    delivery = log[0]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)
    assert receiver.accepted[0].headers["x-papertape-delivery"] == delivery["delivery_id"]
