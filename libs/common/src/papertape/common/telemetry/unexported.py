"""Spans for a service that exports none (``traces_exporter`` ``none``): each span is its
context alone.

The SDK's span records a name, times, attributes, a status and its links, for span processors
to export; with no exporter nothing reads them, and on a placement that recording was the larger
part of the tracing's cost, in the gateway and in portfolio alike (bench/gateway_bench.py).
What a span here keeps is what leaves the process: its context. A span is a child of the context
it is started in (the trace id, flags and trace state of its parent; a new trace, sampled, when
there is none, as the SDK's default sampler decides), with a span id of its own, and it is made
current as the SDK's is, so the W3C context propagated in NATS headers, stored in the envelopes
and written in the logs is what the SDK would give, only nothing is recorded.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
)
from opentelemetry.util import types

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NO_STATE = TraceState()


def new_span_id() -> int:
    """A random valid span id (never the invalid 0)."""
    while (span_id := random.getrandbits(64)) == INVALID_SPAN_ID:
        pass
    return span_id


def _trace_id() -> int:
    while (trace_id := random.getrandbits(128)) == INVALID_TRACE_ID:
        pass
    return trace_id


class ContextTracer(trace.Tracer):
    """Starts spans that carry a context and record nothing."""

    def start_span(
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[trace.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        """A span in the trace of ``context``'s span (the current one by default)."""
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            return NonRecordingSpan(
                SpanContext(
                    parent.trace_id,
                    new_span_id(),
                    is_remote=False,
                    trace_flags=parent.trace_flags,
                    trace_state=parent.trace_state,
                )
            )
        new = SpanContext(
            _trace_id(), new_span_id(), is_remote=False, trace_flags=_SAMPLED, trace_state=_NO_STATE
        )
        return NonRecordingSpan(new)

    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[trace.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> AbstractContextManager[trace.Span]:
        """A span started in ``context`` and current while the block runs."""
        return _Current(self.start_span(name, context))


class _Current:
    """A span made current for a block and the context before it restored after: a class, not
    a generator (``contextlib.contextmanager`` costs a generator and its frames per span, and
    a placement has a span in the gateway and several in portfolio)."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def __enter__(self) -> trace.Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, *exc: object) -> None:
        otel_context.detach(self._token)


class ContextTracerProvider(trace.TracerProvider):
    """The provider of a service that exports no spans: one ``ContextTracer`` for every name."""

    def __init__(self) -> None:
        self._tracer = ContextTracer()

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        """The one tracer (a scope's name would only label spans that are not exported)."""
        return self._tracer

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing to flush."""
        return True

    def shutdown(self) -> None:
        """Nothing to stop."""
