"""pytest plugin (loaded with ``-p papertape.common.testing.plugin``): server fixtures.

Interim version: servers from NATS_URL / DATABASE_URL only. The embedded fallback replaces it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from papertape.common.subjects import Subjects


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    yield os.environ.get("NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    yield os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
async def fresh_database(postgres_server_url: str) -> AsyncIterator[str]:
    name = f"pt_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(postgres_server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield _with_database(postgres_server_url, name)
    conn = await asyncpg.connect(postgres_server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def subjects() -> Subjects:
    return Subjects(namespace=f"t{uuid.uuid4().hex[:10]}")
