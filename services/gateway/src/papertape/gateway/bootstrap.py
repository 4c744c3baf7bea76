"""The one place the gateway is wired: runtime, key log, service client, app, HTTP server.

On start it connects the bus, opens the event log as the restricted service role (only the
key events are its own: stream ``apikeys``), rebuilds the keys, and serves the Litestar app
with uvicorn on ``http_host:http_port`` (port 0: a free one). With ``keys_file`` set (``papertape
run`` sets it) it makes sure a local admin key and a demo-account key exist and writes them
there. READY is printed once the HTTP server listens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from faststream.nats import NatsMessage

from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.runtime import ServiceRuntime, configure
from papertape.common.tasks import stop_tasks
from papertape.contract.codec import encode
from papertape.contract.events.apikeys import ApiKeyEvent
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope
from papertape.gateway.access.keys import KeyStore
from papertape.gateway.access.limits import RateLimiter
from papertape.gateway.app import build_app
from papertape.gateway.bus import Services
from papertape.gateway.dashboard import vendor
from papertape.gateway.http1 import http_protocol
from papertape.gateway.localkeys import ensure_local_keys
from papertape.gateway.metrics import GatewayMetrics
from papertape.gateway.orders import Placements
from papertape.gateway.settings import GatewaySettings, read_settings
from papertape.gateway.sockets.frames import FrameProtocol
from papertape.gateway.sockets.hub import Hub
from papertape.gateway.sockets.route import socket_route
from papertape.gateway.state import Gateway

SERVICE = "gateway"
START_TIMEOUT_S = 30.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class GatewayService:
    """The running gateway."""

    def __init__(self, settings: GatewaySettings) -> None:
        configure(settings)
        self.settings = settings
        self.runtime = ServiceRuntime(SERVICE, settings)
        self.metrics = GatewayMetrics(self.runtime.metrics.registry)
        self.log: PostgresEventLog | None = None
        self.keys: KeyStore | None = None
        self.gateway: Gateway | None = None
        self.server: _Server | None = None
        self.url = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._serving: asyncio.Task[None] | None = None

        @self.runtime.broker.subscriber(self.runtime.subjects.all_api_key_events())
        @self.runtime.guarded("api_key_event")
        async def on_key_event(msg: NatsMessage) -> None:
            if self.keys is not None:
                await self.keys.refresh()  # another replica issued or revoked a key

    async def start(self) -> None:
        """Open the key log, rebuild the keys, wire the app and start serving HTTP."""
        settings, runtime = self.settings, self.runtime
        self.log = await PostgresEventLog.connect(
            settings.database_url, role=settings.database_role or None, max_size=4
        )
        self.runtime.watch_log(self.log)
        self.keys = KeyStore(self.log, clock=runtime.clock, published=self._publish)
        await self.keys.refresh()
        services = Services(
            runtime.broker.connection, runtime.subjects, timeout=settings.request_timeout_s
        )
        hub = Hub(
            runtime.broker.connection,
            runtime.js,
            runtime.subjects,
            services,
            self.metrics,
            settings.ws_buffer,
        )
        self.gateway = Gateway(
            settings=settings,
            services=services,
            keys=self.keys,
            limiter=RateLimiter(settings.rate_per_second, settings.rate_burst),
            metrics=self.metrics,
            placements=Placements(services),
            hub=hub,
        )
        app = build_app(self.gateway, runtime.metrics.registry, [socket_route()])
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            # Its access lines are at info, below the warning level: off, uvicorn skips even
            # formatting their arguments (the client's address, the quoted path) per request.
            access_log=False,
            http=http_protocol(),  # httptools, its head bounded as h11's; h11 without it
            ws=FrameProtocol,  # websockets-sansio, with frames written once for every client
            lifespan="off",
            ws_max_size=settings.max_body_bytes,
            timeout_graceful_shutdown=5,
        )
        self.server = _Server(config)
        self._serving = asyncio.create_task(self.server.serve(), name="gateway http")
        await self._listening()
        await hub.start()
        self._tasks.append(
            runtime.every("refreshing keys", settings.keys_refresh_s, self.keys.refresh)
        )
        if settings.keys_file:
            keys = await ensure_local_keys(
                self.keys, Path(settings.keys_file), self.url, settings.demo_account
            )
            print(f"gateway {self.url} (keys in {settings.keys_file})", flush=True)
            print(f"admin key: {keys.admin}", flush=True)
            if keys.demo is not None:
                print(f"demo key ({keys.demo_account}): {keys.demo}", flush=True)
            print(f"dashboard {self.url}/ (log in with a key above)", flush=True)
            if not vendor.installed():
                print("dashboard: no chart library yet: `make setup` fetches it", flush=True)

    async def _listening(self) -> None:
        """Wait for uvicorn to listen; note the URL (with the port it picked, for port 0)."""
        assert self.server is not None
        assert self._serving is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not self.server.started:
            if self._serving.done():
                self._serving.result()  # raises why it stopped (the port is taken …)
                raise RuntimeError("the HTTP server stopped before it started")
            if loop.time() > deadline:
                raise RuntimeError("the HTTP server did not start in time")
            await asyncio.sleep(0.02)
        port = self.settings.http_port
        for server in self.server.servers:
            for sock in server.sockets:
                port = int(sock.getsockname()[1])
        self.url = f"http://{self.settings.http_host}:{port}"
        self.runtime.log.info("serving on %s", self.url)
        self.runtime.advertise(self.settings.http_host, port)  # /metrics is on the HTTP port

    async def _publish(self, envelope: Envelope[ApiKeyEvent]) -> None:
        subject = self.runtime.subjects.api_key_event(message_name(type(envelope.data)))
        await self.runtime.broker.connection.publish(subject, encode(envelope))

    async def stop(self) -> None:
        """Stop serving, then the background work, then close the log."""
        await stop_tasks(self._tasks)
        if self.gateway is not None and self.gateway.hub is not None:
            await self.gateway.hub.stop()
        if self.server is not None and self._serving is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._serving, 10)
        if self.log is not None:
            await self.log.close()

    async def serve(self) -> None:
        """Run until SIGINT/SIGTERM."""
        await self.runtime.serve(on_start=self.start, on_stop=self.stop)


async def main() -> None:
    """Run the gateway service."""
    await GatewayService(read_settings()).serve()
