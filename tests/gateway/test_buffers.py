"""A session's buffer is bounded: a client that does not keep up is cut off, never waited for."""

from __future__ import annotations

from typing import Any

from papertape.contract.events.apikeys import ApiScope
from papertape.contract.ids import AccountId
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.access.limits import RateLimiter, retry_after
from papertape.gateway.sockets.frames import Outgoing
from papertape.gateway.sockets.session import Session

KEY = ApiKey(
    key_id="0123456789abcdef",
    key_hash="0" * 64,
    account_id=AccountId("a"),
    scopes=frozenset({ApiScope.READ}),
    label="",
)


def _session(buffer: int) -> Session:
    # Nothing here reaches the socket or the services: the drain is not running.
    nowhere: Any = None
    return Session(nowhere, KEY, nowhere, buffer)


def test_a_session_holds_up_to_its_buffer_and_is_marked_slow_past_it() -> None:
    session = _session(3)
    for i in range(3):
        session.offer(Outgoing(str(i)))
    within = session.slow
    session.offer(Outgoing("one too many"))
    assert (within, session.slow) == (False, True)
    # What was held is dropped: the drain's next item closes the socket.
    assert session.queue.qsize() == 1
    assert session.queue.get_nowait() is None
    session.offer(Outgoing("after"))
    assert session.queue.qsize() == 0


def test_a_key_may_burst_then_is_held_to_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("k")
    assert wait == 0.5
    assert retry_after(wait) == "1"
    now[0] += 0.5
    assert limiter.take("k") == 0.0
    assert limiter.take("other") == 0.0  # keys do not share a bucket


def test_scopes_include_the_lesser_ones_and_an_account_key_reaches_its_account_alone() -> None:
    trade = ApiKey("k", "h", AccountId("a"), frozenset({ApiScope.TRADE}), "")
    operator = ApiKey("o", "h", None, frozenset({ApiScope.ADMIN}), "")
    assert trade.allows(ApiScope.READ)
    assert trade.allows(ApiScope.TRADE)
    assert not trade.allows(ApiScope.ADMIN)
    assert trade.may_reach("a")
    assert not trade.may_reach("b")
    assert operator.operator
    assert operator.may_reach("anyone")
