"""E-mail through an SMTP server that requires STARTTLS and a login (aiosmtpd, with a
certificate the test makes and trusts): sent when the channel is set up for both, refused
(a failed attempt, never an exception) when it is not, or when the password is wrong."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from papertape.contract.codec import encode
from papertape.contract.events.notifications import EndpointKind
from papertape.notification import happenings
from papertape.notification.channels.mail import MailChannel
from papertape.notification.store import Delivery, NewDelivery
from tests.notification.conftest import envelope, filled, pending
from tests.notification.test_channels import Inbox, free_port

USER, PASSWORD = "bots", "s3cret-pass"
NOW = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def secure_smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Inbox, int]]:
    """A server that takes mail only after STARTTLS and a login; its certificate trusted."""
    cert_file, key_file = certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # what create_default_context trusts
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=login,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def delivery() -> Delivery:
    (notified, *_) = happenings.of_account_event(envelope(filled("o-tls", "101.50")), None)
    new = NewDelivery(
        delivery_id="d-tls",
        account_id=notified.account_id,
        endpoint_id="mail",
        kind=EndpointKind.EMAIL,
        target="me@example.com",
        notification_id=notified.notification_id,
        happening=notified.happening,
        payload=encode(notified),
    )
    return pending(new, NOW)


def channel(port: int, **options: Any) -> MailChannel:
    return MailChannel("127.0.0.1", port, sender="bots@papertape.test", timeout_s=5.0, **options)


async def test_mail_goes_through_starttls_and_a_login_when_both_are_set(
    secure_smtp: tuple[Inbox, int],
) -> None:
    inbox, port = secure_smtp
    attempt = await channel(port, starttls=True, username=USER, password=PASSWORD).send(
        delivery(), None
    )
    assert attempt.ok, attempt.error
    assert attempt.latency_ms > Decimal(0)
    ((sender, recipients, message),) = inbox.messages
    assert (sender, recipients) == ("bots@papertape.test", ["me@example.com"])
    assert message["X-Papertape-Delivery"] == "d-tls"
    types = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= types


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        # Without STARTTLS the server offers no login (auth_require_tls).
        ({"username": USER, "password": PASSWORD}, "SMTPNotSupportedError"),
        ({"starttls": True}, "SMTPSenderRefused: (530"),  # no login: the mail is refused
        ({"starttls": True, "username": USER, "password": "wrong"}, "SMTPAuthenticationError"),
    ],
)
async def test_a_server_that_refuses_is_a_failed_attempt_with_its_reason(
    secure_smtp: tuple[Inbox, int], options: dict[str, Any], refusal: str
) -> None:
    inbox, port = secure_smtp
    attempt = await channel(port, **options).send(delivery(), None)
    assert not attempt.ok
    assert attempt.error.startswith(refusal), attempt.error
    assert inbox.messages == []
