"""Benchmark: end-to-end delivery latency, from a fill recorded in the log to the webhook
received and to the WebSocket message, at 200 fills a second.

Portfolio (its relay publishes the log to ACCOUNTS), the notification service and the gateway
run as processes on a scratch database and namespace. Four accounts each have a webhook
endpoint served by this process (a minimal HTTP/1.1 receiver), a rule sending fills to it and
to the socket, and a key of their own (read scope) issued through the gateway, with which one
WebSocket client per account (``bench.wsclient``) follows the account's ``notifications``
channel. The bench appends fills to the accounts' streams in the event log at 200 a second for
``SECONDS`` and notes when each append returned (recorded); the receiver notes when each
webhook arrived, each socket when each ``notification`` frame's bytes did, a core NATS
subscriber when each ``notify.<account>`` message did (the gateway's input: what the gateway
adds is the socket's figure less this one), and a JetStream subscriber when each fill reached
ACCOUNTS (the baseline: what the notification service's own hops add is the difference). One
process, one clock.

The rate is checked, not assumed: the fills appended a second (appends that fall behind their
schedule lower it) are recorded, and a target flags a run below 95% of ``RATE``. Each path's
deliveries are counted: delivered (distinct fills), lost (appended, never arrived) and doubled
(arrived again: a webhook is at least once, so a retry may repeat one). The CPU each service
spent per fill over the run is recorded too: on a shared machine the latencies depend on what
else runs, the CPU per fill compares fairly.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from bench.cpu_usage import cpu_used
from bench.gateway_bench import _percentile
from bench.records import Target, record
from bench.stack import run_alone, running
from bench.wsclient import MinimalSocket, message_type, notified_fill
from papertape.common.eventlog import new_event
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.servers import declare_streams, delete_streams
from papertape.common.testing.receivers import HttpStandIn, Received
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import ACCOUNT_STREAM_PREFIX, AccountEvent, OrderFilledV2
from papertape.contract.events.envelope import Envelope, Request
from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointKind,
    Happening,
    Notified,
)
from papertape.contract.events.orders import OrderSide
from papertape.contract.ids import (
    AccountId,
    Actor,
    CorrelationId,
    EventId,
    FillId,
    OrderId,
    StreamId,
    Symbol,
)
from papertape.contract.subjects import Subjects

RATE = 200
SECONDS = 10
ACCOUNTS = 4
PATHS = ("webhook", "websocket", "notify_subject")
TARGETS: list[Target] = [
    Target("notification_fill_to_webhook_p99_ms", 250.0, at_most=True),
    Target("notification_fill_to_websocket_p99_ms", 250.0, at_most=True),
    Target("notification_fills_per_s_achieved", 0.95 * RATE),
    Target("notification_webhook_lost", 0.0, at_most=True),
    Target("notification_websocket_lost", 0.0, at_most=True),
]
"""A fill's webhook and its socket message within a quarter of a second at the 99th
percentile, at (95% of) 200 fills/s, none lost."""

accounts_feed: Codec[Envelope[AccountEvent]] = Codec(Envelope[AccountEvent])
notify_feed: Codec[Envelope[Notified]] = Codec(Envelope[Notified])


def _fill(account: str, n: int) -> Envelope[OrderFilledV2]:
    now = datetime.now(UTC)
    fill = OrderFilledV2(
        account_id=AccountId(account),
        ts=now,
        order_id=OrderId(f"o-{n}"),
        fill_id=FillId(f"f-{account}-{n}"),
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        price=Decimal("100.00"),
        quantity=Decimal(1),
        position_quantity=Decimal(n + 1),
        position_avg_price=Decimal("100.00"),
        cash_after=Decimal(100_000),
        order_remaining=Decimal(0),
        rate=Decimal(1),
    )
    return Envelope(
        event_id=EventId(str(uuid.uuid4())),
        stream_id=StreamId(f"{ACCOUNT_STREAM_PREFIX}{account}"),
        stream_version=n + 1,
        occurred_at=now,
        correlation_id=CorrelationId("bench"),
        actor=Actor("bench"),
        data=fill,
    )


async def _ask(nc: Client, subjects: Subjects, body: Any) -> dict[str, Any]:
    request = Request(
        request_id=str(uuid.uuid4()), issued_at=datetime.now(UTC), actor=Actor("bench"), body=body
    )
    for _ in range(100):
        try:
            msg = await nc.request(subjects.notification_command(), encode(request), timeout=5)
            answer: dict[str, Any] = json.loads(msg.data)
            assert answer["ok"], answer
            return answer
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.1)
    raise AssertionError("the notification service never answered")


@dataclass
class Arrivals:
    """One path's deliveries of the fills: when each fill first arrived, and how many did."""

    first: dict[str, float] = field(default_factory=dict)
    count: int = 0

    def note(self, fill_id: str, at: float) -> None:
        """A delivery (at least once: a repeat counts once, first, and as doubled)."""
        self.count += 1
        self.first.setdefault(fill_id, at)

    def delays(self, recorded: dict[str, float]) -> list[float]:
        """From each fill's append to its first arrival (s)."""
        return [at - recorded[f] for f, at in self.first.items() if f in recorded]

    def counts(self, path: str, recorded: dict[str, float]) -> list[dict[str, Any]]:
        """Delivered (distinct fills), lost (appended, never arrived) and doubled (repeats)."""
        delivered = len(self.first.keys() & recorded.keys())
        return [
            _count(f"notification_{path}_delivered", delivered, higher=True),
            _count(f"notification_{path}_lost", len(recorded) - delivered),
            _count(f"notification_{path}_doubled", self.count - len(self.first)),
        ]


@dataclass
class Run:
    """What one run saw: each fill's append, its arrivals on every path, the rate achieved."""

    recorded: dict[str, float] = field(default_factory=dict)
    paths: dict[str, Arrivals] = field(default_factory=lambda: {p: Arrivals() for p in PATHS})
    relayed: Arrivals = field(default_factory=Arrivals)
    fills_per_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds each service spent over the run (what compares fairly on a busy machine)."""

    def arrived(self, total: int) -> bool:
        return all(len(p.first) >= total for p in self.paths.values())


def _count(name: str, value: int, higher: bool = False) -> dict[str, Any]:
    return record(name, value, "fills", higher)


async def _sockets(url: str, keys: dict[str, str]) -> dict[str, MinimalSocket]:
    """One socket per account, with the account's key, following its ``notifications``."""
    host = url.removeprefix("http://")
    address, port = host.split(":")
    loop = asyncio.get_running_loop()
    sockets: dict[str, MinimalSocket] = {}
    for account, key in keys.items():
        _, socket = await loop.create_connection(
            partial(MinimalSocket, host, "/ws", key), address, int(port)
        )
        await socket.next_text()  # connection_confirmed
        subscribe = {"type": "subscribe", "channel": "notifications", "account_id": account}
        socket.send(json.dumps(subscribe).encode())
        while message_type(await socket.next_text()) != "subscribed":
            pass
        sockets[account] = socket
    return sockets


async def _keys(url: str, admin: str) -> dict[str, str]:
    """A read key per account, issued through the gateway with its admin key."""
    keys: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {admin}"}) as c:
        for a in range(ACCOUNTS):
            body = {"account_id": f"bench{a}", "scopes": ["read"], "label": "notification bench"}
            answer = await c.post("/api/v1/keys", json=body)
            assert answer.status_code == 201, answer.text
            keys[f"bench{a}"] = answer.json()["key"]
    return keys


def _from_sockets(sockets: dict[str, MinimalSocket], arrivals: Arrivals) -> None:
    """Every ``notification`` frame the sockets received (one of another account is a bug)."""
    for account, socket in sockets.items():
        for at, payload in socket.frames:
            if message_type(payload) == "notification":
                owner, fill_id = notified_fill(payload)
                assert owner == account, f"{account}'s socket got {owner}'s notification"
                arrivals.note(fill_id, at)
        socket.frames.clear()


async def _measure(
    log: PostgresEventLog,
    nc: Client,
    subjects: Subjects,
    receiver: HttpStandIn,
    sockets: dict[str, MinimalSocket],
) -> Run:
    run = Run()

    async def accounts(msg: Msg) -> None:
        event = accounts_feed.decode(msg.data).data
        if isinstance(event, OrderFilledV2):
            run.relayed.note(event.fill_id, time.time())
        await msg.ack()

    async def socket(msg: Msg) -> None:
        fill_id = notify_feed.decode(msg.data).data.details["fill_id"]
        run.paths["notify_subject"].note(fill_id, time.time())

    js = nc.jetstream()
    followed = await js.subscribe(
        subjects.all_account_events(), stream=subjects.stream("ACCOUNTS"), cb=accounts
    )
    plain = await nc.subscribe(subjects.all_notifications(), cb=socket)
    total = RATE * SECONDS
    started = time.perf_counter()
    last = started

    async def append(n: int) -> None:
        nonlocal last
        account = f"bench{n % ACCOUNTS}"
        envelope = _fill(account, n // ACCOUNTS)
        await log.append(envelope.stream_id, None, [new_event(envelope)])
        run.recorded[envelope.data.fill_id] = time.time()
        last = max(last, time.perf_counter())

    appends = []
    for n in range(total):
        pause = started + n / RATE - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        appends.append(asyncio.create_task(append(n)))
    await asyncio.gather(*appends)
    # The n-th append is due at n / RATE: the rate is the fills over the time the last took.
    run.fills_per_s = (total - 1) / (last - started)

    def fill_of(request: Received) -> str:
        return str(json.loads(request.body)["notification"]["details"]["fill_id"])

    webhook, websocket = run.paths["webhook"], run.paths["websocket"]
    taken = 0

    def take() -> None:
        nonlocal taken
        for request in receiver.requests[taken:]:  # in the order they arrived
            webhook.note(fill_of(request), request.at)
        taken = len(receiver.requests)
        _from_sockets(sockets, websocket)

    for _ in range(1200):  # at most two minutes for the last ones to arrive
        take()
        if run.arrived(total) and len(run.relayed.first) >= total:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)  # late repeats, to count them
    take()
    await followed.unsubscribe()
    await plain.unsubscribe()
    return run


async def _configure(nc: Client, subjects: Subjects, receiver: HttpStandIn) -> None:
    """Each account's webhook endpoint and a rule sending its fills there and to the socket."""
    for a in range(ACCOUNTS):
        account = AccountId(f"bench{a}")
        added = await _ask(
            nc,
            subjects,
            AddEndpoint(
                account_id=account,
                endpoint_id="hook",
                kind=EndpointKind.WEBHOOK,
                url=f"{receiver.url}/hook",
            ),
        )
        assert added["result"]["secret"]
        rule = AddRule(
            account_id=account,
            rule_id="fills",
            happenings=(Happening.FILL,),
            endpoints=("hook",),
        )
        await _ask(nc, subjects, rule)


async def run(database_url: str, nats_url: str) -> list[dict[str, Any]]:
    """The records of this benchmark."""
    subjects = Subjects(namespace=f"bench{uuid.uuid4().hex[:8]}")
    nc = await nats.connect(nats_url)
    await declare_streams(nc, subjects.streams())
    folder = Path(tempfile.mkdtemp(prefix="papertape-notification-bench-"))
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
        "PAPERTAPE_HTTP_PORT": "0",
        "PAPERTAPE_KEYS_FILE": str(folder / "keys.json"),
        "PAPERTAPE_RATE_PER_SECOND": "0",
        "PAPERTAPE_LOG_LEVEL": "WARNING",
        "PAPERTAPE_ALLOW_PRIVATE_TARGETS": "true",  # the receiver is on loopback
    }
    receiver = HttpStandIn()
    log = await PostgresEventLog.connect(database_url)
    try:
        services = ("portfolio", "notification", "gateway")
        async with receiver, running(env, services) as stack:
            processes = stack.processes()
            await _configure(nc, subjects, receiver)
            gateway = json.loads((folder / "keys.json").read_text())
            keys = await _keys(gateway["url"], gateway["admin"])
            sockets = await _sockets(gateway["url"], keys)
            before = cpu_used(processes)
            measured = await _measure(log, nc, subjects, receiver, sockets)
            measured.cpu_s = cpu_used(processes, before)
            for socket in sockets.values():
                assert socket.transport is not None
                socket.transport.close()
    finally:
        await log.close()
        await delete_streams(nc, subjects.streams())
        await nc.close()
    return _records(measured)


def _records(measured: Run) -> list[dict[str, Any]]:
    """Each path's p50 and p99 beside its baseline, the rate achieved, what each path lost."""
    recorded = measured.recorded
    if measured.fills_per_s < 0.95 * RATE:
        print(
            f"notification bench: {measured.fills_per_s:.0f} fills/s, short of {RATE}:"
            " its latencies are not at the rate the issue asks for",
            file=sys.stderr,
        )

    def rec(name: str, arrivals: Arrivals, q: float | None, base: str | None) -> dict[str, Any]:
        values = arrivals.delays(recorded)
        assert values, f"no delivery of {name} arrived"
        value = statistics.median(values) if q is None else _percentile(values, q)
        return record(name, value * 1000, "ms", False, base)

    relay, subject = "notification_fill_to_accounts", "notification_fill_to_notify_subject"
    paths = measured.paths
    out = [
        rec(f"{relay}_p50_ms", measured.relayed, None, None),
        rec(f"{relay}_p99_ms", measured.relayed, 0.99, None),
        rec("notification_fill_to_webhook_p50_ms", paths["webhook"], None, f"{relay}_p50_ms"),
        rec("notification_fill_to_webhook_p99_ms", paths["webhook"], 0.99, f"{relay}_p99_ms"),
        rec(f"{subject}_p50_ms", paths["notify_subject"], None, f"{relay}_p50_ms"),
        rec(f"{subject}_p99_ms", paths["notify_subject"], 0.99, f"{relay}_p99_ms"),
        rec("notification_fill_to_websocket_p50_ms", paths["websocket"], None, f"{subject}_p50_ms"),
        rec("notification_fill_to_websocket_p99_ms", paths["websocket"], 0.99, f"{subject}_p99_ms"),
        record("notification_fills_per_s_achieved", measured.fills_per_s, "fills/s", True),
        _count("notification_fills_appended", len(recorded), higher=True),
    ]
    for path, arrivals in paths.items():
        out += arrivals.counts(path, recorded)
    for service, used in measured.cpu_s.items():
        per_fill = used * 1000 / max(len(recorded), 1)
        key = service.replace("-", "_")  # nats-server
        out.append(record(f"notification_bench.{key}_cpu_ms_per_fill", per_fill, "ms", False))
    return out


if __name__ == "__main__":
    run_alone(run)
