"""NATS refuses what a login may not say: a client forging the services' messages, a service
speaking for another, anyone touching a service's durable consumer or the streams themselves.

Each attempt is made on a real ``nats-server`` started with the platform's users
(``secured_nats``), with the privileges a buggy client or an attacker holding the client login
would have; an operator connection watches every subject, so "refused" means the server
dropped the message, not that nobody listened.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig

from papertape.common.bus.permissions import SERVICE_LOGINS, BusLogin
from papertape.common.testing.plugin import SecuredNats
from papertape.contract.subjects import Subjects

pytestmark = pytest.mark.integration

SETTLE_S = 0.3


@dataclass
class Login:
    """A connection and the permission errors the server sent it."""

    nc: Client
    errors: list[str] = field(default_factory=list)

    def refused(self, subject: str) -> bool:
        return any("permissions violation" in e and subject.lower() in e for e in self.errors)


@asynccontextmanager
async def login(secured: SecuredNats, who: BusLogin) -> AsyncIterator[Login]:
    seen = Login(nc=None)  # type: ignore[arg-type]

    async def on_error(error: Exception) -> None:
        seen.errors.append(str(error).lower())

    seen.nc = await nats.connect(
        secured.url_for(who), error_cb=on_error, connect_timeout=5, max_reconnect_attempts=0
    )
    try:
        yield seen
    finally:
        await seen.nc.close()


@asynccontextmanager
async def watcher(secured: SecuredNats) -> AsyncIterator[list[str]]:
    """Every subject an operator sees published, core and JetStream API alike."""
    seen: list[str] = []

    async def keep(msg: Msg) -> None:
        seen.append(msg.subject)

    async with login(secured, BusLogin.OPERATOR) as operator:
        await operator.nc.subscribe(">", cb=keep)
        await operator.nc.flush()
        yield seen


def service_only_subjects(s: Subjects) -> dict[str, BusLogin]:
    """A subject of each service-only kind and the one service that may publish it."""
    return {
        s.quote("AAPL"): BusLogin.MARKETDATA,
        s.bar("1m", "AAPL"): BusLogin.MARKETDATA,
        s.execution_report("alice", "fill"): BusLogin.EXECUTION,
        s.execution_report("alice", "expired"): BusLogin.EXECUTION,
        s.execution_partition_query(1, "get_working_orders"): BusLogin.EXECUTION,
        s.account_event("alice", "order_filled"): BusLogin.PORTFOLIO,
        s.log_anchor(): BusLogin.PORTFOLIO,
        s.signal("sma_cross", "AAPL"): BusLogin.SIGNALS,
        s.session_event("demo-bot", "session_started"): BusLogin.SIGNALS,
        s.notify("alice"): BusLogin.NOTIFICATION,
        s.api_key_event("issued"): BusLogin.GATEWAY,
        s.dead_letter("portfolio", s.portfolio_command()): BusLogin.PORTFOLIO,
    }


def jetstream_attacks(s: Subjects) -> list[str]:
    """API calls that would change or remove a stream, or steal a service's consumer."""
    stream, durable = s.service_durables()[0]
    accounts = s.stream("ACCOUNTS")
    return [
        f"$JS.API.STREAM.DELETE.{accounts}",
        f"$JS.API.STREAM.PURGE.{accounts}",
        f"$JS.API.STREAM.MSG.DELETE.{accounts}",
        f"$JS.API.STREAM.UPDATE.{accounts}",
        f"$JS.API.STREAM.CREATE.{s.stream('FORGED')}",
        f"$JS.API.CONSUMER.DELETE.{stream}.{durable}",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
        f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.{s.all_execution_reports()}",
        f"$JS.ACK.{stream}.{durable}.1.1.1.1700000000000000000.0",
    ]


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``check`` holds, at most ``within`` seconds: on a loaded machine what the
    server sends (a message, a permission error) may come later than ``SETTLE_S``."""
    for _ in range(int(within / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)


async def attempt(who: Login, subjects: list[str]) -> None:
    for subject in subjects:
        await who.nc.publish(subject, b'{"forged": true}', reply=who.nc.new_inbox())
    await who.nc.flush()
    await asyncio.sleep(SETTLE_S)


async def test_a_client_cannot_publish_any_service_only_subject(
    secured_nats: SecuredNats, subjects: Subjects
) -> None:
    forged = [*service_only_subjects(subjects), *jetstream_attacks(subjects), "_INBOX.forged"]
    async with watcher(secured_nats) as seen, login(secured_nats, BusLogin.CLIENT) as client:
        await attempt(client, forged)
        await eventually(lambda: all(client.refused(subject) for subject in forged))
    leaked = [subject for subject in forged if subject in seen]
    assert leaked == [], f"the server let these through: {leaked}"
    unrefused = [subject for subject in forged if not client.refused(subject)]
    assert unrefused == [], f"no permission error for: {unrefused}"


@pytest.mark.parametrize("who", sorted(SERVICE_LOGINS), ids=str)
async def test_each_service_publishes_only_its_own_subjects(
    secured_nats: SecuredNats, subjects: Subjects, who: BusLogin
) -> None:
    owners = service_only_subjects(subjects)
    foreign = [subject for subject, owner in owners.items() if owner is not who]
    own = [subject for subject, owner in owners.items() if owner is who]
    async with watcher(secured_nats) as seen, login(secured_nats, who) as service:
        await attempt(service, [*foreign, *jetstream_attacks(subjects)[:5]])
        for subject in own:
            await service.nc.publish(subject, b"{}")
        await service.nc.flush()
        await eventually(
            lambda: (
                all(subject in seen for subject in own)
                and all(service.refused(subject) for subject in foreign)
            )
        )
    assert [subject for subject in foreign if subject in seen] == []
    assert all(service.refused(subject) for subject in foreign)
    assert [subject for subject in own if subject not in seen] == []


async def test_a_client_can_neither_listen_to_nor_answer_another_callers_commands(
    secured_nats: SecuredNats, subjects: Subjects
) -> None:
    async with login(secured_nats, BusLogin.CLIENT) as thief:
        stolen: list[bytes] = []

        async def steal(msg: Msg) -> None:
            stolen.append(msg.data)
            await msg.respond(b'{"ok": true, "result": "forged"}')

        await thief.nc.subscribe(subjects.portfolio_command(), queue="portfolio", cb=steal)
        await thief.nc.subscribe(subjects.portfolio_queries(), cb=steal)
        await thief.nc.flush()
        await asyncio.sleep(SETTLE_S)
        async with login(secured_nats, BusLogin.CLIENT) as caller:
            with pytest.raises(nats.errors.NoRespondersError):
                await caller.nc.request(subjects.portfolio_command(), b"{}", timeout=2)
    assert stolen == []
    assert thief.refused(subjects.portfolio_command())


async def test_a_client_asks_the_services_and_reads_the_streams(
    secured_nats: SecuredNats, subjects: Subjects
) -> None:
    """What the CLI, the README's subscriber and the gateway's users need keeps working."""
    async with login(secured_nats, BusLogin.PORTFOLIO) as portfolio:

        async def answer(msg: Msg) -> None:
            await msg.respond(b'{"ok": true}')

        await portfolio.nc.subscribe(subjects.portfolio_command(), queue="portfolio", cb=answer)
        await portfolio.nc.jetstream().publish(subjects.account_event("alice", "opened"), b"{}")
        async with login(secured_nats, BusLogin.CLIENT) as client:
            reply = await client.nc.request(subjects.portfolio_command(), b"{}", timeout=5)
            assert reply.data == b'{"ok": true}'
            js = client.nc.jetstream()
            ordered = await js.subscribe(subjects.account_events("alice"), ordered_consumer=True)
            assert (await ordered.next_msg(timeout=5)).subject.endswith("alice.opened")
            durable = await js.subscribe(
                subjects.account_events("alice"),
                durable="my-reader",
                config=ConsumerConfig(ack_wait=5),
            )
            message = await durable.next_msg(timeout=5)
            await message.ack()
            info = await js.stream_info(subjects.stream("ACCOUNTS"))
            assert info.state.messages == 1
        assert client.errors == []
    assert portfolio.errors == []


async def test_the_gateway_hears_what_the_notification_service_publishes_for_the_sockets(
    secured_nats: SecuredNats, subjects: Subjects
) -> None:
    """The gateway relays ``notify.<account>`` to its sockets: its login may subscribe to it."""
    heard: list[str] = []

    async def keep(msg: Msg) -> None:
        heard.append(msg.subject)

    async with (
        login(secured_nats, BusLogin.GATEWAY) as gateway,
        login(secured_nats, BusLogin.NOTIFICATION) as notification,
    ):
        await gateway.nc.subscribe(subjects.all_notifications(), cb=keep)
        await gateway.nc.flush()
        await notification.nc.publish(subjects.notify("alice"), b"{}")
        await notification.nc.flush()
        await eventually(lambda: bool(heard))
        await asyncio.sleep(SETTLE_S)  # and nothing more
    assert heard == [subjects.notify("alice")], (gateway.errors, notification.errors)
    assert gateway.errors == []
    assert notification.errors == []


async def test_the_table_renders_a_server_configuration_that_starts(
    secured_nats: SecuredNats,
) -> None:
    """Every login of the table can log in; a wrong password cannot."""
    for who in BusLogin:
        async with login(secured_nats, who) as connected:
            assert connected.nc.is_connected
    host, port = secured_nats.url.removeprefix("nats://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        await reader.readline()  # INFO
        writer.write(b'CONNECT {"user":"client","pass":"not-the-password","verbose":false}\r\n')
        writer.write(b"PING\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionResetError):  # the server hung up first
            await writer.wait_closed()
    assert b"Authorization Violation" in answer


SERVICE_NAMES = {
    BusLogin.PORTFOLIO: "papertape.portfolio.bootstrap",
    BusLogin.EXECUTION: "papertape.execution.bootstrap",
    BusLogin.MARKETDATA: "papertape.marketdata.bootstrap",
    BusLogin.SIGNALS: "papertape.signals.bootstrap",
    BusLogin.NOTIFICATION: "papertape.notification.bootstrap",
    BusLogin.GATEWAY: "papertape.gateway.bootstrap",
}


@pytest.mark.parametrize("who", sorted(SERVICE_LOGINS), ids=str)
async def test_each_service_may_publish_its_own_dead_letters(
    secured_nats: SecuredNats, subjects: Subjects, who: BusLogin
) -> None:
    """A service dead-letters under the name its runtime has (``SERVICE`` of its bootstrap),
    which is not always its login's: market-data's letters were refused by NATS, so a malformed
    market query was neither kept nor answered (the publish waited out its timeout)."""
    service = importlib.import_module(SERVICE_NAMES[who]).SERVICE
    letter = subjects.dead_letter(service, subjects.marketdata_query("last_quote"))
    async with watcher(secured_nats) as seen, login(secured_nats, who) as own:
        await own.nc.publish(letter, b"{}")
        await own.nc.flush()
        await eventually(lambda: letter in seen or own.refused(letter))
    assert letter in seen
    assert not own.refused(letter)
