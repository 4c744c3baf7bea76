"""Firefox driven over WebDriver BiDi, which Firefox speaks itself (no geckodriver, no Playwright).

Firefox started with ``--headless --remote-debugging-port=PORT`` serves BiDi at
``ws://127.0.0.1:PORT/session``: one JSON command per message, each answered by the message with
its id; everything else on the socket is an event. Only the commands the dashboard's test needs
are here: a session, the page's context, navigation, scripts, screenshots and the log.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
import websockets

FIREFOX = ("/usr/bin/firefox-esr", "/usr/bin/firefox")
# Without these a fresh profile phones home at start (updates, experiments, telemetry).
QUIET_PREFS = {
    "app.update.enabled": False,
    "app.normandy.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "services.settings.server": "data:,",
    "network.captive-portal-service.enabled": False,
}


def firefox() -> str | None:
    """Debian's firefox-esr (or a firefox), if installed."""
    for path in FIREFOX:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("firefox-esr") or shutil.which("firefox")


def firefox_version(path: str) -> int:
    """The major version of the Firefox at ``path`` (``Mozilla Firefox 128.5.0esr`` -> 128)."""
    shown = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    number = shown.strip().rsplit(" ", 1)[-1]
    return int(number.split(".", 1)[0])


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """One message from the browser: a command's answer (``id``) or an event (``method``)."""

    type: str
    id: int | None = None
    method: str | None = None
    result: dict[str, object] = {}
    params: dict[str, object] = {}
    error: str | None = None
    message: str | None = None


class BiDiError(Exception):
    """A command the browser refused, or a script that threw."""


class Firefox:
    """One BiDi session on one headless Firefox, driving its first tab."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.ids = itertools.count(1)
        self.waiting: dict[int, asyncio.Future[Reply]] = {}
        self.errors: list[str] = []  # the page's script errors, from log.entryAdded
        self.context = ""
        self.reader = asyncio.create_task(self._read())

    async def command(self, method: str, **params: object) -> dict[str, object]:
        """Send one command and wait for its answer."""
        number = next(self.ids)
        answer: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.waiting[number] = answer
        await self.connection.send(json.dumps({"id": number, "method": method, "params": params}))
        reply = await asyncio.wait_for(answer, 60)
        if reply.type == "error":
            raise BiDiError(f"{method}: {reply.error}: {reply.message}")
        return reply.result

    async def _read(self) -> None:
        decoder = msgspec.json.Decoder(Reply)
        async for raw in self.connection:
            reply = decoder.decode(raw)
            if reply.id is not None and reply.id in self.waiting:
                self.waiting.pop(reply.id).set_result(reply)
            elif reply.method == "log.entryAdded" and reply.params.get("level") == "error":
                self.errors.append(str(reply.params.get("text")))

    async def open(self, width: int, height: int) -> None:
        """Start the session and size the first tab."""
        await self.command("session.new", capabilities={})
        await self.command("session.subscribe", events=["log.entryAdded"])
        tree = await self.command("browsingContext.getTree")
        contexts = tree["contexts"]
        assert isinstance(contexts, list), tree
        assert contexts, tree
        self.context = str(contexts[0]["context"])
        viewport = {"width": width, "height": height}
        await self.command("browsingContext.setViewport", context=self.context, viewport=viewport)

    async def navigate(self, url: str) -> None:
        await self.command(
            "browsingContext.navigate", context=self.context, url=url, wait="complete"
        )

    async def evaluate(self, expression: str) -> object:
        """The value of a script in the page (awaited when it is a promise)."""
        result = await self.command(
            "script.evaluate",
            expression=expression,
            target={"context": self.context},
            awaitPromise=True,
            resultOwnership="none",
        )
        if result.get("type") == "exception":
            raise BiDiError(f"{expression}: {result.get('exceptionDetails')}")
        value = result.get("result")
        assert isinstance(value, dict), result
        return value.get("value")

    async def until(self, expression: str, seconds: float = 30) -> object:
        """The first truthy value of ``expression``, polled; fails after ``seconds``."""
        async with asyncio.timeout(seconds):
            while True:  # the page's state is polled: nothing signals it to the test
                if value := await self.evaluate(expression):
                    return value
                await asyncio.sleep(0.1)

    async def screenshot(self, path: Path) -> Path:
        taken = await self.command("browsingContext.captureScreenshot", context=self.context)
        data = base64.b64decode(str(taken["data"]))
        await asyncio.to_thread(path.write_bytes, data)
        return path

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.command("session.end")
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await self.reader


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _connect(url: str, alive: Callable[[], bool]) -> websockets.ClientConnection:
    """The BiDi socket, once Firefox listens (it takes a few seconds to start)."""
    async with asyncio.timeout(60):
        while True:
            if not alive():
                raise BiDiError("firefox exited before it listened")
            with contextlib.suppress(OSError):
                return await websockets.connect(url, max_size=None)
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def launched(path: str, width: int = 1280, height: int = 800) -> AsyncIterator[Firefox]:
    """A headless Firefox with a throwaway profile, its BiDi session open."""
    with tempfile.TemporaryDirectory(prefix="papertape-firefox-") as profile:
        prefs = "".join(
            f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in QUIET_PREFS.items()
        )
        await asyncio.to_thread(Path(profile, "user.js").write_text, prefs)
        port = _free_port()
        process = await asyncio.create_subprocess_exec(
            path, "--headless", "--no-remote", "--profile", profile,
            f"--remote-debugging-port={port}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            alive: Callable[[], bool] = lambda: process.returncode is None  # noqa: E731
            connection = await _connect(f"ws://127.0.0.1:{port}/session", alive)
            browser = Firefox(connection)
            try:
                await browser.open(width, height)
                yield browser
            finally:
                await browser.close()
                await connection.close()
        finally:
            if process.returncode is None:
                process.terminate()
            waited: Awaitable[int] = process.wait()
            try:
                await asyncio.wait_for(waited, 10)
            except TimeoutError:
                process.kill()
                await process.wait()
