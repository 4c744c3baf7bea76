"""The hash chain: each event's SHA-256 covers the previous hash and the event's own bytes.

``hash = sha256(prev_hash || utf8(position \\n stream_id \\n stream_version \\n event_id \\n
type \\n schema_version \\n data \\n metadata))`` where ``data`` and ``metadata`` are the JSON
exactly as stored (PostgreSQL's canonical ``jsonb`` text). The PL/pgSQL ``append_events``
computes the same bytes, so the chain can be verified outside the database.
"""

from __future__ import annotations

import hashlib

GENESIS_HASH = bytes(32)
"""The previous hash of the first event."""


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
) -> bytes:
    """The chained SHA-256 of one event."""
    digest = hashlib.sha256(prev_hash)
    text = (
        f"{position}\n{stream_id}\n{stream_version}\n{event_id}\n{type_}\n{schema_version}\n"
        f"{data}\n{metadata}"
    )
    digest.update(text.encode())
    return digest.digest()
