"""Every happening a rule can ask for is made from the event behind it (no I/O)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from papertape.common.testing.examples import example_of
from papertape.contract.events.account import (
    CircuitBreakerTripped,
    OrderRejected,
    TradingHalted,
)
from papertape.contract.events.execution import OrderTriggerReported
from papertape.contract.events.notifications import Happening
from papertape.contract.events.orders import OrderRole, RejectReason
from papertape.contract.events.sessions import SessionStarted, SessionStatus, SessionStopped
from papertape.notification import happenings
from tests.notification.conftest import ACC, envelope, filled


def test_the_fill_of_a_take_profit_leg_is_a_fill_and_a_take_profit_hit() -> None:
    made = happenings.of_account_event(envelope(filled("o-tp", "110.00")), OrderRole.TAKE_PROFIT)
    assert [n.happening for n in made] == [Happening.FILL, Happening.TAKE_PROFIT_HIT]
    assert made[1].title == "Take-profit hit: AAPL"
    assert made[1].details["order_id"] == "o-tp"
    assert made[0].notification_id != made[1].notification_id


def test_an_entry_fill_is_a_fill_only() -> None:
    made = happenings.of_account_event(envelope(filled("o-1")), OrderRole.ENTRY)
    assert [n.happening for n in made] == [Happening.FILL]


def test_a_refused_order_is_told_with_its_reason_code() -> None:
    refused = example_of(
        OrderRejected, {"account_id": ACC, "reason_code": RejectReason.INSUFFICIENT_FUNDS}
    )
    (made,) = happenings.of_account_event(envelope(refused), None)
    assert made.happening is Happening.ORDER_REFUSED
    assert made.title == "Order refused (insufficient_funds)"
    assert made.details["reason_code"] == "insufficient_funds"
    assert made.details["order_id"] == refused.order_id
    assert made.account_id == ACC


def test_a_tripped_circuit_breaker_is_told_with_the_days_loss() -> None:
    tripped = example_of(
        CircuitBreakerTripped,
        {"account_id": ACC, "loss_pct": Decimal("5.016"), "equity": Decimal("94984.4")},
    )
    (made,) = happenings.of_account_event(envelope(tripped), None)
    assert made.happening is Happening.CIRCUIT_BREAKER
    assert made.details == {"loss_pct": "5.02", "equity": "94984.40"}
    assert "5.02%" in made.text


def test_a_halt_is_told_with_its_reason() -> None:
    halted = example_of(TradingHalted, {"account_id": ACC, "reason": "kill switch"})
    (made,) = happenings.of_account_event(envelope(halted), None)
    assert made.happening is Happening.TRADING_HALTED
    assert made.text == "Trading halted: kill switch"
    assert made.details == {"reason": "kill switch"}


def test_the_same_event_seen_again_is_the_same_notification() -> None:
    halted = envelope(example_of(TradingHalted, {"account_id": ACC}))
    first = happenings.of_account_event(halted, None)
    assert first == happenings.of_account_event(halted, None)
    other = envelope(example_of(TradingHalted, {"account_id": ACC}))
    assert first[0].notification_id != happenings.of_account_event(other, None)[0].notification_id


def test_a_triggered_stop_is_told_from_the_venues_report() -> None:
    report = example_of(OrderTriggerReported, {"account_id": ACC})
    (made,) = happenings.of_execution_report(envelope(report))
    assert made.happening is Happening.ORDER_TRIGGERED
    assert made.details["trigger_price"] == str(report.trigger_price)
    assert happenings.of_execution_report(envelope(filled("o-1"))) == []


def test_a_session_start_is_told_for_the_account_it_trades() -> None:
    started = example_of(SessionStarted)
    (made,) = happenings.of_session_event(envelope(started), ACC)
    assert made.happening is Happening.SESSION_STARTED
    assert made.account_id == ACC
    assert made.details["session_id"] == started.session_id


@pytest.mark.parametrize(
    ("status", "happening", "text"),
    [
        (SessionStatus.ERROR, Happening.SESSION_ERRORED, "feed lost"),
        (SessionStatus.STOPPED, Happening.SESSION_ENDED, "asked to stop"),
        (SessionStatus.COMPLETED, Happening.SESSION_ENDED, "asked to stop"),
    ],
)
def test_a_stopped_session_is_errored_only_when_it_stopped_with_an_error(
    status: SessionStatus, happening: Happening, text: str
) -> None:
    error = "feed lost" if status is SessionStatus.ERROR else ""
    stopped = example_of(SessionStopped)
    stopped = msgspec.structs.replace(stopped, status=status, reason="asked to stop", error=error)
    (made,) = happenings.of_session_event(envelope(stopped), ACC)
    assert made.happening is happening
    assert made.text == text
    assert made.details["status"] == status.value
