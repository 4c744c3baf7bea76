"""The catalog of every message type on the bus, and the one table of which subject carries which.

Message types are discovered, not listed: every concrete subclass of ``Message`` defined in a
module of ``papertape.contract.events`` is in the catalog, so a new context module needs no
registration here. Its subjects do: add its context to ``ROUTES`` below.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from papertape.contract import events as _events_package
from papertape.contract.events.base import (
    Command,
    Event,
    Message,
    Query,
    message_name,
    schema_version,
)
from papertape.contract.events.envelope import DeadLetter, Envelope, Reply, Request
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.subjects import Subjects

EVENTS_PACKAGE = "papertape.contract.events"
_NOT_CONTEXTS = frozenset({"base", "envelope", "catalog"})

WRAPPERS: tuple[type[Any], ...] = (Envelope, Request, Reply, DeadLetter)
"""The structs that carry messages (or stand for them, like a dead letter)."""


@dataclass(frozen=True)
class MessageSpec:
    """One message type at one schema version, and where its schema lives in proto/."""

    cls: type[Any]
    context: str
    name: str
    version: int

    @property
    def key(self) -> str:
        """``<context>.<name>.v<version>``: unique across the catalog."""
        return f"{self.context}.{self.name}.v{self.version}"

    @property
    def tag(self) -> str | None:
        """The ``type`` tag on the wire (None for untagged wrappers)."""
        tag = self.cls.__struct_config__.tag
        return tag if isinstance(tag, str) else None

    @property
    def schema_path(self) -> str:
        """The schema's path relative to proto/."""
        return f"schemas/{self.context.replace('.', '/')}/{self.name}.v{self.version}.json"

    @property
    def kind(self) -> str:
        """``event``, ``command``, ``query``, ``message`` or ``wrapper``."""
        for base, label in ((Event, "event"), (Command, "command"), (Query, "query")):
            if issubclass(self.cls, base):
                return label
        return "message" if issubclass(self.cls, Message) else "wrapper"


def public_module(cls: type[Any]) -> str:
    """The module a message is imported from: its context's (``events.account``), also when it
    is defined in a module of that context's package (``events.account.commands``), so a context
    can be split by concern without moving its published schemas."""
    module = cls.__module__
    if not module.startswith(EVENTS_PACKAGE + "."):
        return module
    return f"{EVENTS_PACKAGE}.{module.removeprefix(EVENTS_PACKAGE + '.').split('.')[0]}"


def spec_of(cls: type[Any]) -> MessageSpec:
    """The catalog entry of a message or wrapper class."""
    context = public_module(cls).removeprefix(EVENTS_PACKAGE + ".")
    return MessageSpec(
        cls=cls, context=context, name=message_name(cls), version=schema_version(cls)
    )


def context_modules() -> Iterator[ModuleType]:
    """Import and yield every context module of the events package (base and wrappers excluded)."""
    prefix = EVENTS_PACKAGE + "."
    for info in pkgutil.walk_packages(_events_package.__path__, prefix):
        if info.name.removeprefix(prefix).split(".")[0] in _NOT_CONTEXTS:
            continue
        yield importlib.import_module(info.name)


def _defined_messages(module: ModuleType) -> list[type[Message]]:
    return [
        obj
        for obj_name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, Message)
        and obj.__module__ == module.__name__
        and not obj_name.startswith("_")
    ]


def message_types() -> tuple[MessageSpec, ...]:
    """Every concrete message type, sorted by key; intermediate base classes are left out."""
    found = [cls for module in context_modules() for cls in _defined_messages(module)]
    bases = {base for cls in found for base in cls.__mro__[1:]}
    specs = [spec_of(cls) for cls in found if cls not in bases]
    return tuple(sorted(specs, key=lambda s: s.key))


def wrapper_types() -> tuple[MessageSpec, ...]:
    """The envelope, request, reply and dead-letter structs."""
    return tuple(spec_of(cls) for cls in WRAPPERS)


def all_types() -> tuple[MessageSpec, ...]:
    """Message types and wrappers: everything proto/ has a schema for."""
    return message_types() + wrapper_types()


# --- which subject carries what ------------------------------------------------------------

ANY_CONTEXT = "*"


@dataclass(frozen=True)
class Route:
    """A subject pattern, the stream it is kept on, and the messages it carries."""

    channel: str
    """The subject with ``{parameters}`` for the variable tokens (and ``>`` for a tail)."""
    example: Callable[[Subjects], str]
    """Builds a concrete subject of this pattern with ``Subjects`` (checked by the tests)."""
    description: str
    wrapper: type[Any] | None
    """How messages travel: in an ``Envelope``, a ``Request``, or bare (None)."""
    kinds: tuple[type[Message], ...] = ()
    contexts: tuple[str, ...] = ()
    types: tuple[type[Any], ...] = ()
    reply: type[Any] | None = None
    parameters: dict[str, str] = field(default_factory=dict)

    def carries(self, spec: MessageSpec) -> bool:
        """Whether messages of this type travel on this subject."""
        if spec.cls in self.types:
            return True
        in_context = ANY_CONTEXT in self.contexts or spec.context in self.contexts
        return bool(self.kinds) and in_context and issubclass(spec.cls, self.kinds)


_PORTFOLIO = ("account", "accounts", "orders", "portfolio")

ROUTES: tuple[Route, ...] = (
    Route(
        channel="md.quote.{symbol}",
        example=lambda s: s.quote("AAPL"),
        description="top-of-book quotes from market-data (bare, high-rate facts)",
        wrapper=None,
        types=(QuoteReceived,),
        parameters={"symbol": "instrument symbol"},
    ),
    Route(
        channel="md.bar.{timeframe}.{symbol}",
        example=lambda s: s.bar("1m", "AAPL"),
        description="closed OHLCV bars from market-data (bare, high-rate facts)",
        wrapper=None,
        types=(BarClosed,),
        parameters={"timeframe": "bar width (1m, 5m, 1h …)", "symbol": "instrument symbol"},
    ),
    Route(
        channel="signal.{strategy}.{symbol}",
        example=lambda s: s.signal("sma_cross", "AAPL"),
        description="strategy signals",
        wrapper=Envelope,
        kinds=(Event,),
        contexts=("signals", "signal", "strategies"),
        parameters={"strategy": "strategy name", "symbol": "instrument symbol"},
    ),
    Route(
        channel="session.{session_id}.{event}",
        example=lambda s: s.session_event("bot-1", "session_started"),
        description="bot sessions' events relayed from their streams in the event log",
        wrapper=Envelope,
        kinds=(Event,),
        contexts=("sessions",),
        parameters={"session_id": "bot session id", "event": "the event's snake-case name"},
    ),
    Route(
        channel="signals.command",
        example=lambda s: s.signals_command(),
        description="bot session commands (start, pause, resume, stop), request-reply",
        wrapper=Request,
        kinds=(Command,),
        contexts=("sessions",),
        reply=Reply,
    ),
    Route(
        channel="signals.query.{query}",
        example=lambda s: s.signals_query("get_signals"),
        description="strategies, sessions, signal history and calibration, request-reply",
        wrapper=Request,
        kinds=(Query,),
        contexts=("sessions",),
        reply=Reply,
        parameters={"query": "the query's snake-case name"},
    ),
    Route(
        channel="acct.{account_id}.{event}",
        example=lambda s: s.account_event("acc-1", "order_placed"),
        description="account events relayed from the portfolio event log",
        wrapper=Envelope,
        kinds=(Event,),
        contexts=_PORTFOLIO,
        parameters={"account_id": "account id", "event": "the event's snake-case name"},
    ),
    Route(
        channel="exec.{account_id}.{report}",
        example=lambda s: s.execution_report("acc-1", "order_filled"),
        description="execution reports from the simulated venue",
        wrapper=Envelope,
        kinds=(Event,),
        contexts=("execution", "venue"),
        parameters={"account_id": "account id", "report": "the report's snake-case name"},
    ),
    Route(
        channel="portfolio.command",
        example=lambda s: s.portfolio_command(),
        description="account commands, request-reply",
        wrapper=Request,
        kinds=(Command,),
        contexts=_PORTFOLIO,
        reply=Reply,
    ),
    Route(
        channel="portfolio.query.{query}",
        example=lambda s: s.portfolio_query("summary"),
        description="account queries, request-reply",
        wrapper=Request,
        kinds=(Query,),
        contexts=_PORTFOLIO,
        reply=Reply,
        parameters={"query": "the query's snake-case name"},
    ),
    Route(
        channel="portfolio.{partition}.command",
        example=lambda s: s.portfolio_partition_command(2),
        description="account commands forwarded by a portfolio replica to the owner of the "
        "account's partition (p<k>), with the caller's reply subject",
        wrapper=Request,
        kinds=(Command,),
        contexts=_PORTFOLIO,
        reply=Reply,
        parameters={"partition": "p and the partition's number (p0, p1, ...)"},
    ),
    Route(
        channel="portfolio.{partition}.query.{query}",
        example=lambda s: s.portfolio_partition_query(2, "summary"),
        description="account queries forwarded to the owner of the account's partition (the "
        "list of accounts: asked of every partition)",
        wrapper=Request,
        kinds=(Query,),
        contexts=_PORTFOLIO,
        reply=Reply,
        parameters={
            "partition": "p and the partition's number (p0, p1, ...)",
            "query": "the query's snake-case name",
        },
    ),
    Route(
        channel="marketdata.query.{query}",
        example=lambda s: s.marketdata_query("get_bars"),
        description="price and bar-history queries, request-reply",
        wrapper=Request,
        kinds=(Query,),
        contexts=("market",),
        reply=Reply,
        parameters={"query": "the query's snake-case name"},
    ),
    Route(
        channel="execution.query.{query}",
        example=lambda s: s.execution_query("get_working_orders"),
        description="the venue's working orders, request-reply",
        wrapper=Request,
        kinds=(Query,),
        contexts=("execution",),
        reply=Reply,
        parameters={"query": "the query's snake-case name"},
    ),
    Route(
        channel="execution.{partition}.query.{query}",
        example=lambda s: s.execution_partition_query(2, "get_working_orders"),
        description="the venue's working orders, forwarded by an execution replica to the owner "
        "of the account's partition (p<k>) with the caller's reply subject (of every account: "
        "asked of every partition)",
        wrapper=Request,
        kinds=(Query,),
        contexts=("execution",),
        reply=Reply,
        parameters={
            "partition": "p and the partition's number (p0, p1, ...)",
            "query": "the query's snake-case name",
        },
    ),
    Route(
        channel="notification.command",
        example=lambda s: s.notification_command(),
        description="notification rules and endpoints (add, remove) and dead-letter re-sends",
        wrapper=Request,
        kinds=(Command,),
        contexts=("notifications",),
        reply=Reply,
    ),
    Route(
        channel="notification.query.{query}",
        example=lambda s: s.notification_query("list_rules"),
        description="an account's rules, endpoints, deliveries and dead letters, request-reply",
        wrapper=Request,
        kinds=(Query,),
        contexts=("notifications",),
        reply=Reply,
        parameters={"query": "the query's snake-case name"},
    ),
    Route(
        channel="notify.{account_id}",
        example=lambda s: s.notify("acc-1"),
        description="notifications for an account's connected clients, and changes of its rules",
        wrapper=Envelope,
        kinds=(Event,),
        contexts=("notification", "notifications"),
        parameters={"account_id": "account id"},
    ),
    Route(
        channel="gateway.apikey.{event}",
        example=lambda s: s.api_key_event("api_key_issued"),
        description="API keys issued and revoked, relayed by the gateway to its replicas",
        wrapper=Envelope,
        kinds=(Event,),
        contexts=("apikeys",),
        parameters={"event": "the event's snake-case name"},
    ),
    Route(
        channel="dlq.{service}.>",
        example=lambda s: s.dead_letter("portfolio", "acct.a.b"),
        description="messages a service could not handle, under their original subject",
        wrapper=None,
        types=(DeadLetter,),
        parameters={"service": "the failing service"},
    ),
    Route(
        channel="replay.{name}",
        example=lambda s: s.republish("audit-1"),
        description="a range of the event log re-published for a new subscriber",
        wrapper=Envelope,
        kinds=(Event,),
        contexts=(ANY_CONTEXT,),
        parameters={"name": "the republish job's name"},
    ),
)


def routes_for(spec: MessageSpec) -> tuple[Route, ...]:
    """The subjects that carry a message type."""
    return tuple(route for route in ROUTES if route.carries(spec))


def unrouted() -> tuple[MessageSpec, ...]:
    """Message types no specific subject carries (a catch-all like ``replay`` does not count)."""
    specific = [route for route in ROUTES if ANY_CONTEXT not in route.contexts]
    return tuple(
        spec for spec in message_types() if not any(route.carries(spec) for route in specific)
    )
