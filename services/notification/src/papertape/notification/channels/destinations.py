"""Where a webhook may go: a public address, unless private targets are allowed.

An account's trade key names the URL its webhooks are sent to, and the service sends them from
inside the platform's network. Unguarded, that key could make the service call what only the
platform can reach (its own metrics and NATS monitoring on loopback, the private network, the
cloud's metadata service at ``169.254.169.254``): a server-side request forgery. So unless
``allow_private_targets`` is set (``papertape run`` sets it: one machine, one user, whose
receiver runs beside it), an address is refused when it is unspecified, loopback, link-local,
multicast, reserved, private or otherwise not globally routable; an IPv4 address carried in
IPv6 (``::ffff:127.0.0.1``, 6to4, NAT64) is judged as the IPv4 address it carries.

It is checked twice, and both checks use ``not_public``:

- when an endpoint is added (``rules.check_url``): a literal address, ``localhost`` and the
  names only a local network answers (``*.localhost``, ``*.local``, ``*.internal``), and the
  legacy numeric forms (``127.1``, ``2130706433``) are refused naming the url, so the caller
  learns it at once (422 at the gateway). Any other name is resolved only when it is used;
- when a delivery is sent (``webhooks.py``): a literal address is checked before anything is
  sent; a name is resolved by ``PublicOnlyResolver``, which refuses it when any one of its
  addresses is not public. The connection is made to the addresses checked and to no other (no
  second lookup that a rebinding DNS server could answer differently), redirects are not
  followed (a public URL cannot hand the request on to a private one) and no proxy from the
  environment is used. A refused delivery is failed for good, a dead letter whose error says
  why (its reason in the metrics is ``not_public``), and nothing is sent.
"""

from __future__ import annotations

import errno
import socket
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

NOT_PUBLIC = "the endpoint's host is not a public address"
"""How the error of a refused delivery begins (the dispatcher fails it for good on it)."""
_NAT64 = IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = IPv6Network("64:ff9b:1::/48")
"""RFC 8215's local-use translation prefix: a translator of this network's own (Python 3.11's
``is_global`` does not know it)."""


def carried_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4 or NAT64), if it carries one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def not_public(address: IPv4Address | IPv6Address) -> str | None:
    """What an address is when it is not a public one (``"loopback"``, ``"private"``, …), or
    None when a webhook may be sent to it."""
    if isinstance(address, IPv6Address) and (carried := carried_ipv4(address)) is not None:
        why = not_public(carried)
        return None if why is None else f"{why} ({carried} in IPv6)"
    kinds = (
        ("local-use NAT64", isinstance(address, IPv6Address) and address in _LOCAL_NAT64),
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("site-local", isinstance(address, IPv6Address) and address.is_site_local),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    return next((kind for kind, holds in kinds if holds), None)


def _is_local_name(host: str) -> bool:
    """Whether only this machine or its local network answers the name (RFC 6761, 6762)."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith((".localhost", ".local", ".internal"))


def refusal_of_host(host: str) -> str | None:
    """Why a URL's host is refused without being resolved (a literal address that is not
    public, a local name, a legacy numeric address), or None: a name is checked when used."""
    if _is_local_name(host):
        return f"{host!r} is a local name"
    try:
        address = ip_address(host)
    except ValueError:
        try:
            socket.inet_aton(host)  # what 127.1 or 2130706433 would be connected to
        except OSError:
            return None
        return f"{host!r} is not an address in its usual form"
    why = not_public(address)
    return None if why is None else f"{host!r} is {why}"


def refusal_of_url(url: str) -> str | None:
    """Why a URL's host is refused without being resolved, or None. The host is judged as
    Python reads it and as aiohttp will connect to it (yarl's ``raw_host``, a name in IDNA's
    ASCII form): the two differ for a host written with other characters than ASCII. A host of
    ``169``, ``254``, ``169`` and ``254`` joined by ideographic full stops (U+3002), or
    ``127.0.0.1`` in full-width digits (U+FF10-FF19), is a name to Python and the address
    ``169.254.169.254`` or ``127.0.0.1`` to aiohttp (IDNA's UTS-46 mapping), which connects to it
    without asking the resolver."""
    host = urlsplit(url).hostname
    if host is None:
        return "the url has no host"
    try:
        connected = URL(url).raw_host
    except ValueError:  # IDNA cannot encode it (UnicodeError is a ValueError)
        return f"{host!r} is not a name IDNA can encode"
    forms = (host,) if connected in (None, host) else (host, connected)
    return next((why for form in forms if (why := refusal_of_host(form)) is not None), None)


def refusal_of_target(url: str) -> str | None:
    """Why a delivery to ``url`` is refused before anything is sent, or None (the error of a
    refused ``Attempt`` is this)."""
    why = refusal_of_url(url)
    return None if why is None else f"{NOT_PUBLIC}: {why}"


class NotPublicAddress(OSError):
    """A name resolved to an address that is not public (aiohttp wraps it, as ``os_error``)."""


class PublicOnlyResolver(AbstractResolver):
    """Names resolved as usual, then refused when any one address is not public: a name is
    checked where it is connected to, so none (``127.0.0.1.nip.io``, an internal DNS name, a
    name rebound since the endpoint was added) reaches loopback or a private network."""

    def __init__(self) -> None:
        self._resolver = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        for result in found:
            why = not_public(ip_address(result["host"]))
            if why is not None:
                raise NotPublicAddress(errno.EACCES, f"{host} resolves to {result['host']}, {why}")
        return found

    async def close(self) -> None:
        await self._resolver.close()
