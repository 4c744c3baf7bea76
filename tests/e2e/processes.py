"""Services as separate processes for end-to-end tests: started, awaited READY, stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping


class ServiceProcess:
    """One ``python -m papertape.<name>`` child, with its output kept for failure messages."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.lines: list[str] = []
        self.ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if line.startswith("READY"):
                self.ready.set()

    async def wait_ready(self, seconds: float = 60.0) -> None:
        """Until the child says READY; an error at once if it exits first (its output ended)."""
        readied = asyncio.create_task(self.ready.wait())
        try:
            await asyncio.wait(
                {readied, self._reader}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            readied.cancel()
        if not self.ready.is_set():
            ended = "exited" if self._reader.done() else "never became ready"
            raise AssertionError(f"{self.name} {ended}:\n" + self.output())

    def output(self) -> str:
        return "\n".join(self.lines[-60:])

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        return self.proc.returncode or 0


async def start_service(name: str, env: Mapping[str, str]) -> ServiceProcess:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"papertape.{name}",
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    return ServiceProcess(name, proc)


@contextlib.asynccontextmanager
async def running(name: str, env: Mapping[str, str]) -> AsyncIterator[ServiceProcess]:
    service = await start_service(name, env)
    try:
        await service.wait_ready()
        yield service
    finally:
        await service.stop()


def service_env(nats_url: str, database_url: str, namespace: str) -> dict[str, str]:
    """What a service needs to run on the test's servers, in the test's namespace."""
    return {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "PAPERTAPE_NAMESPACE": namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
    }


def replay_feed(
    env: Mapping[str, str],
    path: str,
    symbol: str,
    *,
    speed: float = 1,
    bars: str = "",
    store: bool = False,
    settle_s: float = 0.0,
) -> dict[str, str]:
    """market-data's settings to replay one symbol's quotes from a CSV file, at ``speed`` times
    real time (with ``bars``: only those timeframes, stored only with ``store``; ``settle_s``:
    the wait between the bars a quote closes and that quote)."""
    feed = {
        **env,
        "PAPERTAPE_FEED": "replay",
        "PAPERTAPE_REPLAY_PATH": path,
        "PAPERTAPE_REPLAY_SPEED": str(speed),
        "PAPERTAPE_SYMBOLS": symbol,
        "PAPERTAPE_BAR_SETTLE_S": str(settle_s),
    }
    if bars:
        feed |= {"PAPERTAPE_TIMEFRAMES": bars, "PAPERTAPE_STORE_BARS": str(store).lower()}
    return feed
