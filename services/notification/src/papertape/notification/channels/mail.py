"""E-mail over SMTP: plain text and HTML, STARTTLS and login when configured.

The standard library's ``smtplib`` runs in a worker thread with the service's timeout, so a
slow mail server holds one thread, never the event loop.
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
import time
from decimal import Decimal
from email.message import EmailMessage

from papertape.contract.codec import Codec
from papertape.contract.events.notifications import Notified
from papertape.notification.store import Attempt, Delivery

notifications: Codec[Notified] = Codec(Notified)


def message_of(delivery: Delivery, sender: str) -> EmailMessage:
    """The e-mail of a delivery: plain text with an HTML alternative."""
    notified = notifications.decode(delivery.payload)
    message = EmailMessage()
    message["Subject"] = f"[papertape {notified.account_id}] {notified.title}"
    message["From"] = sender
    message["To"] = delivery.target
    message["Message-ID"] = f"<{delivery.delivery_id}@papertape>"
    message["X-Papertape-Delivery"] = delivery.delivery_id
    facts = "\n".join(f"{k}: {v}" for k, v in sorted(notified.details.items()))
    message.set_content(
        f"{notified.title}\n\n{notified.text}\n\n{facts}\n\n"
        f"{notified.ts.isoformat()} - paper trading, no real money\n"
    )
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in sorted(notified.details.items())
    )
    message.add_alternative(
        f"<html><body><h2>{html.escape(notified.title)}</h2><p>{html.escape(notified.text)}</p>"
        f"<table>{rows}</table><p><small>{html.escape(notified.ts.isoformat())}"
        " &middot; paper trading, no real money</small></p></body></html>",
        subtype="html",
    )
    return message


class MailChannel:
    """Sends deliveries through one SMTP server."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._starttls, self._username, self._password = starttls, username, password
        self._timeout_s = timeout_s

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._username:
                smtp.login(self._username, self._password)
            smtp.send_message(message)

    async def send(self, delivery: Delivery, secret: str | None) -> Attempt:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self._send, message_of(delivery, self._sender)),
                self._timeout_s * 2,
            )
        except (OSError, smtplib.SMTPException, TimeoutError) as error:
            latency = Decimal(f"{(time.perf_counter() - started) * 1000:.3f}")
            return Attempt(ok=False, latency_ms=latency, error=f"{type(error).__name__}: {error}")
        return Attempt(ok=True, latency_ms=Decimal(f"{(time.perf_counter() - started) * 1000:.3f}"))
