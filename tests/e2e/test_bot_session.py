"""A bot session across separate processes: market-data, signal, portfolio and execution.

market-data replays BTCUSD quotes at 30x: eight minutes of history (flat, then a breakout)
close eight one-minute bars within seconds, while the quotes run ahead of the wall clock, so
the venue fills what is placed now. The session's strategy warms up, signals every bar, buys
the breakout with a bracket (source ``signal``), the entry fills; the signal service is then
killed with SIGKILL and started again: it rebuilds the session from its stream, places
nothing twice, and records the stop-loss fill that happened while it was away. The account's
report shows the session's trade; the signals are in the session's stream and on SIGNALS.
"""

from __future__ import annotations

import csv
import signal as signals_
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.account import OpenAccount
from papertape.contract.events.portfolio import GetActivity, GetClosedTrades, ListAccounts
from papertape.contract.events.sessions import (
    GetSession,
    RiskOverrides,
    Sizing,
    StartSession,
    StopKind,
    StopSession,
    session_stream,
)
from papertape.contract.ids import AccountId, Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.processes import replay_feed, running, start_service
from tests.e2e.test_trade_flow import until
from tests.portfolio.conftest import PortfolioClient
from tests.signals.conftest import SignalsClient

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(180)]
ACC = AccountId("bot-trader")
BTC = Symbol("BTCUSD")
SPEED = 30


def write_quotes(path: Path, now: datetime) -> None:
    """BTCUSD every 5 s of quote time: 100 until 3 min ago, then 103 (the breakout) until 8 min
    from now, then 95 (through the 5% stop). At 30x the quotes pass the wall clock about 16 s
    in and the fall comes about 33 s in: a loaded machine has that long to place the entry."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=8)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ts", "symbol", "bid", "ask", "last"])
        ts = start
        while ts < now + timedelta(minutes=12):
            if ts < now - timedelta(minutes=3):
                mid = Decimal(100)
            elif ts < now + timedelta(minutes=8):
                mid = Decimal(103)
            else:
                mid = Decimal(95)
            writer.writerow(
                [ts.isoformat(), BTC, mid - Decimal("0.01"), mid + Decimal("0.01"), mid]
            )
            ts += timedelta(seconds=5)


def session_start() -> StartSession:
    return StartSession(
        session_id="e2e-bot",
        account_id=ACC,
        strategy="donchian_breakout",
        parameters={"period": 3, "exit_period": 2, "atr_period": 2, "volatility_period": 2},
        symbols=(BTC,),
        overrides=RiskOverrides(
            min_confidence=0,
            sizing=Sizing.FIXED_QUANTITY,
            quantity=Decimal("0.5"),
            stop_kind=StopKind.PERCENT,
            stop_value=Decimal(5),
            target_r=(Decimal(5),),
        ),
    )


async def view(bots: SignalsClient) -> dict[str, Any]:
    answer = await bots.query(GetSession(session_id="e2e-bot"))
    assert answer.ok, answer
    result: dict[str, Any] = answer.result
    return result


async def test_a_bot_session_trades_survives_sigkill_and_places_nothing_twice(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    nats_client: Client,
    jetstream_streams: tuple[StreamSpec, ...],
    tmp_path: Path,
) -> None:
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": fresh_database,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
        "PAPERTAPE_ACCOUNT_INTERVAL_S": "0.5",
        "PAPERTAPE_CLOCK_INTERVAL_S": "0.5",
    }
    client = PortfolioClient(nats_client, subjects)
    bots = SignalsClient(nats_client, subjects)
    async with running("portfolio", env), running("execution", env):
        signal = await start_service("signals", env)
        try:
            await signal.wait_ready()
            await until(lambda: _answers(client))
            assert (await client.command(OpenAccount(account_id=ACC, name="Bot"))).ok
            started = await bots.command(session_start())
            assert started.ok, started
            quotes = tmp_path / "quotes.csv"
            write_quotes(quotes, datetime.now(UTC))
            feed = replay_feed(env, str(quotes), BTC, speed=SPEED, bars="1m")
            async with running("marketdata", feed):
                entry = await until(lambda: _filled(bots, 1), seconds=60)
                assert entry["signals"].get("BUY") == 1
                assert entry["orders_placed"] == 1

                # SIGKILL mid-session; a new process takes the session over from its stream.
                signal.proc.send_signal(signals_.SIGKILL)
                await signal.proc.wait()
                signal = await start_service("signals", env)
                await signal.wait_ready()
                after = await until(lambda: _filled(bots, 2), seconds=60)  # the stop-loss
                assert after["orders_placed"] == 1
                assert after["signals"].get("BUY") == 1
                assert after["trades"] == 1
                assert Decimal(after["win_rate"]) == 0  # the trade was stopped out

            stopped = await bots.command(StopSession(session_id="e2e-bot", reason="test over"))
            assert stopped.result["status"] == "STOPPED"
            trades = (await client.query("trades", GetClosedTrades(account_id=ACC))).result
            activity = (await client.query("activity", GetActivity(account_id=ACC))).result
        finally:
            await signal.stop()

    # Nothing placed twice: one entry from the session, with its bracket.
    placed = [e["data"] for e in activity if e["data"]["type"] == "order_placed.v1"]
    entries = [p for p in placed if p["role"] == "entry"]
    assert len(entries) == 1
    assert entries[0]["source"] == "signal"
    assert {p["role"] for p in placed} == {"entry", "stop_loss", "take_profit"}
    assert len(trades) == 1
    assert trades[0]["exit_reason"] == "stop_loss"
    # Every signal is in the session's stream once.
    log = await PostgresEventLog.connect(fresh_database, migrate=False)
    try:
        records = [r async for batch in log.read_stream(session_stream("e2e-bot")) for r in batch]
    finally:
        await log.close()
    ids = [r.event_id for r in records if r.type == "signal_generated"]
    assert len(ids) == len(set(ids)) >= 6
    on_stream = await _signal_ids(nats_client, subjects, len(ids))
    assert set(ids) <= on_stream


async def _answers(client: PortfolioClient) -> bool:
    try:
        return (await client.query("accounts", ListAccounts())).ok
    except Exception:
        return False


async def _filled(bots: SignalsClient, fills: int) -> dict[str, Any] | None:
    try:
        current = await view(bots)
    except Exception:  # the service is starting again
        return None
    return current if current["fills"] >= fills else None


async def _signal_ids(nc: Client, subjects: Subjects, count: int) -> set[str]:
    js = nc.jetstream()
    sub = await js.subscribe(subjects.all_signals(), ordered_consumer=True)
    found: set[str] = set()
    try:
        while len(found) < count:
            msg = await sub.next_msg(timeout=20)
            found.add(msg.headers["Nats-Msg-Id"] if msg.headers else "")
    finally:
        await sub.unsubscribe()
    return found
