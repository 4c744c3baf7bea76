"""Fill and cost models: slippage kinds, the account's cost schedule at the venue, latency."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.costs import CostModel, CostSchedule, CostTerms
from papertape.contract.events.account import (
    AccountOpened,
    CostModelSetV2,
)
from papertape.contract.events.execution import (
    ExecutionModels,
    FillPolicy,
    OrderFillReported,
    SlippageKind,
    SlippageModel,
)
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.events.orders import Liquidity, OrderSide, OrderType
from papertape.contract.ids import Symbol
from papertape.contract.instruments import AssetClass
from papertape.trading.costs import order_fee
from papertape.trading.venue import Venue, VenueConfig
from papertape.trading.venue.prng import SplitMix64, normal_for
from papertape.trading.venue.scenarios import ACCOUNT, at, bar, placed, quote

D = Decimal


def one_fill(venue: Venue, *market: QuoteReceived | BarClosed) -> OrderFillReported:
    found = []
    for item in market:
        reports = venue.on_quote(item) if isinstance(item, QuoteReceived) else venue.on_bar(item)
        found += [r for r in reports if isinstance(r, OrderFillReported)]
    [fill] = found
    return fill


def models(**parts: object) -> VenueConfig:
    return VenueConfig(default=ExecutionModels(**parts))  # type: ignore[arg-type]


def equity_costs(venue: Venue, **terms: Decimal) -> Venue:
    """The account's schedule for equities set to ``terms`` (as its log would tell the venue)."""
    schedule = CostSchedule(asset_classes={AssetClass.EQUITY: CostTerms(name="mine", **terms)})
    venue.on_account_event(CostModelSetV2(account_id=ACCOUNT, ts=at(0), schedule=schedule))
    return venue


def test_fixed_bps_slippage_moves_the_price_against_the_trader() -> None:
    venue = equity_costs(Venue(), slippage_bps=D(10))
    venue.on_account_event(placed("o1", OrderSide.BUY, "1"))
    fill = one_fill(venue, quote("99.90", "100.00", at(1)))
    assert (fill.price, fill.slippage_bps) == (D("100.10"), D(10))
    assert fill.models.slippage.bps == 10


def test_volatility_scaled_slippage_grows_with_recent_moves_and_repeats_with_its_seed() -> None:
    def run(calm: bool) -> OrderFillReported:
        kind = SlippageModel(kind=SlippageKind.VOLATILITY, seed=7)
        venue = equity_costs(Venue(models(slippage=kind)))
        mids = ["100", "100.50", "100"] if calm else ["100", "103", "97"]
        for i, mid in enumerate(mids):
            venue.on_quote(quote(mid, mid, at(i)))
        venue.on_account_event(placed("o1", OrderSide.BUY, "1", ts=at(5)))
        return one_fill(venue, quote("100", "100", at(6)))

    assert run(calm=False).slippage_bps > run(calm=True).slippage_bps > 0
    assert run(calm=False) == run(calm=False)


def test_volume_share_impact_grows_with_the_square_of_the_share() -> None:
    def slip(quantity: str) -> Decimal:
        kind = SlippageModel(kind=SlippageKind.VOLUME_SHARE, impact=D("0.1"))
        venue = equity_costs(Venue(models(slippage=kind)))
        venue.on_account_event(placed("o1", OrderSide.BUY, quantity))
        return one_fill(venue, bar("100", "100", "100", "100", volume="1000")).slippage_bps

    assert slip("100") == D(10)  # 0.1 x 0.1² = 10 bps
    assert slip("200") == D(40)


def test_square_root_impact_scales_with_the_bar_range_and_root_of_the_share() -> None:
    kind = SlippageModel(kind=SlippageKind.SQUARE_ROOT, impact=D(1))
    venue = equity_costs(Venue(models(slippage=kind)))
    venue.on_account_event(placed("o1", OrderSide.SELL, "100"))
    fill = one_fill(venue, bar("100", "102", "98", "100", volume="10000"))
    # range 4% x sqrt(1%) = 0.4% = 40 bps below the open (against the seller)
    assert (fill.price, fill.slippage_bps) == (D("99.60"), D(40))


def test_fees_per_share_respect_the_minimum_across_the_orders_fills() -> None:
    terms = CostTerms(per_share=D("0.005"), minimum=D(1))
    first, accrued = order_fee(terms, Liquidity.TAKER, D(100), D(10), D(0), D(0), D(0))
    second, _ = order_fee(terms, Liquidity.TAKER, D(300), D(10), D(100), accrued, first)
    assert (first, second) == (D("1.00"), D("1.00"))  # 400 shares: 2.00 in all


def test_fees_in_bps_fixed_and_maker_taker() -> None:
    terms = CostTerms(bps=D(1), fixed=D("0.50"), maker_bps=D(-1), taker_bps=D(3))
    taker, _ = order_fee(terms, Liquidity.TAKER, D(10), D(1000), D(0), D(0), D(0))
    maker, _ = order_fee(terms, Liquidity.MAKER, D(10), D(1000), D(0), D(0), D(0))
    assert (taker, maker) == (D("4.50"), D("0.50"))


def test_fees_per_lot_are_pro_rata_of_a_lot() -> None:
    terms = CostTerms(per_lot=D(3))
    fee, _ = order_fee(terms, Liquidity.TAKER, D(50000), D("1.1"))
    assert fee == D("1.50")  # half a standard lot of 100,000


def test_an_accounts_v1_cost_model_still_prices_its_fills() -> None:
    venue = Venue()
    venue.on_account_event(
        AccountOpened(
            account_id=ACCOUNT,
            ts=at(0),
            name="a",
            base_currency="USD",
            initial_cash=D(10000),
            allow_short=False,
            margin_requirement=D("0.5"),
            cost_model=CostModel(commission_fixed=D(1), slippage_bps=D(0)),
        )
    )
    venue.on_account_event(placed("o1", OrderSide.BUY, "10"))
    fill = one_fill(venue, quote("99", "100", at(1)))
    assert (fill.price, fill.fee) == (D(100), D(1))


def test_overrides_apply_per_account_and_instrument() -> None:
    slow = ExecutionModels(fills=FillPolicy(latency_ms=100))
    config = VenueConfig(overrides={f"{ACCOUNT}:AAPL": slow})
    assert config.models_for(ACCOUNT, "AAPL") == slow
    assert config.models_for(ACCOUNT, "MSFT") == ExecutionModels()


def test_the_schedules_fees_and_slippage_replace_the_venue_models() -> None:
    config = VenueConfig(default=ExecutionModels(slippage=SlippageModel(bps=D(9))))
    terms = CostTerms(per_share=D("0.01"), slippage_bps=D(1))
    models = config.models_for(ACCOUNT, "AAPL", terms)
    assert (models.fees.per_share, models.slippage.bps) == (D("0.01"), D(1))


def test_latency_makes_an_order_fill_against_the_market_when_it_arrives() -> None:
    venue = equity_costs(Venue(models(fills=FillPolicy(latency_ms=500))))
    venue.on_account_event(placed("o1", OrderSide.BUY, "1", ts=at(0)))
    assert venue.on_quote(quote("99", "100", at(0.2))) == []
    fill = one_fill(venue, quote("101", "102", at(0.5)))
    assert fill.price == D(102)


def test_prng_is_splitmix64() -> None:
    # Reference values of SplitMix64 seeded with 0 (Vigna's C implementation).
    rng = SplitMix64(0)
    assert [rng.next() for _ in range(2)] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]
    assert normal_for(1, "o1:1") == normal_for(1, "o1:1") != normal_for(2, "o1:1")


def test_limit_order_fee_uses_the_maker_rate() -> None:
    venue = equity_costs(Venue(), maker_bps=D(-2), taker_bps=D(5))
    venue.on_account_event(placed("o1", OrderSide.BUY, "10", OrderType.LIMIT, limit="100"))
    venue.on_quote(quote("100.5", "101", at(1)))
    fill = one_fill(venue, quote("98", "99", at(2)))
    assert (fill.liquidity, fill.fee) == (Liquidity.MAKER, D(0))  # a rebate is never negative


# --- the account's schedule at the venue: one table of defaults per asset class --------------

EURUSD = Symbol("EURUSD")
BTC = Symbol("BTCUSD")


def test_a_900_eurusd_buy_pays_the_spread_not_a_per_share_fee() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "900", symbol=EURUSD))
    fill = one_fill(venue, quote("1.08000", "1.08010", at(1), symbol=EURUSD))
    assert (fill.price, fill.fee) == (D("1.08010"), D(0))  # was 900 x $0.005 = 4.50
    assert fill.spread_cost == D("0.04")  # half a pip on 900, to the cent
    assert (fill.fee_model, fill.spread_model) == ("fx", "quoted")


def test_eurusd_on_a_bar_pays_the_schedules_spread_of_a_pip() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.SELL, "100000", symbol=EURUSD))
    fill = one_fill(venue, bar("1.08000", "1.08100", "1.07900", "1.08000", symbol=EURUSD))
    assert fill.price == D("1.07995")  # the open less half a pip
    assert (fill.spread_cost, fill.spread_model) == (D("5.00"), "modeled")


def test_an_optional_fx_commission_per_lot_is_charged_pro_rata() -> None:
    schedule = CostSchedule(asset_classes={AssetClass.FX: CostTerms(name="fx", per_lot=D(4))})
    venue = Venue()
    venue.on_account_event(CostModelSetV2(account_id=ACCOUNT, ts=at(0), schedule=schedule))
    venue.on_account_event(placed("o1", OrderSide.BUY, "250000", symbol=EURUSD))
    assert one_fill(venue, quote("1.08000", "1.08010", at(1), symbol=EURUSD)).fee == D(10)


def test_a_btc_buy_pays_the_taker_bps_of_its_notional() -> None:
    venue = Venue()
    venue.on_account_event(placed("o1", OrderSide.BUY, "0.5", symbol=BTC))
    fill = one_fill(venue, quote("39999.00", "40000.00", at(1), symbol=BTC))
    assert fill.price == D("40020.00")  # the ask + 5 bps
    assert fill.fee == D("80.04")  # 40 bps of 20010 (was 0.5 x $0.005: 0.00)
    assert (fill.fee_model, fill.liquidity) == ("crypto", Liquidity.TAKER)


def test_a_resting_btc_limit_pays_the_maker_bps() -> None:
    venue = Venue()
    venue.on_account_event(
        placed("o1", OrderSide.BUY, "0.5", OrderType.LIMIT, symbol=BTC, limit="39000")
    )
    venue.on_quote(quote("39500", "39600", at(1), symbol=BTC))
    fill = one_fill(venue, quote("38900", "38950", at(2), symbol=BTC))
    assert (fill.liquidity, fill.fee, fill.slippage_model) == (Liquidity.MAKER, D("48.75"), "")


def test_an_instrument_override_of_the_schedule_prices_that_instrument_only() -> None:
    schedule = CostSchedule(instruments={"MSFT": CostTerms(name="MSFT", fixed=D(3))})
    venue = Venue()
    venue.on_account_event(CostModelSetV2(account_id=ACCOUNT, ts=at(0), schedule=schedule))
    venue.on_account_event(placed("o1", OrderSide.BUY, "10", symbol=Symbol("MSFT")))
    venue.on_account_event(placed("o2", OrderSide.BUY, "10"))
    msft = one_fill(venue, quote("99", "100", at(1), symbol=Symbol("MSFT")))
    aapl = one_fill(venue, quote("99", "100", at(1)))
    assert (msft.fee, msft.fee_model, msft.models.fees.fixed) == (D(3), "MSFT", D(3))
    assert (aapl.fee, aapl.fee_model) == (D(1), "equity")
