"""Child processes of the embedded servers: free ports, readiness polls, orderly stops."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil

_PR_SET_PDEATHSIG = 1


class ServerStartError(RuntimeError):
    """An embedded server did not come up."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def accepts_connections(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connect to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGTERM when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None

    parent = os.getpid()

    def _arm() -> None:
        # Runs in the child after any setuid, which would otherwise clear the setting. The
        # signal comes when the forking *thread* ends: start servers from a long-lived thread.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent is already gone
            os.kill(os.getpid(), signal.SIGTERM)

    return _arm


def wait_until(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    *,
    what: str,
    timeout: float,
    log_path: Path | None = None,
) -> None:
    """Poll ``ready`` until it holds; fail early (with the log's tail) when ``proc`` exits."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        if ready():
            return
        code = proc.poll()
        if code is not None:
            raise ServerStartError(f"{what} exited with code {code}{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise ServerStartError(f"{what} not ready after {timeout:.0f}s{_tail(log_path)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def _tail(log_path: Path | None, lines: int = 20) -> str:
    if log_path is None or not log_path.exists():
        return ""
    text = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log_path}:\n" + "\n".join(text)


def stop_process(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    """Send ``sig``, wait up to ``timeout`` seconds, then kill."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_leftover(pid_file: Path, marker: str, sig: signal.Signals, timeout: float = 15.0) -> None:
    """Stop a server a killed run left behind, known by its pid file and a cmdline marker."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        proc = psutil.Process(pid)
        cmdline = " ".join(proc.cmdline())
    except psutil.Error:
        cmdline = ""
    if marker not in cmdline:
        # Gone, or the pid was reused by an unrelated process: the pid file is merely stale.
        pid_file.unlink(missing_ok=True)
        return
    with contextlib.suppress(psutil.Error):
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


class ServerProcess:
    """A server child process and its scratch folder: stopped by one signal, or as a context."""

    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout: float = 15.0

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self, timeout: float | None = None) -> None:
        """Send the stop signal, wait (kill as a last resort), remove the scratch folder."""
        if self._proc is not None:
            stop_process(self._proc, self.stop_signal, timeout or self.stop_timeout)
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
