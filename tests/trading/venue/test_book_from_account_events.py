"""The book follows the account's log: cancels, the account's fills, triggers, resets, refusals."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.account import (
    AccountEvent,
    AccountReset,
    CommandRejected,
    FillRejected,
    OrderCancelled,
    OrderFilledV2,
    OrderTriggered,
    PositionMarked,
)
from papertape.contract.events.execution import (
    ExecutionModels,
    FillPolicy,
    OrderExpiryReported,
    OrderFillReported,
)
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.ids import FillId, OrderId, Symbol
from papertape.trading.venue import Venue
from papertape.trading.venue.config import VenueConfig
from papertape.trading.venue.scenarios import ACCOUNT, at, bracket, placed, quote

D = Decimal


def filled(order_id: str, fill_id: str, quantity: str, remaining: str) -> OrderFilledV2:
    return OrderFilledV2(
        account_id=ACCOUNT,
        ts=at(1),
        order_id=OrderId(order_id),
        fill_id=FillId(fill_id),
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        price=D(100),
        quantity=D(quantity),
        rate=D(1),
        position_quantity=D(quantity),
        position_avg_price=D(100),
        cash_after=D(0),
        order_remaining=D(remaining),
    )


def test_cancelled_order_stops_working() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90"))
    venue.on_account_event(OrderCancelled(account_id=ACCOUNT, ts=at(1), order_id=OrderId("o1")))
    assert venue.on_quote(quote("80", "81", at(2))) == []
    assert venue.working() == []


def test_a_replayed_placement_of_a_finished_order_is_ignored() -> None:
    venue = Venue()
    order = placed("o1")
    venue.on_account_event(order)
    venue.on_quote(quote("99", "100", at(1)))
    venue.on_account_event(order)
    assert venue.working() == []


def test_fills_the_account_recorded_are_counted_once() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "10", OrderType.LIMIT, limit="90"))
    venue.on_account_event(filled("o1", "o1.fill.1", "4", "6"))
    venue.on_account_event(filled("o1", "o1.fill.1", "4", "6"))
    [fill] = [
        r for r in venue.on_quote(quote("80", "81", at(2))) if isinstance(r, OrderFillReported)
    ]
    assert (fill.quantity, fill.report_id) == (D(6), "o1.fill.2")


def test_entry_filled_in_the_account_activates_its_children_after_a_restart() -> None:
    venue = Venue()
    for event in bracket("b1", stop_loss="95", take_profit="105"):
        venue.on_account_event(event)
    venue.on_account_event(filled("b1", "b1.fill.1", "10", "0"))
    reports = venue.on_quote(quote("94", "94.10", at(2)))
    assert [r.order_id for r in reports if isinstance(r, OrderFillReported)] == ["b1-sl"]


def test_triggered_stop_from_the_log_works_as_a_market_order() -> None:
    venue = Venue()
    venue.on_account_event(placed("s1", OrderSide.SELL, "1", OrderType.STOP, stop="90"))
    venue.on_account_event(
        OrderTriggered(account_id=ACCOUNT, ts=at(1), order_id=OrderId("s1"), trigger_price=D(90))
    )
    assert [type(r) for r in venue.on_quote(quote("99", "100", at(2)))] == [OrderFillReported]


def _refused(fill_id: str) -> FillRejected:
    return FillRejected(
        account_id=ACCOUNT,
        ts=at(3),
        fill_id=FillId(fill_id),
        order_id=OrderId("o1"),
        reason_code=RejectReason.INSUFFICIENT_CASH,
        message="no cash",
    )


def test_refused_fill_ends_the_order_with_an_expiry() -> None:
    capped = ExecutionModels(fills=FillPolicy(cap_at_quote_size=True))
    venue = Venue(VenueConfig(default=capped))
    venue.on_account_event(placed("o1", OrderSide.BUY, "2", OrderType.LIMIT, limit="90"))
    [fill] = venue.on_quote(quote("89", "90", at(2), ask_size="1"))  # one of the two
    assert isinstance(fill, OrderFillReported)
    [report] = venue.on_account_event(_refused(fill.report_id))
    assert isinstance(report, OrderExpiryReported)
    assert report.reason == "fill rejected: insufficient_cash"
    assert venue.working() == []


def test_a_fill_the_account_recorded_is_forgotten_with_its_finished_order() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.MARKET))
    [fill] = venue.on_quote(quote("99", "100", at(2)))
    assert isinstance(fill, OrderFillReported)
    assert set(venue.state.booked) == {fill.report_id}  # until the account answers
    venue.on_account_event(filled("o1", fill.report_id, "1", "0"))
    assert venue.state.booked == {}
    assert venue.working() == []
    # Recorded, it can no longer be refused: a refusal naming it changes nothing.
    assert venue.on_account_event(_refused(fill.report_id)) == []


def test_a_partial_fill_recorded_is_forgotten_and_the_rest_still_works() -> None:
    capped = ExecutionModels(fills=FillPolicy(cap_at_quote_size=True))
    venue = Venue(VenueConfig(default=capped))
    venue.on_account_event(placed("o1", OrderSide.BUY, "2", OrderType.LIMIT, limit="90"))
    [fill] = venue.on_quote(quote("89", "90", at(2), ask_size="1"))
    assert isinstance(fill, OrderFillReported)
    venue.on_account_event(filled("o1", fill.report_id, "1", "1"))
    assert venue.state.booked == {}
    assert [o.order_id for o in venue.working()] == ["o1"]
    [second] = venue.on_quote(quote("88", "89", at(3), ask_size="1"))
    assert isinstance(second, OrderFillReported)
    assert second.report_id != fill.report_id  # fill ids are never given twice


def test_a_refused_fill_the_venue_never_gave_leaves_the_order_working() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90"))
    assert venue.on_account_event(_refused("forged.fill.1")) == []
    assert [o.order_id for o in venue.working()] == ["o1"]


def test_reset_account_loses_its_working_orders() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90"))
    venue.on_account_event(
        AccountReset(account_id=ACCOUNT, ts=at(1), epoch=2, initial_cash=D(1000))
    )
    assert venue.working() == []


def test_a_refused_final_fill_of_the_venues_own_is_reported_as_the_orders_end() -> None:
    # The venue forgot the order when it filled; the account, refusing the report, may still
    # list it: the expiry says it is over on both sides.
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90"))
    [fill] = venue.on_quote(quote("89", "90", at(2)))
    assert isinstance(fill, OrderFillReported)
    assert venue.working() == []
    [report] = venue.on_account_event(_refused(fill.report_id))
    assert isinstance(report, OrderExpiryReported)
    assert (report.order_id, report.unfilled) == ("o1", D(1))


def test_marks_and_refusals_leave_the_book_as_it_was() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90"))
    others: list[AccountEvent] = [
        PositionMarked(account_id=ACCOUNT, ts=at(1), symbol=Symbol("AAPL"), price=D(95)),
        CommandRejected(
            account_id=ACCOUNT,
            ts=at(1),
            command="cancel_order",
            reason_code=RejectReason.UNKNOWN_ORDER,
            message="no working order o1",
        ),
    ]
    for event in others:
        assert venue.on_account_event(event) == []
    assert [o.order_id for o in venue.working()] == ["o1"]
    assert [type(r) for r in venue.on_quote(quote("89", "89.5", at(2)))] == [OrderFillReported]
