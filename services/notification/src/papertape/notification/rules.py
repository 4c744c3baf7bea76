"""An account's rules and endpoints: decided from commands, evolved from its stream. No I/O.

``decide(command, state, now)`` gives the events a command makes (or a ``Refusal`` naming the
field at fault), ``evolve(state, event)`` folds one in, and ``targets(state, notified, ...)``
says which endpoints (and whether the socket) a notification reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointAdded,
    EndpointKind,
    EndpointRemoved,
    EndpointView,
    Happening,
    NotificationCommand,
    NotificationEvent,
    RemoveEndpoint,
    RemoveRule,
    RuleAdded,
    RuleRemoved,
    RuleView,
)
from papertape.notification.channels.destinations import refusal_of_url

MAX_ENDPOINTS = 50
MAX_RULES = 100


class Refusal(Exception):
    """A command that cannot be carried out, with a code and the field at fault."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AccountNotifications:
    """One account's endpoints and rules, and the version of its stream."""

    account_id: str
    endpoints: dict[str, EndpointAdded] = field(default_factory=dict)
    rules: dict[str, RuleAdded] = field(default_factory=dict)
    version: int = 0


def evolve(state: AccountNotifications, event: NotificationEvent) -> AccountNotifications:
    """The state after one event of the account's stream."""
    if isinstance(event, EndpointAdded):
        return replace(state, endpoints={**state.endpoints, event.endpoint_id: event})
    if isinstance(event, EndpointRemoved):
        endpoints = {k: v for k, v in state.endpoints.items() if k != event.endpoint_id}
        return replace(state, endpoints=endpoints)
    if isinstance(event, RuleAdded):
        return replace(state, rules={**state.rules, event.rule_id: event})
    rules = {k: v for k, v in state.rules.items() if k != event.rule_id}
    return replace(state, rules=rules)


def check_url(url: str, *, allow_private: bool) -> None:
    """A webhook URL: http or https with a host; a host that is a local name or an address that
    is not public (loopback, private, link-local, …: see ``channels.destinations``) only when
    private targets are allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refusal("invalid_endpoint", "url must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise Refusal("invalid_endpoint", "url must not carry credentials (sign with the secret)")
    if allow_private:
        return
    why = refusal_of_url(url)
    if why is not None:
        raise Refusal("invalid_endpoint", f"url must have a public host: {why}")


def _endpoint_added(
    command: AddEndpoint, now: datetime, *, allow_private: bool, has_secret: bool
) -> EndpointAdded:
    needed = {EndpointKind.WEBHOOK: "url", EndpointKind.EMAIL: "email"}
    needed[EndpointKind.TELEGRAM] = "chat_id"
    name = needed[command.kind]
    for other in ("url", "email", "chat_id"):
        given = getattr(command, other) is not None
        if other == name and not given:
            raise Refusal("invalid_endpoint", f"{name} is required for a {command.kind} endpoint")
        if other != name and given:
            raise Refusal("invalid_endpoint", f"{other} is not used by a {command.kind} endpoint")
    if command.kind is EndpointKind.WEBHOOK and command.url is not None:
        check_url(command.url, allow_private=allow_private)
    if command.kind is EndpointKind.TELEGRAM and command.secret is None:
        raise Refusal("invalid_endpoint", "secret (the bot's token) is required for telegram")
    if command.kind is EndpointKind.EMAIL and command.secret is not None:
        raise Refusal("invalid_endpoint", "secret is not used by an email endpoint")
    return EndpointAdded(
        account_id=command.account_id,
        ts=now,
        endpoint_id=command.endpoint_id,
        kind=command.kind,
        url=command.url,
        email=command.email,
        chat_id=command.chat_id,
        has_secret=has_secret,
    )


def decide(
    command: NotificationCommand,
    state: AccountNotifications,
    now: datetime,
    *,
    allow_private: bool = False,
) -> list[NotificationEvent]:
    """The events a command makes; ``Refusal`` when it cannot be carried out."""
    account = command.account_id
    if isinstance(command, AddEndpoint):
        if command.endpoint_id not in state.endpoints and len(state.endpoints) >= MAX_ENDPOINTS:
            raise Refusal("too_many_endpoints", f"at most {MAX_ENDPOINTS} endpoints per account")
        has_secret = command.kind is not EndpointKind.EMAIL
        return [_endpoint_added(command, now, allow_private=allow_private, has_secret=has_secret)]
    if isinstance(command, RemoveEndpoint):
        if command.endpoint_id not in state.endpoints:
            raise Refusal("unknown_endpoint", f"endpoint_id {command.endpoint_id!r} is unknown")
        return [EndpointRemoved(account_id=account, ts=now, endpoint_id=command.endpoint_id)]
    if isinstance(command, AddRule):
        if command.rule_id not in state.rules and len(state.rules) >= MAX_RULES:
            raise Refusal("too_many_rules", f"at most {MAX_RULES} rules per account")
        unknown = [e for e in command.endpoints if e not in state.endpoints]
        if unknown:
            raise Refusal("unknown_endpoint", f"endpoints name unknown endpoints: {unknown}")
        if not command.endpoints and not command.websocket:
            raise Refusal("invalid_rule", "endpoints is empty and websocket is off: no channel")
        return [
            RuleAdded(
                account_id=account,
                ts=now,
                rule_id=command.rule_id,
                happenings=tuple(dict.fromkeys(command.happenings)),
                endpoints=tuple(dict.fromkeys(command.endpoints)),
                websocket=command.websocket,
                min_confidence=command.min_confidence,
                drawdown_pct=command.drawdown_pct,
            )
        ]
    if isinstance(command, RemoveRule):
        if command.rule_id not in state.rules:
            raise Refusal("unknown_rule", f"rule_id {command.rule_id!r} is unknown")
        return [RuleRemoved(account_id=account, ts=now, rule_id=command.rule_id)]
    raise TypeError(f"not a rule or endpoint command: {type(command).__name__}")


@dataclass(frozen=True)
class Targets:
    """Where one notification goes."""

    endpoints: tuple[EndpointAdded, ...]
    websocket: bool

    def __bool__(self) -> bool:
        return self.websocket or bool(self.endpoints)


def targets(
    state: AccountNotifications,
    happening: Happening,
    *,
    confidence: int | None = None,
    rule_id: str | None = None,
) -> Targets:
    """The endpoints (and the socket) the account's rules send a happening to. A signal
    reaches the rules whose ``min_confidence`` it meets; ``rule_id`` keeps to one rule."""
    endpoints: dict[str, EndpointAdded] = {}
    websocket = False
    for rule in state.rules.values():
        if happening not in rule.happenings or (rule_id is not None and rule.rule_id != rule_id):
            continue
        if confidence is not None and confidence < rule.min_confidence:
            continue
        websocket = websocket or rule.websocket
        for endpoint_id in rule.endpoints:
            endpoint = state.endpoints.get(endpoint_id)
            if endpoint is not None:
                endpoints[endpoint_id] = endpoint
    return Targets(endpoints=tuple(endpoints.values()), websocket=websocket)


def drawdown_rules(state: AccountNotifications) -> list[tuple[str, Decimal]]:
    """(rule id, level in %) of every rule that watches the drawdown."""
    return [
        (rule.rule_id, rule.drawdown_pct)
        for rule in state.rules.values()
        if Happening.DRAWDOWN in rule.happenings
    ]


def rule_view(rule: RuleAdded) -> RuleView:
    return RuleView(
        rule_id=rule.rule_id,
        happenings=rule.happenings,
        endpoints=rule.endpoints,
        websocket=rule.websocket,
        min_confidence=rule.min_confidence,
        drawdown_pct=rule.drawdown_pct.quantize(Decimal("0.01")),
    )


def endpoint_view(endpoint: EndpointAdded, secret: str | None = None) -> EndpointView:
    """An endpoint as replies show it (``secret`` only in the reply that added it)."""
    return EndpointView(
        endpoint_id=endpoint.endpoint_id,
        kind=endpoint.kind,
        url=endpoint.url,
        email=endpoint.email,
        chat_id=endpoint.chat_id,
        has_secret=endpoint.has_secret,
        secret=secret,
    )


def target_of(endpoint: EndpointAdded) -> str:
    """The URL, address or chat id of an endpoint."""
    return endpoint.url or endpoint.email or endpoint.chat_id or ""
