"""Which partition an account belongs to when a service runs as replicas.

An account's decisions (portfolio) and its working orders (execution) have exactly one writer
at a time: the replica that owns the account's partition. The partition is NATS's own
``{{partition(n, …)}}`` subject-mapping function (FNV-1a, 32 bits, over the token, modulo the
number of partitions), so a server-side mapping such as
``portfolio.command.* -> portfolio.{{partition(4,1)}}.command.{{wildcard(1)}}`` and this
function always agree on where an account lives.
"""

from __future__ import annotations

MAX_PARTITIONS = 16
"""The most partitions a service may be split into: each partition has a durable consumer
that the bus permissions name (a consumer name is one subject token, never a wildcard)."""
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_MASK = 0xFFFFFFFF


def fnv1a_32(data: bytes) -> int:
    """The 32-bit FNV-1a hash (Go's ``hash/fnv.New32a``, which nats-server uses)."""
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return value


def partition_of(account_id: str, partitions: int) -> int:
    """The partition (0 ≤ p < ``partitions``) that owns ``account_id``."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    if partitions == 1:
        return 0
    return fnv1a_32(account_id.encode()) % partitions
