"""Signed webhooks: a JSON POST a receiver can verify, and refuse when replayed.

The body is ``{"delivery_id": ..., "notification": <Notified>}``. Headers:

- ``X-Papertape-Delivery``: the delivery id (the same on every retry: deduplicate on it);
- ``X-Papertape-Timestamp``: Unix seconds when this attempt was signed;
- ``X-Papertape-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed with the endpoint's
  secret, of ``<timestamp>.<body>`` (the timestamp's digits, a dot, the body's bytes).

A receiver recomputes the HMAC over the raw body, compares in constant time, and refuses a
timestamp older than its tolerance (five minutes here) or a delivery id it has seen: so a
captured request replayed later is refused. Any 2xx answer is success; anything else (a
redirect included: they are not followed), a timeout or a refused connection is a failure.

Unless private targets are allowed, a target that is not a public address is never sent to
(``destinations.py`` says what is checked, and why): the attempt fails, its error beginning
with ``NOT_PUBLIC``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec

from papertape.notification.channels.destinations import (
    NOT_PUBLIC,
    NotPublicAddress,
    PublicOnlyResolver,
    refusal_of_target,
)
from papertape.notification.store import Attempt, Delivery

SIGNATURE = "X-Papertape-Signature"
TIMESTAMP = "X-Papertape-Timestamp"
DELIVERY = "X-Papertape-Delivery"
TOLERANCE_S = 300
USER_AGENT = "papertape-notification/1"


class _Body(msgspec.Struct, frozen=True):
    delivery_id: str
    notification: msgspec.Raw


def body_of(delivery: Delivery) -> bytes:
    """The JSON a webhook receives for a delivery."""
    return msgspec.json.encode(_Body(delivery.delivery_id, msgspec.Raw(delivery.payload)))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Papertape-Signature`` of a body signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """Whether a request is signed with ``secret`` and recent (what a receiver checks; it also
    keeps the delivery ids it has seen, to refuse a replay inside the tolerance)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP.lower(), "")
    signature = lowered.get(SIGNATURE.lower(), "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookChannel:
    """POSTs deliveries with one shared HTTP client (per-target limits are the dispatcher's)."""

    def __init__(self, timeout_s: float, *, allow_private: bool) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on the running loop, when first needed
            options: dict[str, Any] = {"limit": 0, "limit_per_host": 0}
            if not self._allow_private:
                options["resolver"] = PublicOnlyResolver()
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                trust_env=False,  # no proxy from the environment: it would connect, unchecked
                connector=aiohttp.TCPConnector(**options),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, delivery: Delivery, secret: str | None) -> Attempt:
        if secret is None:
            return Attempt(ok=False, latency_ms=Decimal(0), error="the endpoint has no secret")
        if not self._allow_private and (why := refusal_of_target(delivery.target)) is not None:
            return Attempt(ok=False, latency_ms=Decimal(0), error=why)
        body = body_of(delivery)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            DELIVERY: delivery.delivery_id,
            TIMESTAMP: timestamp,
            SIGNATURE: sign(secret, timestamp, body),
        }
        started = time.perf_counter()
        try:
            async with self._client().post(
                delivery.target, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status  # the answer's body is not read: only its status
        except (aiohttp.ClientError, TimeoutError) as error:
            return Attempt(ok=False, latency_ms=_ms(started), error=_error_of(error))
        ok = 200 <= status < 300
        return Attempt(
            ok=ok, status_code=status, latency_ms=_ms(started), error="" if ok else f"HTTP {status}"
        )


def _error_of(error: Exception) -> str:
    """An attempt's error: why a name was refused, or the exception's name and message."""
    refused = getattr(error, "os_error", None)
    if isinstance(refused, NotPublicAddress):
        return f"{NOT_PUBLIC}: {refused.strerror}"
    return f"{type(error).__name__}: {error}".rstrip(": ")


def _ms(started: float) -> Decimal:
    return Decimal(f"{(time.perf_counter() - started) * 1000:.3f}")
