"""declare_streams: every stream of the platform, idempotently, on a real JetStream server."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from papertape.common.servers import declare_streams, delete_streams
from papertape.contract.subjects import Subjects

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
