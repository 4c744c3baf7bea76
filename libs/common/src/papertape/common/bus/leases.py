"""Leases on NATS key-value: which replica owns a partition, for a few seconds at a time.

A lease is a key of a JetStream key-value bucket whose messages expire (``max_age``, a few
seconds) and of which only the last is kept. ``kv.create`` succeeds only when the key is
absent (never written, expired or deleted), so of two contenders exactly one takes it;
``kv.update(..., last=revision)`` succeeds only while the revision is still the holder's own,
so a renewal proves that nobody took the key in between. A holder that stops renewing (it
died, or cannot reach NATS) loses the key when its last message expires, and another takes
it. That is the engine's own compare-and-set and expiry, not a coordinator of ours; every
call used here exists on nats-server 2.9 as well as on the current servers.

The bucket is declared like a stream (``declare_bucket``: by the operator when the bus
enforces permissions, or by the service itself when it may).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from nats.js.kv import KeyValue

LEASE_TTL_S = 3.0
"""How long a lease outlives its holder's last renewal."""
RENEW_EVERY_S = 1.0
"""How often a holder renews: a few renewals may fail (a slow round trip) before it expires."""
_WRONG_LAST_SEQUENCE = (10071, 10164)  # the server's codes for a failed compare-and-set


async def declare_bucket(
    js: JetStreamContext, bucket: str, ttl_s: float = LEASE_TTL_S, replicas: int = 1
) -> None:
    """Create the lease bucket (its keys expire ``ttl_s`` after their last write; ``replicas``
    3 on a 3-node cluster, like the streams); idempotent for the same configuration."""
    config = KeyValueConfig(bucket=bucket, history=1, ttl=ttl_s, replicas=replicas)
    await js.create_key_value(config)


async def open_bucket(js: JetStreamContext, bucket: str, ttl_s: float = LEASE_TTL_S) -> KeyValue:
    """The lease bucket, declared first if it is not there yet."""
    try:
        return await js.key_value(bucket)
    except (BucketNotFoundError, NotFoundError):
        await declare_bucket(js, bucket, ttl_s)
        return await js.key_value(bucket)


@dataclass(slots=True)
class Lease:
    """A key held by ``holder`` at ``revision`` (its last write)."""

    key: str
    holder: str
    revision: int


async def acquire(kv: KeyValue, key: str, holder: str) -> Lease | None:
    """The lease of ``key`` when it was free (None when someone holds it)."""
    try:
        revision = await kv.create(key, holder.encode())
    except KeyWrongLastSequenceError:  # another holder has it
        return None
    except KeyNotFoundError:
        # nats-py's create, refused because the key is held, reads it to see whether it was
        # deleted; when the lease expires between the two, the read finds nothing. It was held
        # a moment ago: free now, it is taken at the next try.
        return None
    return Lease(key, holder, revision)


async def renew(kv: KeyValue, lease: Lease) -> bool:
    """Renew the lease; False when it was lost (expired, or taken by another).

    Raises when NATS cannot answer: the caller cannot know and must stop acting as the owner.
    """
    try:
        lease.revision = await kv.update(lease.key, lease.holder.encode(), last=lease.revision)
    except KeyWrongLastSequenceError:
        return False
    return True


async def release(kv: KeyValue, lease: Lease) -> None:
    """Give the lease up now (it is free at once, not when it expires); a lost one is left."""
    try:
        await kv.delete(lease.key, last=lease.revision)
    except BadRequestError as error:  # nats-py's delete does not say KeyWrongLastSequenceError
        if error.err_code not in _WRONG_LAST_SEQUENCE:
            raise


async def holder(kv: KeyValue, key: str) -> str | None:
    """Who holds ``key`` now (None when it is free)."""
    try:
        entry = await kv.get(key)
    except (KeyNotFoundError, KeyDeletedError):
        return None
    return entry.value.decode() if entry.value else None
