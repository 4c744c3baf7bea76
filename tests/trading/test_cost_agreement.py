"""The account and the venue read one cost schedule: what is reserved covers what is charged.

The real ``decide``/``evolve`` of the account and the real venue engine run together: the
account's events go to the venue, the venue's fill goes back as the portfolio translates it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.contract.costs import CostSchedule, CostTerms
from papertape.contract.events.account import OrderFilledV2, OrderPlaced, PlaceOrder, SetCostModelV2
from papertape.contract.events.execution import OrderFillReported
from papertape.contract.events.orders import OrderSide
from papertape.contract.ids import OrderId, Symbol
from papertape.contract.instruments import AssetClass
from papertape.portfolio.translation import command_for
from papertape.trading.account.scenarios import ACCOUNT, Scenario, at, wide_open
from papertape.trading.venue import Venue
from papertape.trading.venue.scenarios import quote

D = Decimal
CASH = D(100000)


def trade(
    s: Scenario, symbol: str, quantity: str, bid: str, ask: str, order_id: str = "o1"
) -> tuple[OrderPlaced, OrderFillReported, OrderFilledV2]:
    """Place a market buy, let the venue (fed the account's whole log) fill it, book the fill."""
    [placed] = s.when(
        PlaceOrder(
            account_id=ACCOUNT,
            order_id=OrderId(order_id),
            symbol=Symbol(symbol),
            side=OrderSide.BUY,
            quantity=D(quantity),
        )
    )
    assert isinstance(placed, OrderPlaced), placed
    venue = Venue()
    for event in s.events:
        venue.on_account_event(event)
    [report] = [
        r
        for r in venue.on_quote(quote(bid, ask, at(2), symbol=Symbol(symbol)))
        if isinstance(r, OrderFillReported)
    ]
    [filled, *_] = s.when(command_for(report))
    assert isinstance(filled, OrderFilledV2), filled
    venue.on_account_event(filled)
    return placed, report, filled


def account(symbol: str, mark: str) -> Scenario:
    return Scenario(wide_open(str(CASH)), marks={symbol: mark})


@pytest.mark.parametrize(
    ("quantity", "fee"),
    [("10", D("1.00")), ("400", D("2.00"))],
    ids=["the-minimum", "half-a-cent-a-share"],
)
def test_an_equity_buy_pays_half_a_cent_a_share_with_its_minimum_as_reserved(
    quantity: str, fee: Decimal
) -> None:
    s = account("AAPL", "100")
    placed, report, filled = trade(s, "AAPL", quantity, "100", "100")
    assert report.fee == filled.fee == fee
    assert (report.fee_model, report.slippage_model) == ("equity", "fixed_bps")
    assert report.price == D("100.02")  # 2 bps
    assert placed.reserved == report.price * report.quantity + report.fee
    assert s.state.cash == CASH - report.price * report.quantity - fee
    assert (s.state.reserved, s.state.fees_paid) == (D(0), fee)


def test_a_eurusd_buy_pays_by_the_spread_and_the_reserve_covers_it() -> None:
    s = account("EURUSD", "1.08005")
    placed, report, filled = trade(s, "EURUSD", "900", "1.08000", "1.08010")
    assert report.fee == filled.fee == 0
    assert report.price == D("1.08010")  # the ask: no per-share fee, no slippage
    assert (filled.spread_cost, filled.spread_model, filled.fee_model) == (
        D("0.04"),
        "quoted",
        "fx",
    )
    assert placed.reserved >= report.price * report.quantity + report.fee


def test_a_btc_buy_pays_the_taker_bps_it_reserved() -> None:
    s = account("BTCUSD", "40000")
    placed, report, filled = trade(s, "BTCUSD", "0.5", "40000", "40000")
    notional = report.price * report.quantity
    assert report.fee == filled.fee == (notional * D(40) / 10000).quantize(D("0.01"))
    assert placed.reserved == notional + report.fee
    assert filled.fee_model == "crypto"


def test_a_schedule_the_account_sets_is_the_one_the_venue_charges() -> None:
    s = account("AAPL", "100")
    terms = CostTerms(name="cheap", fixed=D("0.25"), slippage_bps=D(0))
    s.given(
        SetCostModelV2(
            account_id=ACCOUNT, schedule=CostSchedule(asset_classes={AssetClass.EQUITY: terms})
        )
    )
    placed, report, filled = trade(s, "AAPL", "10", "100", "100")
    assert (report.price, report.fee, filled.fee_model) == (D(100), D("0.25"), "cheap")
    assert placed.reserved == D("1000.25")
