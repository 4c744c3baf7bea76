"""What the shell hands to ``decide`` besides the command: the time and the market."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract.ids import Symbol


class DecisionContext(msgspec.Struct, frozen=True, kw_only=True):
    """``now`` (timezone-aware) and the latest known prices (overriding the account's marks)."""

    now: datetime
    marks: dict[Symbol, Decimal] = {}

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("DecisionContext.now must be timezone-aware")
