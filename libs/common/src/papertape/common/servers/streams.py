"""Declaring the JetStream streams (one start-up step) and removing them (tests)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from nats.aio.client import Client
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from papertape.common.bus.fastbatch import supports_fast_batches
from papertape.contract.subjects import StreamSpec

_STREAM_NAME_IN_USE = 10058


def stream_config(spec: StreamSpec, replicas: int = 1, *, batched: bool = False) -> StreamConfig:
    """The nats-py configuration of a ``StreamSpec`` (``replicas`` 3 in a production cluster,
    whose servers run with ``sync_interval: always``: see deploy/nats); ``batched``: it takes
    fast-ingest batches (a server of 2.14 or later: ``bus.fastbatch``)."""
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description,
        duplicate_window=spec.duplicate_window_s,
        max_age=spec.max_age_s,
        max_bytes=spec.max_bytes,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        num_replicas=replicas,
        allow_batched=True if batched else None,  # None: not sent, for an older server
    )


async def declare_streams(nc: Client, specs: Iterable[StreamSpec], replicas: int = 1) -> None:
    """Create each stream, or bring an existing one to its declared configuration."""
    js = nc.jetstream()
    batched = supports_fast_batches(nc)
    for spec in specs:
        config = stream_config(spec, replicas, batched=batched)
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            if exc.err_code != _STREAM_NAME_IN_USE:
                raise
            await js.update_stream(config)


async def delete_streams(nc: Client, specs: Iterable[StreamSpec]) -> None:
    """Delete each stream that exists."""
    js = nc.jetstream()
    for spec in specs:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(spec.name)
