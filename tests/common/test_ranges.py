"""What a stream holds, read through one short-lived consumer on a real JetStream: a range of
sequences of one subject filter, or each subject's last message, in order, in batches; what
arrives after the read began is not in it, and no consumer is left behind."""

from __future__ import annotations

import pytest
from nats.aio.client import Client
from nats.js.errors import ServiceUnavailableError

from papertape.common.bus import ranges
from papertape.common.bus.ranges import stored_messages
from papertape.contract.subjects import StreamSpec, Subjects

pytestmark = pytest.mark.integration


async def test_a_range_of_one_filter_and_the_last_of_each_subject_in_batches(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ranges, "BATCH", 3)
    js = nats_client.jetstream()
    stream = subjects.stream("DEADLETTER")
    sequences: dict[str, list[int]] = {"a": [], "b": []}
    for index in range(20):
        service = "a" if index % 4 else "b"
        ack = await js.publish(subjects.dead_letter(service, f"x.{index % 3}"), b"%d" % index)
        sequences[service].append(ack.seq)

    everything = await stored_messages(js, stream, subjects.all_dead_letters())
    a_range = await stored_messages(
        js,
        stream,
        subjects.dead_letters_of("a"),
        from_sequence=sequences["a"][3],
        below_sequence=sequences["a"][10],
        batch=ranges.BATCH,
    )
    lasts = await stored_messages(js, stream, subjects.dead_letters_of("a"), last_per_subject=True)

    assert [m.metadata.sequence.stream for m in everything] == list(range(1, 21))
    assert [m.metadata.sequence.stream for m in a_range] == sequences["a"][3:10]
    assert sorted(m.data for m in lasts) == [b"17", b"18", b"19"]  # x.2, x.0, x.1
    info = await js.stream_info(stream)
    assert info.state.consumer_count == 0


class UnplacedReader:
    """A consumer's reader whose first pulls the server answers with 503, as a consumer just
    made on a cluster does until the server that leads it listens."""

    def __init__(self, reader: object, refusals: int) -> None:
        self.reader = reader
        self.refusals = refusals

    async def fetch(self, batch: int, timeout: float) -> list[object]:  # noqa: ASYNC109 - nats-py's
        if self.refusals:
            self.refusals -= 1
            raise ServiceUnavailableError
        return await self.reader.fetch(batch, timeout=timeout)  # type: ignore[attr-defined, no-any-return]

    async def unsubscribe(self) -> None:
        await self.reader.unsubscribe()  # type: ignore[attr-defined]


async def test_a_consumer_not_yet_answering_is_asked_again(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    js = nats_client.jetstream()
    stream = subjects.stream("DEADLETTER")
    for index in range(5):
        await js.publish(subjects.dead_letter("a", f"x.{index}"), b"%d" % index)
    bind = js.pull_subscribe_bind

    async def unplaced(*args: object, **kwargs: object) -> UnplacedReader:
        return UnplacedReader(await bind(*args, **kwargs), refusals=3)  # type: ignore[arg-type]

    monkeypatch.setattr(js, "pull_subscribe_bind", unplaced)
    read = await stored_messages(js, stream, subjects.all_dead_letters())

    assert [m.data for m in read] == [b"0", b"1", b"2", b"3", b"4"]
    assert (await js.stream_info(stream)).state.consumer_count == 0


async def test_a_consumer_that_never_answers_is_an_error_in_bounded_time(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ranges, "FETCH_TIMEOUT_S", 0.3)
    js = nats_client.jetstream()
    stream = subjects.stream("DEADLETTER")
    await js.publish(subjects.dead_letter("a", "x"), b"x")
    bind = js.pull_subscribe_bind

    async def unplaced(*args: object, **kwargs: object) -> UnplacedReader:
        return UnplacedReader(await bind(*args, **kwargs), refusals=10**6)  # type: ignore[arg-type]

    monkeypatch.setattr(js, "pull_subscribe_bind", unplaced)
    with pytest.raises(ServiceUnavailableError):
        await stored_messages(js, stream, subjects.all_dead_letters())
    assert (await js.stream_info(stream)).state.consumer_count == 0
