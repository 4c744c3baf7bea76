"""Who follows what: the fan-out's index of sessions by topic, kept as sessions (un)subscribe.

The hub looks a topic up once per message instead of asking every session, so an event costs
the gateway its followers, not its connections.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from papertape.contract.sockets import Channel

if TYPE_CHECKING:
    from papertape.gateway.sockets.session import Session

Topic = tuple[Channel, str]
"""(channel, account id) or (prices, symbol)."""

_NOBODY: frozenset[Session] = frozenset()


class Followers:
    """The sessions following each topic."""

    def __init__(self) -> None:
        self._by_topic: dict[Topic, set[Session]] = {}
        self._by_channel: dict[Channel, int] = {}

    def follow(self, topic: Topic, session: Session) -> None:
        followers = self._by_topic.setdefault(topic, set())
        if session not in followers:
            followers.add(session)
            self._by_channel[topic[0]] = self._by_channel.get(topic[0], 0) + 1

    def unfollow(self, topic: Topic, session: Session) -> None:
        followers = self._by_topic.get(topic)
        if followers is None or session not in followers:
            return
        followers.discard(session)
        self._by_channel[topic[0]] -= 1
        if not followers:
            del self._by_topic[topic]

    def of(self, topic: Topic) -> Collection[Session]:
        """The sessions following ``topic`` (a live view: copy it to change topics meanwhile)."""
        return self._by_topic.get(topic, _NOBODY)

    def any_on(self, channel: Channel) -> bool:
        """Whether anyone follows a topic of ``channel`` (nothing to decode otherwise)."""
        return self._by_channel.get(channel, 0) > 0
