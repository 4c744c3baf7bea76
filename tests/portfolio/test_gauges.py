"""The account gauges: worked out when scraped, from the state each account was last in; the
counters count every turn."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from papertape.common.clock import SystemClock
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.contract.events.account import Deposit, OpenAccount
from papertape.contract.ids import AccountId
from papertape.portfolio import gauges
from papertape.portfolio.accounts import AccountBook
from papertape.trading.account.reports import account_summary
from tests.portfolio.test_book import request


async def test_a_turn_computes_no_gauge_and_a_scrape_reports_the_latest_state(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    summaries: list[str] = []
    summary = account_summary

    def counted(state: Any) -> Any:
        summaries.append(state.account_id)
        return summary(state)

    monkeypatch.setattr("papertape.portfolio.gauges.account_summary", counted)
    log = await PostgresEventLog.connect(fresh_database)
    metrics = ServiceMetrics("portfolio")
    book = AccountBook(log, log, SystemClock(), metrics=metrics)
    try:
        alice = AccountId("alice")
        await book.execute(request(OpenAccount(account_id=alice, name="Alice")))
        for _ in range(3):
            await book.execute(request(Deposit(account_id=alice, amount=Decimal(100))))
        assert summaries == []  # the commands' turns computed no gauge
        sample = metrics.registry.get_sample_value
        assert sample("papertape_account_equity", {"account": "alice"}) == 10_300
        assert sample("papertape_account_cash", {"account": "alice"}) == 10_300
        assert sample("papertape_account_open_orders", {"account": "alice"}) == 0
        assert "alice" in summaries  # the scrape did
        await book.execute(request(Deposit(account_id=alice, amount=Decimal(1))))
        assert sample("papertape_account_equity", {"account": "alice"}) == 10_301
        appended = {"service": "portfolio", "type": "FundsDeposited"}
        assert sample("papertape_events_appended_total", appended) == 4  # each turn counted
        book.forget_where(lambda account: account == "alice")
        assert sample("papertape_account_equity", {"account": "alice"}) is None
    finally:
        await log.close()


def test_a_metric_child_is_looked_up_once_and_counts_as_the_metric_would() -> None:
    registry = CollectorRegistry()
    metric = Counter("x_total", "x", ["account", "status"], registry=registry)
    children = gauges.Children(metric)
    first = children("alice", "placed")
    first.inc()
    children("alice", "placed").inc()
    children("bob", "filled").inc(2)
    assert children("alice", "placed") is first
    assert registry.get_sample_value("x_total", {"account": "alice", "status": "placed"}) == 2
    assert registry.get_sample_value("x_total", {"account": "bob", "status": "filled"}) == 2
