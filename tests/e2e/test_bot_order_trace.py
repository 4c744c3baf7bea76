"""One trace follows a bot's order: the bar the signal service decided on, portfolio, execution.

Portfolio, execution, signals and market-data run as processes exporting spans over OTLP/HTTP
to the test's receiver; a bot session buys a breakout from replayed quotes (the scenario of
the bot-session test). The entry's ``OrderPlaced`` in the log records a trace, and that trace
holds the signal service's handling of the bar (and its request to portfolio), portfolio's
decision and relay, and execution's fill.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client

from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.account import OpenAccount, account_stream
from papertape.contract.events.sessions import GetSession
from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.otlp import ReceivedSpan, Receiver, otlp_receiver
from tests.e2e.processes import replay_feed, running
from tests.e2e.test_bot_session import ACC, BTC, SPEED, session_start, write_quotes
from tests.e2e.test_trade_flow import until
from tests.portfolio.conftest import PortfolioClient
from tests.signals.conftest import SignalsClient

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]
SERVICES = {"papertape-signals", "papertape-portfolio", "papertape-execution"}


async def test_one_trace_follows_a_bots_order_from_the_bar_through_portfolio_and_execution(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    nats_client: Client,
    jetstream_streams: tuple[StreamSpec, ...],
    tmp_path: Path,
) -> None:
    with otlp_receiver() as receiver:
        env = {
            "NATS_URL": nats_url,
            "DATABASE_URL": fresh_database,
            "PAPERTAPE_NAMESPACE": subjects.namespace,
            "PAPERTAPE_METRICS_PORT": "-1",
            "PAPERTAPE_ACCOUNT_INTERVAL_S": "0.5",
            "PAPERTAPE_CLOCK_INTERVAL_S": "0.5",
            "PAPERTAPE_TRACES_EXPORTER": "otlp",
            "PAPERTAPE_OTLP_ENDPOINT": receiver.url,
        }
        client = PortfolioClient(nats_client, subjects)
        bots = SignalsClient(nats_client, subjects)
        async with running("portfolio", env), running("execution", env), running("signals", env):
            assert (await client.command(OpenAccount(account_id=ACC, name="Bot"))).ok
            assert (await bots.command(session_start())).ok
            quotes = tmp_path / "quotes.csv"
            write_quotes(quotes, datetime.now(UTC))
            feed = replay_feed(env, str(quotes), BTC, speed=SPEED, bars="1m")
            async with running("marketdata", feed):
                await until(lambda: _filled(bots), seconds=120)
            trace_id = await _entry_trace(fresh_database)
            spans = await until(lambda: _whole(receiver, trace_id), seconds=30)

    bar = [s for s in spans if s.service == "papertape-signals" and "md.bar" in s.name]
    assert bar, _describe(spans)
    # Portfolio decided the order as a child of the signal service's handling of the bar.
    (command,) = [s for s in spans if s.name.endswith("portfolio.command process")]
    assert command.service == "papertape-portfolio"
    assert command.parent_id in {s.span_id for s in bar}, _describe(spans)
    portfolio = {s.name for s in spans if s.service == "papertape-portfolio"}
    assert any("order_placed publish" in name for name in portfolio), _describe(spans)
    execution = {s.name for s in spans if s.service == "papertape-execution"}
    assert any("order_fill_reported" in name for name in execution), _describe(spans)
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id not in ids]
    assert len(roots) == 1, _describe(spans)  # one tree, rooted where the bar came in


async def _filled(bots: SignalsClient) -> bool:
    answer = await bots.query(GetSession(session_id="e2e-bot"))
    return bool(answer.ok and answer.result["fills"] >= 1)


async def _entry_trace(database_url: str) -> str:
    """The trace id the log's metadata records for the session's entry order."""
    log = await PostgresEventLog.connect(database_url, migrate=False)
    try:
        async for batch in log.read_stream(account_stream(ACC)):
            for recorded in batch:
                if recorded.type == "order_placed" and '"entry"' in recorded.data:
                    traceparent = json.loads(recorded.metadata)["traceparent"]
                    return str(traceparent.split("-")[1])
    finally:
        await log.close()
    raise AssertionError("no entry order in the log")


async def _whole(receiver: Receiver, trace_id: str) -> list[ReceivedSpan] | None:
    """The trace once every service and execution's fill report are in it, with every parent
    received but the root's (each process exports its spans in batches of its own, so a child
    can arrive before its parent: portfolio's relay of the fill after execution's handling)."""
    spans = receiver.spans(trace_id)
    filled = any(
        s.service == "papertape-execution" and "order_fill_reported" in s.name for s in spans
    )
    ids = {s.span_id for s in spans}
    orphans = [s for s in spans if s.parent_id not in ids]
    complete = filled and {s.service for s in spans} >= SERVICES and len(orphans) <= 1
    return spans if complete else None


def _describe(spans: list[ReceivedSpan]) -> str:
    return "\n".join(f"{s.service:22} {s.span_id} <- {s.parent_id} {s.name}" for s in spans)
