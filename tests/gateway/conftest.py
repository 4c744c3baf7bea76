"""One stack for the gateway's end-to-end tests of a module (starting it takes seconds)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.gateway.stack import Stack, running_stack


@pytest_asyncio.fixture(scope="module")
async def stack(nats_url: str, postgres_server_url: str) -> AsyncIterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="papertape-gateway-") as folder:
        async with running_stack(nats_url, postgres_server_url, Path(folder)) as running:
            yield running
