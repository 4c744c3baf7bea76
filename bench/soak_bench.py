"""The soak: the chaos scenario of tests/e2e/chaos.py for several rounds under ``papertape run``.

Each round kills portfolio, execution and market-data with SIGKILL at random moments under
load (the supervisor restarts them) and stalls NATS and PostgreSQL for 5-10 s each (SIGSTOP,
then SIGCONT: every connection hangs, as in a partition). The invariants are the chaos test's:
every acknowledged order in the log once, no fill applied twice, every order ended, the venue
and the accounts agreeing on what works, audit verify clean, a clean stop. A broken invariant
fails the bench; the records are the kills and stalls survived, the orders acknowledged and
the slowest recovery.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.e2e.chaos import chaos

ROUNDS = 4


async def run(rounds: int = ROUNDS) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="papertape-soak-") as folder:
        result = await chaos(Path(folder), rounds=rounds, seed=7, outages=True)
    print(result.summary())
    if problems := result.problems():
        raise RuntimeError("the soak broke an invariant:\n" + "\n".join(problems))
    slowest = max(seconds for _, seconds in result.recovery)
    return [
        {
            "name": "soak.kills_survived",
            "value": len(result.recovery),
            "unit": "kills",
            "higher_is_better": True,
            "baseline": None,
        },
        {
            "name": "soak.orders_acknowledged_nothing_lost",
            "value": len(result.acknowledged),
            "unit": "orders",
            "higher_is_better": True,
            "baseline": None,
        },
        {
            "name": "soak.server_stalls_survived",
            "value": len(result.stalls),
            "unit": "stalls",
            "higher_is_better": True,
            "baseline": None,
        },
        {
            "name": "soak.slowest_recovery_s",
            "value": round(slowest, 2),
            "unit": "s",
            "higher_is_better": False,
            "baseline": None,
        },
    ]
