"""Time in force: GTC works on, DAY ends at midnight or the close, GTD at its time, IOC and FOK."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.contract.events.execution import (
    ExecutionModels,
    FillPolicy,
    OrderExpiryReported,
    OrderFillReported,
)
from papertape.contract.events.orders import OrderSide, OrderType, TimeInForce
from papertape.trading.venue import Venue, VenueConfig
from papertape.trading.venue.scenarios import at, placed, quote

D = Decimal
CAPPED = VenueConfig(default=ExecutionModels(fills=FillPolicy(cap_at_quote_size=True)))


def expiry(reports: Sequence[object]) -> OrderExpiryReported:
    [report] = [r for r in reports if isinstance(r, OrderExpiryReported)]
    return report


def test_gtc_limit_keeps_working_across_days() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90"))
    assert venue.on_quote(quote("99", "100", at(86400 * 3))) == []
    assert len(venue.working()) == 1


def test_day_order_expires_at_the_next_utc_midnight() -> None:
    venue = Venue()
    venue.on_account_event(
        placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90", tif=TimeInForce.DAY)
    )
    midnight = datetime(2024, 1, 3, tzinfo=UTC)
    assert venue.on_quote(quote("99", "100", midnight - timedelta(seconds=1))) == []
    report = expiry(venue.on_quote(quote("99", "100", midnight)))
    assert (report.reason, report.unfilled, report.report_id) == ("day", D(1), "o1.expiry")
    assert venue.working() == []


def test_day_order_expires_when_its_session_closes() -> None:
    venue = Venue()
    venue.on_account_event(
        placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90", tif=TimeInForce.DAY)
    )
    venue.on_quote(quote("99", "100", at(1)))
    assert expiry(venue.on_quote(quote("99", "100", at(2), in_session=False))).reason == (
        "day: session closed"
    )


def test_gtd_order_expires_at_its_time_even_without_a_quote() -> None:
    venue = Venue()
    venue.on_account_event(
        placed(
            "o1",
            OrderSide.BUY,
            "1",
            OrderType.LIMIT,
            limit="90",
            tif=TimeInForce.GTD,
            expire_at=at(60),
        )
    )
    assert venue.expire_due(at(59)) == []
    assert expiry(venue.expire_due(at(60))).reason == "good till date"


def test_ioc_fills_what_it_can_and_expires_the_rest() -> None:
    venue = Venue(CAPPED)
    venue.on_account_event(placed("o1", OrderSide.BUY, "10", tif=TimeInForce.IOC))
    reports = venue.on_quote(quote("99", "100", at(1), ask_size="3"))
    fill = reports[0]
    assert isinstance(fill, OrderFillReported)
    assert fill.quantity == 3
    assert expiry(reports).unfilled == 7


def test_ioc_limit_that_is_not_marketable_expires_unfilled() -> None:
    venue = Venue()
    venue.on_account_event(
        placed("o1", OrderSide.BUY, "10", OrderType.LIMIT, limit="95", tif=TimeInForce.IOC)
    )
    reports = venue.on_quote(quote("99", "100", at(1)))
    assert [type(r) for r in reports] == [OrderExpiryReported]


def test_fok_that_cannot_fill_completely_fills_nothing() -> None:
    venue = Venue(CAPPED)
    venue.on_account_event(placed("o1", OrderSide.BUY, "10", tif=TimeInForce.FOK))
    reports = venue.on_quote(quote("99", "100", at(1), ask_size="9"))
    assert [type(r) for r in reports] == [OrderExpiryReported]
    assert expiry(reports).reason == "fill or kill"


def test_fok_that_can_fill_completely_fills() -> None:
    venue = Venue(CAPPED)
    venue.on_account_event(placed("o1", OrderSide.BUY, "10", tif=TimeInForce.FOK))
    [fill] = venue.on_quote(quote("99", "100", at(1), ask_size="10"))
    assert isinstance(fill, OrderFillReported)
    assert fill.quantity == 10
