"""The one codec: a shared JSON encoder and one typed decoder per union, built once.

Decimals travel as strings, datetimes as RFC 3339. Old schema versions are decoded as
their own (still defined) classes and upcast on read by pure functions registered here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

import msgspec

T = TypeVar("T")

encoder = msgspec.json.Encoder(decimal_format="string", uuid_format="canonical")

_upcasters: dict[type[Any], Callable[[Any], Any]] = {}


def encode(message: Any) -> bytes:
    """JSON bytes of any message, envelope or reply."""
    return encoder.encode(message)


def register_upcaster(old: type[T], upcast: Callable[[T], Any]) -> None:
    """Declare how an old schema version becomes the next one (applied on every read)."""
    if old in _upcasters:
        raise ValueError(f"an upcaster for {old.__name__} is registered already")
    _upcasters[old] = upcast


def upcast(message: Any) -> Any:
    """Apply upcasters until the message is of a current version."""
    seen = 0
    while type(message) in _upcasters:
        message = _upcasters[type(message)](message)
        seen += 1
        if seen > 64:
            raise RuntimeError("upcaster cycle")
    return message


class Codec(Generic[T]):
    """A typed decoder for one type (a union, an envelope of a union, a reply …), built once."""

    def __init__(self, type_: Any) -> None:
        self.type = type_
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)

    def decode(self, data: bytes | str) -> T:
        """Decode and validate; bad input raises ``msgspec.ValidationError`` / ``DecodeError``."""
        return self._decoder.decode(data)

    def convert(self, obj: Any) -> T:
        """Validate an already-parsed object (a dict from asyncpg's jsonb, for example)."""
        return cast(T, msgspec.convert(obj, self.type))


def to_builtins(message: Any) -> Any:
    """Plain JSON-ready Python objects (Decimals as strings)."""
    return msgspec.to_builtins(message, builtin_types=None)


DecodeError = (msgspec.ValidationError, msgspec.DecodeError)
