"""Runs services as child processes, relays their output, and stops them all together.

Readiness protocol: a child is ready once it prints a line containing the word ``READY``
(upper case, as a whole word) on stdout or stderr, e.g. ``portfolio READY on papertape.*``.
When every child is ready the supervisor prints its own ``READY`` line.

A child that exits on its own (with any code) is a failure: the supervisor stops the others and
returns 1 with a message naming it. Ctrl-C or SIGTERM (or the end of ``duration``) stops every
child with SIGTERM to its process group, then SIGKILL after ``stop_timeout``; a second signal
kills at once. Children run in their own sessions so a terminal's Ctrl-C reaches only the
supervisor, which decides the order of the shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from papertape.cli.console import Console
from papertape.common.servers.processes import die_with_parent

READY = re.compile(r"\bREADY\b")
NAME = "papertape"
_LINE_LIMIT = 1 << 20


@dataclass(frozen=True)
class ServiceSpec:
    """A child process: its name, command line and complete environment."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class _Child:
    spec: ServiceSpec
    proc: asyncio.subprocess.Process
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    output: asyncio.Task[None] | None = None


Outcome = Literal["done", "stopped", "died", "timeout"]
DUPLICATE_SIGNAL_S = 1.0


class Supervisor:
    """Starts the services, waits for them to be ready, and keeps them or stops them together."""

    def __init__(
        self,
        specs: Sequence[ServiceSpec],
        console: Console | None = None,
        *,
        ready_timeout: float = 120.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self._specs = specs
        self._console = console or Console()
        self._ready_timeout = ready_timeout
        self._stop_timeout = stop_timeout
        self._children: list[_Child] = []
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()  # set once every service is ready
        self._first_request: float | None = None

    def request_stop(self) -> None:
        """Begin an orderly shutdown (a second request kills the children at once).

        Ctrl-C under ``make run`` or ``uv run`` reaches this process twice in the same instant
        (from the terminal and forwarded by the parent), so a repeat within a second is the
        same request.
        """
        now = time.monotonic()
        if self._first_request is None:
            self._first_request = now
        elif now - self._first_request > DUPLICATE_SIGNAL_S:
            self._say("second stop request: killing every service")
            for child in self._alive():
                _signal_group(child, signal.SIGKILL)
        self._stop.set()

    async def run(self, *, duration: float | None = None, handle_signals: bool = True) -> int:
        """Run until a stop request, ``duration`` seconds after readiness, or a child's death."""
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            return await self._supervise(duration)
        finally:
            await self._shutdown()
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

    async def _supervise(self, duration: float | None) -> int:
        for spec in self._specs:
            try:
                self._children.append(await self._spawn(spec))
            except OSError as exc:
                self._say(f"cannot start service {spec.name}: {exc}")
                return 1
        outcome = await self._wait(self._all_ready(), self._ready_timeout)
        if outcome == "timeout":
            late = ", ".join(c.spec.name for c in self._children if not c.ready.is_set())
            self._say(f"not ready after {self._ready_timeout:g}s: {late}")
        if outcome in ("died", "timeout"):
            return 1
        if outcome == "done":
            names = ", ".join(c.spec.name for c in self._children) or "no services"
            self._say(f"READY ({names})")
            self.ready.set()
            outcome = await self._wait(self._stop.wait(), duration)
        return 1 if outcome == "died" else 0

    async def _wait(self, goal: Coroutine[Any, Any, Any], within: float | None) -> Outcome:
        """Wait for ``goal``, a stop request or a child's death, whichever comes first."""
        goal_task = asyncio.ensure_future(goal)
        tasks = {
            goal_task,
            asyncio.ensure_future(self._stop.wait()),
            *(asyncio.ensure_future(child.proc.wait()) for child in self._children),
        }
        try:
            done, _ = await asyncio.wait(tasks, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._stop.is_set():
            return "stopped"
        for child in self._children:
            if child.proc.returncode is not None:
                await self._drain(child)
                self._say(
                    f"service {child.spec.name} exited with code {child.proc.returncode}; "
                    "stopping the others"
                )
                return "died"
        return "done" if goal_task in done else "timeout"

    async def _all_ready(self) -> None:
        await asyncio.gather(*(child.ready.wait() for child in self._children))

    async def _spawn(self, spec: ServiceSpec) -> _Child:
        proc = await asyncio.create_subprocess_exec(
            *spec.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(spec.env),
            start_new_session=True,
            preexec_fn=die_with_parent(),
            limit=_LINE_LIMIT,
        )
        child = _Child(spec, proc)
        child.output = asyncio.create_task(self._relay(child))
        self._say(f"started {spec.name} (pid {proc.pid})")
        return child

    async def _relay(self, child: _Child) -> None:
        assert child.proc.stdout is not None
        while raw := await child.proc.stdout.readline():
            line = raw.decode("utf-8", errors="replace")
            if READY.search(line):
                child.ready.set()
            self._console.emit(child.spec.name, line)

    async def _shutdown(self) -> None:
        alive = self._alive()
        if alive:
            self._say(f"stopping {', '.join(c.spec.name for c in alive)}")
        for child in alive:
            _signal_group(child, signal.SIGTERM)
        waits = asyncio.gather(*(child.proc.wait() for child in alive))
        try:
            await asyncio.wait_for(waits, self._stop_timeout)
        except TimeoutError:
            for child in self._alive():
                self._say(f"{child.spec.name} did not stop within {self._stop_timeout:g}s: killed")
                _signal_group(child, signal.SIGKILL)
            await asyncio.gather(*(child.proc.wait() for child in alive))
        for child in self._children:
            await self._drain(child)

    async def _drain(self, child: _Child) -> None:
        """Relay what the child wrote before it ended (bounded: a grandchild may hold the pipe)."""
        if child.output is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(child.output), 5.0)

    def _alive(self) -> list[_Child]:
        return [child for child in self._children if child.proc.returncode is None]

    def _say(self, line: str) -> None:
        self._console.emit(NAME, line)


def _signal_group(child: _Child, sig: signal.Signals) -> None:
    # Each child leads its own session, so its group id is its pid; grandchildren go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.proc.pid, sig)
