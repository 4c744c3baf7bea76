"""The hash chain: each event's SHA-256 covers the previous hash and the event's own bytes.

Formula 1 (rows before the position recorded in ``hash_formulas``): ``hash = sha256(prev_hash
|| utf8(position \\n stream_id \\n stream_version \\n event_id \\n type \\n schema_version \\n
data \\n metadata))``. Formula 2 (every row from that position on) appends ``\\n`` and the
recorded time as whole microseconds since the Unix epoch, so a changed ``recorded_at`` breaks
the chain too. ``data`` and ``metadata`` are the JSON exactly as stored (PostgreSQL's canonical
``jsonb`` text). The PL/pgSQL ``append_events`` computes the same bytes, so the chain can be
verified outside the database.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

GENESIS_HASH = bytes(32)
"""The previous hash of the first event."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_microseconds(moment: datetime) -> int:
    """A timezone-aware time as whole microseconds since the Unix epoch (what formula 2 hashes)."""
    return (moment - _EPOCH) // _MICROSECOND


def event_hash(
    prev_hash: bytes,
    position: int,
    stream_id: str,
    stream_version: int,
    event_id: str,
    type_: str,
    schema_version: int,
    data: str,
    metadata: str,
    recorded_at: datetime | None = None,
    *,
    recorded_us: int | None = None,
) -> bytes:
    """The chained SHA-256 of one event: formula 2 with ``recorded_at``, formula 1 without.

    ``recorded_us``: the recorded time as ``epoch_microseconds`` already (an append stamps all
    of its events with one time: worked out once), in place of ``recorded_at``.
    """
    if recorded_at is not None:
        recorded_us = epoch_microseconds(recorded_at)
    suffix = "" if recorded_us is None else f"\n{recorded_us}"
    text = (  # built in one go: the data is most of it, and each += copied it again
        f"{position}\n{stream_id}\n{stream_version}\n{event_id}\n{type_}\n{schema_version}\n"
        f"{data}\n{metadata}{suffix}"
    )
    digest = hashlib.sha256(prev_hash)
    digest.update(text.encode())
    return digest.digest()
