"""A paper bot session on replayed quotes against a backtest of the same strategy, parameters
and bars, given the same quotes: no divergence; with another fee, exactly the fee differences.

market-data replays BTCUSD quotes (every 5 s of quote time, at 30x, starting ahead of the wall
clock so the venue takes every order at once) and publishes the bars a quote closes before that
quote, which waits ``BAR_SETTLE_S`` (the rule that makes both runs see the same market): an
order placed on a bar reaches the venue before the next bar's first quote and fills there, at
its ask, as the backtest's venue fills it on the same quotes. signal, portfolio and execution
run as processes; the session buys the breakout with a bracket, and the fall through its stop
comes minutes later (well after the stop leg reached the venue). ``papertape compare`` then
runs the backtest over market-data's stored bars and the replay's quotes.
"""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from papertape.cli.__main__ import main
from papertape.contract.events.account import OpenAccount
from papertape.contract.events.sessions import GetSession
from papertape.contract.ids import AccountId, Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.processes import replay_feed, running, service_env
from tests.e2e.test_bot_session import _answers, session_start
from tests.e2e.test_trade_flow import until
from tests.portfolio.conftest import PortfolioClient
from tests.signals.conftest import SignalsClient

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]
ACC = AccountId("bot-trader")
BTC = Symbol("BTCUSD")
SPEED = 30
BAR_SETTLE_S = 1.0
"""Time for an order placed on a bar to reach the venue (signal, portfolio, its log, the relay,
execution), with room for a loaded machine; without it the test fails (one divergent fill)."""
MINUTES = 12
"""Flat at 100 for five minutes, 103 (the breakout) for four, then 95 (through the stop)."""


def write_quotes(path: Path, start: datetime) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ts", "symbol", "bid", "ask", "last"])
        for step in range(MINUTES * 12):
            ts = start + timedelta(seconds=5 * step)
            minute = step // 12
            mid = Decimal(100) if minute < 5 else Decimal(103) if minute < 9 else Decimal(95)
            spread = Decimal("0.01")
            writer.writerow([ts.isoformat(), BTC, mid - spread, mid + spread, mid])


async def session(bots: SignalsClient) -> dict[str, Any] | None:
    answer = await bots.query(GetSession(session_id="e2e-bot"))
    return answer.result if answer.ok else None


async def settled(bots: SignalsClient) -> dict[str, Any] | None:
    """The session once it evaluated every closed bar (the last minute never closes) and
    recorded both fills."""
    view = await session(bots)
    if view is None or view["fills"] < 2 or sum(view["signals"].values()) < MINUTES - 1:
        return None
    return view


async def test_a_paper_session_on_replayed_quotes_matches_its_backtest_fill_for_fill(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    nats_client: Client,
    jetstream_streams: tuple[StreamSpec, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = service_env(nats_url, fresh_database, subjects.namespace)
    env |= {"PAPERTAPE_ACCOUNT_INTERVAL_S": "0.5", "PAPERTAPE_CLOCK_INTERVAL_S": "0.5"}
    client = PortfolioClient(nats_client, subjects)
    bots = SignalsClient(nats_client, subjects)
    quotes = tmp_path / "quotes.csv"
    # Quote time starts at a whole minute ahead of the wall clock and runs 30x faster.
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=2)
    write_quotes(quotes, start)
    feed = replay_feed(
        env, str(quotes), BTC, speed=SPEED, bars="1m", store=True, settle_s=BAR_SETTLE_S
    )
    async with running("portfolio", env), running("execution", env), running("signals", env):
        await until(lambda: _answers(client))
        assert (await client.command(OpenAccount(account_id=ACC, name="Bot"))).ok
        started = await bots.command(session_start())
        assert started.ok, started
        async with running("marketdata", feed):
            view = await until(lambda: settled(bots), seconds=120)
    [trade] = view["closed_trades"]
    assert trade["exit_reason"] == "STOP_LOSS"

    where = ["--session", "e2e-bot", "--database-url", fresh_database, "--from-database",
             "--quotes", str(quotes), "--symbol", BTC, "--json"]  # fmt: skip
    assert await asyncio.to_thread(main, ["compare", *where]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["divergent"] == 0, same
    assert [m["key"].rsplit(":", 1)[1] for m in same["matched"]] == ["entry#1", "stop_loss#1"]
    assert same["only_left"] == same["only_right"] == []
    entry, stop = same["matched"]
    # The breakout bar (the first at 103, the sixth) signals at its close; both fill at the
    # seventh bar's first quote: its ask of 103.01 and 5 bps of slippage, to the cent above.
    assert Decimal(entry["left_price"]) == Decimal("103.07")
    assert datetime.fromisoformat(entry["left_ts"]) == start + timedelta(minutes=6)
    assert Decimal(stop["left_price"]) < Decimal("95")  # the bid through the stop, slipped

    # On the bars alone the backtest fills at the next bar's open, stamped at its end: the
    # same price here (the bars' opens are the quotes' last prices), not the same market.
    bars_only = [a for a in where if a not in ("--quotes", str(quotes))]
    assert await asyncio.to_thread(main, ["compare", *bars_only]) == 0
    assert json.loads(capsys.readouterr().out)["divergent"] == 2

    # A dearer taker fee (crypto: 40 bps by default, 100 now): only the fees differ, by 60 bps
    # of each fill's notional, and nothing else.
    assert await asyncio.to_thread(main, ["compare", *where, "--taker-bps", "100"]) == 0
    dearer = json.loads(capsys.readouterr().out)
    assert dearer["only_left"] == dearer["only_right"] == []
    assert len(dearer["matched"]) == 2
    for fill in dearer["matched"]:
        notional = Decimal(fill["left_price"]) * Decimal("0.5")
        assert Decimal(fill["fee"]) == (notional * Decimal("0.006")).quantize(Decimal("0.01"))
        assert fill["seconds"] == 0
        assert Decimal(fill["price"]) == Decimal(fill["quantity"]) == Decimal(fill["pnl"]) == 0
    assert Decimal(dearer["fee_total"]) == sum(Decimal(m["fee"]) for m in dearer["matched"])
