"""``papertape run``: the whole platform on one machine, from one command.

Steps: resolve the servers (``NATS_URL`` / ``DATABASE_URL``, else embedded ones persisting under
``--data-dir``), create the ``papertape`` database on an embedded server, apply the event log's
migrations, declare every JetStream stream, then run each installed service
(``python -m papertape.<service>``) under the ``Supervisor`` with ``NATS_URL`` and
``DATABASE_URL`` in its environment. A service is ready when it prints a line with the word
``READY``; then ``papertape run`` prints its own ``READY`` line. Ctrl-C / SIGTERM stops the
services first and the embedded servers last.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import nats

from papertape.cli.console import Console
from papertape.cli.endpoints import save_urls
from papertape.cli.supervisor import NAME, RestartPolicy, ServiceSpec, Supervisor
from papertape.common.bus.leases import declare_bucket
from papertape.common.bus.permissions import BusLogin
from papertape.common.eventlog.migrations import apply_migrations as apply_log_migrations
from papertape.common.servers import (
    ServerStartError,
    ServersUnavailable,
    ServerUrls,
    create_database,
    declare_streams,
    resolve_servers,
)
from papertape.common.servers.nats_auth import redacted
from papertape.common.settings import CommonSettings, load_settings, nats_servers
from papertape.contract.partitions import MAX_PARTITIONS
from papertape.contract.subjects import Subjects

SERVICES = ("portfolio", "execution", "marketdata", "signals", "notification", "gateway")
REPLICABLE = ("portfolio", "execution")
"""The services that run as replicas: their accounts are partitioned (one writer each)."""
DEFAULT_PARTITIONS = 4
"""Partitions of the accounts when a service runs as replicas and ``--partitions`` is not given."""
APP_DATABASE = "papertape"
KEYS_FILE = "keys.json"
TARGETS_DIR = "prometheus"
"""Under the data dir: each service's scrape target (``file_sd_configs``: ``<dir>/*.json``)."""
ONE_MACHINE = {"PAPERTAPE_ALLOW_PRIVATE_TARGETS": "true"}
"""What one machine with one user allows (the environment can say otherwise): webhooks to a
receiver on this machine or its network, which a shared deployment refuses."""


@dataclass(frozen=True)
class RunOptions:
    """What ``papertape run`` was asked to do (``services=None``: every installed one)."""

    data_dir: Path = Path(".papertape")
    duration: float | None = None
    services: Sequence[str] | None = None
    ready_timeout: float = 120.0
    stop_timeout: float = 10.0
    restarts: RestartPolicy = field(default_factory=RestartPolicy)
    replicas: Mapping[str, int] = field(default_factory=dict)
    """Processes of a service (``--replicas portfolio=2``); 1 when not named."""
    partitions: int = DEFAULT_PARTITIONS
    """Partitions of the accounts each replica of a replicated service is told."""


def parse_replicas(text: str) -> dict[str, int]:
    """``portfolio=2,execution=2`` as {service: replicas}; ValueError saying what is wrong."""
    replicas: dict[str, int] = {}
    for item in text.split(","):
        name, equals, count = item.strip().partition("=")
        name = name.strip().replace("-", "")
        if not equals or not name or not count.strip().isdigit():
            raise ValueError(f"{item.strip()!r} is not SERVICE=COUNT (e.g. portfolio=2)")
        if name not in REPLICABLE:
            raise ValueError(f"{name} cannot run as replicas; these can: {', '.join(REPLICABLE)}")
        if name in replicas:
            raise ValueError(f"{name} is named twice")
        replicas[name] = int(count)
        if not 1 <= replicas[name] <= MAX_PARTITIONS:
            raise ValueError(f"{name}={count.strip()}: replicas go from 1 to {MAX_PARTITIONS}")
    return replicas


def installed_services(candidates: Sequence[str] = SERVICES) -> list[str]:
    """The services whose ``papertape.<name>.__main__`` can be run."""
    found = []
    for name in candidates:
        try:
            spec = importlib.util.find_spec(f"papertape.{name}.__main__")
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            found.append(name)
    return found


def service_specs(
    names: Sequence[str],
    urls: ServerUrls,
    database_url: str,
    data_dir: Path | None = None,
    *,
    replicas: Mapping[str, int] | None = None,
    partitions: int = DEFAULT_PARTITIONS,
) -> list[ServiceSpec]:
    """One child process per service (``replicas`` of a replicated one, ``<name>-<n>``), told
    where the servers are (NATS with its own login), the gateway where to write the local API
    keys (``<data dir>/keys.json``), every service where to write its Prometheus scrape
    target (``<data dir>/prometheus/``), and the notification service that webhooks may go to
    this machine (``ONE_MACHINE``). A replica is told the partitions, its name and a
    metrics port of its own (any free one: its scrape target says which)."""
    keys = (
        {
            "PAPERTAPE_KEYS_FILE": str((data_dir / KEYS_FILE).absolute()),
            "PAPERTAPE_METRICS_TARGETS_DIR": str((data_dir / TARGETS_DIR).absolute()),
        }
        if data_dir
        else {}
    )
    specs = []
    for name in names:
        nats_url = urls.nats_url_for(_login(name))
        env = {
            **keys,
            **ONE_MACHINE,
            **os.environ,
            "NATS_URL": nats_url,
            "DATABASE_URL": database_url,
            "PAPERTAPE_NATS_URL": nats_url,
            "PAPERTAPE_DATABASE_URL": database_url,
            "PYTHONUNBUFFERED": "1",
        }
        argv = (sys.executable, "-m", f"papertape.{name}")
        count = (replicas or {}).get(name, 1)
        if count == 1:
            specs.append(ServiceSpec(name, argv, env))
            continue
        for n in range(1, count + 1):
            replica = {
                "PAPERTAPE_PARTITIONS": str(partitions),
                "PAPERTAPE_REPLICA": f"{name}-{n}",
                "PAPERTAPE_METRICS_PORT": "0",
            }
            specs.append(ServiceSpec(f"{name}-{n}", argv, {**env, **replica}))
    return specs


def _login(service: str) -> BusLogin:
    """A service's NATS login (an unknown one gets the client's: it can only ask)."""
    try:
        return BusLogin(service)
    except ValueError:
        return BusLogin.CLIENT


def run(options: RunOptions, console: Console | None = None) -> int:
    """Run everything until stopped; the process exit code."""
    console = console or Console()
    # The services read PAPERTAPE_NAMESPACE too: streams and permissions are for that namespace.
    subjects = Subjects(load_settings(CommonSettings).namespace)
    with _signals_interrupt():
        try:
            with resolve_servers(data_dir=options.data_dir.absolute(), secured=subjects) as urls:
                guard = ", a login per service" if urls.nats_users else ""
                console.emit(NAME, f"nats {redacted(urls.nats_url)} ({urls.nats_source}{guard})")
                console.emit(
                    NAME, f"postgres {redacted(urls.database_url)} ({urls.database_source})"
                )
                try:
                    return asyncio.run(_serve(urls, subjects, options, console))
                finally:
                    # Our own shutdown of the servers must not be cut short by a further signal.
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                    console.emit(NAME, "stopping the servers")
        except (ServersUnavailable, ServerStartError) as exc:
            console.emit(NAME, f"cannot start the servers: {exc}")
            return 2
        except KeyboardInterrupt:
            console.emit(NAME, "interrupted while starting")
            return 130
        finally:
            console.emit(NAME, "stopped")


async def _serve(
    urls: ServerUrls, subjects: Subjects, options: RunOptions, console: Console
) -> int:
    database_url = await prepare_database(urls, console)
    await declare_platform_streams(urls.nats_url, subjects)
    console.emit(NAME, "streams declared: " + ", ".join(s.name for s in subjects.streams()))
    if options.replicas.get("execution", 1) > 1:
        # Execution's replicas own their partitions by leases in a KV bucket, which (like the
        # streams) only the operator may declare.
        await declare_lease_bucket(urls.nats_url, subjects)
        console.emit(NAME, f"lease bucket declared: {subjects.lease_bucket('execution')}")
    names = installed_services() if options.services is None else list(options.services)
    if not names:
        console.emit(NAME, "no service is installed yet: running the servers only")
    console.emit(NAME, f"servers nats={redacted(urls.nats_url)} database={redacted(database_url)}")
    # The other commands (`papertape account …`, `papertape audit …`) find the servers here:
    # the client's login for them, the operator's for the audit tools that publish.
    urls_path = save_urls(
        options.data_dir,
        nats_url=urls.nats_url_for(BusLogin.CLIENT),
        database_url=database_url,
        nats_operator_url=urls.nats_url,
    )
    supervisor = Supervisor(
        service_specs(
            names,
            urls,
            database_url,
            options.data_dir,
            replicas=options.replicas,
            partitions=options.partitions,
        ),
        console,
        ready_timeout=options.ready_timeout,
        stop_timeout=options.stop_timeout,
        restarts=options.restarts,
    )
    try:
        return await supervisor.run(duration=options.duration)
    finally:
        urls_path.unlink(missing_ok=True)


async def prepare_database(urls: ServerUrls, console: Console) -> str:
    """The application's DSN: a ``papertape`` database on a server we started, migrated."""
    database_url = urls.database_url
    if urls.database_source != "environment":
        database_url = await create_database(urls.database_url, APP_DATABASE, exist_ok=True)
    await apply_migrations(database_url, console)
    return database_url


async def apply_migrations(database_url: str, console: Console) -> None:
    """Apply the event log's migrations (idempotent, under an advisory lock)."""
    await apply_log_migrations(database_url)
    console.emit(NAME, "migrations applied")


async def declare_platform_streams(
    nats_url: str, subjects: Subjects | None = None, replicas: int = 1
) -> None:
    """Declare every stream of the platform (the one place where streams are declared)."""
    nc = await nats.connect(nats_servers(nats_url), connect_timeout=10, max_reconnect_attempts=3)
    try:
        await declare_streams(nc, (subjects or Subjects()).streams(), replicas)
    finally:
        await nc.close()


async def declare_lease_bucket(nats_url: str, subjects: Subjects) -> None:
    """Declare execution's partition lease bucket (idempotent)."""
    nc = await nats.connect(nats_servers(nats_url), connect_timeout=10, max_reconnect_attempts=3)
    try:
        await declare_bucket(nc.jetstream(), subjects.lease_bucket("execution"))
    finally:
        await nc.close()


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt (like Ctrl-C) outside the supervisor's own handling."""

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
