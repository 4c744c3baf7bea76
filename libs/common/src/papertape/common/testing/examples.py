"""Example instances of any message type, built from its type annotations (for contract tests).

``example_of(OrderPlaced)`` fills every field, optional ones included, with a plain valid value:
Decimal -> ``Decimal("1.5")``, datetime -> an aware UTC time, enums -> the first member, unions
-> the first non-None member, nested structs recursively. Overrides by ``"Class.field"`` or by
``"field"`` give values the annotations cannot imply (a pattern, a cross-field rule).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import msgspec.inspect as mi

EXAMPLE_TIME = datetime(2024, 1, 2, 14, 30, 15, 123456, tzinfo=UTC)
EXAMPLE_UUID = uuid.UUID("0190a4e2-7a1b-7c3d-8e4f-5a6b7c8d9e0f")
_MAX_DEPTH = 8


def example_of(type_: Any, overrides: Mapping[str, Any] | None = None) -> Any:
    """An instance of ``type_`` with every field set; overrides by ``Class.field`` or ``field``."""
    return _Builder(overrides or {}).build(mi.type_info(type_), "value", 0)


@dataclasses.dataclass(frozen=True)
class _Builder:
    overrides: Mapping[str, Any]

    def build(self, info: mi.Type, name: str, depth: int) -> Any:
        if isinstance(info, mi.Metadata):  # bounds (papertape.contract.bounds) and docs
            return self.build(info.type, name, depth)
        scalar = _scalar(info, name)
        if scalar is not _NO_SCALAR:
            return scalar
        if isinstance(info, mi.StructType | mi.DataclassType | mi.NamedTupleType):
            return info.cls(**self._fields(info.cls, info.fields, depth))
        if isinstance(info, mi.TypedDictType):
            return self._fields(info.cls, info.fields, depth)
        if isinstance(info, mi.UnionType):
            return self.build(_union_member(info, depth), name, depth)
        if isinstance(info, mi.ListType):
            return [self.build(info.item_type, name, depth + 1)]
        if isinstance(info, mi.SetType):
            return {self.build(info.item_type, name, depth + 1)}
        if isinstance(info, mi.FrozenSetType):
            return frozenset({self.build(info.item_type, name, depth + 1)})
        if isinstance(info, mi.VarTupleType):
            return (self.build(info.item_type, name, depth + 1),)
        if isinstance(info, mi.TupleType):
            return tuple(self.build(item, name, depth + 1) for item in info.item_types)
        if isinstance(info, mi.DictType):
            key = self.build(info.key_type, "key", depth + 1)
            return {key: self.build(info.value_type, name, depth + 1)}
        raise TypeError(f"no example for {info!r} ({name}): pass an override")

    def _fields(self, cls: type[Any], fields: tuple[mi.Field, ...], depth: int) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in fields:
            for key in (f"{cls.__name__}.{f.name}", f.name):
                if key in self.overrides:
                    values[f.name] = self.overrides[key]
                    break
            else:
                if depth >= _MAX_DEPTH and not f.required:
                    continue  # deep recursion: let optional fields take their defaults
                values[f.name] = self.build(f.type, f.name, depth + 1)
        return values


_NO_SCALAR = object()


def _scalar(info: mi.Type, name: str) -> Any:
    if isinstance(info, mi.StrType):
        text = f"{name}-1"
        if info.pattern is not None:  # the first plain value the pattern accepts
            text = next((t for t in (text, "USD") if re.search(info.pattern, t)), text)
        if info.min_length is not None and len(text) < info.min_length:
            text = text.ljust(info.min_length, "x")
        return text[: info.max_length] if info.max_length is not None else text
    if isinstance(info, mi.BoolType):
        return True
    if isinstance(info, mi.IntType):
        lows = [b for b in (info.ge, None if info.gt is None else info.gt + 1) if b is not None]
        highs = [b for b in (info.le, None if info.lt is None else info.lt - 1) if b is not None]
        return min([max(lows) if lows else 1, *highs])
    if isinstance(info, mi.FloatType):
        return 1.5
    if isinstance(info, mi.DecimalType):
        return Decimal("1.5")
    if isinstance(info, mi.DateTimeType):
        return EXAMPLE_TIME.replace(tzinfo=None) if info.tz is False else EXAMPLE_TIME
    if isinstance(info, mi.DateType):
        return date(2024, 1, 2)
    if isinstance(info, mi.TimeType):
        return time(14, 30)
    if isinstance(info, mi.TimeDeltaType):
        return timedelta(seconds=90)
    if isinstance(info, mi.UUIDType):
        return EXAMPLE_UUID
    if isinstance(info, mi.BytesType | mi.ByteArrayType):
        return b"example"
    if isinstance(info, mi.NoneType):
        return None
    if isinstance(info, mi.EnumType):
        return next(iter(info.cls))
    if isinstance(info, mi.LiteralType):
        return info.values[0]
    if isinstance(info, mi.AnyType):
        return "example"
    return _NO_SCALAR


def _union_member(info: mi.UnionType, depth: int) -> mi.Type:
    members = [t for t in info.types if not isinstance(t, mi.NoneType)]
    if not members or (depth >= _MAX_DEPTH and len(members) < len(info.types)):
        return mi.NoneType()
    return members[0]
