"""Benchmark: the market-data publisher on JetStream with acknowledgements, against raw nats-py.

Both runs publish the same pre-generated synthetic quotes (seeded) to a throw-away MARKET stream
on the same server, in the same process: the baseline with bare ``js.publish_async`` of encoded
bytes; the service with its whole path (session marks, bar aggregation, dedup ids, acks).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from nats.js.api import StreamConfig

from papertape.common.bus.publishing import MSG_ID
from papertape.contract import codec
from papertape.contract.events.market import QuoteReceived
from papertape.contract.subjects import Subjects
from papertape.marketdata.feeds.synthetic import SyntheticGenerator, default_model
from papertape.marketdata.publisher import MarketPublisher, quote_id
from papertape.marketdata.settings import DEFAULT_SYMBOLS

QUOTES = 60_000
WINDOW = 2048
START = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def recorded_quotes(count: int) -> list[QuoteReceived]:
    """A seeded quote stream over the default symbols, one quote per symbol per millisecond."""
    generator = SyntheticGenerator(
        [default_model(s) for s in DEFAULT_SYMBOLS.split(",")],
        seed=1,
        start=START,
        interval=timedelta(milliseconds=1),
        time_scale=60,
    )
    return list(itertools.islice((q for step in generator.steps() for q in step), count))


async def _raw_rate(js: Any, subjects: Subjects, quotes: list[QuoteReceived]) -> float:
    payloads = [(subjects.quote(q.symbol), codec.encode(q), "raw:" + quote_id(q)) for q in quotes]
    started = time.perf_counter()
    pending: list[asyncio.Future[Any]] = []
    for subject, payload, msg_id in payloads:
        pending.append(await js.publish_async(subject, payload, headers={MSG_ID: msg_id}))
        if len(pending) >= WINDOW:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return len(payloads) / (time.perf_counter() - started)


async def _service_rate(nc: Any, subjects: Subjects, quotes: list[QuoteReceived]) -> float:
    publisher = MarketPublisher(nc, subjects)
    for symbol in {q.symbol for q in quotes}:
        publisher.in_session(symbol, START)  # build the calendars before the clock starts

    async def feed() -> AsyncIterator[QuoteReceived]:
        for quote in quotes:
            yield quote

    started = time.perf_counter()
    await publisher.run(feed())
    return len(quotes) / (time.perf_counter() - started)


async def run(nats_url: str) -> list[dict[str, Any]]:
    """Publish rates (quotes/s): the market-data service and the raw nats-py baseline."""
    quotes = recorded_quotes(QUOTES)
    nc = await nats.connect(nats_url)
    subjects = Subjects(namespace=f"bench{uuid.uuid4().hex[:8]}")
    stream = subjects.stream("MARKET")
    js = nc.jetstream(publish_async_max_pending=WINDOW * 2)
    try:
        await js.add_stream(StreamConfig(name=stream, subjects=[subjects.all_market()]))
        raw = await _raw_rate(js, subjects, quotes)
        await js.purge_stream(stream)
        service = await _service_rate(nc, subjects, quotes)
        stored = (await js.stream_info(stream)).state.messages
    finally:
        try:
            await js.delete_stream(stream)
        finally:
            await nc.close()
    if stored < QUOTES:
        raise RuntimeError(f"only {stored} of {QUOTES} quotes were stored")
    baseline = {"name": "nats_py_jetstream_publish_async", "value": round(raw)}
    return [
        {
            "name": "marketdata_publish_quotes_acked",
            "value": round(service),
            "unit": "quotes/s",
            "higher_is_better": True,
            "baseline": baseline,
        },
        {
            "name": "nats_py_jetstream_publish_async",
            "value": round(raw),
            "unit": "messages/s",
            "higher_is_better": True,
            "baseline": None,
        },
    ]


if __name__ == "__main__":
    import json
    import os

    print(
        json.dumps(asyncio.run(run(os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))), indent=2)
    )
