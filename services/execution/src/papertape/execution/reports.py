"""Execution reports onto the EXECUTION stream, in an envelope, deduplicated by report id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nats.js import JetStreamContext

from papertape.common.bus.publishing import publish
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import ExecutionReport
from papertape.contract.ids import Actor, CausationId, CorrelationId, EventId, StreamId
from papertape.contract.subjects import Subjects

ACTOR = Actor("execution")


class Origin:
    """Where an order came from: its placement's event id and correlation (for causation)."""

    __slots__ = ("correlation_id", "event_id")

    def __init__(self, event_id: str, correlation_id: str) -> None:
        self.event_id = event_id
        self.correlation_id = correlation_id


def envelope(report: ExecutionReport, origin: Origin | None) -> Envelope[ExecutionReport]:
    """A report in its envelope: the event id is the report id, caused by the order's placement."""
    return Envelope[ExecutionReport](
        event_id=EventId(report.report_id),
        stream_id=StreamId(f"venue-{report.account_id}"),
        stream_version=0,
        occurred_at=report.ts,
        correlation_id=CorrelationId(origin.correlation_id if origin else report.order_id),
        causation_id=CausationId(origin.event_id) if origin else None,
        actor=ACTOR,
        data=report,
    )


class ReportPublisher:
    """Publishes reports on ``exec.<account>.<report>`` with ``Nats-Msg-Id`` = report id."""

    def __init__(self, js: JetStreamContext, subjects: Subjects) -> None:
        self._js = js
        self._subjects = subjects
        self.origins: dict[str, Origin] = {}
        self.published = 0
        self.last_ts: datetime | None = None

    async def publish(self, reports: Sequence[ExecutionReport]) -> None:
        for report in reports:
            subject = self._subjects.execution_report(report.account_id, message_name(type(report)))
            wrapped = envelope(report, self.origins.get(report.order_id))
            await publish(self._js, subject, wrapped, msg_id=report.report_id)
            self.published += 1
            self.last_ts = report.ts
