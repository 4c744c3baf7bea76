"""Chain-head anchors: the head's position and hash, kept outside the database.

An anchor is taken from the head row and published to the ANCHORS stream (and optionally
appended to a file, one JSON line each). ``audit verify`` checks the log against every anchor
it is given: the anchored position must still exist and still carry the anchored hash, so a
rewritten tail, a forged last event or a rewound head is caught even when every hash in the
database is consistent again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import msgspec
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from papertape.common.eventlog.port import EventLog
from papertape.contract.subjects import Subjects


class Anchor(msgspec.Struct, frozen=True, kw_only=True):
    """The head of the chain at one moment: position, hash (hex) and when it was taken."""

    position: Annotated[int, msgspec.Meta(ge=0)]
    hash: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    taken_at: datetime


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Anchor)


async def take_anchor(log: EventLog, now: datetime | None = None) -> Anchor:
    """An anchor of the log's head row as it is now."""
    head = await log.head()
    return Anchor(position=head.position, hash=head.hash.hex(), taken_at=now or datetime.now(UTC))


async def publish_anchor(js: JetStreamContext, subjects: Subjects, anchor: Anchor) -> None:
    """Publish to the ANCHORS stream; the same head published twice is stored once."""
    await js.publish(
        subjects.log_anchor(),
        _encoder.encode(anchor),
        headers={"Nats-Msg-Id": f"anchor-{anchor.position}-{anchor.hash}"},
    )


def append_anchor_file(path: Path, anchor: Anchor) -> None:
    """Append the anchor to a file of JSON lines (created when missing)."""
    with path.open("ab") as out:
        out.write(_encoder.encode(anchor) + b"\n")


def read_anchor_file(path: Path) -> list[Anchor]:
    """Every anchor in a file of JSON lines; a malformed line raises ``msgspec.ValidationError``."""
    return [_decoder.decode(line) for line in path.read_bytes().splitlines() if line.strip()]


async def read_anchor_stream(js: JetStreamContext, subjects: Subjects) -> list[Anchor]:
    """Every anchor stored in the ANCHORS stream, oldest first (none when it does not exist)."""
    name = subjects.stream("ANCHORS")
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        return []
    anchors: list[Anchor] = []
    if not info.state.messages:  # an empty stream reports sequence 0, which is no message
        return anchors
    for sequence in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
        try:
            message = await js.get_msg(name, sequence)
        except NotFoundError:  # removed by a limit or by hand: the rest still count
            continue
        if message.data:
            anchors.append(_decoder.decode(message.data))
    return anchors


async def anchor_now(
    log: EventLog, js: JetStreamContext, subjects: Subjects, file: Path | None = None
) -> Anchor:
    """Take an anchor of the head and publish it (and append it to ``file`` when given)."""
    anchor = await take_anchor(log)
    await publish_anchor(js, subjects, anchor)
    if file is not None:
        append_anchor_file(file, anchor)
    return anchor
