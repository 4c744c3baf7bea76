"""Stored history read under today's bounds: what an account event out of bounds becomes.

The log is never rewritten. An event that older code appended with a value the contract now
refuses (a deposit of ``Infinity``, a NaN limit) is read, by ``codec.HistoryCodec``, as the
refusal it should have been, so the account still replays and audits.
"""

from __future__ import annotations

from typing import Any

from papertape.contract.events.orders import RejectReason


def void_account_event(raw: dict[str, Any], reason: str) -> dict[str, Any]:
    """A stored account event out of bounds, as the refusal it should have been (on read)."""
    return {
        "type": "command_rejected.v1",
        "account_id": raw.get("account_id", ""),
        "ts": raw.get("ts", "1970-01-01T00:00:00Z"),
        "command": str(raw.get("type", "")),
        "reason_code": RejectReason.INVALID_HISTORY.value,
        "message": f"stored event voided on read: {reason}",
    }
