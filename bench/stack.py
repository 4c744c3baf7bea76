"""The running stack for benches: services as processes, their CPU and memory, profiles.

Shared by the end-to-end bench: each service a ``python -m papertape.<service>`` process with
its output drained (a full pipe never blocks one), psutil's view of each over a window, and
py-spy on each when asked (``PAPERTAPE_BENCH_PROFILE``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psutil

from bench.cpu_usage import busy_seconds
from bench.records import record


class Stack:
    """The services' processes, their output drained so a full pipe never blocks one."""

    def __init__(self) -> None:
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self._drains: list[asyncio.Task[None]] = []

    async def start(self, name: str, env: dict[str, str]) -> None:
        module = name.replace("-", "")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"papertape.{module}",
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert proc.stdout is not None
        lines: list[bytes] = []
        try:
            async with asyncio.timeout(120):
                while not (line := await proc.stdout.readline()).startswith(b"READY"):
                    lines.append(line)
                    if not line:
                        raise RuntimeError(b"".join(lines[-30:]).decode(errors="replace"))
        except TimeoutError:
            raise RuntimeError(f"{name} never became ready") from None
        self.procs[name] = proc
        self._drains.append(asyncio.create_task(self._drain(proc)))

    def processes(self) -> dict[str, psutil.Process]:
        """psutil's view of each service, by name (its CPU and memory)."""
        return {name: psutil.Process(proc.pid) for name, proc in self.procs.items()}

    @staticmethod
    async def _drain(proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while await proc.stdout.readline():
            pass

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for task in self._drains:
            task.cancel()


class Usage:
    """CPU and memory of each service over the window."""

    def __init__(self, stack: Stack) -> None:
        self._procs = stack.processes()
        self._cpu = {name: _cpu(p) for name, p in self._procs.items()}
        self._rss = {name: p.memory_info().rss for name, p in self._procs.items()}
        self._bench = psutil.Process()
        self._bench_cpu = _cpu(self._bench)
        self._machine = psutil.cpu_times()
        self._started = time.perf_counter()

    def machine_records(self) -> list[dict[str, Any]]:
        """The bench's own process (the load: clients, sockets, quotes) and how busy the whole
        machine was (every process: the services, NATS, PostgreSQL, the bench), over the
        window: on a machine near its cores' limit every stage of the path queues."""
        seconds = time.perf_counter() - self._started
        now = psutil.cpu_times()
        busy = busy_seconds(now) - busy_seconds(self._machine)
        total = seconds * (psutil.cpu_count() or 1)
        bench = (_cpu(self._bench) - self._bench_cpu) / seconds
        return [
            record("e2e.bench_load.cpu_cores", bench, "cores", False),
            record("e2e.machine.cpu_busy_fraction", busy / total if total else 0.0, "ratio", False),
        ]  # fmt: skip

    def records(self, orders: int) -> list[dict[str, Any]]:
        """Cores used, CPU per order answered (robust to a busy machine), memory."""
        seconds = time.perf_counter() - self._started
        out, total = [], 0.0
        for name, proc in self._procs.items():
            key = name.replace("-", "_")
            used = _cpu(proc) - self._cpu[name]
            total += used
            rss = proc.memory_info().rss
            out += [
                record(f"e2e.{key}.cpu_cores", used / seconds, "cores", False),
                record(f"e2e.{key}.cpu_ms_per_order", used * 1e3 / max(orders, 1), "ms", False),
                record(f"e2e.{key}.rss_mb_end", rss / 2**20, "MiB", False),
                record(f"e2e.{key}.rss_mb_growth", (rss - self._rss[name]) / 2**20, "MiB", False),
            ]
        per_order = total * 1e3 / max(orders, 1)
        return [
            record("e2e.services.cpu_ms_per_order", per_order, "ms", False),
            *out,
            *self.machine_records(),
        ]


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


async def profile(stack: Stack, seconds: float) -> list[asyncio.subprocess.Process]:
    """py-spy on every service for the window (``PAPERTAPE_BENCH_PROFILE``), if available."""
    folder, spy = os.environ.get("PAPERTAPE_BENCH_PROFILE"), shutil.which("py-spy")
    if not folder or not spy:
        return []
    os.makedirs(folder, exist_ok=True)
    spies = []
    for name, proc in stack.procs.items():
        command = ["record", "--nonblocking", "-r", "50", "-d", str(int(seconds)), "-f", "raw"]
        command += ["-o", f"{folder}/{name}.txt", "-p", str(proc.pid)]
        spies.append(
            await asyncio.create_subprocess_exec(
                spy,
                *command,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        )
    return spies


@asynccontextmanager
async def running(env: dict[str, str], services: tuple[str, ...]) -> AsyncIterator[Stack]:
    """The services started one after the other (each READY), stopped at the end."""
    stack = Stack()
    try:
        for name in services:
            await stack.start(name, env)
        yield stack
    finally:
        await stack.stop()


def run_alone(run: Callable[[str, str], Awaitable[list[dict[str, Any]]]]) -> None:
    """Run one bench on a scratch database of the configured (or embedded) servers."""
    from contextlib import ExitStack

    from bench.eventlog_bench import scratch_database
    from bench.run import nats_url, server_url

    async def _main(url: str, nats_server: str) -> None:
        async with scratch_database(url) as dsn:
            for result in await run(dsn, nats_server):
                print(f"{result['name']:48} {result['value']:12.2f} {result['unit']}")

    with ExitStack() as stack:
        asyncio.run(_main(server_url(stack), nats_url(stack)))
