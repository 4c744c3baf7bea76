"""The account: pure decide/evolve/replay with pre-trade risk, fills, marks and metrics."""

from papertape.contract.events.reports import ClosedTrade, EquityPoint
from papertape.trading.account.context import DecisionContext
from papertape.trading.account.decide import decide
from papertape.trading.account.evolve import evolve, replay
from papertape.trading.account.state import (
    INITIAL_STATE,
    STATE_SCHEMA_VERSION,
    AccountSnapshot,
    AccountState,
    Order,
    Position,
    from_snapshot,
    to_snapshot,
)

__all__ = [
    "INITIAL_STATE",
    "STATE_SCHEMA_VERSION",
    "AccountSnapshot",
    "AccountState",
    "ClosedTrade",
    "DecisionContext",
    "EquityPoint",
    "Order",
    "Position",
    "decide",
    "evolve",
    "from_snapshot",
    "replay",
    "to_snapshot",
]
