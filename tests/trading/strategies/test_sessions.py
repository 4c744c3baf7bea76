"""Bot session transitions: given events, when a command (or the clock, or the account), then
events; every refusal is an event naming the reason."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from papertape.contract.events.sessions import (
    PauseSession,
    ResumeSession,
    RiskOverrides,
    SessionEvent,
    SessionPaused,
    SessionRefused,
    SessionResumed,
    SessionStarted,
    SessionStatus,
    SessionStopped,
    StartSession,
    StopSession,
    TradingMode,
)
from papertape.contract.ids import AccountId, Symbol
from papertape.trading.strategies.modes import PRESETS
from papertape.trading.strategies.sessions import (
    SessionState,
    account_checked,
    decide,
    evolve,
    expire,
    failed,
)
from tests.trading.strategies.bars import T0

START = StartSession(
    session_id="bot-1",
    account_id=AccountId("acc"),
    strategy="ma_crossover",
    parameters={"fast": 5, "slow": 20},
    symbols=(Symbol("AAPL"), Symbol("MSFT")),
    runtime_minutes=30,
)


def given(*events: SessionEvent) -> SessionState:
    state = SessionState()
    for event in events:
        evolve(state, event)
    return state


def started() -> list[SessionEvent]:
    return decide(START, SessionState(), T0)


def test_start_records_the_strategy_its_full_parameters_and_the_modes_preset() -> None:
    (event,) = started()
    assert isinstance(event, SessionStarted)
    assert event.parameters["fast"] == 5
    assert event.parameters["average"] == "ema"  # defaults filled in
    assert event.risk == PRESETS[TradingMode.BALANCED]
    assert len(event.params_hash) == 16
    assert given(event).status is SessionStatus.RUNNING


def test_overrides_replace_the_presets_values() -> None:
    overridden = decide(
        StartSession(
            session_id="bot-2",
            account_id=AccountId("acc"),
            strategy="rsi_reversion",
            symbols=(Symbol("AAPL"),),
            mode=TradingMode.CONSERVATIVE,
            overrides=RiskOverrides(min_confidence=55, target_r=(Decimal(1), Decimal(2))),
        ),
        SessionState(),
        T0,
    )[0]
    assert isinstance(overridden, SessionStarted)
    assert overridden.risk.min_confidence == 55
    assert overridden.risk.target_r == (Decimal(1), Decimal(2))
    assert overridden.risk.max_open_positions == 2  # the rest of CONSERVATIVE stays


@pytest.mark.parametrize(
    ("strategy", "parameters", "code"),
    [
        ("nope", {}, "unknown_strategy"),
        ("ma_crossover", {"fast": 30, "slow": 10}, "invalid_parameters"),
        ("ma_crossover", {"speed": 1}, "invalid_parameters"),
    ],
)
def test_a_start_with_a_bad_strategy_or_parameters_is_refused(
    strategy: str, parameters: dict[str, int | bool | str], code: str
) -> None:
    command = StartSession(
        session_id="bot-3",
        account_id=AccountId("acc"),
        strategy=strategy,
        parameters=parameters,
        symbols=(Symbol("AAPL"),),
    )
    (event,) = decide(command, SessionState(), T0)
    assert isinstance(event, SessionRefused)
    assert event.reason_code == code


def test_a_second_start_is_refused() -> None:
    (event,) = decide(START, given(*started()), T0)
    assert isinstance(event, SessionRefused)
    assert event.reason_code == "session_exists"


def test_a_start_on_an_account_never_opened_is_refused_naming_the_account() -> None:
    (event,) = decide(START, SessionState(), T0, account_opened=False)
    assert isinstance(event, SessionRefused)
    assert (event.reason_code, event.account_id) == ("unknown_account", "acc")
    assert "'acc'" in event.message
    # A second start of a running session is refused as a repeat, whatever the account says.
    (again,) = decide(START, given(*started()), T0, account_opened=False)
    assert isinstance(again, SessionRefused)
    assert again.reason_code == "session_exists"


def test_pause_then_resume() -> None:
    state = given(*started())
    (paused,) = decide(PauseSession(session_id="bot-1", reason="lunch"), state, T0)
    assert isinstance(paused, SessionPaused)
    evolve(state, paused)
    assert state.status is SessionStatus.PAUSED
    assert decide(PauseSession(session_id="bot-1"), state, T0) == []  # already paused
    (resumed,) = decide(ResumeSession(session_id="bot-1"), state, T0)
    assert isinstance(resumed, SessionResumed)
    assert evolve(state, resumed).status is SessionStatus.RUNNING


def test_stop_ends_the_session_and_later_commands_are_refused() -> None:
    state = given(*started())
    (stopped,) = decide(StopSession(session_id="bot-1", reason="done"), state, T0)
    assert isinstance(stopped, SessionStopped)
    assert stopped.status is SessionStatus.STOPPED
    evolve(state, stopped)
    (refused,) = decide(ResumeSession(session_id="bot-1"), state, T0)
    assert isinstance(refused, SessionRefused)
    assert refused.reason_code == "session_ended"


def test_commands_to_an_unknown_session_are_refused() -> None:
    (refused,) = decide(StopSession(session_id="ghost"), SessionState(), T0)
    assert isinstance(refused, SessionRefused)
    assert refused.reason_code == "unknown_session"


def test_the_session_completes_itself_when_its_runtime_ends() -> None:
    state = given(*started())
    assert expire(state, T0 + timedelta(minutes=29)) == []
    (done,) = expire(state, T0 + timedelta(minutes=30))
    assert isinstance(done, SessionStopped)
    assert done.status is SessionStatus.COMPLETED
    assert "30 minutes" in done.reason
    assert expire(evolve(state, done), T0 + timedelta(hours=1)) == []


def test_the_session_stops_itself_when_its_account_is_halted() -> None:
    state = given(*started())
    assert account_checked(state, halted=False, halt_reason="", circuit_breaker=False, now=T0) == []
    (stopped,) = account_checked(
        state, halted=True, halt_reason="kill switch", circuit_breaker=False, now=T0
    )
    assert isinstance(stopped, SessionStopped)
    assert stopped.status is SessionStatus.STOPPED
    assert "halted: kill switch" in stopped.reason


def test_the_session_stops_itself_when_the_circuit_breaker_trips() -> None:
    state = given(*started())
    (stopped,) = account_checked(state, halted=False, halt_reason="", circuit_breaker=True, now=T0)
    assert isinstance(stopped, SessionStopped)
    assert "circuit breaker" in stopped.reason


def test_an_error_ends_the_session_in_error_with_the_error() -> None:
    state = given(*started())
    (event,) = failed(state, "boom", T0)
    assert isinstance(event, SessionStopped)
    assert event.status is SessionStatus.ERROR
    assert evolve(state, event).error == "boom"


def test_every_event_of_a_sessions_life_names_its_account() -> None:
    state = given(*started())
    lived = [
        *decide(START, state, T0),  # refused: it exists
        *decide(PauseSession(session_id="bot-1"), state, T0),
        *expire(state, T0 + timedelta(minutes=30)),
        *account_checked(state, halted=True, halt_reason="x", circuit_breaker=False, now=T0),
        *failed(state, "boom", T0),
        *decide(StopSession(session_id="bot-1"), state, T0),
    ]
    assert len(lived) == 6
    assert {e.account_id for e in lived} == {"acc"}
    (refused,) = decide(StopSession(session_id="ghost"), SessionState(), T0)
    assert refused.account_id is None  # a session nobody started trades no account
