"""The venue's reports in the account's language: each report becomes one account command.

Those commands (fills, triggers, expiries) come only from the venue's reports on EXECUTION, and
marks only from the portfolio's own mark loop: on the client command subject they are refused
(``from_clients``), so no caller can fill, trigger or expire an order by asking.
(The translation itself, ``command_for``, is the trading library's: a backtest uses it too.)
"""

from __future__ import annotations

from papertape.contract.events.account import (
    AccountCommand,
    ApplyFill,
    ApplyMark,
    ExpireOrder,
    TriggerOrder,
)
from papertape.trading.account.translation import command_for

SERVICE_ONLY = (ApplyFill, TriggerOrder, ExpireOrder, ApplyMark)
"""The account commands that only the venue (through its reports) or the portfolio sends."""


def from_clients(command: AccountCommand) -> bool:
    """Whether a client may send ``command`` on the command subject."""
    return not isinstance(command, SERVICE_ONLY)


__all__ = ["SERVICE_ONLY", "command_for", "from_clients"]
