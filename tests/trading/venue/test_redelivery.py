"""At-least-once delivery changes nothing: every order event, quote and bar delivered twice
gives the venue the same book and the same reports (each report once, by its id, as the
EXECUTION stream's dedup and the portfolio see them) as delivering each once."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings

from papertape.contract import codec
from papertape.contract.events.account import OrderPlaced
from papertape.contract.events.execution import ExecutionModels, ExecutionReport, FillPolicy
from papertape.contract.events.market import QuoteReceived
from papertape.trading.venue import Venue, VenueConfig
from tests.trading.venue.test_determinism import Item, streams

# Partial fills (a quote fills at most its size, a bar a share of its volume) and latency: a
# second delivery of a quote must not take its size again.
PARTIAL = VenueConfig(
    default=ExecutionModels(
        fills=FillPolicy(cap_at_quote_size=True, max_volume_share=Decimal("0.1"), latency_ms=500)
    )
)


def deliver(items: list[Item], times: int) -> tuple[list[ExecutionReport], Venue]:
    venue = Venue(PARTIAL)
    out: dict[str, ExecutionReport] = {}
    for item in items:
        for _ in range(times):
            if isinstance(item, OrderPlaced):
                reports = venue.on_account_event(item)
            elif isinstance(item, QuoteReceived):
                reports = venue.on_quote(item)
            else:
                reports = venue.on_bar(item)
            for report in reports:
                out.setdefault(report.report_id, report)
    return list(out.values()), venue


@settings(max_examples=80, deadline=None)
@given(streams())
def test_every_message_delivered_twice_changes_nothing(items: list[Item]) -> None:
    once, venue_once = deliver(items, 1)
    twice, venue_twice = deliver(items, 2)
    assert codec.encode(twice) == codec.encode(once)
    assert codec.encode(venue_twice.working()) == codec.encode(venue_once.working())
