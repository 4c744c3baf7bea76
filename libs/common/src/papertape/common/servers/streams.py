"""Declaring the JetStream streams (one start-up step) and removing them (tests)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from nats.aio.client import Client
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from papertape.contract.subjects import StreamSpec

_STREAM_NAME_IN_USE = 10058


def stream_config(spec: StreamSpec, replicas: int = 1) -> StreamConfig:
    """The nats-py configuration of a ``StreamSpec`` (``replicas`` 3 in a production cluster,
    whose servers run with ``sync_interval: always``: see deploy/nats)."""
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description,
        duplicate_window=spec.duplicate_window_s,
        max_age=spec.max_age_s,
        num_replicas=replicas,
    )


async def declare_streams(nc: Client, specs: Iterable[StreamSpec], replicas: int = 1) -> None:
    """Create each stream, or bring an existing one to its declared configuration."""
    js = nc.jetstream()
    for spec in specs:
        config = stream_config(spec, replicas)
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
