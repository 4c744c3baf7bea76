"""``python -m papertape.marketdata`` starts, says READY, and publishes synthetic quotes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
from nats.aio.client import Client

from papertape.contract.subjects import StreamSpec, Subjects

pytestmark = pytest.mark.integration


async def test_the_service_process_publishes_synthetic_quotes_after_ready(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    fresh_database: str,
    nats_url: str,
) -> None:
    env = {
        **os.environ,
        "PAPERTAPE_NATS_URL": nats_url,
        "PAPERTAPE_DATABASE_URL": fresh_database,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
        "PAPERTAPE_SYMBOLS": "BTCUSD,EURUSD",
        "PAPERTAPE_QUOTE_RATE": "50",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "papertape.marketdata",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert line.strip() == b"READY market-data"
        js = nats_client.jetstream()
        stored = 0
        for _ in range(100):
            await asyncio.sleep(0.1)
            info = await js.stream_info(
                subjects.stream("MARKET"), subjects_filter=subjects.quote("BTCUSD")
            )
            stored = sum((info.state.subjects or {}).values())
            if stored >= 10:
                break
        assert stored >= 10
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
