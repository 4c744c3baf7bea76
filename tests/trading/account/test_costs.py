"""The account's cost schedule: what it reserves for an order, and what its fills record."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from papertape.contract.codec import Codec, encode, upcast
from papertape.contract.costs import CostModel, CostSchedule, CostTerms
from papertape.contract.events.account import (
    AccountEvent,
    CommandRejected,
    CostModelSet,
    CostModelSetV2,
    OrderFilledV2,
    OrderPlaced,
    SetCostModelV2,
)
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.instruments import AssetClass
from papertape.trading.account import replay
from papertape.trading.account.scenarios import (
    ACCOUNT,
    Scenario,
    at,
    fill,
    opened,
    order,
    wide_open,
)

D = Decimal
events: Codec[AccountEvent] = Codec(AccountEvent)


def reserved(events: list[AccountEvent]) -> Decimal:
    placed = events[0]
    assert isinstance(placed, OrderPlaced), placed
    return placed.reserved


def test_a_new_account_reserves_the_equity_default_slippage_and_minimum_commission() -> None:
    # 5 shares at 100 + 2 bps = 100.02 each; 5 x $0.005 is below the $1.00 minimum.
    assert reserved(Scenario(opened()).when(order("o1", quantity="5"))) == D("501.10")


def test_an_equity_reserve_pays_half_a_cent_a_share_above_the_minimum() -> None:
    s = Scenario(wide_open("100000"))
    assert reserved(s.when(order("o1", quantity="400"))) == D(400) * D("100.02") + D(2)


def test_an_fx_reserve_adds_half_the_modeled_spread_and_no_per_share_fee() -> None:
    s = Scenario(wide_open(), marks={"EURUSD": "1.08000"})
    # 900 at 1.08 + half a pip = 1.08005: 972.045, rounded up to cover it.
    assert reserved(s.when(order("o1", symbol="EURUSD", quantity="900"))) == D("972.05")


def test_a_crypto_reserve_adds_the_taker_fee_in_bps() -> None:
    s = Scenario(wide_open("100000"), marks={"BTCUSD": "40000"})
    # 0.5 at 40000 + 5 bps = 40020; the taker fee is 40 bps of 20010 = 80.04.
    assert reserved(s.when(order("o1", symbol="BTCUSD", quantity="0.5"))) == D("20090.04")


def test_a_limit_reserve_is_at_its_limit_with_the_dearer_of_maker_and_taker() -> None:
    terms = CostTerms(maker_bps=D(10), taker_bps=D(-1))
    schedule = CostSchedule(asset_classes={AssetClass.EQUITY: terms})
    s = Scenario(opened(), CostModelSetV2(account_id=ACCOUNT, ts=at(), schedule=schedule))
    placed = s.when(order("o1", order_type=OrderType.LIMIT, limit_price=D(95)))
    assert reserved(placed) == D(950) + D("0.95")


def test_an_instrument_override_wins_over_its_asset_class() -> None:
    schedule = CostSchedule(
        asset_classes={AssetClass.EQUITY: CostTerms(fixed=D(5))},
        instruments={"AAPL": CostTerms(fixed=D(1))},
    )
    given = CostModelSetV2(account_id=ACCOUNT, ts=at(), schedule=schedule)
    s = Scenario(opened(), given, marks={"AAPL": "100", "MSFT": "100"})
    assert reserved(s.when(order("o1", quantity="5"))) == D(501)
    assert reserved(s.when(order("o2", symbol="MSFT", quantity="5"))) == D(505)


def test_set_cost_model_v2_stores_the_schedule() -> None:
    schedule = CostSchedule(instruments={"EURUSD": CostTerms(name="EURUSD", per_lot=D(2))})
    s = Scenario(opened())
    [event] = s.when(SetCostModelV2(account_id=ACCOUNT, schedule=schedule))
    assert isinstance(event, CostModelSetV2)
    assert s.state.costs == schedule


def test_negative_terms_are_refused_by_the_type_naming_the_term() -> None:
    with pytest.raises(ValueError, match="per_lot must be 0 <= x"):
        CostTerms(per_lot=D(-1))
    with pytest.raises(msgspec.ValidationError, match="spread_pips"):
        msgspec.json.decode(b'{"spread_pips": "-1"}', type=CostTerms)


def test_a_lotless_or_nameless_entry_is_refused() -> None:
    for schedule in (
        CostSchedule(asset_classes={AssetClass.FX: CostTerms(lot_units=D(0))}),
        CostSchedule(instruments={"": CostTerms()}),
    ):
        [event] = Scenario(opened()).when(SetCostModelV2(account_id=ACCOUNT, schedule=schedule))
        assert isinstance(event, CommandRejected)
        assert event.reason_code is RejectReason.INVALID_COST_MODEL


def test_a_stored_v1_cost_model_set_is_read_as_its_schedule_for_every_class() -> None:
    model = CostModel(commission_per_share=D("0.01"), commission_min=D(1), slippage_bps=D(10))
    stored = encode(CostModelSet(account_id=ACCOUNT, ts=at(), cost_model=model))
    event = upcast(events.decode(stored))
    assert isinstance(event, CostModelSetV2)
    state = replay([opened(), event])
    terms = CostTerms(name="account", per_share=D("0.01"), minimum=D(1), slippage_bps=D(10))
    assert state.costs == CostSchedule(asset_classes=dict.fromkeys(AssetClass, terms))
    # ... and reserves as it did: 5 at 100.10 and the $1 minimum, for crypto too (as set).
    s = Scenario(opened(), event, marks={"BTCUSD": "100", "AAPL": "100"})
    assert reserved(s.when(order("o1", quantity="5"))) == D("501.50")
    assert reserved(s.when(order("o2", symbol="BTCUSD", quantity="1"))) == D("101.10")


def test_an_account_opened_with_a_v1_cost_model_keeps_it_and_one_without_gets_the_defaults() -> (
    None
):
    model = CostModel(commission_fixed=D(2))
    assert replay([opened(cost_model=model)]).costs.asset_classes[AssetClass.FX].fixed == 2
    assert replay([opened()]).costs == CostSchedule()


def test_a_fills_cost_attribution_reaches_order_filled_and_the_closed_trade() -> None:
    s = Scenario(wide_open())
    s.given(order("o1", quantity="10"))
    entry = msgspec.structs.replace(
        fill("o1", "100.02", fee="1"),
        slippage=D("0.20"),
        spread_cost=D("0.10"),
        fee_model="equity",
        slippage_model="fixed_bps",
        spread_model="quoted",
    )
    [filled] = s.when(entry)
    assert isinstance(filled, OrderFilledV2)
    assert (filled.slippage, filled.spread_cost) == (D("0.20"), D("0.10"))
    assert (filled.fee_model, filled.slippage_model, filled.spread_model) == (
        "equity",
        "fixed_bps",
        "quoted",
    )
    s.given(order("o2", side=OrderSide.SELL, quantity="4"))
    s.when(msgspec.structs.replace(fill("o2", "101", quantity="4", fee="1"), slippage=D("0.08")))
    [trade] = s.state.closed_trades.to_list()
    # 4 of the 10 entry shares: 40% of the entry's costs, and all of the exit's.
    assert (trade.fees, trade.slippage, trade.spread_cost) == (D("1.4"), D("0.16"), D("0.04"))
