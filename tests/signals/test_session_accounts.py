"""A session starts only on an account portfolio knows, on real NATS and PostgreSQL.

A start naming an account never opened is refused (``unknown_account``, naming the account) and
leaves nothing in the log; a portfolio that does not answer makes the start ``unavailable`` (ask
again), not a refusal; the demo session of ``make run`` waits for portfolio to open its account.
"""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from nats.aio.client import Client

from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.account import OpenAccount
from papertape.contract.events.sessions import SESSION_STREAM_PREFIX, StartSession
from papertape.contract.ids import AccountId
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.portfolio.bootstrap import Portfolio, build
from papertape.portfolio.settings import PortfolioSettings
from papertape.signals.bootstrap import DEMO_SESSION, SignalService
from tests.e2e.test_trade_flow import until
from tests.portfolio.conftest import PortfolioClient
from tests.signals.conftest import SignalsClient, start_signals, stop_signals
from tests.signals.test_service import start

pytestmark = [pytest.mark.integration]
GHOST = AccountId("ghost-acc")


def start_on(account_id: AccountId, session_id: str = "bot-1") -> StartSession:
    return StartSession(
        session_id=session_id,
        account_id=account_id,
        strategy=start().strategy,
        parameters=start().parameters,
        symbols=start().symbols,
        overrides=start().overrides,
    )


async def _session_streams(database: str) -> list[str]:
    log = await PostgresEventLog.connect(database, migrate=False)
    try:
        return [info.stream_id for info in await log.list_streams(SESSION_STREAM_PREFIX)]
    finally:
        await log.close()


async def test_a_session_on_an_account_never_opened_is_refused_and_nothing_is_recorded(
    bots: SignalsClient, client: PortfolioClient, signals: SignalService, fresh_database: str
) -> None:
    refused = await bots.command(start_on(GHOST))
    assert (refused.ok, refused.error_code) == (False, "unknown_account"), refused
    assert GHOST in (refused.error or "")
    assert "bot-1" not in signals.book.bots
    assert await _session_streams(fresh_database) == []

    # Nothing was left behind: once the account is opened, the same session starts.
    assert (await client.command(OpenAccount(account_id=GHOST, name="Ghost"))).ok
    started = await bots.command(start_on(GHOST))
    assert started.ok, started
    assert started.result["status"] == "RUNNING"
    assert await _session_streams(fresh_database) == ["session-bot-1"]


async def test_a_start_while_portfolio_does_not_answer_is_unavailable_not_refused(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
) -> None:
    service, serving = await start_signals(nats_url, fresh_database, subjects)
    try:
        bots = SignalsClient(nats_client, subjects)
        answer = await until(lambda: _answered(bots, start_on(GHOST)))
        assert (answer.ok, answer.error_code) == (False, "unavailable"), answer
        assert "bot-1" not in service.book.bots
        assert await _session_streams(fresh_database) == []
    finally:
        await stop_signals(service, serving)


async def test_a_start_with_bad_parameters_is_refused_for_them_while_portfolio_is_away(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
) -> None:
    """Portfolio is not asked about a start its own parameters refuse: its caller hears what
    to fix, not 'unavailable, retry'."""
    service, serving = await start_signals(nats_url, fresh_database, subjects)
    try:
        bots = SignalsClient(nats_client, subjects)
        bad = msgspec.structs.replace(start_on(GHOST), parameters={"period": "five"})
        answer = await until(lambda: _answered(bots, bad))
        assert (answer.ok, answer.error_code) == (False, "invalid_parameters"), answer
        assert await _session_streams(fresh_database) == []
    finally:
        await stop_signals(service, serving)


async def _answered(bots: SignalsClient, command: StartSession) -> object:
    try:
        return await bots.command(command)
    except Exception:  # the service's subscriptions not there yet: ask again
        return None


async def _start_portfolio(
    nats_url: str, database: str, subjects: Subjects
) -> tuple[Portfolio, asyncio.Task[None]]:
    """A portfolio that opens the demo account on start, as ``make run`` has it."""
    settings = PortfolioSettings(
        nats_url=nats_url,
        database_url=database,
        namespace=subjects.namespace,
        metrics_port=-1,
        demo_account="demo",
    )
    service = await build(settings)
    serving = asyncio.create_task(
        service.runtime.serve(on_start=service.start, on_stop=service.stop)
    )
    return service, serving


async def test_the_demo_session_starts_once_portfolio_has_opened_the_demo_account(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    # As in ``make run``, the services start together: the signal service comes up first.
    signals, serving = await start_signals(nats_url, fresh_database, subjects, demo_account="demo")
    try:
        await asyncio.sleep(1.0)
        assert DEMO_SESSION not in signals.book.bots  # no account yet: no session
        portfolio, serving_portfolio = await _start_portfolio(nats_url, fresh_database, subjects)
        try:

            async def demo_running() -> bool:
                bot = signals.book.bots.get(DEMO_SESSION)
                return bot is not None and bot.state.status == "RUNNING"

            await until(demo_running)
            assert signals.book.bots[DEMO_SESSION].state.account_id == "demo"
        finally:
            portfolio.runtime.stop()
            await serving_portfolio
            await portfolio.log.close()
    finally:
        await stop_signals(signals, serving)
