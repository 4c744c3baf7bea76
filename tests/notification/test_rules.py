"""Rules and endpoints, decided and evolved without I/O; happenings made from events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import reduce

import msgspec
import pytest

from papertape.common.testing.examples import example_of
from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointKind,
    Happening,
    RemoveEndpoint,
    RemoveRule,
)
from papertape.contract.events.orders import OrderRole
from papertape.contract.events.reports import AccountSummary
from papertape.notification import happenings
from papertape.notification.rules import (
    AccountNotifications,
    Refusal,
    check_url,
    decide,
    evolve,
    targets,
)
from tests.notification.conftest import ACC, envelope, filled

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


def apply(state: AccountNotifications, *commands: object) -> AccountNotifications:
    for command in commands:
        state = reduce(evolve, decide(command, state, NOW), state)  # type: ignore[arg-type]
    return state


def hook(endpoint_id: str, url: str = "https://example.com/h") -> AddEndpoint:
    return AddEndpoint(account_id=ACC, endpoint_id=endpoint_id, kind=EndpointKind.WEBHOOK, url=url)


EMPTY = AccountNotifications(account_id=ACC)


def test_a_rule_reaches_the_endpoints_it_names_and_the_socket() -> None:
    state = apply(
        EMPTY,
        hook("a"),
        hook("b"),
        AddRule(account_id=ACC, rule_id="r", happenings=(Happening.FILL,), endpoints=("a",)),
    )
    found = targets(state, Happening.FILL)
    assert [e.endpoint_id for e in found.endpoints] == ["a"]
    assert found.websocket
    assert not targets(state, Happening.TRADING_HALTED)


def test_a_signal_reaches_only_the_rules_whose_confidence_it_meets() -> None:
    state = apply(
        EMPTY,
        hook("a"),
        AddRule(
            account_id=ACC,
            rule_id="sure",
            happenings=(Happening.SIGNAL,),
            endpoints=("a",),
            websocket=False,
            min_confidence=80,
        ),
    )
    assert not targets(state, Happening.SIGNAL, confidence=79)
    assert targets(state, Happening.SIGNAL, confidence=80).endpoints


def test_a_removed_endpoint_is_no_longer_reached_and_a_removed_rule_no_longer_fires() -> None:
    rule = AddRule(account_id=ACC, rule_id="r", happenings=(Happening.FILL,), endpoints=("a",))
    state = apply(EMPTY, hook("a"), rule, RemoveEndpoint(account_id=ACC, endpoint_id="a"))
    assert targets(state, Happening.FILL).endpoints == ()
    state = apply(state, RemoveRule(account_id=ACC, rule_id="r"))
    assert not targets(state, Happening.FILL)


@pytest.mark.parametrize(
    ("command", "code", "field"),
    [
        (
            AddRule(account_id=ACC, rule_id="r", happenings=(Happening.FILL,), endpoints=("x",)),
            "unknown_endpoint",
            "endpoints",
        ),
        (
            AddRule(account_id=ACC, rule_id="r", happenings=(Happening.FILL,), websocket=False),
            "invalid_rule",
            "endpoints",
        ),
        (
            AddEndpoint(account_id=ACC, endpoint_id="e", kind=EndpointKind.WEBHOOK),
            "invalid_endpoint",
            "url",
        ),
        (
            AddEndpoint(
                account_id=ACC,
                endpoint_id="e",
                kind=EndpointKind.EMAIL,
                email="a@example.com",
                url="https://example.com",
            ),
            "invalid_endpoint",
            "url",
        ),
        (
            AddEndpoint(account_id=ACC, endpoint_id="e", kind=EndpointKind.TELEGRAM, chat_id="1"),
            "invalid_endpoint",
            "secret",
        ),
        (RemoveRule(account_id=ACC, rule_id="nope"), "unknown_rule", "rule_id"),
    ],
)
def test_a_command_that_cannot_be_done_is_refused_naming_the_field(
    command: object, code: str, field: str
) -> None:
    with pytest.raises(Refusal) as refused:
        decide(command, EMPTY, NOW)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert field in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "https://user:pw@example.com/x",
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://localhost:8080/x",
        "http://[::1]/x",
    ],
)
def test_webhook_urls_must_be_public_http_unless_private_targets_are_allowed(url: str) -> None:
    with pytest.raises(Refusal):
        check_url(url, allow_private=False)


def test_loopback_webhooks_are_allowed_when_private_targets_are() -> None:
    check_url("http://127.0.0.1:9000/hook", allow_private=True)
    check_url("https://hooks.example.com/x", allow_private=False)


def test_the_fill_of_a_stop_loss_leg_is_a_fill_and_a_stop_loss_hit_with_stable_ids() -> None:
    event = envelope(filled("o-sl", "95.00"))
    made = happenings.of_account_event(event, OrderRole.STOP_LOSS.value)
    assert [n.happening for n in made] == [Happening.FILL, Happening.STOP_LOSS_HIT]
    again = happenings.of_account_event(event, OrderRole.STOP_LOSS.value)
    assert [n.notification_id for n in made] == [n.notification_id for n in again]
    assert made[0].details["realized_pnl"] == "0"
    assert happenings.of_account_event(event, None)[0].details["price"] == "95.00"


def test_drawdown_notifies_beyond_the_level_only() -> None:
    summary = example_of(AccountSummary)
    deep = msgspec.structs.replace(summary, drawdown_pct=Decimal("12.346"), account_id=ACC)
    shallow = msgspec.structs.replace(summary, drawdown_pct=Decimal("4"), account_id=ACC)
    made = happenings.of_drawdown(deep, "dd", Decimal(10), NOW.date(), NOW)
    assert made is not None
    assert made.details["drawdown_pct"] == "12.35"
    assert happenings.of_drawdown(shallow, "dd", Decimal(10), NOW.date(), NOW) is None
