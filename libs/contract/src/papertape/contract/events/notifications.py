"""Notifications: an account's rules and endpoints (its own stream in the log), and what it is told.

An account's stream (``notify-<account>`` in the event log) holds its endpoints (a webhook URL,
an e-mail address, a Telegram chat) and its rules: which happenings notify on which endpoints
and on the WebSocket feed. The notification service answers the commands and queries below on
``notification.command`` and ``notification.query.<name>``; it publishes a ``Notified`` (and
every change of rules or endpoints) on ``notify.<account>`` for the gateway's sockets.

Secrets (a webhook's signing key, a Telegram bot token) never enter the log or a reply but the
one that adds the endpoint: the service keeps them in its own table (see its README).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from papertape.contract.bounds import NAME, PRINTABLE, TOKEN, Limit, Percent, Text, UtcTime
from papertape.contract.events.account import AccountRef
from papertape.contract.events.base import Command, Event, Query
from papertape.contract.events.reports import Report
from papertape.contract.events.signals import Score

NOTIFY_STREAM_PREFIX = "notify-"
"""Every account's notification stream id starts with this."""


def notify_stream(account_id: str) -> str:
    """The event-log stream that holds an account's notification rules and endpoints."""
    return f"{NOTIFY_STREAM_PREFIX}{account_id}"


RuleRef = Annotated[str, TOKEN]
EndpointRef = Annotated[str, TOKEN]
DeliveryRef = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=PRINTABLE)]
"""A delivery's id: not empty, at most 200 characters, no control characters (a NUL never
reaches the store's queries)."""
WebhookUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=2000)]
EmailAddress = Annotated[
    str, msgspec.Meta(pattern=r"^[^@\s<>,;]{1,64}@[A-Za-z0-9.\-]{1,253}$", max_length=320)
]
ChatId = Annotated[str, msgspec.Meta(pattern=r"^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})$")]
Secret = Annotated[str, msgspec.Meta(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]
"""A webhook signing key or a bot token: printable ASCII, no spaces."""


class Happening(enum.StrEnum):
    """What a rule can be told about."""

    FILL = "fill"
    STOP_LOSS_HIT = "stop_loss_hit"
    TAKE_PROFIT_HIT = "take_profit_hit"
    ORDER_REFUSED = "order_refused"
    ORDER_TRIGGERED = "order_triggered"
    """The venue triggered a stop order (it now works at the market)."""
    CIRCUIT_BREAKER = "circuit_breaker"
    TRADING_HALTED = "trading_halted"
    SESSION_STARTED = "session_started"
    SESSION_ENDED = "session_ended"
    SESSION_ERRORED = "session_errored"
    SIGNAL = "signal"
    """A signal at or above the rule's ``min_confidence``."""
    DRAWDOWN = "drawdown"
    """The account's drawdown beyond the rule's ``drawdown_pct``."""
    DAILY_PNL = "daily_pnl"
    """The day's P&L, once per UTC day."""


class EndpointKind(enum.StrEnum):
    """Where a notification goes besides the WebSocket feed."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    TELEGRAM = "telegram"


Happenings = Annotated[tuple[Happening, ...], msgspec.Meta(min_length=1, max_length=20)]
EndpointRefs = Annotated[tuple[EndpointRef, ...], msgspec.Meta(max_length=20)]


# --- commands ------------------------------------------------------------------------------


class NotificationCommandBase(Command, frozen=True, kw_only=True):
    """A command about one account's notifications."""

    account_id: AccountRef


class AddEndpoint(NotificationCommandBase, frozen=True, kw_only=True):
    """Add (or replace) an endpoint. A webhook gets a signing secret (given, or generated and
    returned once); a Telegram endpoint needs its bot's token as ``secret``."""

    endpoint_id: EndpointRef
    kind: EndpointKind
    url: WebhookUrl | None = None
    email: EmailAddress | None = None
    chat_id: ChatId | None = None
    secret: Secret | None = None


class RemoveEndpoint(NotificationCommandBase, frozen=True, kw_only=True):
    """Remove an endpoint (its secret is erased; its delivery log stays)."""

    endpoint_id: EndpointRef


class AddRule(NotificationCommandBase, frozen=True, kw_only=True):
    """Add (or replace) a rule: these happenings notify on these endpoints (and the socket)."""

    rule_id: RuleRef
    happenings: Happenings
    endpoints: EndpointRefs = ()
    websocket: bool = True
    min_confidence: Score = 0
    drawdown_pct: Percent = Decimal(10)


class RemoveRule(NotificationCommandBase, frozen=True, kw_only=True):
    """Remove a rule."""

    rule_id: RuleRef


class ResendDeadLetter(NotificationCommandBase, frozen=True, kw_only=True):
    """Try a dead-lettered delivery again (with a fresh attempt budget)."""

    delivery_id: DeliveryRef


NotificationCommand = AddEndpoint | RemoveEndpoint | AddRule | RemoveRule | ResendDeadLetter


# --- events (an account's ``notify-<account>`` stream) ---------------------------------------


class NotificationEventBase(Event, frozen=True, kw_only=True):
    """Something that changed in one account's notification set-up, at ``ts``."""

    account_id: AccountRef
    ts: UtcTime


class EndpointAdded(NotificationEventBase, frozen=True, kw_only=True):
    """An endpoint was added or replaced (its secret kept by the service, never here)."""

    endpoint_id: EndpointRef
    kind: EndpointKind
    url: WebhookUrl | None = None
    email: EmailAddress | None = None
    chat_id: ChatId | None = None
    has_secret: bool = False


class EndpointRemoved(NotificationEventBase, frozen=True, kw_only=True):
    """An endpoint was removed; rules that named it no longer reach it."""

    endpoint_id: EndpointRef


class RuleAdded(NotificationEventBase, frozen=True, kw_only=True):
    """A rule was added or replaced."""

    rule_id: RuleRef
    happenings: Happenings
    endpoints: EndpointRefs = ()
    websocket: bool = True
    min_confidence: Score = 0
    drawdown_pct: Percent = Decimal(10)


class RuleRemoved(NotificationEventBase, frozen=True, kw_only=True):
    """A rule was removed."""

    rule_id: RuleRef


class Notified(Event, frozen=True, kw_only=True):
    """Something an account's rule asked to be told about (``notify.<account>``, webhooks …)."""

    notification_id: Annotated[str, NAME]
    """Derived from what happened: the same happening always has the same id."""
    account_id: AccountRef
    happening: Happening
    title: Annotated[str, msgspec.Meta(max_length=200)]
    text: Text
    details: dict[str, str] = {}
    """The facts behind it (symbol, side, price, order id …) as strings."""
    ts: UtcTime


NotificationEvent = EndpointAdded | EndpointRemoved | RuleAdded | RuleRemoved


# --- queries (request-reply on ``notification.query.<name>``) --------------------------------


class ListRules(Query, frozen=True, kw_only=True):
    """An account's rules."""

    account_id: AccountRef


class ListEndpoints(Query, frozen=True, kw_only=True):
    """An account's endpoints (never their secrets)."""

    account_id: AccountRef


class ListDeliveries(Query, frozen=True, kw_only=True):
    """An account's deliveries, newest first (of one endpoint when given), with attempts."""

    account_id: AccountRef
    endpoint_id: EndpointRef | None = None
    limit: Limit = 50
    before: DeliveryRef | None = None
    """The page after this delivery (the last of the page before): older ones only."""


class ListDeadLetters(Query, frozen=True, kw_only=True):
    """Dead-lettered deliveries, newest first: one account's, or every account's (None)."""

    account_id: AccountRef | None = None
    limit: Limit = 50
    before: DeliveryRef | None = None
    """The page after this delivery (the last of the page before): older ones only."""


NotificationQuery = ListRules | ListEndpoints | ListDeliveries | ListDeadLetters


# --- replies -------------------------------------------------------------------------------


class DeliveryStatus(enum.StrEnum):
    """Where a delivery is."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    """Every attempt failed: listed as a dead letter until re-sent."""


class RuleView(Report, frozen=True, kw_only=True):
    """A rule as it stands."""

    rule_id: str
    happenings: tuple[Happening, ...]
    endpoints: tuple[str, ...]
    websocket: bool
    min_confidence: int
    drawdown_pct: Decimal


class EndpointView(Report, frozen=True, kw_only=True):
    """An endpoint as it stands; ``secret`` only in the reply that added it."""

    endpoint_id: str
    kind: EndpointKind
    url: str | None = None
    email: str | None = None
    chat_id: str | None = None
    has_secret: bool = False
    secret: str | None = None


class AttemptView(Report, frozen=True, kw_only=True):
    """One try of a delivery."""

    attempt: int
    at: UtcTime
    ok: bool
    status_code: int | None = None
    latency_ms: Decimal
    error: str = ""


class DeliveryView(Report, frozen=True, kw_only=True):
    """A notification on its way to one endpoint: its status and every attempt."""

    delivery_id: str
    account_id: str
    endpoint_id: str
    kind: EndpointKind
    notification_id: str
    happening: Happening
    status: DeliveryStatus
    attempts: int
    created_at: UtcTime
    next_attempt_at: UtcTime | None = None
    delivered_at: UtcTime | None = None
    last_error: str = ""
    history: tuple[AttemptView, ...] = ()


NOTIFICATION_QUERY_RESULTS: dict[type[Any], Any] = {
    ListRules: list[RuleView],
    ListEndpoints: list[EndpointView],
    ListDeliveries: list[DeliveryView],
    ListDeadLetters: list[DeliveryView],
}
"""What each query's reply carries in ``Reply.result``; rule and endpoint commands answer their
view (``AddEndpoint`` with the secret once), a re-send its delivery."""

NOTIFICATION_REPLY_PAYLOADS: tuple[type[Report], ...] = (
    RuleView,
    EndpointView,
    AttemptView,
    DeliveryView,
)
