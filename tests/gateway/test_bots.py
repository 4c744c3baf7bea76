"""Which account a bot session's events go to: an event that names its account and known
sessions at once, old events of unknown ones once the signal service has named their account,
in order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from papertape.contract.events.envelope import Envelope
from papertape.contract.events.sessions import (
    GetSession,
    ListSessions,
    SessionEvent,
    SessionPaused,
    SessionResumed,
)
from papertape.contract.ids import AccountId, Actor, CorrelationId, EventId, StreamId
from papertape.gateway.bus import Refused, ServiceUnavailable
from papertape.gateway.sockets import bots
from papertape.gateway.sockets.bots import SessionAccounts

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _envelope(event: SessionEvent, version: int) -> Envelope[SessionEvent]:
    return Envelope(
        event_id=EventId(str(uuid.uuid4())),
        stream_id=StreamId(f"session-{event.session_id}"),
        stream_version=version,
        occurred_at=NOW,
        correlation_id=CorrelationId("c"),
        actor=Actor("signals"),
        data=event,
    )


class _SignalService:
    """Answers GetSession from ``accounts`` after ``outages`` timeouts; ListSessions with none."""

    def __init__(self, accounts: dict[str, str], outages: int = 0) -> None:
        self.accounts, self.outages, self.asked = accounts, outages, 0

    async def signals(self, query: Any, _actor: Actor) -> Any:
        if isinstance(query, ListSessions):
            raise ServiceUnavailable("signals", "timed out")
        assert isinstance(query, GetSession)
        self.asked += 1
        if self.outages:
            self.outages -= 1
            raise ServiceUnavailable("signals", "timed out")
        if query.session_id not in self.accounts:
            raise Refused("unknown_session", query.session_id)
        return SimpleNamespace(account_id=AccountId(self.accounts[query.session_id]))


def _map(service: _SignalService) -> tuple[SessionAccounts, list[tuple[int, str]]]:
    sent: list[tuple[int, str]] = []
    services: Any = service
    accounts = SessionAccounts(services, lambda e, a: sent.append((e.stream_version, a)))
    return accounts, sent


async def test_a_known_sessions_events_go_to_its_account_at_once() -> None:
    accounts, sent = _map(_SignalService({}))
    await accounts.prime()  # the signal service does not answer: nothing known yet
    accounts.learn("bot", AccountId("alice"))
    accounts.route(_envelope(SessionPaused(session_id="bot", ts=NOW), 7))
    assert sent == [(7, "alice")]


async def test_an_event_that_names_its_account_goes_there_without_asking_anyone() -> None:
    service = _SignalService({})
    accounts, sent = _map(service)
    named = SessionPaused(session_id="new", ts=NOW, account_id=AccountId("carol"))
    accounts.route(_envelope(named, 2))
    accounts.route(_envelope(SessionResumed(session_id="new", ts=NOW), 3))  # an old one after
    await asyncio.wait_for(accounts.settled(), 10)
    assert sent == [(2, "carol"), (3, "carol")]
    assert service.asked == 0


async def test_an_unknown_sessions_events_wait_in_order_for_the_signal_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bots, "LOOKUP_PAUSE_S", 0.01)
    service = _SignalService({"late": "bob"}, outages=2)
    accounts, sent = _map(service)
    accounts.route(_envelope(SessionPaused(session_id="late", ts=NOW), 3))
    accounts.route(_envelope(SessionResumed(session_id="late", ts=NOW), 4))
    held = list(sent)
    await asyncio.wait_for(accounts.settled(), 10)
    accounts.route(_envelope(SessionPaused(session_id="late", ts=NOW), 5))
    assert held == []
    assert sent == [(3, "bob"), (4, "bob"), (5, "bob")]
    assert service.asked == 3  # two outages, then the answer; known from then on


async def test_a_session_nobody_knows_is_dropped_with_what_it_held() -> None:
    accounts, sent = _map(_SignalService({}))
    accounts.route(_envelope(SessionPaused(session_id="ghost", ts=NOW), 1))
    await asyncio.wait_for(accounts.settled(), 10)
    assert sent == []
    assert "ghost" not in accounts.known
