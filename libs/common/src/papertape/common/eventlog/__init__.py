"""The append-only event log: streams, gap-free global positions, a hash chain, snapshots."""

from papertape.common.eventlog.anchors import Anchor
from papertape.common.eventlog.envelopes import (
    StoredEnvelope,
    decode_envelope,
    decode_metadata,
    envelope_of,
    new_event,
    stored_envelope,
)
from papertape.common.eventlog.hashchain import GENESIS_HASH, event_hash
from papertape.common.eventlog.memory import InMemoryEventLog
from papertape.common.eventlog.port import (
    CheckpointStore,
    ConcurrencyError,
    DuplicateEventError,
    EventLog,
    EventLogError,
    LogHead,
    Metadata,
    NewEvent,
    RecordedEvent,
    Snapshot,
    SnapshotStore,
    StreamInfo,
)
from papertape.common.eventlog.snapshots import Rebuilt, SnapshotPolicy, rebuild, snapshot_if_due
from papertape.common.eventlog.verify import Verification, verify_log

__all__ = [
    "GENESIS_HASH",
    "Anchor",
    "CheckpointStore",
    "ConcurrencyError",
    "DuplicateEventError",
    "EventLog",
    "EventLogError",
    "InMemoryEventLog",
    "LogHead",
    "Metadata",
    "NewEvent",
    "Rebuilt",
    "RecordedEvent",
    "Snapshot",
    "SnapshotPolicy",
    "SnapshotStore",
    "StoredEnvelope",
    "StreamInfo",
    "Verification",
    "decode_envelope",
    "decode_metadata",
    "envelope_of",
    "event_hash",
    "new_event",
    "rebuild",
    "snapshot_if_due",
    "stored_envelope",
    "verify_log",
]
