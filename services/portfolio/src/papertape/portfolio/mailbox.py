"""Per-account mailboxes: what queues behind an account's turn is handled together in the next.

An account has one writer, so its commands and fills wait for each other; before, each waited
for the lock, then for its own decision and its own append, so an account's throughput was one
append's latency per message, and a fill queued behind every command that came first. Here a
letter posted to an account's mailbox waits, with whatever else comes meanwhile, while the
current turn runs; the next turn takes all of them, in the order they were posted, and handles
them as one (the account book decides each against the state the ones before it left and
appends all their events at once). Each letter still gets its own answer.

The place in the queue is taken when ``post`` is called, before it first waits: calls made in
some order are handled in that order. One task per account runs the turns while letters keep
coming (started by the first letter, ended when the mailbox is empty), so a caller that gives
up never interrupts a turn: a letter cancelled before its turn is left out of it, one
cancelled during its turn is handled all the same (its answer is dropped).

A turn whose outcome ``stops`` the line (the database went away under it) fails the letters
that queued behind it with the same error, untried: decided now, they would come before the
ones that failed, which are retried later (an account's fills must be applied in the order
the venue reported them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Letter(Generic[T, R]):
    """One item posted to a mailbox and the answer its sender waits for."""

    item: T
    answer: asyncio.Future[R] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, outcome: R | BaseException) -> None:
        """Answer the sender (a result or an error); a sender that gave up is not answered."""
        with contextlib.suppress(asyncio.InvalidStateError):
            if isinstance(outcome, BaseException):
                self.answer.set_exception(outcome)
            else:
                self.answer.set_result(outcome)


Turn = Callable[[str, list[T]], Awaitable[list[R | Exception]]]
"""Handles one turn of a key's items, in order; one outcome per item (a result or an error)."""


class Mailboxes(Generic[T, R]):
    """A mailbox per key, each emptied a turn at a time by ``turn``."""

    def __init__(
        self, turn: Turn[T, R], stops: Callable[[Exception], bool] = lambda _: False
    ) -> None:
        self._turn = turn
        self._stops = stops
        self._waiting: dict[str, list[Letter[T, R]]] = {}
        self._runners: dict[str, asyncio.Task[None]] = {}
        self.turns = 0
        """Turns taken so far (the tests read how many letters shared one)."""

    async def post(self, key: str, item: T) -> R:
        """Queue ``item`` behind ``key``'s current turn; its outcome once its turn is done."""
        letter: Letter[T, R] = Letter(item)
        self._waiting.setdefault(key, []).append(letter)
        if key not in self._runners:
            self._runners[key] = asyncio.create_task(self._run(key), name=f"mailbox {key}")
        try:
            return await letter.answer
        finally:
            letter.answer.cancel()  # a no-op once answered; else its turn leaves it out

    def pending(self, key: str) -> int:
        """Letters waiting for their turn on ``key``."""
        return len(self._waiting.get(key, ()))

    async def _run(self, key: str) -> None:
        letters: list[Letter[T, R]] = []
        try:
            while letters := self._waiting.pop(key, []):
                letters = [letter for letter in letters if not letter.answer.done()]
                if not letters:
                    continue
                self.turns += 1
                try:
                    outcomes = await self._turn(key, [letter.item for letter in letters])
                except Exception as error:  # nothing says which did what: all hear the error
                    outcomes = [error] * len(letters)
                for letter, outcome in zip(letters, outcomes, strict=True):
                    letter.settle(outcome)
                stopped = [o for o in outcomes if isinstance(o, Exception) and self._stops(o)]
                if stopped:  # what queued behind it must wait for its retry
                    for letter in self._waiting.pop(key, []):
                        letter.settle(stopped[0])
        except BaseException:  # stopped (the service shuts down): nobody is left waiting
            for letter in [*letters, *self._waiting.pop(key, [])]:
                letter.answer.cancel()
            raise
        finally:
            del self._runners[key]
