"""Which addresses a webhook may go to: public ones only (unless private targets are allowed).

Pure: the classification of addresses (``ipaddress``), the check of a URL's host when an
endpoint is added, and the resolver's check of every address a name resolves to (with the
system's lookup answering for a made-up name).
"""

from __future__ import annotations

import socket
from ipaddress import ip_address
from typing import Any

import pytest

from papertape.gateway.errors import field_of, status_of_refusal
from papertape.notification.channels.destinations import (
    NOT_PUBLIC,
    NotPublicAddress,
    PublicOnlyResolver,
    not_public,
    refusal_of_host,
    refusal_of_target,
)
from papertape.notification.rules import Refusal, check_url


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),  # the cloud's metadata service
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("239.1.2.3", "multicast"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("fec0::1", "site-local"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
        ("192.0.2.1", "private"),  # documentation
        ("::ffff:127.0.0.1", "loopback (127.0.0.1 in IPv6)"),
        ("::ffff:169.254.169.254", "link-local (169.254.169.254 in IPv6)"),
        ("::ffff:10.0.0.1", "private (10.0.0.1 in IPv6)"),
        ("2002:7f00:1::", "loopback (127.0.0.1 in IPv6)"),  # 6to4
        ("64:ff9b::a00:1", "private (10.0.0.1 in IPv6)"),  # NAT64
        ("64:ff9b:1::a9fe:a9fe", "local-use NAT64"),  # RFC 8215, this network's translator
        ("::127.0.0.1", "reserved"),  # IPv4-compatible, deprecated
    ],
)
def test_an_address_that_is_not_public_says_what_it_is(address: str, kind: str) -> None:
    assert not_public(ip_address(address)) == kind


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]
)
def test_a_public_address_may_be_sent_to(address: str) -> None:
    assert not_public(ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("localhost", "'localhost' is a local name"),
        ("localhost.", "'localhost.' is a local name"),
        ("api.localhost", "'api.localhost' is a local name"),
        ("printer.local", "'printer.local' is a local name"),
        ("metadata.google.internal", "'metadata.google.internal' is a local name"),
        ("127.1", "'127.1' is not an address in its usual form"),
        ("2130706433", "'2130706433' is not an address in its usual form"),
        ("0x7f000001", "'0x7f000001' is not an address in its usual form"),
        ("169.254.169.254", "'169.254.169.254' is link-local"),
        ("::ffff:127.0.0.1", "'::ffff:127.0.0.1' is loopback (127.0.0.1 in IPv6)"),
    ],
)
def test_a_host_is_refused_without_being_resolved_when_it_can_only_be_local(
    host: str, why: str
) -> None:
    assert refusal_of_host(host) == why


@pytest.mark.parametrize("host", ["hooks.example.com", "8.8.8.8", "2606:4700::1111"])
def test_a_name_or_a_public_address_is_left_to_be_checked_when_used(host: str) -> None:
    assert refusal_of_host(host) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://0.0.0.0:8000/",
        "http://[fe80::1%25eth0]/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
        # Written with other characters than ASCII: a name to Python, to aiohttp (yarl, IDNA's
        # UTS-46 mapping) the address they map to, connected to without the resolver.
        "http://169\u3002254\u3002169\u3002254/latest/meta-data/",  # ideographic full stops
        "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",  # full-width digits
        "http://127\uff0e0\uff0e0\uff0e1/",  # full-width full stops
        "http://127\uff610\uff610\uff611:8222/varz",  # half-width ideographic full stops
        "http://LOCALHOST\u3002/",
    ],
)
def test_an_endpoint_to_a_host_that_is_not_public_is_refused_naming_the_url(url: str) -> None:
    with pytest.raises(Refusal) as refused:
        check_url(url, allow_private=False)
    assert refused.value.code == "invalid_endpoint"
    assert str(refused.value).startswith("url must have a public host: ")
    check_url(url, allow_private=True)  # with the allowance (``papertape run``) it may


def test_a_public_name_written_in_another_script_may_be_added() -> None:
    check_url("https://m\u00fcnchen.example/hook", allow_private=False)  # xn--mnchen-3ya


def test_a_host_idna_cannot_encode_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        check_url("http://a\u200db.example/", allow_private=False)  # a lone zero-width joiner
    assert "is not a name IDNA can encode" in str(refused.value)


def test_the_gateway_answers_a_refused_endpoint_with_422_naming_the_url() -> None:
    with pytest.raises(Refusal) as refused:
        check_url("http://169.254.169.254/", allow_private=False)
    assert status_of_refusal(refused.value.code) == 422
    assert field_of(str(refused.value)) == "url"


def test_a_delivery_to_a_literal_address_that_is_not_public_is_refused_before_sending() -> None:
    refused = refusal_of_target("http://169.254.169.254/x")
    assert refused == f"{NOT_PUBLIC}: '169.254.169.254' is link-local"
    assert refusal_of_target("https://hooks.example.com/x") is None
    mapped = refusal_of_target("http://169\u3002254\u3002169\u3002254/x")
    assert mapped == f"{NOT_PUBLIC}: '169.254.169.254' is link-local"


def _answering(names: dict[str, list[str]]) -> Any:
    """``socket.getaddrinfo`` with ``names`` answered by the given addresses."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in names:
            return real(host, port, *args, **kwargs)
        return [info for address in names[host] for info in real(address, port, *args, **kwargs)]

    return getaddrinfo


async def test_a_name_is_refused_when_any_one_of_its_addresses_is_not_public(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = {"mixed.example": ["93.184.216.34", "10.1.2.3"], "fine.example": ["93.184.216.34"]}
    monkeypatch.setattr(socket, "getaddrinfo", _answering(names))
    resolver = PublicOnlyResolver()
    try:
        with pytest.raises(NotPublicAddress) as refused:
            await resolver.resolve("mixed.example", 443, socket.AF_INET)
        found = await resolver.resolve("fine.example", 443, socket.AF_INET)
    finally:
        await resolver.close()
    assert refused.value.strerror == "mixed.example resolves to 10.1.2.3, private"
    assert [r["host"] for r in found] == ["93.184.216.34"]
