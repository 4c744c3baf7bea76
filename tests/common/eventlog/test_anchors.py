"""Anchors: taken from the head row, kept in a file of JSON lines and in the ANCHORS stream."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.aio.client import Client

from papertape.common.eventlog import InMemoryEventLog
from papertape.common.eventlog.anchors import (
    append_anchor_file,
    publish_anchor,
    read_anchor_file,
    read_anchor_stream,
    take_anchor,
)
from papertape.contract.subjects import StreamSpec, Subjects
from tests.common.eventlog.conftest import make_new_events


async def test_anchors_round_trip_through_a_file_in_order(tmp_path: Path) -> None:
    log = InMemoryEventLog()
    file = tmp_path / "anchors.jsonl"
    first = await take_anchor(log)
    await log.append("account-a", 0, make_new_events(2))
    second = await take_anchor(log)
    append_anchor_file(file, first)
    append_anchor_file(file, second)

    assert read_anchor_file(file) == [first, second]
    assert (first.position, first.hash) == (0, bytes(32).hex())
    assert second.position == 2


@pytest.mark.integration
async def test_an_empty_or_missing_anchor_stream_holds_no_anchor_and_a_published_one_is_read(
    nats_client: Client, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> None:
    js = nats_client.jetstream()
    log = InMemoryEventLog()
    await log.append("account-a", 0, make_new_events(1))
    anchor = await take_anchor(log)

    empty = await read_anchor_stream(js, subjects)
    missing = await read_anchor_stream(js, Subjects(namespace="nosuchnamespace"))
    await publish_anchor(js, subjects, anchor)
    await publish_anchor(js, subjects, anchor)  # the same head twice is stored once

    assert (empty, missing) == ([], [])
    assert await read_anchor_stream(js, subjects) == [anchor]
