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
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck

from papertape.common.clock import FakeClock
from papertape.common.eventlog import EventLog, InMemoryEventLog
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.codec import encode
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.events.portfolio import CommandResult
from papertape.contract.events.sessions import RiskOverrides, SessionCommand, StartSession
from papertape.contract.ids import AccountId, Actor, Symbol
from papertape.contract.subjects import Subjects
from papertape.signals.book import SessionBook
from papertape.signals.handlers import Pipeline, bars
from papertape.signals.portfolio import PortfolioGateway
from papertape.signals.relay import publish_recorded
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
    log = log or InMemoryEventLog()
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


async def run(dsn: str | None = None) -> list[dict[str, Any]]:
    """The measurements, as records of bench/results/latest.json (without machine and time);
    with ``dsn`` (a scratch database) the same path on the PostgreSQL log too."""
    wire = [encode(b) for b in recorded_bars()]
    started, cpu = time.perf_counter(), time.process_time()
    for data in wire:
        bars.decode(data)
    decode_only = len(wire) / (time.perf_counter() - started)
    decode_only_cpu = len(wire) / (time.process_time() - cpu)
    rate, cpu_rate, signals, orders, published = await handler_rate(wire)
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


if __name__ == "__main__":
    for record in asyncio.run(run(os.environ.get("BENCH_SIGNAL_DSN") or None)):
        print(record)
