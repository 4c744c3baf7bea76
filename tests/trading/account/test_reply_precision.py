"""Every number a reply or a CSV line carries is at its stated precision (hypothesis).

Random histories trade instruments of every precision (cent stocks, five-decimal FX, yen
pairs, fractional coins) with prices, fees and marks finer than any tick, in accounts kept in
dollars, yen or bitcoin; whatever comes out of the reports must be quantized, never negative
zero and never in exponent notation.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertape.contract import precision
from papertape.contract.codec import encode
from papertape.contract.events.account import (
    AccountCommand,
    ApplyFill,
    ApplyMark,
    Deposit,
    OpenAccount,
    PlaceOrder,
    ResetAccount,
    SetRiskLimits,
    Withdraw,
)
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import FillId, OrderId, Symbol
from papertape.contract.instruments import instrument_for
from papertape.trading.account import AccountState, DecisionContext, decide, evolve, reports
from papertape.trading.account.scenarios import ACCOUNT, T0, WIDE_LIMITS

D = Decimal
SYMBOLS = [Symbol(s) for s in ("AAPL", "EURUSD", "USDJPY", "BTCUSD")]
CURRENCIES = ["USD", "JPY", "BTC", "KWD"]
fine = st.integers(1, 10**9).map(lambda n: D(n) / D(10**7))  # 0.0000001 .. 100
fees = st.integers(0, 10**6).map(lambda n: D(n) / D(10**5))


def _price(symbol: Symbol, data: st.DataObject) -> Decimal:
    base = {"AAPL": D(150), "EURUSD": D("1.1"), "USDJPY": D(150), "BTCUSD": D(40000)}[symbol]
    return base * (1 + data.draw(st.integers(-3000, 3000)) / D(10**5)) + data.draw(fine) / 10**6


def _quantity(symbol: Symbol, data: st.DataObject) -> Decimal:
    if symbol == "BTCUSD":
        return D(data.draw(st.integers(1, 10**6))) / D(10**6)
    return D(data.draw(st.integers(1, 50)))


def next_command(data: st.DataObject, state: AccountState, step: int) -> AccountCommand:
    """A command of the kinds that move numbers: orders, fills, marks, cash, resets."""
    kind = data.draw(
        st.sampled_from(["place"] * 5 + ["fill"] * 6 + ["mark"] * 4 + ["cash", "reset"])
    )
    ts = T0 + timedelta(minutes=step * 7, seconds=data.draw(st.integers(0, 59)))
    if kind == "fill" and state.orders:
        order = state.orders[data.draw(st.sampled_from(sorted(state.orders)))]
        price = order.limit_price or _price(order.symbol, data)
        spread = data.draw(fine) / 100
        return ApplyFill(
            account_id=ACCOUNT,
            fill_id=FillId(f"f{step}"),
            order_id=order.order_id,
            price=price,
            quantity=order.remaining,
            fee=data.draw(fees),
            ts=ts,
            bid=price - spread if data.draw(st.booleans()) else None,
            ask=price + spread,
        )
    symbol = data.draw(st.sampled_from(SYMBOLS))
    if kind == "mark":
        return ApplyMark(account_id=ACCOUNT, symbol=symbol, price=_price(symbol, data), ts=ts)
    if kind == "cash":
        amount = data.draw(fine)
        if data.draw(st.booleans()):
            return Deposit(account_id=ACCOUNT, amount=amount)
        return Withdraw(account_id=ACCOUNT, amount=amount)
    if kind == "reset":
        return ResetAccount(account_id=ACCOUNT, initial_cash=data.draw(fine) * 1000)
    side = data.draw(st.sampled_from(list(OrderSide)))
    reference = _price(symbol, data)
    limit = data.draw(st.booleans())
    stop = reference * (1 - side.sign * data.draw(st.integers(1, 500)) / D(10**4))
    return PlaceOrder(
        account_id=ACCOUNT,
        order_id=OrderId(f"o{step}"),
        symbol=symbol,
        side=side,
        quantity=_quantity(symbol, data),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=reference if limit else None,
        stop_loss=stop if data.draw(st.booleans()) else None,
    )


# --- what precision each field states -----------------------------------------------------

Rule = Callable[[str, Mapping[str, Any]], int | None]
"""The decimals a field must have, given the record's symbol and the account's currency."""


def _places(step: Decimal) -> int:
    return -int(step.as_tuple().exponent)


def money(currency: str, _: Mapping[str, Any]) -> int:
    return precision.currency_decimals(currency)


def price(_: str, record: Mapping[str, Any]) -> int:
    return _places(instrument_for(record["symbol"]).tick_size)


def quantity(_: str, record: Mapping[str, Any]) -> int:
    return _places(instrument_for(record["symbol"]).lot_size)


def fixed(places: int) -> Rule:
    return lambda currency, record: places


PCT = fixed(precision.PERCENT_DECIMALS)
RATIO = fixed(precision.RATIO_DECIMALS)
R = fixed(precision.R_MULTIPLE_DECIMALS)
PIPS = fixed(precision.PIPS_DECIMALS)
SECONDS = fixed(-precision.SECONDS_DECIMALS)  # negative: at most this many decimals

SUMMARY = {
    **dict.fromkeys(
        [
            "cash",
            "equity",
            "buying_power",
            "reserved",
            "unrealized_pnl",
            "realized_pnl",
            "fees_paid",
            "open_risk",
            "high_water_mark",
            "drawdown",
            "max_drawdown",
        ],
        money,
    ),
    "drawdown_pct": PCT,
    "max_drawdown_pct": PCT,
}
LIMITS = dict.fromkeys(
    ["max_position_pct", "max_risk_per_trade_pct", "max_portfolio_heat_pct", "max_daily_loss_pct"],
    PCT,
)
POSITION = {
    "quantity": quantity,
    **dict.fromkeys(("avg_price", "mark", "stop"), price),
    **dict.fromkeys(("market_value", "unrealized_pnl", "realized_pnl", "open_risk"), money),
}
ORDER = {
    **dict.fromkeys(("quantity", "filled_quantity"), quantity),
    **dict.fromkeys(
        [
            "limit_price",
            "stop_price",
            "trail_amount",
            "stop_loss",
            "take_profit",
            "reference_price",
        ],
        price,
    ),
    "trail_percent": PCT,
    "reserved": money,
}
TRADE = {
    "quantity": quantity,
    "entry_price": price,
    "exit_price": price,
    **dict.fromkeys(("gross_pnl", "fees", "net_pnl"), money),
    "pips": PIPS,
    "r_multiple": R,
    "holding_seconds": SECONDS,
}
POINT = dict.fromkeys(("equity", "cash", "exposure"), money)
METRICS = {
    **dict.fromkeys(
        [
            "starting_equity",
            "ending_equity",
            "net_profit",
            "expectancy",
            "average_win",
            "average_loss",
            "best_trade",
            "worst_trade",
            "max_drawdown",
            "fees",
        ],
        money,
    ),
    **dict.fromkeys(
        ["total_return_pct", "win_rate_pct", "max_drawdown_pct", "cagr_pct", "exposure_pct"], PCT
    ),
    **dict.fromkeys(("profit_factor", "sharpe", "sortino", "calmar"), RATIO),
    "average_r": R,
    "max_drawdown_duration_s": SECONDS,
}


def check_record(record: Mapping[str, Any], rules: Mapping[str, Rule], currency: str) -> None:
    """Each field at its precision; every number plain (no exponent, no negative zero)."""
    for name, rule in rules.items():
        value = record.get(name)
        if value is None or value == "":
            continue
        places = rule(currency, record)
        assert places is not None
        text = str(value)
        assert "e" not in text.lower(), f"{name}={text}: exponent notation"
        number = D(text)
        assert not (number.is_zero() and text.startswith("-")), f"{name}={text}: negative zero"
        if places < 0:  # a float: at most -places decimals
            assert round(float(text), -places) == float(text), f"{name}={text}"
        else:
            exponent = number.as_tuple().exponent
            assert exponent == -places, f"{name}={text}: not {places} places"


def check_all(records: Iterable[Mapping[str, Any]], rules: Mapping[str, Rule], cur: str) -> None:
    for record in records:
        check_record(record, rules, cur)


def no_exponent_anywhere(payload: bytes) -> None:
    """No number or numeric string in a whole reply is written with an exponent."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node[:1] in "-0123456789" and node[-1:].isdigit():
            try:
                number = D(node)
            except ArithmeticError:
                return
            assert "E" not in node.upper(), node
            assert not (number.is_zero() and node.startswith("-")), node

    walk(json.loads(payload))
    assert b"e+" not in payload.lower()
    assert b"e-0" not in payload.lower()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), currency=st.sampled_from(CURRENCIES), steps=st.integers(2, 60))
def test_every_number_in_every_reply_and_csv_line_is_at_its_stated_precision(
    data: st.DataObject, currency: str, steps: int
) -> None:
    state = AccountState()
    opening = OpenAccount(
        account_id=ACCOUNT,
        name="p",
        base_currency=currency,
        initial_cash=data.draw(fine) * 10**4,
        allow_short=True,
    )
    commands: list[AccountCommand] = [
        opening,
        SetRiskLimits(account_id=ACCOUNT, limits=WIDE_LIMITS),
    ]
    for step in range(steps):
        command = commands[step] if step < len(commands) else next_command(data, state, step)
        context = DecisionContext(now=T0 + timedelta(minutes=step * 7), marks={})
        for event in decide(command, state, context):
            state = evolve(state, event)

    report = reports.account_report(state, periods_per_year=365)
    payload = encode(report)
    no_exponent_anywhere(payload)
    encoded = json.loads(payload)
    check_record(encoded["summary"], SUMMARY, currency)
    check_record(encoded["summary"]["limits"], LIMITS, currency)
    check_all(encoded["positions"], POSITION, currency)
    check_all(encoded["open_orders"], ORDER, currency)
    check_all(encoded["closed_trades"], TRADE, currency)
    check_all(encoded["equity_curve"], POINT, currency)
    check_record(encoded["performance"], METRICS, currency)
    for part in (
        reports.account_summary(state),
        reports.positions(state),
        reports.open_orders(state),
        reports.closed_trades(state),
        reports.equity_curve(state),
        reports.account_performance(state),
    ):
        no_exponent_anywhere(encode(part))
    lines = list(csv.DictReader(io.StringIO(reports.trades_csv(reports.closed_trades(state)))))
    assert len(lines) == len(state.closed_trades)
    check_all(lines, TRADE, currency)
