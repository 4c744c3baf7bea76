"""kill -9 of each service under load, under ``papertape run``: nothing acknowledged is lost.

Portfolio, execution and market-data are each killed with SIGKILL at a random moment while
clients place market orders on four accounts, and restarted by the supervisor. Afterwards
every acknowledged order is in the log exactly once, no fill is applied twice, every
acknowledged order ended (filled, or expired after a fill the account refused), and
``papertape audit verify`` finds the chain intact and
every account equal to a fresh replay of its log (its live state included). The recovery time
of each kill is printed. ``make bench`` runs the same scenario for several rounds (the soak).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.chaos import VICTIMS, chaos

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.timeout(480)
async def test_kill_9_of_each_service_under_load_loses_and_duplicates_nothing(
    server_data_dir: Path,
) -> None:
    result = await chaos(server_data_dir, rounds=1)
    print(result.summary())
    assert sorted(name for name, _ in result.recovery) == sorted(VICTIMS)
    assert result.open_orders, "no resting orders left to compare with the venue's"
    assert result.problems() == []
