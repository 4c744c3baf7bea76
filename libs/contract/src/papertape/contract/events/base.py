"""Base message types: every event and command is a frozen, keyword-only, tagged Struct.

The tag names the type and its schema version: class ``OrderPlaced`` is ``"order_placed.v1"``
on the wire, class ``OrderPlacedV2`` is ``"order_placed.v2"``. Old versions stay defined so
stored history can be decoded and upcast on read (see ``papertape.contract.codec``).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from papertape.contract.bounds import Bounded

_VERSIONED = re.compile(r"^(?P<base>.+?)V(?P<version>\d+)$")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@functools.cache  # per message on the hot paths (appends, reports): a class name is fixed
def _split(class_name: str) -> tuple[str, int]:
    match = _VERSIONED.match(class_name)
    if match:
        return match["base"], int(match["version"])
    return class_name, 1


def snake(name: str) -> str:
    """``OrderPlaced`` -> ``order_placed``."""
    return _CAMEL.sub("_", name).lower()


def wire_tag(class_name: str) -> str:
    """The tag a message class carries on the wire: ``<snake name>.v<version>``."""
    base, version = _split(class_name)
    return f"{snake(base)}.v{version}"


_NAMES: dict[type[Any], str] = {}  # on every append and publish: a class's name is fixed


def message_name(cls: type[Any]) -> str:
    """The versionless snake-case name of a message type (used in subjects and the log)."""
    name = _NAMES.get(cls)
    if name is None:
        name = _NAMES[cls] = snake(_split(cls.__name__)[0])
    return name


def schema_version(cls: type[Any]) -> int:
    """The schema version of a message type."""
    return _split(cls.__name__)[1]


class Message(Bounded, frozen=True, kw_only=True, tag_field="type", tag=wire_tag):
    """Anything that travels on the bus: its numbers and times are checked (contract.bounds)."""


class Event(Message, frozen=True, kw_only=True):
    """Something that happened: past tense, immutable, never rewritten."""


class Command(Message, frozen=True, kw_only=True):
    """Something asked of a service: imperative, may be refused."""


class Query(Message, frozen=True, kw_only=True):
    """A question to a service: answered, changes nothing."""
