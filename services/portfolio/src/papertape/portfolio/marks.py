"""The mark book: the latest price of every symbol, from market-data's quotes.

Decisions use these prices for pre-trade risk at once; they reach the accounts' states (and
the log, as PositionMarked events) every ``mark_interval_s`` through ApplyMark commands, so
the log is not flooded with one event per quote.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
from nats.js.client import JetStreamContext

from papertape.common.bus.ranges import stored_messages
from papertape.common.clock import Clock
from papertape.common.idgen import IdGenerator
from papertape.common.lanes import in_lanes
from papertape.contract.codec import Codec
from papertape.contract.events.account import AccountCommand, ApplyMark
from papertape.contract.events.envelope import Request
from papertape.contract.events.market import QuoteReceived
from papertape.contract.ids import AccountId, Actor, Symbol
from papertape.contract.subjects import Subjects
from papertape.portfolio.accounts import AccountBook
from papertape.trading.account.currency import symbols_to_mark
from papertape.trading.venue.sanity import (
    DEFAULT_PRICE_BAND,
    Check,
    JumpWatch,
    Refusal,
    jump_price,
    quote_refusal,
)

TWO = Decimal(2)
quote_codec: Codec[QuoteReceived] = Codec(QuoteReceived)


class MarkBook:
    """Latest mark per symbol (last trade when the source has one, else the mid)."""

    def __init__(self, price_band: Decimal = DEFAULT_PRICE_BAND) -> None:
        self._price_band = price_band
        self._prices: dict[Symbol, Decimal] = {}
        self._quotes: dict[Symbol, QuoteReceived] = {}
        self._applied: dict[tuple[str, Symbol], Decimal] = {}
        self._jumps: dict[Symbol, JumpWatch] = {}

    def update(self, quote: QuoteReceived) -> Refusal | None:
        """Take the quote as the symbol's mark, unless it cannot be the market (then why)."""
        refusal = quote_refusal(quote, self._prices.get(quote.symbol), self._price_band)
        if refusal is None:
            if (watched := self._jumps.get(quote.symbol)) is not None:
                watched.clear()
        elif refusal.check is not Check.JUMP or not self._jumps.setdefault(
            quote.symbol, JumpWatch()
        ).confirms(jump_price(quote), self._price_band):
            return refusal  # the mark stays the last good price (until a move is confirmed)
        price = quote.last if quote.last is not None else (quote.bid + quote.ask) / TWO
        self._prices[quote.symbol] = price
        self._quotes[quote.symbol] = quote
        return None

    def seed(self, quote: QuoteReceived) -> Refusal | None:
        """Take a stored quote (the MARKET stream's last of its symbol) unless a live one that
        is as new or newer arrived first."""
        held = self._quotes.get(quote.symbol)
        if held is not None and held.ts_event >= quote.ts_event:
            return None
        return self.update(quote)

    def prices(self) -> dict[Symbol, Decimal]:
        return dict(self._prices)

    def due(self, account_id: str, symbols: list[Symbol]) -> list[ApplyMark]:
        """Marks of ``symbols`` that moved since they were last applied to the account."""
        moved = []
        for symbol in symbols:
            price = self._prices.get(symbol)
            if price is not None and self._applied.get((account_id, symbol)) != price:
                quote = self._quotes[symbol]
                moved.append(
                    ApplyMark(
                        account_id=AccountId(account_id),
                        symbol=symbol,
                        price=price,
                        ts=quote.ts_event,
                        bid=quote.bid if quote.bid > 0 else None,
                        ask=quote.ask if quote.ask > 0 else None,
                    )
                )
        return moved

    def applied(self, account_id: str, symbol: Symbol, price: Decimal) -> None:
        self._applied[(account_id, symbol)] = price


async def seed_marks(marks: MarkBook, js: JetStreamContext, subjects: Subjects) -> int:
    """Mark every symbol at the last quote the MARKET stream holds, so a decision right after
    a start has prices without waiting for the next quote; returns the symbols seeded.

    The last message of each quote subject, read in batches through one short-lived consumer
    (``papertape.common.bus.ranges``), not a lookup per symbol.
    """
    stored = await stored_messages(
        js, subjects.stream("MARKET"), subjects.all_quotes(), last_per_subject=True
    )
    return sum(_seeded(marks, msg.data) for msg in stored)


def _seeded(marks: MarkBook, data: bytes) -> bool:
    try:
        quote = quote_codec.decode(data)
    except msgspec.DecodeError:  # ValidationError included
        return False  # never the market: the live feed's guard dead-letters such a quote
    return marks.seed(quote) is None


async def persist_marks(book: AccountBook, marks: MarkBook, clock: Clock, ids: IdGenerator) -> int:
    """Apply moved marks to every account holding the symbols (or converting them: the pairs of
    their quote currencies); returns commands executed.

    One account's marks are applied one after the other, the accounts side by side: their
    appends go to the log together, in as few group commits as there are marks per account.
    """
    due = [
        command
        for account_id in book.accounts()
        # Positions, and the currency pairs that convert them to the account's base currency.
        for command in marks.due(account_id, symbols_to_mark(book.state(account_id)))
    ]

    async def apply(command: ApplyMark) -> None:
        request: Request[AccountCommand] = Request(
            request_id=ids.new(),
            issued_at=clock.now(),
            actor=Actor("portfolio.marks"),
            body=command,
        )
        await book.execute(request)
        marks.applied(command.account_id, command.symbol, command.price)

    await in_lanes(due, lambda command: command.account_id, apply)
    return len(due)
