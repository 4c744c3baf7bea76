"""Order vocabulary shared by accounts and the venue: sides, types, time in force, reason codes."""

from __future__ import annotations

import enum


class OrderSide(enum.StrEnum):
    """Which way an order trades."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell (the sign of the position change)."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        """The side that closes what this side opens."""
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(enum.StrEnum):
    """How an order meets the market."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(enum.StrEnum):
    """How long an order works."""

    GTC = "gtc"
    DAY = "day"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"


class Liquidity(enum.StrEnum):
    """Whether a fill added liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


class OrderRole(enum.StrEnum):
    """An order's place in a bracket: the entry, or one of its contingent exits."""

    ENTRY = "entry"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"


class OrderSource(enum.StrEnum):
    """Who asked for an order: a person or a strategy's signal."""

    MANUAL = "manual"
    SIGNAL = "signal"


class ExitReason(enum.StrEnum):
    """Why a position (or part of it) was closed."""

    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    SIGNAL = "signal"
    MANUAL = "manual"
    FLIP = "flip"
    RESET = "reset"


class RejectReason(enum.StrEnum):
    """Machine-readable codes of every business refusal an account can give."""

    ACCOUNT_NOT_OPEN = "account_not_open"
    ACCOUNT_ALREADY_OPEN = "account_already_open"
    INVALID_AMOUNT = "invalid_amount"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID_LIMITS = "invalid_limits"
    INVALID_COST_MODEL = "invalid_cost_model"
    INSUFFICIENT_BUYING_POWER = "insufficient_buying_power"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    MAX_POSITION_SIZE = "max_position_size"
    MAX_RISK_PER_TRADE = "max_risk_per_trade"
    PORTFOLIO_HEAT = "portfolio_heat"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    MAX_TRADES_PER_DAY = "max_trades_per_day"
    MIN_TRADE_INTERVAL = "min_trade_interval"
    SHORT_SELLING_NOT_ALLOWED = "short_selling_not_allowed"
    REDUCE_ONLY_VIOLATION = "reduce_only_violation"
    TRADING_HALTED = "trading_halted"
    INVALID_ORDER = "invalid_order"
    UNKNOWN_SYMBOL = "unknown_symbol"
    NO_MARKET_PRICE = "no_market_price"
    NO_CONVERSION_RATE = "no_conversion_rate"
    """No market rate of the instrument's quote currency against the account's base currency
    is known (neither the pair, its inverse, nor a cross through USD): nothing can be booked."""
    DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
    UNKNOWN_ORDER = "unknown_order"
    NO_POSITION = "no_position"
    """The account holds no position in the symbol whose exits were to move."""
    INVALID_FILL = "invalid_fill"
    OVERFILL = "overfill"
    PRICE_OUTSIDE_LIMIT = "price_outside_limit"
    INSUFFICIENT_CASH = "insufficient_cash"
    INVALID_HISTORY = "invalid_history"
    """A stored event out of the contract's bounds (written before them), voided on read."""
