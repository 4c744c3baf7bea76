"""Handlers: account envelopes keep the book, market structs match it, reports go out once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from nats.js.errors import APIError

from papertape.common.bus.publishing import MSG_ID
from papertape.contract import codec
from papertape.contract.events.account import AccountEvent, OrderCancelled, OrderFilled
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import ExecutionReport, OrderFillReported
from papertape.contract.events.orders import OrderSide, OrderType, TimeInForce
from papertape.contract.ids import (
    AccountId,
    Actor,
    CorrelationId,
    EventId,
    FillId,
    OrderId,
    StreamId,
)
from papertape.contract.subjects import Subjects
from papertape.execution.handlers import ExecutionHandlers
from papertape.execution.reports import ReportPublisher
from papertape.execution.settings import ExecutionSettings
from papertape.trading.venue import Venue
from papertape.trading.venue.sanity import Check, Refusal
from papertape.trading.venue.scenarios import at, bar, placed, quote

reports_codec: codec.Codec[Envelope[ExecutionReport]] = codec.Codec(Envelope[ExecutionReport])


class RecordingJetStream:
    """Stands in for JetStream's publish: remembers what was published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(self, subject: str, payload: bytes, **kwargs: Any) -> None:
        self.published.append((subject, payload, kwargs["headers"]))


class RefusingJetStream(RecordingJetStream):
    """A JetStream that refuses the next ``refusals`` publishes (a stream that would not store)."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def publish(self, subject: str, payload: bytes, **kwargs: Any) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise APIError(code=500, description="refused")
        await super().publish(subject, payload, **kwargs)


def account_envelope(event: AccountEvent, event_id: str = "e-1") -> bytes:
    return codec.encode(
        Envelope[AccountEvent](
            event_id=EventId(event_id),
            stream_id=StreamId("account-acc-1"),
            stream_version=1,
            occurred_at=at(0),
            correlation_id=CorrelationId("corr-1"),
            actor=Actor("test"),
            data=event,
        )
    )


@pytest.fixture
def wiring() -> tuple[ExecutionHandlers, RecordingJetStream]:
    js = RecordingJetStream()
    venue = Venue(ExecutionSettings().venue_config())
    publisher = ReportPublisher(js, Subjects("ns"))  # type: ignore[arg-type]
    return ExecutionHandlers(venue, publisher), js


async def test_a_quote_fills_a_placed_order_and_the_report_goes_out_with_its_dedup_id(
    wiring: tuple[ExecutionHandlers, RecordingJetStream],
) -> None:
    handlers, js = wiring
    await handlers.on_account_event(account_envelope(placed("o1")))
    await handlers.on_market_event(codec.encode(quote("99.98", "100.00", at(1))))
    [(subject, payload, headers)] = js.published
    assert subject == "ns.exec.acc-1.order_fill_reported"
    assert headers[MSG_ID] == "o1.fill.1"
    envelope = reports_codec.decode(payload)
    assert isinstance(envelope.data, OrderFillReported)
    assert (envelope.event_id, envelope.causation_id, envelope.correlation_id) == (
        "o1.fill.1",
        "e-1",
        "corr-1",
    )


async def test_a_crossed_quote_is_reported_refused_and_the_next_good_one_fills() -> None:
    js = RecordingJetStream()
    venue = Venue(ExecutionSettings().venue_config())
    refused: list[Refusal] = []
    handlers = ExecutionHandlers(
        venue,
        ReportPublisher(js, Subjects("ns")),  # type: ignore[arg-type]
        refused=refused.append,
    )
    await handlers.on_account_event(account_envelope(placed("o1")))

    await handlers.on_market_event(codec.encode(quote("100.10", "100.00", at(1))))
    await handlers.on_market_event(codec.encode(quote("99.98", "100.00", at(2))))

    assert [r.check for r in refused] == [Check.CROSSED]
    assert [headers[MSG_ID] for _, _, headers in js.published] == ["o1.fill.1"]


async def test_bars_are_matched_for_symbols_without_quotes(
    wiring: tuple[ExecutionHandlers, RecordingJetStream],
) -> None:
    handlers, js = wiring
    await handlers.on_account_event(account_envelope(placed("o1")))
    await handlers.on_market_event(codec.encode(bar("100", "101", "99", "100", at(0))))
    assert [headers[MSG_ID] for _, _, headers in js.published] == ["o1.fill.1"]


async def test_malformed_messages_raise_for_the_dead_letter_box(
    wiring: tuple[ExecutionHandlers, RecordingJetStream],
) -> None:
    handlers, js = wiring
    with pytest.raises(msgspec.ValidationError):
        await handlers.on_market_event(b'{"type": "quote_received.v1"}')
    assert js.published == []


async def test_expiry_sweep_reports_gtd_orders_on_the_clock(
    wiring: tuple[ExecutionHandlers, RecordingJetStream],
) -> None:
    handlers, js = wiring
    order = placed(
        "o1", OrderSide.BUY, "1", OrderType.LIMIT, limit="90", tif=TimeInForce.GTD, expire_at=at(10)
    )
    await handlers.on_account_event(account_envelope(order))
    await handlers.on_clock(at(11))
    assert [subject for subject, _, _ in js.published] == ["ns.exec.acc-1.order_expiry_reported"]


def test_settings_build_the_venue_models_and_overrides() -> None:
    settings = ExecutionSettings(
        latency_ms=250, overrides='{"acc-9": {"fees": {"per_share": "0.01"}}}'
    )
    config = settings.venue_config()
    assert config.default.fills.latency_ms == 250
    assert str(config.models_for("acc-9", "AAPL").fees.per_share) == "0.01"
    assert str(config.default.slippage.bps) == "2"


async def test_an_order_that_is_done_forgets_its_origin(
    wiring: tuple[ExecutionHandlers, RecordingJetStream],
) -> None:
    handlers, _js = wiring
    await handlers.on_account_event(account_envelope(placed("o1")))
    assert "o1" in handlers.reports.origins
    cancelled = OrderCancelled(account_id=AccountId("acc-1"), ts=at(2), order_id=OrderId("o1"))
    await handlers.on_account_event(account_envelope(cancelled, "e-2"))
    assert handlers.venue.get(OrderId("o1")) is None
    assert "o1" not in handlers.reports.origins


def published_versions(js: RecordingJetStream) -> list[tuple[str, str, int]]:
    found = []
    for _subject, payload, _headers in js.published:
        envelope = reports_codec.decode(payload)
        found.append((str(envelope.event_id), str(envelope.stream_id), envelope.stream_version))
    return found


async def test_a_stops_trigger_and_fill_are_versions_one_and_two_of_its_order_stream(
    wiring: tuple[ExecutionHandlers, RecordingJetStream],
) -> None:
    handlers, js = wiring
    stop = placed("o1", OrderSide.SELL, "10", OrderType.STOP, stop="99", ts=at(0))
    await handlers.on_account_event(account_envelope(stop))
    await handlers.on_market_event(codec.encode(quote("98.90", "98.95", at(1))))
    assert published_versions(js) == [
        ("o1.trigger", "order-o1", 1),
        ("o1.fill.1", "order-o1", 2),
    ]


async def test_an_expiry_after_partial_fills_comes_after_them_even_after_a_restart() -> None:
    settings = ExecutionSettings(cap_at_quote_size=True)
    order = placed(
        "o1",
        OrderSide.BUY,
        "10",
        OrderType.LIMIT,
        limit="100",
        tif=TimeInForce.GTD,
        expire_at=at(10),
        ts=at(0),
    )
    js = RecordingJetStream()
    handlers = ExecutionHandlers(
        Venue(settings.venue_config()),
        ReportPublisher(js, Subjects("ns")),  # type: ignore[arg-type]
    )
    await handlers.on_account_event(account_envelope(order))
    await handlers.on_market_event(codec.encode(quote("99.90", "99.95", at(1), ask_size="4")))
    [fill] = [reports_codec.decode(payload).data for _, payload, _ in js.published]
    assert isinstance(fill, OrderFillReported)

    # A restarted venue rebuilds the order and its fill from the account's events.
    restarted_js = RecordingJetStream()
    restarted = ExecutionHandlers(
        Venue(settings.venue_config()),
        ReportPublisher(restarted_js, Subjects("ns")),  # type: ignore[arg-type]
    )
    await restarted.on_account_event(account_envelope(order))
    filled = OrderFilled(
        account_id=AccountId("acc-1"),
        ts=at(1),
        order_id=OrderId("o1"),
        fill_id=FillId(fill.report_id),
        symbol=fill.symbol,
        side=fill.side,
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
        position_quantity=fill.quantity,
        position_avg_price=fill.price,
        cash_after=Decimal(0),
        order_remaining=fill.remaining,
    )
    await restarted.on_account_event(account_envelope(filled, "e-2"))
    await restarted.on_market_event(codec.encode(quote("99.90", "99.95", at(2), ask_size="4")))
    await restarted.on_clock(at(11))
    assert published_versions(restarted_js) == [
        ("o1.fill.2", "order-o1", 3),
        ("o1.expiry", "order-o1", 4),
    ]


async def test_reports_whose_publish_failed_go_out_with_the_redelivery_of_a_matched_quote() -> None:
    """The venue moves its book before its reports are out: when publishing them fails, the
    market message is redelivered to a book that has matched it already (and drops it), so the
    reports must still be there to go out first."""
    js = RefusingJetStream(refusals=1)
    handlers = ExecutionHandlers(
        Venue(ExecutionSettings().venue_config()),
        ReportPublisher(js, Subjects("ns")),  # type: ignore[arg-type]
    )
    await handlers.on_account_event(account_envelope(placed("o1")))
    tick = codec.encode(quote("99.98", "100.00", at(1)))
    with pytest.raises(APIError):
        await handlers.on_market_event(tick)
    assert js.published == []
    assert handlers.venue.get(OrderId("o1")) is None, "the book matched it before the publish"

    await handlers.on_market_event(tick)  # the guard's redelivery: the venue drops the repeat
    assert [headers[MSG_ID] for _, _, headers in js.published] == ["o1.fill.1"]
    await handlers.on_clock(at(2))  # and nothing goes out twice
    assert len(js.published) == 1
