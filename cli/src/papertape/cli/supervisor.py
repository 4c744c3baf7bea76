"""Runs services as child processes, relays their output, and stops them all together.

Readiness protocol: a child is ready once it prints a line containing the word ``READY``
(upper case, as a whole word) on stdout or stderr, e.g. ``portfolio READY on papertape.*``.
When every child is ready the supervisor prints its own ``READY`` line.

A child that exits on its own (with any code) has crashed. Like a process manager, the supervisor
starts it again after a growing pause (``RestartPolicy.backoff_s``: 0.5, 1, 2, 4 s) and gives
up only after ``max_crashes`` crashes within ``window_s`` seconds: then it stops the others and
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
from collections import deque
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


@dataclass(frozen=True)
class RestartPolicy:
    """When a crashed service is started again, and when the supervisor gives up on it."""

    backoff_s: Sequence[float] = (0.5, 1.0, 2.0, 4.0)
    """The pause before the n-th restart within the window (the last one repeats)."""
    max_crashes: int = 5
    """This many crashes of one service within ``window_s`` and the run fails."""
    window_s: float = 60.0

    def pause(self, crashes: int) -> float:
        """The pause before restarting a service that has crashed ``crashes`` times lately."""
        backoff = tuple(self.backoff_s) or (0.0,)
        return backoff[min(crashes, len(backoff)) - 1]


NO_RESTARTS = RestartPolicy(max_crashes=1)
"""The first crash fails the run (tests, and runs that must not hide a crash)."""


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
        restarts: RestartPolicy | None = None,
    ) -> None:
        self._specs = specs
        self._restarts = restarts or RestartPolicy()
        self._crashes: dict[str, deque[float]] = {spec.name: deque() for spec in specs}
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
        """Wait for ``goal``, a stop request or a crash loop, whichever comes first.

        A crashed child is restarted (after its pause) and the wait goes on; ``within`` is
        counted from the start, restarts do not extend it.
        """
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        goal_task = asyncio.ensure_future(goal)
        stop_task = asyncio.ensure_future(self._stop.wait())
        try:
            while True:
                deaths = [asyncio.ensure_future(child.proc.wait()) for child in self._children]
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                try:
                    done, _ = await asyncio.wait(
                        {goal_task, stop_task, *deaths},
                        timeout=timeout,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    for task in deaths:
                        task.cancel()
                    await asyncio.gather(*deaths, return_exceptions=True)
                if self._stop.is_set():
                    return "stopped"
                crashed = [c for c in self._children if c.proc.returncode is not None]
                if not crashed:
                    return "done" if goal_task in done else "timeout"
                for child in crashed:
                    if not await self._restart(child):
                        return "died"
        finally:
            for task in (goal_task, stop_task):
                task.cancel()
            await asyncio.gather(goal_task, stop_task, return_exceptions=True)

    async def _restart(self, child: _Child) -> bool:
        """Start a crashed child again after its pause; False when it crashes too often."""
        await self._drain(child)
        name, policy = child.spec.name, self._restarts
        crashes = self._crashes.setdefault(name, deque())
        now = time.monotonic()
        crashes.append(now)
        while now - crashes[0] > policy.window_s:
            crashes.popleft()
        exited = f"service {name} exited with code {child.proc.returncode}"
        if len(crashes) >= policy.max_crashes:
            self._say(
                f"{exited}; {len(crashes)} crash(es) within {policy.window_s:g}s: "
                "giving up, stopping the others"
            )
            return False
        pause = policy.pause(len(crashes))
        self._say(
            f"{exited}; restarting in {pause:g}s "
            f"(crash {len(crashes)} of {policy.max_crashes} within {policy.window_s:g}s)"
        )
        stopping = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({stopping}, timeout=pause)
        stopping.cancel()
        if self._stop.is_set():
            return True  # the caller sees the stop request
        try:
            restarted = await self._spawn(child.spec)
        except OSError as exc:
            self._say(f"cannot restart service {name}: {exc}; stopping the others")
            return False
        self._children[self._children.index(child)] = restarted
        child.ready.set()  # wakes `_all_ready` if it waited for the dead one
        return True

    async def _all_ready(self) -> None:
        # The children change as crashed ones are restarted: ask the current ones each time.
        while waiting := [child for child in self._children if not child.ready.is_set()]:
            await waiting[0].ready.wait()

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
