"""The signal service's handler path: 4 strategies (one session each) on 500 symbols, bars/s.

Bar bytes in, in the bar consumer's batches, through ``Pipeline.on_bars`` (decode, every
session trading the bars evaluates them in order, the signals and whatever else they led to
appended to the session's stream, one append per session and batch), order commands out
through the service's own ``PortfolioGateway`` (PlaceOrder encoded in a Request, the Reply
decoded) and signals out the way the relay publishes them: read back from the log in the
relay's batches and published by ``publish_recorded`` (envelope encoded around the stored data,
``Nats-Msg-Id`` header, acks awaited per batch). The network and PostgreSQL are left out, as in
the execution bench: JetStream and portfolio are stand-ins that answer at once, the log is the
in-memory one (hash chain and all). Beside it, in the same run, decoding the same bytes alone.
Each rate is also given by the process's CPU time (``..._cpu_bars_per_s``): on a machine shared
with other work it is the steadier comparison (as in the backtest bench).
Target: >= 20,000 bars/s.

With a NATS server (``run(dsn, nats_url)``), the same log's signals are then published by the
same ``publish_recorded`` to a real JetStream stream (a scratch namespace's SIGNALS), and the CPU
this process and the NATS server spend per publish is recorded: the floor the stand-in leaves
out. From it, the bars/s that publishing alone would allow if both cores did nothing else (each
bar is one signal per session: 4 publishes), beside the 20,000 target.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import nats
import psutil
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck

from papertape.common.bus.publishing import MSG_ID
from papertape.common.clock import FakeClock
from papertape.common.eventlog import EventLog, InMemoryEventLog
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.servers import declare_streams, delete_streams
from papertape.contract.codec import encode
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.events.portfolio import CommandResult
from papertape.contract.events.sessions import (
    SESSION_STREAM_PREFIX,
    RiskOverrides,
    SessionCommand,
    StartSession,
)
from papertape.contract.ids import AccountId, Actor, Symbol
from papertape.contract.subjects import Subjects
from papertape.signals.book import SessionBook
from papertape.signals.handlers import Pipeline, bars
from papertape.signals.portfolio import PortfolioGateway
from papertape.signals.relay import publish_recorded, wire_of
from papertape.trading.strategies.registry import STRATEGIES
from papertape.trading.strategies.sizing import AccountRoom
from papertape.trading.venue.prng import SplitMix64

SYMBOLS = 500
BARS_PER_SYMBOL = int(os.environ.get("BENCH_SIGNAL_BARS_PER_SYMBOL", "60"))
TARGET = 20_000.0
RELAY_BATCH = 500  # the relay's default batch (PAPERTAPE_RELAY_BATCH)
BAR_BATCH = 500  # the bar consumer's default batch (PAPERTAPE_BAR_BATCH)
START = datetime(2024, 1, 2, 15, tzinfo=UTC)


def recorded_bars() -> list[BarClosed]:
    """A seeded random walk per symbol, round-robin by minute."""
    rng = SplitMix64(5)
    closes = [Decimal(100)] * SYMBOLS
    found = []
    for minute in range(BARS_PER_SYMBOL):
        begin = START + timedelta(minutes=minute)
        for i in range(SYMBOLS):
            step = Decimal(int(rng.next() % 41) - 20) / 100
            close = max(Decimal(1), closes[i] + step)
            high = max(close, closes[i]) + Decimal("0.05")
            low = min(close, closes[i]) - Decimal("0.05")
            found.append(
                BarClosed(
                    symbol=Symbol(f"S{i:03d}"),
                    timeframe=Timeframe.M1,
                    open=closes[i],
                    high=high,
                    low=low,
                    close=close,
                    volume=Decimal(1000),
                    start=begin,
                    end=begin + timedelta(minutes=1),
                    source="bench",
                )
            )
            closes[i] = close
    return found


class AnsweringNats:
    """Portfolio standing in: every order request is answered placed at once."""

    def __init__(self) -> None:
        self.requests = 0
        self._reply = encode(
            Reply(
                ok=True, result=CommandResult(account_id=AccountId("bench"), version=1, events=[])
            )
        )

    async def request(self, subject: str, payload: bytes, **_: Any) -> Any:
        self.requests += 1
        return _Msg(self._reply)


class _Msg:
    def __init__(self, data: bytes) -> None:
        self.data = data


class AcknowledgingJetStream:
    """JetStream standing in: every asynchronous publish is acknowledged at once."""

    def __init__(self) -> None:
        self.published = 0

    async def publish_async(self, subject: str, payload: bytes, **_: Any) -> asyncio.Future[PubAck]:
        self.published += 1
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        future.set_result(PubAck(stream="SIGNALS", seq=self.published))
        return future


async def handler_rate(
    wire: list[bytes], log: EventLog | None = None
) -> tuple[float, float, int, int, int]:
    """Bars/s of the handler path (on ``log``, else the in-memory one) by the wall clock and by
    CPU time; signals, orders and publishes made."""
    clock = FakeClock(START)
    log = InMemoryEventLog() if log is None else log
    book = SessionBook(log, clock, horizon=20, history=1_000_000)
    nats = AnsweringNats()
    subjects = Subjects()
    pipeline = Pipeline(book, clock, PortfolioGateway(cast(Client, nats), subjects))
    symbols = tuple(Symbol(f"S{i:03d}") for i in range(SYMBOLS))
    for n, name in enumerate(STRATEGIES):
        command: Request[SessionCommand] = Request(
            request_id=f"bench-{n}",
            issued_at=START,
            actor=Actor("bench"),
            body=StartSession(
                session_id=f"bench-{name}",
                account_id=AccountId("bench"),
                strategy=name,
                symbols=symbols,
                overrides=RiskOverrides(min_confidence=40),
            ),
        )
        await book.execute(command)
    pipeline.rooms["bench"] = AccountRoom(equity=Decimal(10**7), buying_power=Decimal(10**7))
    js = AcknowledgingJetStream()
    relayed = 0  # the relay's checkpoint: it publishes the log from there in its batches
    started, cpu = time.perf_counter(), time.process_time()
    for begin in range(0, len(wire), BAR_BATCH):
        await pipeline.on_bars(wire[begin : begin + BAR_BATCH])
        async for batch in log.read_all(relayed + 1, batch_size=RELAY_BATCH):
            await publish_recorded(cast(JetStreamContext, js), subjects, batch)
            relayed = batch[-1].position
    rate = len(wire) / (time.perf_counter() - started)
    cpu_rate = len(wire) / (time.process_time() - cpu)
    return rate, cpu_rate, len(book.history.signals), nats.requests, js.published


async def run(dsn: str | None = None, nats_url: str | None = None) -> list[dict[str, Any]]:
    """The measurements, as records of bench/results/latest.json (without machine and time);
    with ``dsn`` (a scratch database) the same path on the PostgreSQL log too; with ``nats_url``
    the log's signals published to real JetStream too."""
    wire = [encode(b) for b in recorded_bars()]
    started, cpu = time.perf_counter(), time.process_time()
    for data in wire:
        bars.decode(data)
    decode_only = len(wire) / (time.perf_counter() - started)
    decode_only_cpu = len(wire) / (time.process_time() - cpu)
    in_memory = InMemoryEventLog()
    rate, cpu_rate, signals, orders, published = await handler_rate(wire, in_memory)
    decoding = {"name": "signal.decode_only_bars_per_s", "value": round(decode_only, 1)}
    decoding_cpu = {"name": "signal.decode_only_cpu_bars_per_s", "value": round(decode_only_cpu, 1)}
    print(
        f"signal bench: {len(wire)} bars, {signals} signals, {orders} orders, {published} published"
    )
    found = [
        {
            "name": "signal.decode_only_bars_per_s",
            "value": round(decode_only, 1),
            "unit": "bars/s",
            "higher_is_better": True,
            "baseline": None,
        },
        {
            "name": "signal.service_handler_bars_per_s_4_strategies_500_symbols",
            "value": round(rate, 1),
            "unit": "bars/s",
            "higher_is_better": True,
            "baseline": decoding,
        },
        {
            "name": "signal.decode_only_cpu_bars_per_s",
            "value": round(decode_only_cpu, 1),
            "unit": "bars/s",
            "higher_is_better": True,
            "baseline": None,
        },
        {
            "name": "signal.service_handler_cpu_bars_per_s_4_strategies_500_symbols",
            "value": round(cpu_rate, 1),
            "unit": "bars/s",
            "higher_is_better": True,
            "baseline": decoding_cpu,
        },
    ]
    if nats_url is not None:
        found += await real_jetstream_floor(
            nats_url, in_memory, publishes_per_bar=published / len(wire)
        )
    if dsn is not None:
        log = await PostgresEventLog.connect(dsn)
        try:
            on_postgres, *_ = await handler_rate(wire, log)
        finally:
            await log.close()
        found.append(
            {
                "name": "signal.service_handler_bars_per_s_4_strategies_500_symbols_postgres_log",
                "value": round(on_postgres, 1),
                "unit": "bars/s",
                "higher_is_better": True,
                "baseline": decoding,
            }
        )
    return found


Sender = Callable[[JetStreamContext], Awaitable[int]]
Publish = Callable[[Subjects], Sender]


async def real_jetstream_floor(
    nats_url: str, log: InMemoryEventLog, *, publishes_per_bar: float
) -> list[dict[str, Any]]:
    """The log's signals published to a real JetStream stream, two ways: by the relay's own
    ``publish_recorded`` in its batches, and bare (the same subjects, payloads and
    ``Nats-Msg-Id``, built beforehand; ``publish_async`` per message and the batch's acks
    awaited: nats-py's own floor). For each, the CPU per publish of this process and of the
    NATS server, and the bars/s those publishes alone would allow on every core."""
    recorded = [batch async for batch in log.read_all(1, batch_size=RELAY_BATCH)]

    def relay(subjects: Subjects) -> Sender:
        async def send(js: JetStreamContext) -> int:
            return sum([await publish_recorded(js, subjects, batch) for batch in recorded])

        return send

    def bare(subjects: Subjects) -> Sender:
        batches = [  # built before the clock starts: the encoding is not the library's
            [
                (*wire_of(subjects, r), {MSG_ID: r.event_id})
                for r in batch
                if r.stream_id.startswith(SESSION_STREAM_PREFIX)
            ]
            for batch in recorded
        ]

        async def send(js: JetStreamContext) -> int:
            for batch in batches:
                acks = [await js.publish_async(sub, data, headers=h) for sub, data, h in batch]
                for ack in acks:
                    await ack
            return sum(len(b) for b in batches)

        return send

    found = []
    for way, publish in (("relay", relay), ("bare", bare)):
        published, elapsed, client_us, server_us = await _publish_pass(nats_url, publish)
        cores = os.cpu_count() or 1
        bound = cores / ((client_us + server_us) / 1e6 * publishes_per_bar)
        print(
            f"signal bench: {published} signals to real JetStream ({way}) at "
            f"{published / elapsed:,.0f}/s, {client_us:.1f} us CPU each here and "
            f"{server_us:.1f} us in nats-server: at most {bound:,.0f} bars/s on {cores} cores "
            "for the publishing alone"
        )
        name = f"signal.real_jetstream_{way}"
        found += [
            _record(f"{name}_publishes_per_s", published / elapsed, "publishes/s", higher=True),
            _record(f"{name}_client_cpu_us_per_publish", client_us, "us"),
            _record(f"{name}_server_cpu_us_per_publish", server_us, "us"),
            _record(
                f"{name}_publish_bound_bars_per_s_all_cores",
                bound,
                "bars/s",
                higher=True,
                baseline={"name": "signal.target_bars_per_s", "value": TARGET},
            ),
        ]
    return found


async def _publish_pass(nats_url: str, publish: Publish) -> tuple[int, float, float, float]:
    """Publishes made, seconds, and CPU us per publish here and in the NATS server: one pass
    into a SIGNALS stream of a fresh namespace (so no message id of another pass is a repeat)."""
    nc = await nats.connect(nats_url)
    subjects = Subjects(namespace=f"sigbench{uuid.uuid4().hex[:8]}")
    specs = [spec for spec in subjects.streams() if spec.name == subjects.stream("SIGNALS")]
    server = _nats_server_process(nats_url)
    send = publish(subjects)
    await declare_streams(nc, specs)
    try:
        js = nc.jetstream()
        started, cpu, server_cpu = time.perf_counter(), time.process_time(), _cpu_seconds(server)
        published = await send(js)
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        server_used = _cpu_seconds(server) - server_cpu
    finally:
        await delete_streams(nc, specs)
        await nc.close()
    return published, elapsed, used / published * 1e6, server_used / published * 1e6


def _record(
    name: str,
    value: float,
    unit: str,
    *,
    higher: bool = False,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 2),
        "unit": unit,
        "higher_is_better": higher,
        "baseline": baseline,
    }


def _nats_server_process(url: str) -> psutil.Process | None:
    """The local nats-server listening on the URL's port (None when it is not on this host)."""
    port = int(url.rsplit(":", 1)[-1].split("/")[0])
    for proc in psutil.process_iter(["name"]):
        if "nats-server" not in (proc.info["name"] or ""):
            continue
        with contextlib.suppress(psutil.Error):
            if any(c.laddr.port == port for c in proc.net_connections(kind="tcp")):
                return proc
    return None


def _cpu_seconds(proc: psutil.Process | None) -> float:
    if proc is None:
        return 0.0
    times = proc.cpu_times()
    return float(times.user + times.system)


if __name__ == "__main__":
    for record in asyncio.run(
        run(os.environ.get("BENCH_SIGNAL_DSN") or None, os.environ.get("BENCH_SIGNAL_NATS") or None)
    ):
        print(record)
