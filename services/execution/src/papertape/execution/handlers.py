"""Bus handlers: account events keep the book, market data matches it, reports go out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from papertape.contract.codec import Codec, upcast
from papertape.contract.events.account import AccountEvent, OrderFilledV2, OrderPlaced
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.market import MarketEvent, QuoteReceived
from papertape.execution.reports import Origin, ReportPublisher
from papertape.trading.venue import Venue
from papertape.trading.venue.sanity import Refusal

account_events: Codec[Envelope[AccountEvent]] = Codec(Envelope[AccountEvent])
market_events: Codec[MarketEvent] = Codec(MarketEvent)


class ExecutionHandlers:
    """Decode, hand to the venue, publish what it reports."""

    def __init__(
        self,
        venue: Venue,
        reports: ReportPublisher,
        refused: Callable[[Refusal], None] | None = None,
    ) -> None:
        self.venue = venue
        self.reports = reports
        self._refused = refused or (lambda _refusal: None)

    async def on_account_event(self, data: bytes) -> None:
        """An event of the ACCOUNTS stream (an envelope from the portfolio's log)."""
        envelope = account_events.decode(data)
        event = upcast(envelope.data)  # a v1 CostModelSet is read as the schedule it stands for
        if isinstance(event, OrderPlaced):
            self.reports.origins[event.order_id] = Origin(
                envelope.event_id,
                envelope.correlation_id,
                envelope.traceparent,
                envelope.tracestate,
            )
        elif isinstance(event, OrderFilledV2) and (
            origin := self.reports.origins.get(event.order_id)
        ):
            origin.booked(event.fill_id)
        await self.reports.publish(self.venue.on_account_event(event))
        order_id = getattr(event, "order_id", None)
        if order_id is not None and self.venue.get(order_id) is None:
            # The order is done: no report will need its origin again.
            self.reports.origins.pop(order_id, None)

    async def on_market_event(self, data: bytes) -> None:
        """A quote or bar of the MARKET stream (bare structs, as market-data publishes them)."""
        event = market_events.decode(data)
        if (refusal := self.venue.refusal(event)) is not None:
            self._refused(refusal)  # never the market: the venue keeps its last good price
            return
        if isinstance(event, QuoteReceived):  # checked just now: not again
            reports = self.venue.on_quote(event, checked=True)
        else:
            reports = self.venue.on_bar(event, checked=True)
        if reports or self.reports.unsent:  # most quotes give nothing to publish
            await self.reports.publish(reports)

    async def on_clock(self, now: datetime) -> None:
        """Expire GTD and DAY orders whose time has come."""
        await self.reports.publish(self.venue.expire_due(now))
