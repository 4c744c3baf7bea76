"""The one codec: a shared JSON encoder and one typed decoder per union, built once.

Decimals travel as strings, datetimes as RFC 3339. Old schema versions are decoded as
their own (still defined) classes and upcast on read by pure functions registered here.

No string of a decoded message holds a NUL (``\u0000``): PostgreSQL's text and jsonb cannot
store one, so a message carrying it would fail where it is appended or queried, far from the
edge that let it in. ``Codec.decode`` refuses it with the path of the string, as msgspec words a
field's error (one substring search of the bytes on the way; the walk only when it hits).

Stored history is read with a ``HistoryCodec``: what the log holds from before the contract's
bounds (papertape.contract.bounds) still reads. A naive time is read as UTC (the services'
clocks always were); a message whose numbers are out of bounds (``Infinity``, ``NaN``,
``1e400``) is voided on read: the codec's ``void`` turns it into the refusal it should have
been, so replay, queries and audits go on and the log itself is never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
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
        """Decode and validate; bad input raises ``msgspec.ValidationError`` / ``DecodeError``
        (JSON nested deeper than the decoder goes too: it is the message that is bad; so is a
        string holding a NUL)."""
        try:
            message = self._decoder.decode(data)
        except RecursionError as error:
            raise msgspec.DecodeError("JSON nested too deeply") from error
        except msgspec.ValidationError as error:
            # msgspec quotes a bad value: its NUL written out, so the error can go in a reply
            # or a dead letter that is decoded in turn.
            if "\x00" in (text := str(error)):
                raise msgspec.ValidationError(text.replace("\x00", "\\u0000")) from None
            raise
        if (where := nul_in(data)) is not None:
            raise msgspec.ValidationError(nul_refusal(where))
        return message

    def convert(self, obj: Any) -> T:
        """Validate an already-parsed object (a dict from asyncpg's jsonb, for example)."""
        return cast(T, msgspec.convert(obj, self.type))


_untyped = msgspec.json.Decoder(float_hook=Decimal)
"""JSON as Python objects (what decoded typed decodes here too: numbers past a float's range
are Decimals, as the contract's fields take them)."""
_NUL_ESCAPE = b"\\u0000"
_NUL_ESCAPE_TEXT = "\\u0000"


def nul_path(value: Any) -> str | None:
    """Where a NUL is in decoded JSON (``$.body.order_id``, ``$.items[2]``), or None: the first
    string, or object key, that holds one."""
    pending: list[tuple[Any, str]] = [(value, "$")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
        elif isinstance(item, dict):
            for key, inner in reversed(item.items()):
                if "\x00" in key:
                    return path
                pending.append((inner, f"{path}.{key}"))
        elif isinstance(item, list):
            pending.extend((inner, f"{path}[{i}]") for i, inner in reversed(list(enumerate(item))))
    return None


def nul_in(data: bytes | str) -> str | None:
    """Where a NUL is in JSON ``data`` (see ``nul_path``), or None: one substring search for
    its escape, and a decode only when that finds one (it may be an escaped backslash before
    ``u0000``: text); ``DecodeError`` when it is not JSON."""
    if not (_NUL_ESCAPE_TEXT in data if isinstance(data, str) else _NUL_ESCAPE in data):
        return None
    try:
        return nul_path(_untyped.decode(data))
    except RecursionError as error:
        raise msgspec.DecodeError("JSON nested too deeply") from error


def nul_refusal(path: str) -> str:
    """The refusal of a string at ``path`` holding a NUL, worded as msgspec words a field's."""
    return f"A string may not hold a NUL character - at `{path}`"


def to_builtins(message: Any) -> Any:
    """Plain JSON-ready Python objects (Decimals as strings)."""
    return msgspec.to_builtins(message, builtin_types=None)


DecodeError = (msgspec.ValidationError, msgspec.DecodeError)

Void = Callable[[dict[str, Any], str], dict[str, Any]]
"""What a stored message out of bounds reads as: (its raw fields, the reason) -> raw fields."""

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_STEP = re.compile(r"\.(?P<key>\w+)|\[(?P<index>\d+)\]")
_NAIVE = "Expected `datetime` with a timezone component"
_OUT_OF_BOUNDS = re.compile(r"^(\w+ must |Expected `\w+` (>=|<=|>|<|matching|of length))")
_MAX_REPAIRS = 1000


class HistoryCodec(Codec[T]):
    """A decoder of stored history: repairs naive times, voids messages out of bounds."""

    def __init__(self, type_: Any, void: Void) -> None:
        super().__init__(type_)
        self._void = void

    def decode(self, data: bytes | str) -> T:
        """Decode as stored; only what fails the current bounds takes the repairing path."""
        try:
            return super().decode(data)
        except msgspec.ValidationError:
            pass
        raw = msgspec.json.decode(data)
        for _ in range(_MAX_REPAIRS):
            try:
                return self.convert(raw)
            except msgspec.ValidationError as error:
                raw = self._repaired(raw, str(error))
        raise RuntimeError(f"stored history cannot be repaired: {data[:200]!r}")

    def _repaired(self, raw: Any, error: str) -> Any:
        if not (error.startswith(_NAIVE) or _OUT_OF_BOUNDS.match(error)):
            raise msgspec.ValidationError(error)  # not a bound: the history is broken, say so
        at = _AT.search(error)  # no "at" when the bad value is in the root struct
        steps: list[Any] = [
            m["key"] if m["key"] is not None else int(m["index"])
            for m in _STEP.finditer(at["path"] if at else "")
        ]
        if error.startswith(_NAIVE):
            parent = _walk(raw, steps[:-1])
            parent[steps[-1]] = f"{parent[steps[-1]]}+00:00"
            return raw
        # Void the innermost tagged message on the way to the bad value (the event, not the
        # list it is in, nor an untagged struct inside it).
        tagged = [i for i in range(len(steps) + 1) if _is_message(_walk(raw, steps[:i]))]
        if not tagged:
            raise msgspec.ValidationError(error)
        depth = tagged[-1]
        if depth == 0:
            return self._void(raw, error)
        parent = _walk(raw, steps[: depth - 1])
        parent[steps[depth - 1]] = self._void(parent[steps[depth - 1]], error)
        return raw


def _is_message(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("type"), str)


def _walk(node: Any, steps: list[Any]) -> Any:
    for step in steps:
        node = node[step]
    return node
