"""The mailboxes: letters queued behind a turn go together in the next, in the order posted."""

from __future__ import annotations

import asyncio

import pytest

from papertape.portfolio.mailbox import Mailboxes


class Recorder:
    """A turn that records what it was given and answers each item doubled, holding each
    turn open until told to go on (so letters queue behind it)."""

    def __init__(self) -> None:
        self.turns: list[tuple[str, list[int]]] = []
        self.go_on = asyncio.Event()

    async def turn(self, key: str, items: list[int]) -> list[int | Exception]:
        self.turns.append((key, items))
        await self.go_on.wait()
        return [ValueError(f"no {item}") if item < 0 else item * 2 for item in items]


async def test_letters_queued_behind_a_turn_are_handled_together_in_the_order_posted() -> None:
    recorder = Recorder()
    mailboxes: Mailboxes[int, int] = Mailboxes(recorder.turn)
    first = asyncio.create_task(mailboxes.post("a", 1))
    await asyncio.sleep(0)  # the first turn starts with the first letter alone
    await asyncio.sleep(0)
    queued = [asyncio.create_task(mailboxes.post("a", n)) for n in range(2, 6)]
    await asyncio.sleep(0)
    assert mailboxes.pending("a") == 4

    recorder.go_on.set()

    assert await first == 2
    assert await asyncio.gather(*queued) == [4, 6, 8, 10]
    assert recorder.turns == [("a", [1]), ("a", [2, 3, 4, 5])]


async def test_one_letter_failing_leaves_the_others_of_its_turn_answered() -> None:
    recorder = Recorder()
    recorder.go_on.set()
    mailboxes: Mailboxes[int, int] = Mailboxes(recorder.turn)

    answers = await asyncio.gather(
        *(mailboxes.post("a", n) for n in (1, -2, 3)), return_exceptions=True
    )

    assert answers[0] == 2
    assert answers[2] == 6
    assert isinstance(answers[1], ValueError)
    assert recorder.turns == [("a", [1, -2, 3])]


async def test_keys_take_their_turns_side_by_side() -> None:
    recorder = Recorder()
    mailboxes: Mailboxes[int, int] = Mailboxes(recorder.turn)
    posted = [asyncio.create_task(mailboxes.post(key, 1)) for key in ("a", "b", "c")]
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert sorted(key for key, _ in recorder.turns) == ["a", "b", "c"]  # none waits for another
    recorder.go_on.set()
    assert await asyncio.gather(*posted) == [2, 2, 2]


async def test_a_letter_given_up_before_its_turn_is_left_out() -> None:
    recorder = Recorder()
    mailboxes: Mailboxes[int, int] = Mailboxes(recorder.turn)
    first = asyncio.create_task(mailboxes.post("a", 1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    given_up = asyncio.create_task(mailboxes.post("a", 2))
    kept = asyncio.create_task(mailboxes.post("a", 3))
    await asyncio.sleep(0)
    given_up.cancel()
    recorder.go_on.set()

    assert await first == 2
    assert await kept == 6
    with pytest.raises(asyncio.CancelledError):
        await given_up
    assert recorder.turns == [("a", [1]), ("a", [3])]


async def test_a_turn_that_raises_answers_each_of_its_letters_and_the_mailbox_goes_on() -> None:
    turns = 0

    async def flaky(key: str, items: list[int]) -> list[int | Exception]:
        nonlocal turns
        turns += 1
        if turns == 1:
            raise RuntimeError("the database is away")
        return list(items)

    mailboxes: Mailboxes[int, int] = Mailboxes(flaky)

    answers = await asyncio.gather(
        *(mailboxes.post("a", n) for n in (1, 2)), return_exceptions=True
    )

    assert [type(a) for a in answers] == [RuntimeError, RuntimeError]
    assert await mailboxes.post("a", 3) == 3


async def test_a_turn_that_stops_the_line_fails_the_letters_queued_behind_it_untried() -> None:
    recorder = Recorder()
    mailboxes: Mailboxes[int, int] = Mailboxes(
        recorder.turn, stops=lambda error: "no -1" in str(error)
    )
    first = asyncio.create_task(mailboxes.post("a", -1))  # its turn fails: the line stops
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    behind = [asyncio.create_task(mailboxes.post("a", n)) for n in (2, 3)]
    other = asyncio.create_task(mailboxes.post("b", 4))
    await asyncio.sleep(0)
    recorder.go_on.set()

    answers = await asyncio.gather(first, *behind, return_exceptions=True)
    assert all(isinstance(a, ValueError) and str(a) == "no -1" for a in answers), answers
    assert await other == 8  # another key's line goes on
    assert ("a", [2, 3]) not in recorder.turns  # never decided before the failed one
    assert await mailboxes.post("a", 5) == 10  # the next letter starts a new turn
