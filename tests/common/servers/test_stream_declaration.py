"""declare_streams: every stream of the platform, idempotently, on a real JetStream server."""

from __future__ import annotations

import msgspec
import pytest
from nats.aio.client import Client

from papertape.common.bus.ranges import stored_messages
from papertape.common.servers import declare_streams, delete_streams
from papertape.contract.subjects import DEAD_LETTER_BYTES, DEAD_LETTERS_PER_SUBJECT, Subjects

pytestmark = pytest.mark.integration


async def test_declaring_streams_twice_keeps_one_of_each(
    nats_client: Client, subjects: Subjects
) -> None:
    specs = subjects.streams()
    try:
        await declare_streams(nats_client, specs)
        await declare_streams(nats_client, specs)
        js = nats_client.jetstream()
        for spec in specs:
            info = await js.stream_info(spec.name)
            assert info.config.subjects == list(spec.subjects)
    finally:
        await delete_streams(nats_client, specs)


async def test_redeclaring_a_changed_stream_updates_it(
    nats_client: Client, subjects: Subjects
) -> None:
    (market, *_) = subjects.streams()
    changed = type(market)(
        name=market.name, subjects=market.subjects, description="changed", max_age_s=3600.0
    )
    try:
        await declare_streams(nats_client, [market])
        await declare_streams(nats_client, [changed])
        info = await nats_client.jetstream().stream_info(market.name)
        assert info.config.description == "changed"
        assert info.config.max_age == 3600.0
    finally:
        await delete_streams(nats_client, [market])


async def test_deleting_streams_that_do_not_exist_is_harmless(
    nats_client: Client, subjects: Subjects
) -> None:
    await delete_streams(nats_client, subjects.streams())
    names = [info.config.name for info in await nats_client.jetstream().streams_info()]
    assert not any(str(name).startswith(subjects.namespace.upper()) for name in names)


async def test_a_flood_of_dead_letters_on_one_subject_evicts_only_its_own_older_letters(
    nats_client: Client, subjects: Subjects
) -> None:
    # A client sending junk in a loop to one subject must neither fill the disk nor push the
    # letters of other subjects out: the stream is bounded, per subject and in bytes.
    (letters,) = [s for s in subjects.streams() if s.name == subjects.stream("DEADLETTER")]
    assert letters.max_msgs_per_subject == DEAD_LETTERS_PER_SUBJECT
    assert letters.max_bytes == DEAD_LETTER_BYTES
    small = msgspec.structs.replace(letters, max_msgs_per_subject=5)
    js = nats_client.jetstream()
    try:
        await declare_streams(nats_client, [letters])
        info = await js.stream_info(letters.name)
        assert info.config.max_msgs_per_subject == DEAD_LETTERS_PER_SUBJECT
        assert info.config.max_bytes == DEAD_LETTER_BYTES
        await declare_streams(nats_client, [small])
        await js.publish(subjects.dead_letter("portfolio", "acct.alice.order_filled"), b"kept")
        for n in range(50):
            await js.publish(subjects.dead_letter("portfolio", "portfolio.command"), b"%d" % n)
        flooded = await stored_messages(js, letters.name, subjects.dead_letters_of("portfolio"))
        assert sorted(m.data for m in flooded) == [b"45", b"46", b"47", b"48", b"49", b"kept"]
    finally:
        await delete_streams(nats_client, [letters])
