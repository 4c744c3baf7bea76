"""One measuring window of the end-to-end bench (``bench.e2e_bench``): what the running load
did in it, and the records it makes."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from nats.js.api import ConsumerConfig, DeliverPolicy

from bench.gateway_bench import _percentile
from bench.records import record
from bench.stack import Stack, Usage, profile
from papertape.contract.subjects import Subjects

if TYPE_CHECKING:
    from bench.e2e_bench import Clients


def percentile(values: list[float], q: float) -> float:
    """The gateway bench's percentile, NaN when nothing was measured (no fill in the window)."""
    return _percentile(values, q) if values else float("nan")


@dataclass
class Window:
    """What one measuring window saw."""

    seconds: float
    quotes: int
    backlog: int
    orders: int
    requests: list[float]
    fills: list[float]
    sockets: list[float]
    usage: list[dict[str, Any]]
    venue: list[float]
    """Each fill's quote to its report stored on EXECUTION (execution's part)."""
    applied: list[float]
    """Each fill's report stored on EXECUTION to the fill recorded in the log (portfolio's)."""

    def records(self, prefix: str) -> list[dict[str, Any]]:
        def ms(values: list[float], q: float) -> float:
            return percentile(values, q) * 1e3

        usage = [{**r, "name": r["name"].replace("e2e.", f"{prefix}.", 1)} for r in self.usage]
        return [
            record(f"{prefix}.quotes_per_s_ingested", self.quotes / self.seconds, "quotes/s", True),
            record(f"{prefix}.execution_market_backlog_end", self.backlog, "messages", False),
            record(f"{prefix}.orders_per_s_decided_recorded", self.orders / self.seconds,
                   "orders/s", True, "e2e.baseline.nats_request_reply_per_s"),
            record(f"{prefix}.fills_per_s_recorded", len(self.fills) / self.seconds, "fills/s",
                   True, "e2e.baseline.asyncpg_inserts_per_s"),
            record(f"{prefix}.order_request_p50_ms", ms(self.requests, 0.5), "ms", False),
            record(f"{prefix}.order_request_p99_ms", ms(self.requests, 0.99), "ms", False),
            record(f"{prefix}.quote_to_recorded_fill_p50_ms", ms(self.fills, 0.5), "ms", False),
            record(f"{prefix}.quote_to_recorded_fill_p99_ms", ms(self.fills, 0.99), "ms", False),
            record(f"{prefix}.quote_to_recorded_fill_p999_ms", ms(self.fills, 0.999), "ms", False),
            record(f"{prefix}.stage.quote_to_report_stored_p50_ms", ms(self.venue, 0.5), "ms",
                   False),
            record(f"{prefix}.stage.quote_to_report_stored_p99_ms", ms(self.venue, 0.99), "ms",
                   False),
            record(f"{prefix}.stage.report_stored_to_recorded_fill_p50_ms", ms(self.applied, 0.5),
                   "ms", False),
            record(f"{prefix}.stage.report_stored_to_recorded_fill_p99_ms",
                   ms(self.applied, 0.99), "ms", False),
            record(f"{prefix}.quote_to_websocket_fill_p50_ms", ms(self.sockets, 0.5), "ms", False),
            record(f"{prefix}.quote_to_websocket_fill_p99_ms", ms(self.sockets, 0.99), "ms", False),
            record(f"{prefix}.quote_to_websocket_fill_p999_ms", ms(self.sockets, 0.999), "ms",
                   False),
            *usage,
        ]  # fmt: skip


async def measure_window(
    stack: Stack,
    js: Any,
    db: asyncpg.Connection,
    subjects: Subjects,
    clients: Clients,
    ws_delays: list[float],
    *,
    seconds: float,
    spy: bool,
) -> Window:
    """``seconds`` of the running load: quotes, orders answered, fills recorded (each fill's
    delay from its quote's time to its row's ``recorded_at``) and on the sockets, CPU."""
    market, execution = subjects.stream("MARKET"), subjects.stream("EXECUTION")
    spies = await profile(stack, seconds) if spy else []
    first_seq = (await js.stream_info(market)).state.last_seq
    first_report = (await js.stream_info(execution)).state.last_seq
    started_at = await db.fetchval("SELECT clock_timestamp()")
    answered, usage = clients.answered, Usage(stack)
    clients.measuring, ws_delays[:] = True, []
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    seconds = time.perf_counter() - started
    clients.measuring = False
    ended_at = await db.fetchval("SELECT clock_timestamp()")
    orders = clients.answered - answered
    used = usage.records(orders)
    sockets = list(ws_delays)
    quotes = (await js.stream_info(market)).state.last_seq - first_seq
    consumer = await js.consumer_info(market, subjects.durable("execution", "market"))
    last_report = (await js.stream_info(execution)).state.last_seq
    for running_spy in spies:
        await running_spy.wait()
    rows = await db.fetch(
        "SELECT data->>'order_id' AS order_id, recorded_at, (data->>'ts')::timestamptz AS ts"
        " FROM events WHERE type = 'order_filled' AND recorded_at BETWEEN $1 AND $2",
        started_at,
        ended_at,
    )
    fills = [(r["recorded_at"] - r["ts"]).total_seconds() for r in rows]
    stored = await _reports_stored(js, subjects, first_report, last_report)
    venue = [(at - quoted).total_seconds() for at, quoted in stored.values()]
    applied = [
        (r["recorded_at"] - stored[r["order_id"]][0]).total_seconds()
        for r in rows
        if r["order_id"] in stored
    ]
    return Window(
        seconds,
        quotes,
        consumer.num_pending,
        orders,
        clients.latencies,
        fills,
        sockets,
        used,
        venue,
        applied,
    )


async def _reports_stored(
    js: Any, subjects: Subjects, first: int, last: int
) -> dict[str, tuple[datetime, datetime]]:
    """Each fill report on EXECUTION after ``first`` up to ``last``, by its order: when the
    stream stored it and the time of the quote it was filled on (the bench's market orders
    fill whole, on one quote)."""
    found: dict[str, tuple[datetime, datetime]] = {}
    if last <= first:
        return found
    sub = await js.subscribe(
        subjects.all_execution_reports(),
        ordered_consumer=True,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=first + 1
        ),
    )
    try:
        while True:
            msg = await sub.next_msg(timeout=10)
            data = json.loads(msg.data).get("data", {})
            if "price" in data:  # a fill (an acceptance or a cancel has none)
                ts = datetime.fromisoformat(data["ts"])
                found.setdefault(data["order_id"], (msg.metadata.timestamp, ts))
            if msg.metadata.sequence.stream >= last:
                return found
    finally:
        await sub.unsubscribe()
