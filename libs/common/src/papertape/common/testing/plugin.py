"""pytest plugin (loaded with ``-p papertape.common.testing.plugin``): real server fixtures.

Servers come from ``NATS_URL`` / ``DATABASE_URL`` when set, else the embedded binaries (started
once per session, per xdist worker: they start in well under a second), else testcontainers.
Every name a test creates (database, namespace, stream) is unique, so concurrent runs sharing a
server never collide.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client

from papertape.common.bus.permissions import BusLogin
from papertape.common.servers import (
    EmbeddedNats,
    create_database,
    declare_streams,
    delete_streams,
    drop_database,
    resolve_nats,
    resolve_postgres,
)
from papertape.common.servers.nats_auth import NatsUsers, authorization_block
from papertape.contract.subjects import StreamSpec, Subjects


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """A NATS server with JetStream for the whole session."""
    with ExitStack() as stack:
        yield resolve_nats(stack).url


@pytest.fixture
def server_data_dir() -> Iterator[Path]:
    """An empty folder for a persistent embedded server's data, removed after the test.

    Not under ``tmp_path``: pytest keeps that tree private to its user (and re-tightens it when
    any pytest session starts), which the system user of a root-started PostgreSQL cannot enter.
    """
    with tempfile.TemporaryDirectory(prefix="papertape-test-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A superuser DSN on a PostgreSQL server where CREATE DATABASE works."""
    with ExitStack() as stack:
        # Durability is pointless for throw-away test clusters; speed is not.
        yield resolve_postgres(stack, durable=False).url


@pytest_asyncio.fixture
async def fresh_database(postgres_server_url: str) -> AsyncIterator[str]:
    """A DSN of a brand-new empty database, dropped (WITH FORCE) after the test."""
    name = f"pt_{uuid.uuid4().hex[:16]}"
    yield await create_database(postgres_server_url, name)
    await drop_database(postgres_server_url, name)


@pytest.fixture
def subjects() -> Subjects:
    """Subjects and stream names in a namespace of this test alone."""
    return Subjects(namespace=f"t{uuid.uuid4().hex[:12]}")


@pytest_asyncio.fixture
async def nats_client(nats_url: str) -> AsyncIterator[Client]:
    """A connected nats-py client, closed after the test."""
    client = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=2)
    try:
        yield client
    finally:
        await client.close()


@dataclass(frozen=True)
class SecuredNats:
    """An embedded NATS server with the platform's logins and permissions, streams declared."""

    url: str
    users: NatsUsers

    def url_for(self, login: BusLogin) -> str:
        return self.users.url(login, self.url)


@pytest_asyncio.fixture
async def secured_nats(subjects: Subjects) -> AsyncIterator[SecuredNats]:
    """A NATS server of this test alone that enforces ``papertape.common.bus.permissions``.

    Always embedded (a configured server's users are not ours to set); the streams of
    ``subjects`` are declared with the operator's login.
    """
    users = NatsUsers.generate()
    with EmbeddedNats(config=authorization_block(subjects, users.passwords)) as server:
        secured = SecuredNats(server.url, users)
        operator = await nats.connect(secured.url_for(BusLogin.OPERATOR), connect_timeout=5)
        try:
            await declare_streams(operator, subjects.streams())
        finally:
            await operator.close()
        yield secured


@pytest_asyncio.fixture
async def jetstream_streams(
    nats_client: Client,
    subjects: Subjects,
) -> AsyncIterator[tuple[StreamSpec, ...]]:
    """Every stream of ``subjects.streams()`` declared on the server, deleted after the test."""
    specs = subjects.streams()
    await declare_streams(nats_client, specs)
    try:
        yield specs
    finally:
        await delete_streams(nats_client, specs)
