"""Telegram: ``sendMessage`` of the Bot API, at a configurable base URL (a stand-in in tests).

The endpoint's secret is its bot's token; the request is
``POST <base>/bot<token>/sendMessage`` with JSON ``{"chat_id", "text", "parse_mode": "HTML",
"disable_web_page_preview": true}``, and success is an HTTP 200 whose JSON says ``"ok": true``.
"""

from __future__ import annotations

import html
import time
from decimal import Decimal

import aiohttp
import msgspec

from papertape.contract.codec import Codec
from papertape.contract.events.notifications import Notified
from papertape.notification.store import Attempt, Delivery

notifications: Codec[Notified] = Codec(Notified)
MAX_TEXT = 4096  # the Bot API's limit on a message


class _Answer(msgspec.Struct):
    ok: bool
    description: str = ""


_answers = msgspec.json.Decoder(_Answer)


def text_of(notified: Notified) -> str:
    """The message: the title in bold, then the text (HTML-escaped), within Telegram's limit."""
    text = f"<b>{html.escape(notified.title)}</b>\n{html.escape(notified.text)}"
    return text[:MAX_TEXT]


class TelegramChannel:
    """Sends deliveries through the Bot API."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, delivery: Delivery, secret: str | None) -> Attempt:
        started = time.perf_counter()
        if secret is None:
            return Attempt(ok=False, latency_ms=Decimal(0), error="the endpoint has no bot token")
        if self._session is None:  # made on the running loop, when first needed
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        payload = {
            "chat_id": delivery.target,
            "text": text_of(notifications.decode(delivery.payload)),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        url = f"{self._base}/bot{secret}/sendMessage"
        try:
            async with self._session.post(url, json=payload, allow_redirects=False) as response:
                status = response.status
                answer = _answers.decode(await response.read())
        except (aiohttp.ClientError, TimeoutError, msgspec.DecodeError) as error:
            # The token is in the URL: never repeat the error's text, which may quote it.
            return Attempt(ok=False, latency_ms=_ms(started), error=type(error).__name__)
        ok = status == 200 and answer.ok
        why = "" if ok else f"HTTP {status}: {answer.description[:200]}"
        return Attempt(ok=ok, status_code=status, latency_ms=_ms(started), error=why)


def _ms(started: float) -> Decimal:
    return Decimal(f"{(time.perf_counter() - started) * 1000:.3f}")
