"""Execution reports onto the EXECUTION stream, in an envelope, deduplicated by report id.

Each report belongs to its order's stream, ``order-<order id>``, at a version derived from the
report's own deterministic sequence, so a restarted venue gives the same report the same
version: the trigger is 1, fill ``n`` is ``n + 1``, and the expiry (always the order's last
report) is the number of fills booked on the order plus 2. Reports carry the order's trace
context (from its ``OrderPlaced`` envelope): a placement and its fills are one trace.

The reports of one market message go out in order with their acknowledgements in flight
together (one round trip for a quote that fills many orders, not one per fill); if any fails,
they are published again one by one and the dedup window (``Nats-Msg-Id`` = report id) keeps
one copy of each.

The venue changes its book before its reports are out. A crash between the two is harmless: the
book lives only in memory, the market message was not acknowledged, and the restarted (or
taking-over) venue, rebuilt from ACCOUNTS, matches it again into reports of the same ids. A
publish that fails while the process lives on is not: the message is redelivered to a book that
already matched it (``Venue.on_quote`` drops a repeat), so the reports would never go out. They
are kept instead (``unsent``) and go out first, in order, with whatever is published next (the
redelivery, the next quote, the next expiry sweep); until they are out nothing after them is
acknowledged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer

from papertape.common.bus.publishing import Outgoing, outgoing, publish_all, publish_in_order
from papertape.common.telemetry.tracing import extract_context, trace_fields
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import (
    ExecutionReport,
    OrderExpiryReported,
    OrderFillReported,
    OrderTriggerReported,
)
from papertape.contract.ids import Actor, CausationId, CorrelationId, EventId, StreamId
from papertape.contract.subjects import Subjects

ACTOR = Actor("execution")
TRIGGER_VERSION = 1


class Origin:
    """Where an order came from (its placement's event id, correlation and trace context),
    and how many of its fills the venue has booked."""

    __slots__ = ("correlation_id", "event_id", "fills", "traceparent", "tracestate")

    def __init__(
        self,
        event_id: str,
        correlation_id: str,
        traceparent: str | None = None,
        tracestate: str | None = None,
    ) -> None:
        self.event_id = event_id
        self.correlation_id = correlation_id
        self.traceparent = traceparent
        self.tracestate = tracestate
        self.fills = 0

    def booked(self, fill_id: str) -> None:
        """Count a fill of the order (seen as a report or as the account's ``OrderFilled``)."""
        self.fills = max(self.fills, fill_number(fill_id))


def fill_number(fill_id: str) -> int:
    """``n`` of a fill id ``<order>.fill.<n>`` (0 for a fill the venue did not number)."""
    _, marker, number = fill_id.rpartition(".fill.")
    return int(number) if marker and number.isdigit() else 0


def order_stream(order_id: str) -> StreamId:
    """The stream of an order's execution reports."""
    return StreamId(f"order-{order_id}")


def report_version(report: ExecutionReport, origin: Origin | None) -> int:
    """The report's version on its order's stream, from its deterministic sequence."""
    if isinstance(report, OrderTriggerReported):
        return TRIGGER_VERSION
    if isinstance(report, OrderFillReported):
        return TRIGGER_VERSION + fill_number(report.report_id)
    assert isinstance(report, OrderExpiryReported)
    return TRIGGER_VERSION + (origin.fills if origin else 0) + 1


def envelope(report: ExecutionReport, origin: Origin | None) -> Envelope[ExecutionReport]:
    """A report in its envelope: the event id is the report id, caused by the order's placement,
    in the current trace."""
    traceparent, tracestate = trace_fields()
    return Envelope[ExecutionReport](
        event_id=EventId(report.report_id),
        stream_id=order_stream(report.order_id),
        stream_version=report_version(report, origin),
        occurred_at=report.ts,
        correlation_id=CorrelationId(origin.correlation_id if origin else report.order_id),
        causation_id=CausationId(origin.event_id) if origin else None,
        actor=ACTOR,
        traceparent=traceparent,
        tracestate=tracestate,
        data=report,
    )


class ReportPublisher:
    """Publishes reports on ``exec.<account>.<report>`` with ``Nats-Msg-Id`` = report id."""

    def __init__(
        self, js: JetStreamContext, subjects: Subjects, *, tracer: Tracer | None = None
    ) -> None:
        self._js = js
        self._subjects = subjects
        self._tracer = tracer or trace.get_tracer("papertape.execution")
        self.origins: dict[str, Origin] = {}
        self.unsent: list[Outgoing] = []
        """Reports the venue gave whose publishing failed: sent first by the next ``publish``."""
        self.published = 0
        self.last_ts: datetime | None = None

    async def publish(self, reports: Sequence[ExecutionReport]) -> None:
        """Publish the reports (after any left unsent); raises, keeping them, when that fails."""
        if not reports and not self.unsent:
            return
        messages = [*self.unsent, *(self._outgoing(report) for report in reports)]
        self.unsent = messages  # until they are stored: the book has moved on without them
        try:
            await publish_all(self._js, messages)
        except Exception:  # the slow path retries what is transient, one by one, in order
            await publish_in_order(self._js, messages)
        self.unsent = []
        self.published += len(messages)
        if reports:
            self.last_ts = reports[-1].ts

    def _outgoing(self, report: ExecutionReport) -> Outgoing:
        name = message_name(type(report))
        subject = self._subjects.execution_report(report.account_id, name)
        origin = self.origins.get(report.order_id)
        if origin is not None and isinstance(report, OrderFillReported):
            origin.booked(report.report_id)
        # The report continues the order's trace, not the quote's that happened to fill it.
        parent = (
            extract_context(_carrier(origin.traceparent, origin.tracestate))
            if origin is not None and origin.traceparent
            else None
        )
        with self._tracer.start_as_current_span(
            f"report {name}", context=parent, kind=SpanKind.PRODUCER
        ):
            return outgoing(subject, envelope(report, origin), msg_id=report.report_id)


def _carrier(traceparent: str, tracestate: str | None) -> dict[str, str]:
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return carrier
