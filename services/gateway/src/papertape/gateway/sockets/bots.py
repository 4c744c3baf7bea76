"""Bot sessions on the sockets: which account a session trades, and what its events become.

A signal names its account, and so does every session event recorded since they carry
``account_id``: such an event is sent for the account it names. Events recorded before (where
``account_id`` is None) fall back to a map of session to account: filled at start from the
signal service's session list, then from every event that names its account. An old event of a
session the map does not know yet (one that started while the gateway was away and the signal
service did not answer) is held, in order, while the signal service is asked for that session
(with retries), then sent; a session nobody can name after the retries is dropped from the hold
with what it held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from papertape.contract.events.envelope import Envelope
from papertape.contract.events.sessions import (
    GetSession,
    ListSessions,
    SessionEvent,
    SessionPaused,
    SessionResumed,
    SessionStarted,
    SessionStatus,
    SessionStopped,
    SessionView,
)
from papertape.contract.events.signals import SignalGenerated
from papertape.contract.ids import AccountId, Actor
from papertape.contract.sockets import AiThought, SessionUpdate, SignalAlert
from papertape.gateway.bus import Refused, Services, ServiceUnavailable

log = logging.getLogger(__name__)
_ACTOR = Actor("gateway:sockets")
HELD_PER_SESSION = 1000
"""Events of one unknown session held while it is looked up (the oldest go first past it)."""
LOOKUP_ATTEMPTS = 5
LOOKUP_PAUSE_S = 0.5

Status = SessionStarted | SessionPaused | SessionResumed | SessionStopped


def _decision(signal: SignalGenerated, version: int, at: datetime) -> dict[str, Any]:
    """What ``ai_thought`` and ``signal_alert`` both say of a signal."""
    return {
        "account_id": signal.account_id,
        "session_id": signal.session_id,
        "stream_version": version,
        "occurred_at": at,
        "strategy": signal.strategy,
        "symbol": signal.symbol,
        "decision": signal.decision,
        "confidence": signal.confidence,
        "signal": signal,
    }


def thought(signal: SignalGenerated, version: int, at: datetime) -> AiThought:
    """A signal (at ``version`` of its session's stream) as the session's ``ai_thought``."""
    return AiThought(
        **_decision(signal, version, at),
        risk_score=signal.risk_score,
        opportunity_score=signal.opportunity_score,
        reasoning=signal.reasoning,
        key_factors=signal.factors,
    )


def alert(signal: SignalGenerated, version: int, at: datetime) -> SignalAlert | None:
    """The ``signal_alert`` of an actionable signal (None for HOLD and SKIP)."""
    if not (signal.decision.opens or signal.decision.closes):
        return None
    return SignalAlert(
        **_decision(signal, version, at),
        entry=signal.entry,
        stop=signal.stop,
        targets=signal.targets,
    )


def status_of(event: Status) -> SessionStatus:
    if isinstance(event, SessionStopped):
        return event.status
    return SessionStatus.PAUSED if isinstance(event, SessionPaused) else SessionStatus.RUNNING


def update(envelope: Envelope[SessionEvent], account_id: AccountId) -> SessionUpdate | None:
    """The ``session_update`` of a status change (None for the session's other events)."""
    event = envelope.data
    if not isinstance(event, Status):
        return None
    return SessionUpdate(
        account_id=account_id,
        session_id=event.session_id,
        stream_version=envelope.stream_version,
        occurred_at=envelope.occurred_at,
        status=status_of(event),
        event=event,
    )


Send = Callable[[Envelope[SessionEvent], AccountId], None]


class SessionAccounts:
    """Which account each bot session trades; events of unknown sessions wait for the answer."""

    def __init__(self, services: Services, send: Send) -> None:
        self.services = services
        self.send = send
        self.known: dict[str, AccountId] = {}
        self._held: dict[str, list[Envelope[SessionEvent]]] = {}
        self._lookups: set[asyncio.Task[None]] = set()

    async def prime(self) -> None:
        """Learn every session the signal service has (nothing when it does not answer)."""
        try:
            views: list[SessionView] = await self.services.signals(ListSessions(), _ACTOR)
        except (ServiceUnavailable, Refused) as error:
            log.info("sessions not primed (%s): they are looked up as they speak", error)
            return
        for view in views:
            self.known.setdefault(view.session_id, view.account_id)

    def learn(self, session_id: str, account_id: AccountId) -> None:
        self.known[session_id] = account_id

    def route(self, envelope: Envelope[SessionEvent]) -> None:
        """Send a session's event for its account, now or once the account is known."""
        event = envelope.data
        if event.account_id is not None:
            self.learn(event.session_id, event.account_id)
        session_id = event.session_id
        held = self._held.get(session_id)
        if held is not None:
            held.append(envelope)
            del held[:-HELD_PER_SESSION]
            return
        account_id = self.known.get(session_id)
        if account_id is not None:
            self.send(envelope, account_id)
            return
        self._held[session_id] = [envelope]
        task = asyncio.create_task(self._look_up(session_id))
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _look_up(self, session_id: str) -> None:
        account_id = self.known.get(session_id)
        for attempt in range(LOOKUP_ATTEMPTS):
            if account_id is not None:
                break
            try:
                view: SessionView = await self.services.signals(
                    GetSession(session_id=session_id), _ACTOR
                )
                account_id = view.account_id
            except Refused:
                break  # the signal service does not know it either
            except ServiceUnavailable:
                await asyncio.sleep(LOOKUP_PAUSE_S * (attempt + 1))
            account_id = account_id or self.known.get(session_id)
        held = self._held.pop(session_id, [])
        if account_id is None:
            log.warning("no account for session %s: %d events not sent", session_id, len(held))
            return
        self.learn(session_id, account_id)
        for envelope in held:
            self.send(envelope, account_id)

    async def settled(self) -> None:
        """Wait for the lookups under way to end."""
        await asyncio.gather(*list(self._lookups), return_exceptions=True)

    def stop(self) -> None:
        for task in list(self._lookups):
            task.cancel()
