"""Bad numbers and times are refused when a message is decoded or built, naming the field."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from papertape.contract.codec import Codec, HistoryCodec
from papertape.contract.events.account import (
    AccountCommand,
    AccountEvent,
    ApplyFill,
    CommandRejected,
    Deposit,
    FundsDeposited,
)
from papertape.contract.events.envelope import Request
from papertape.contract.events.market import MarketEvent
from papertape.contract.events.orders import RejectReason
from papertape.contract.events.portfolio import PortfolioQuery
from papertape.contract.history import void_account_event
from papertape.contract.ids import AccountId, FillId, OrderId

commands: Codec[Request[AccountCommand]] = Codec(Request[AccountCommand])
queries: Codec[Request[PortfolioQuery]] = Codec(Request[PortfolioQuery])
history: HistoryCodec[AccountEvent] = HistoryCodec(AccountEvent, void_account_event)
histories: HistoryCodec[list[AccountEvent]] = HistoryCodec(list[AccountEvent], void_account_event)
AWARE = "2024-01-02T14:30:00Z"
NAIVE = "2024-01-02T14:30:00"
BAD_DECIMALS = ["NaN", "sNaN", "Infinity", "-Infinity", "1e30", "1e400", "-0", "-5"]


def request(body: dict[str, Any], issued_at: str = AWARE) -> bytes:
    return msgspec.json.encode(
        {"request_id": "r-1", "issued_at": issued_at, "actor": "test", "body": body}
    )


def deposit(amount: Any) -> dict[str, Any]:
    return {"type": "deposit.v1", "account_id": "acc-1", "amount": amount}


def order(**fields: Any) -> dict[str, Any]:
    body = {
        "type": "place_order.v1",
        "account_id": "acc-1",
        "order_id": "o-1",
        "symbol": "AAPL",
        "side": "buy",
        "quantity": "1",
        "order_type": "limit",
        "limit_price": "100",
    }
    return {**body, **fields}


def fill(**fields: Any) -> dict[str, Any]:
    body = {
        "type": "apply_fill.v1",
        "account_id": "acc-1",
        "fill_id": "f-1",
        "order_id": "o-1",
        "price": "100",
        "quantity": "1",
        "ts": AWARE,
    }
    return {**body, **fields}


def refusal(data: bytes, codec: Codec[Any] = commands) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        codec.decode(data)
    return str(caught.value)


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (fill(ts=NAIVE), "$.body.ts"),
        (order(time_in_force="gtd", expire_at=NAIVE), "$.body.expire_at"),
        ({"type": "expire_order.v1", "account_id": "a", "order_id": "o", "ts": NAIVE}, "$.body.ts"),
    ],
)
def test_a_naive_time_in_a_command_is_refused_naming_the_field(
    body: dict[str, Any], where: str
) -> None:
    message = refusal(request(body))
    assert "timezone" in message
    assert where in message


def test_a_naive_time_in_a_request_or_a_query_is_refused() -> None:
    assert "$.issued_at" in refusal(request(deposit("1"), issued_at=NAIVE))
    since = {"type": "get_equity_curve.v1", "account_id": "a", "since": NAIVE}
    assert "$.body.since" in refusal(request(since), queries)


def test_a_naive_time_in_market_data_is_refused() -> None:
    quote = {
        "type": "quote_received.v1",
        "symbol": "AAPL",
        "bid": "1",
        "ask": "2",
        "ts_event": NAIVE,
        "ts_init": AWARE,
        "source": "x",
    }
    assert "$.ts_event" in refusal(msgspec.json.encode(quote), Codec(MarketEvent))


def test_a_time_outside_the_calendar_date_arithmetic_can_handle_is_refused() -> None:
    assert "ts must be in [1970, 2200)" in refusal(request(fill(ts="9999-12-31T23:59:59Z")))


def test_a_naive_time_cannot_even_be_built() -> None:
    with pytest.raises(ValueError, match="ts must carry a timezone"):
        ApplyFill(
            account_id=AccountId("a"),
            fill_id=FillId("f"),
            order_id=OrderId("o"),
            price=Decimal(1),
            quantity=Decimal(1),
            ts=datetime(2024, 1, 2),  # noqa: DTZ001 - the naive time under test
        )


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_DECIMALS)
def test_a_bad_deposit_amount_is_refused_naming_the_field(bad: str) -> None:
    message = refusal(request(deposit(bad)))
    assert message.startswith("amount must")
    assert message.endswith("- at `$.body`")


@pytest.mark.parametrize("bad", BAD_DECIMALS)
@pytest.mark.parametrize("field", ["quantity", "limit_price", "stop_loss", "trail_amount"])
def test_a_bad_order_number_is_refused_naming_the_field(field: str, bad: str) -> None:
    assert refusal(request(order(**{field: bad}))).startswith(f"{field} must")


@pytest.mark.parametrize("bad", BAD_DECIMALS)
@pytest.mark.parametrize("field", ["price", "quantity"])
def test_a_bad_fill_from_the_venue_is_refused_naming_the_field(field: str, bad: str) -> None:
    assert refusal(request(fill(**{field: bad}))).startswith(f"{field} must")


@pytest.mark.parametrize("bad", [1e300, -1.0, 1e13])
def test_numbers_sent_as_json_numbers_are_bounded_too(bad: float) -> None:
    assert refusal(request(deposit(bad))).startswith("amount must")


def test_amounts_have_an_upper_bound_and_a_precision() -> None:
    assert commands.decode(request(deposit("1e12"))).body == Deposit(
        account_id=AccountId("acc-1"), amount=Decimal("1e12")
    )
    assert "0 <= x <= 1E+12" in refusal(request(deposit("1000000000000.01")))
    assert "at most 12 decimal places" in refusal(request(deposit("0.0000000000001")))


def test_percentages_and_bps_are_bounded() -> None:
    trailing = order(order_type="trailing_stop", limit_price=None, trail_percent="101")
    assert refusal(request(trailing)).startswith("trail_percent must be 0 <= x <= 100")
    loss = {"max_daily_loss_pct": "-1"}
    limits = {"type": "set_risk_limits.v1", "account_id": "a", "limits": loss}
    assert "max_daily_loss_pct must" in refusal(request(limits))
    costs = {"type": "set_cost_model.v1", "account_id": "a", "cost_model": {"slippage_bps": "1e5"}}
    assert "slippage_bps must" in refusal(request(costs))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"type": "get_activity.v1", "account_id": "a", "limit": 0}, "$.body.limit"),
        ({"type": "get_activity.v1", "account_id": "a", "limit": 10**6}, "$.body.limit"),
        ({"type": "get_activity.v1", "account_id": "a", "from_version": -1}, "$.body.from_version"),
        ({"type": "get_performance.v1", "account_id": "a", "periods_per_year": 0}, "$.body"),
        ({"type": "get_account_summary.v1", "account_id": "a.b"}, "$.body.account_id"),
        ({"type": "get_account_summary.v1", "account_id": ""}, "$.body.account_id"),
    ],
)
def test_ints_and_ids_of_queries_are_bounded(body: dict[str, Any], where: str) -> None:
    assert where in refusal(request(body), queries)


def test_a_bad_number_cannot_even_be_built() -> None:
    with pytest.raises(ValueError, match="amount must be finite, got NaN"):
        Deposit(account_id=AccountId("a"), amount=Decimal("NaN"))
    with pytest.raises(ValueError, match="amount must not be -0"):
        Deposit(account_id=AccountId("a"), amount=Decimal("-0"))


def test_the_json_schemas_state_the_bounds() -> None:
    schema = msgspec.json.schema(Deposit)
    amount = schema["$defs"]["Deposit"]["properties"]["amount"]
    assert amount["x-minimum"] == "0"
    assert amount["x-maximum"] == "1E+12"
    assert amount["x-maxPlaces"] == 12
    ts = msgspec.json.schema(ApplyFill)["$defs"]["ApplyFill"]["properties"]["ts"]
    assert ts["format"] == "date-time"


# --- stored history --------------------------------------------------------------------------


def stored_deposit(amount: str, ts: str = AWARE) -> bytes:
    data = {"type": "funds_deposited.v1", "account_id": "acc-1", "ts": ts, "amount": amount}
    return msgspec.json.encode(data)


def test_a_stored_naive_time_reads_as_utc() -> None:
    event = history.decode(stored_deposit("5", ts=NAIVE))
    assert isinstance(event, FundsDeposited)
    assert event.ts == datetime.fromisoformat(AWARE)


@pytest.mark.parametrize("bad", ["Infinity", "NaN", "1e400"])
def test_a_stored_event_out_of_bounds_is_voided_on_read(bad: str) -> None:
    event = history.decode(stored_deposit(bad, ts=NAIVE))
    assert isinstance(event, CommandRejected)
    assert event.reason_code is RejectReason.INVALID_HISTORY
    assert event.command == "funds_deposited.v1"
    assert event.message.startswith("stored event voided on read: amount must be")
    assert event.ts == datetime.fromisoformat(AWARE)


def test_only_the_bad_event_of_a_stored_batch_is_voided() -> None:
    batch = b"[" + stored_deposit("5") + b"," + stored_deposit("Infinity") + b"]"
    good, voided = histories.decode(batch)
    assert isinstance(good, FundsDeposited)
    assert isinstance(voided, CommandRejected)


def test_stored_history_broken_otherwise_still_fails_loudly() -> None:
    with pytest.raises(msgspec.ValidationError, match="RFC3339"):
        history.decode(stored_deposit("5", ts="yesterday"))
    no_amount = b'{"type": "funds_deposited.v1", "account_id": "a", "ts": "2024-01-02T00:00:00"}'
    with pytest.raises(msgspec.ValidationError, match="missing required field `amount`"):
        history.decode(no_amount)
