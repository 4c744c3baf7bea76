"""Dead letters through the gateway: the operator reads every service's, newest first, with the
reasons, a page at a time; nobody else may."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nats.aio.client import Client

from papertape.contract.codec import encode
from papertape.contract.events.envelope import DeadLetter
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.gateway import deadletters
from papertape.gateway.deadletters import newest_letters
from tests.gateway.stack import Stack

pytestmark = [pytest.mark.integration]


async def letters(http: httpx.AsyncClient, count: int, **params: Any) -> dict[str, Any]:
    """The answer once it holds ``count`` letters (the service dead-letters asynchronously)."""
    for _ in range(100):
        answer = await http.get("/api/v1/deadletters", params=params)
        assert answer.status_code == 200, answer.text
        if len(answer.json()["letters"]) >= count:
            return dict(answer.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} dead letters")


@pytest.mark.slow
async def test_the_operator_reads_the_dead_letters_of_every_service_with_their_reasons(
    stack: Stack,
) -> None:
    for index in range(3):
        payload = f'{{"nope": "<b>{index}</b>"}}'.encode()
        reply = await stack.nc.request(stack.subjects.portfolio_command(), payload, timeout=10)
        assert b"malformed_request" in reply.data
    async with stack.client(stack.admin) as http:
        page = await letters(http, 3)
        newest = page["letters"][0]
        assert newest["service"] == "portfolio"
        assert newest["subject"] == stack.subjects.portfolio_command()
        assert newest["reason"].startswith("malformed")
        assert newest["payload"] == '{"nope": "<b>2</b>"}'
        sequences = [letter["sequence"] for letter in page["letters"]]
        assert sequences == sorted(sequences, reverse=True)
        assert page["stored"] >= 3
        one = await http.get("/api/v1/deadletters", params={"limit": 1})
        assert [letter["sequence"] for letter in one.json()["letters"]] == sequences[:1]
        others = await http.get("/api/v1/deadletters", params={"service": "execution"})
        assert others.status_code == 200
        assert all(letter["service"] == "execution" for letter in others.json()["letters"])
        bad = await http.get("/api/v1/deadletters", params={"service": "no.such"})
        assert bad.status_code == 400, bad.text
        assert bad.json()["field"] == "service"


@pytest.mark.slow
async def test_an_accounts_key_may_not_read_dead_letters(stack: Stack) -> None:
    key = await stack.account("letters")
    async with stack.client(key) as http:
        answer = await http.get("/api/v1/deadletters")
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "forbidden"


async def test_pages_of_a_services_letters_follow_their_cursor_to_the_oldest(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deadletters, "WINDOW", 2)  # reads of 2, 4, 8 and 16 sequences a page
    js = nats_client.jetstream()
    stream = subjects.stream("DEADLETTER")
    mine: list[int] = []
    for index in range(45):
        service = "portfolio" if index % 3 else "execution"
        subject = subjects.dead_letter(service, "portfolio.command")
        letter = DeadLetter(
            subject="portfolio.command",
            reason=f"letter {index}",
            error_type="ValueError",
            payload="{}",
            service=service,
            failed_at=datetime(2026, 1, 5, tzinfo=UTC),
        )
        data = b"not a letter" if index == 20 else encode(letter)
        ack = await js.publish(subject, data)
        if service == "portfolio" and index != 20:
            mine.append(ack.seq)

    pages: list[list[int]] = []
    before: int | None = None
    while True:
        page = await newest_letters(
            js,
            stream,
            subjects.dead_letters_of("portfolio"),
            service="portfolio",
            limit=4,
            before=before,
        )
        assert page.stored == 45
        pages.append([letter.sequence for letter in page.letters])
        if page.before is None:
            break
        before = page.before
    assert [seq for page in pages for seq in page] == sorted(mine, reverse=True)
    assert [len(page) for page in pages[:-1]] == [4] * (len(pages) - 1)  # full but the last
    sparse = await newest_letters(
        js, stream, subjects.dead_letters_of("execution"), service="execution", limit=4
    )
    assert [letter.reason for letter in sparse.letters] == [
        f"letter {i}"
        for i in (42, 39, 36, 33)  # one in three sequences: a page reads on
    ]
    stream_state = await js.stream_info(stream)
    assert stream_state.state.consumer_count == 0
