"""The signal service on real NATS and PostgreSQL: a session trades bars through portfolio.

Bars go in on MARKET; the session's signals land in its stream and on SIGNALS; a breakout asks
portfolio for a bracket order (source ``signal``); a bar delivered twice places nothing twice;
a restarted service rebuilds the session from its stream and goes on where it stopped.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from nats.aio.client import Client

from papertape.common.eventlog import decode_envelope
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.codec import encode
from papertape.contract.events.account import HaltTrading, OpenAccount
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.events.orders import OrderSource
from papertape.contract.events.portfolio import GetOpenOrders
from papertape.contract.events.sessions import (
    GetCalibration,
    GetSession,
    GetSignals,
    ListStrategies,
    PauseSession,
    RiskOverrides,
    SessionOrderRequested,
    SessionView,
    Sizing,
    StartSession,
    StopSession,
    session_stream,
)
from papertape.contract.ids import AccountId, Symbol
from papertape.contract.subjects import Subjects
from papertape.signals.book import session_events
from papertape.signals.bootstrap import SignalService
from tests.e2e.test_trade_flow import until
from tests.portfolio.conftest import PortfolioClient
from tests.signals.conftest import SignalsClient, start_signals, stop_signals, struct

pytestmark = [pytest.mark.integration]
ACC = AccountId("bot-acc")
AAPL = Symbol("AAPL")
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


def start(session_id: str = "bot-1") -> StartSession:
    return StartSession(
        session_id=session_id,
        account_id=ACC,
        strategy="donchian_breakout",
        parameters={"period": 5, "exit_period": 3, "atr_period": 3, "volatility_period": 3},
        symbols=(AAPL,),
        overrides=RiskOverrides(
            min_confidence=0, sizing=Sizing.FIXED_QUANTITY, quantity=Decimal(3)
        ),
    )


def bar(index: int, close: str) -> BarClosed:
    begin = T0 + timedelta(minutes=index)
    c = Decimal(close)
    return BarClosed(
        symbol=AAPL,
        timeframe=Timeframe.M1,
        open=c,
        high=c + Decimal("0.5"),
        low=c - Decimal("0.5"),
        close=c,
        volume=Decimal(100),
        start=begin,
        end=begin + timedelta(minutes=1),
        source="test",
    )


async def publish_bar(nc: Client, subjects: Subjects, b: BarClosed) -> None:
    # No Nats-Msg-Id: publishing a bar twice delivers it twice.
    await nc.jetstream().publish(subjects.bar("1m", b.symbol), encode(b))


async def quote(nc: Client, subjects: Subjects, price: str) -> None:
    p = Decimal(price)
    now = datetime.now(UTC)
    q = QuoteReceived(
        symbol=AAPL,
        bid=p - Decimal("0.01"),
        ask=p + Decimal("0.01"),
        last=p,
        ts_event=now,
        ts_init=now,
        source="test",
    )
    await nc.publish(subjects.quote(AAPL), encode(q))
    await nc.flush()


async def session(bots: SignalsClient, session_id: str = "bot-1") -> SessionView:
    answer = await bots.query(GetSession(session_id=session_id))
    assert answer.ok, answer
    view: SessionView = struct(answer.result, SessionView)
    return view


FLAT = ["100.00"] * 8
BREAKOUT = "103.00"


async def test_a_session_signals_every_bar_and_trades_a_breakout_once(
    bots: SignalsClient,
    client: PortfolioClient,
    nats_client: Client,
    subjects: Subjects,
    signals: SignalService,
    fresh_database: str,
) -> None:
    assert (await client.command(OpenAccount(account_id=ACC, name="Bot"))).ok
    await quote(nats_client, subjects, "100")
    strategies = await bots.query(ListStrategies())
    assert {s["name"] for s in strategies.result} >= {"donchian_breakout", "ma_crossover"}
    started = await bots.command(start())
    assert started.ok, started
    assert started.result["status"] == "RUNNING"
    await until(lambda: _has_room(signals))

    closes = [*FLAT, BREAKOUT]
    for i, close in enumerate(closes):
        await publish_bar(nats_client, subjects, bar(i, close))
    # The breakout bar again: a redelivery places nothing twice.
    await publish_bar(nats_client, subjects, bar(len(closes) - 1, BREAKOUT))
    await quote(nats_client, subjects, BREAKOUT)

    view = await until(lambda: _placed(bots))
    assert view.signals["BUY"] == 1
    assert sum(view.signals.values()) == len(closes)  # one signal per bar, the repeat ignored
    orders = await client.query("open_orders", GetOpenOrders(account_id=ACC))
    entries = [o for o in orders.result if o["role"] == "entry"]
    assert len(entries) == 1
    assert entries[0]["source"] == OrderSource.SIGNAL
    assert Decimal(entries[0]["quantity"]) == 3

    # The order asked for again (a signal redelivered, a restart): portfolio places it once.
    bot = signals.book.bots["bot-1"]
    (order,) = await _requested(fresh_database)
    assert signals.pipeline.portfolio is not None
    repeat = await signals.pipeline.portfolio.place(order, datetime.now(UTC))
    assert repeat.order_id == order.order_id
    # ... and a second answer (two sends at once) is not recorded: one answer per order.
    assert await signals.book.record(bot, [repeat], order.order_id) == []
    orders = await client.query("open_orders", GetOpenOrders(account_id=ACC))
    assert len([o for o in orders.result if o["role"] == "entry"]) == 1
    assert bot.state.orders_placed == 1

    page = await bots.query(GetSignals(session_id="bot-1", decision="BUY"))  # type: ignore[arg-type]
    (buy,) = page.result["signals"]
    assert buy["reasoning"] == "the close broke above the channel"
    assert buy["stop"] is not None
    assert buy["targets"]

    # Every signal is in the session's stream and, through the relay, on SIGNALS.
    log = await PostgresEventLog.connect(fresh_database, migrate=False)
    try:
        kinds = [r.type async for batch in log.read_stream(session_stream("bot-1")) for r in batch]
    finally:
        await log.close()
    assert kinds.count("signal_generated") == len(closes)
    assert kinds.count("session_order_requested") == 1
    assert kinds.count("session_order_placed") == 1
    on_signals = await _signals_on_stream(nats_client, subjects, len(closes))
    assert len(on_signals) == len(closes)

    # Paused: a later breakout is recorded as SKIP, nothing is placed.
    assert (await bots.command(PauseSession(session_id="bot-1"))).ok
    calibration = await bots.query(GetCalibration())
    assert calibration.ok
    stopped = await bots.command(StopSession(session_id="bot-1", reason="test over"))
    assert stopped.result["status"] == "STOPPED"
    again = await bots.command(StopSession(session_id="bot-1"))
    assert (again.ok, again.error_code) == (False, "session_ended")


async def test_a_restarted_service_rebuilds_its_sessions_and_goes_on(
    bots: SignalsClient,
    client: PortfolioClient,
    nats_client: Client,
    subjects: Subjects,
    signals: SignalService,
    nats_url: str,
    fresh_database: str,
) -> None:
    assert (await client.command(OpenAccount(account_id=ACC, name="Bot"))).ok
    await quote(nats_client, subjects, "100")
    assert (await bots.command(start())).ok
    for i, close in enumerate(FLAT[:5]):
        await publish_bar(nats_client, subjects, bar(i, close))
    await until(lambda: _signals(bots, 5))
    before = await session(bots)
    signals.runtime.stop()  # the fixture's service is stopped; a new one takes over
    await asyncio.sleep(0.5)

    service, serving = await start_signals(nats_url, fresh_database, subjects)
    try:
        rebuilt = service.book.bots["bot-1"]
        assert rebuilt.state.version == before.version
        assert rebuilt.strategy("AAPL").bars == 5  # the strategy saw its bars again
        await until(lambda: _has_room(service))
        for i, close in enumerate([*FLAT[5:], BREAKOUT], start=5):
            await publish_bar(nats_client, subjects, bar(i, close))
        await quote(nats_client, subjects, BREAKOUT)
        view = await until(lambda: _placed(bots))
        assert view.signals["BUY"] == 1
    finally:
        await stop_signals(service, serving)


async def _requested(database: str) -> list[SessionOrderRequested]:
    log = await PostgresEventLog.connect(database, migrate=False)
    try:
        events = [
            decode_envelope(r, session_events).data
            async for batch in log.read_stream(session_stream("bot-1"))
            for r in batch
        ]
    finally:
        await log.close()
    return [e for e in events if isinstance(e, SessionOrderRequested)]


async def _has_room(service: SignalService) -> bool:
    return ACC in service.pipeline.rooms


async def _placed(bots: SignalsClient) -> SessionView | None:
    view = await session(bots)
    return view if view.orders_placed + view.orders_refused >= 1 else None


async def _signals(bots: SignalsClient, count: int) -> bool:
    return sum((await session(bots)).signals.values()) >= count


async def _signals_on_stream(nc: Client, subjects: Subjects, count: int) -> list[bytes]:
    js = nc.jetstream()
    sub = await js.subscribe(subjects.all_signals(), ordered_consumer=True)
    found: list[bytes] = []
    try:
        while len(found) < count:
            msg = await sub.next_msg(timeout=20)
            found.append(msg.data)
    finally:
        await sub.unsubscribe()
    return found


async def test_a_session_stops_itself_when_its_account_is_halted(
    bots: SignalsClient, client: PortfolioClient, signals: SignalService
) -> None:
    assert (await client.command(OpenAccount(account_id=ACC, name="Bot"))).ok
    assert (await bots.command(start())).ok
    assert (await client.command(HaltTrading(account_id=ACC, reason="kill switch"))).ok

    async def stopped() -> SessionView | None:
        view = await session(bots)
        return view if view.status == "STOPPED" else None

    view = await until(stopped)
    assert view.reason == "its account's trading is halted: kill switch"


async def test_a_malformed_command_is_refused_naming_the_field(
    bots: SignalsClient, nats_client: Client, subjects: Subjects
) -> None:
    request = {
        "request_id": "bad-1",
        "issued_at": "2026-01-05T14:30:00Z",
        "actor": "test",
        "body": {
            "type": "start_session.v1",
            "session_id": "bad session id",
            "account_id": "acc",
            "strategy": "ma_crossover",
            "symbols": ["AAPL"],
        },
    }
    msg = await nats_client.request(subjects.signals_command(), json.dumps(request).encode(), 10)
    answer = json.loads(msg.data)
    assert (answer["ok"], answer["error_code"]) == (False, "malformed_request")
    assert "session_id" in answer["error"]
