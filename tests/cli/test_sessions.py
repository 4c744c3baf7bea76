"""``papertape strategies`` / ``session`` / ``signals`` against in-process signal and portfolio
services."""

from __future__ import annotations

import json

import pytest

from papertape.contract.events.account import OpenAccount
from papertape.contract.ids import AccountId
from papertape.contract.subjects import Subjects
from papertape.signals.bootstrap import SignalService
from tests.cli.accountlog import papertape
from tests.portfolio.conftest import PortfolioClient, client, portfolio  # noqa: F401  (fixtures)
from tests.signals.conftest import SignalsClient, bots, signals  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration


@pytest.fixture
def bus(nats_url: str, subjects: Subjects) -> tuple[str, ...]:
    return ("--nats-url", nats_url, "--namespace", subjects.namespace)


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await papertape(*argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_a_session_is_started_watched_compared_and_stopped_from_the_command_line(
    signals: SignalService,  # noqa: F811
    bots: SignalsClient,  # noqa: F811
    client: PortfolioClient,  # noqa: F811
    bus: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (await client.command(OpenAccount(account_id=AccountId("acc"), name="Acc"))).ok
    code, out, _ = await _cli(capsys, "strategies", "--json", *bus)
    assert code == 0
    assert {s["name"] for s in json.loads(out)} >= {"rsi_reversion", "bollinger_reversion"}

    code, out, err = await _cli(
        capsys, "session", "start", "mine", "acc", "rsi_reversion", "AAPL", "MSFT",
        "--param", "period=7", "--param", "oversold=25", "--mode", "CONSERVATIVE",
        "--min-confidence", "55", "--minutes", "30", "--json", *bus,
    )  # fmt: skip
    assert code == 0, err
    view = json.loads(out)
    assert view["status"] == "RUNNING"
    assert view["parameters"]["period"] == 7
    assert view["risk"]["min_confidence"] == 55
    assert view["risk"]["max_open_positions"] == 2  # CONSERVATIVE's

    code, out, _ = await _cli(capsys, "session", "pause", "mine", *bus)
    assert code == 0
    assert "PAUSED" in out
    code, out, _ = await _cli(capsys, "session", "list", "--json", *bus)
    assert [s["session_id"] for s in json.loads(out)] == ["mine"]
    code, out, _ = await _cli(capsys, "session", "compare", "mine", *bus)
    assert code == 0
    assert "sessions compared" in out
    code, out, _ = await _cli(capsys, "signals", "--session", "mine", "--json", *bus)
    assert json.loads(out)["total"] == 0
    code, out, _ = await _cli(
        capsys, "session", "stop", "mine", "--reason", "enough", "--json", *bus
    )
    assert (json.loads(out)["status"], json.loads(out)["reason"]) == ("STOPPED", "enough")
    code, _, err = await _cli(capsys, "session", "resume", "mine", *bus)
    assert code == 1
    assert "session_ended" in err


async def test_a_start_with_bad_parameters_is_refused_naming_the_field(
    signals: SignalService,  # noqa: F811
    bots: SignalsClient,  # noqa: F811
    bus: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = await _cli(
        capsys, "session", "start", "bad", "acc", "ma_crossover", "AAPL",
        "--param", "fast=40", "--param", "slow=20", *bus,
    )  # fmt: skip
    assert code == 1
    assert "invalid_parameters" in err
    assert "fast must be shorter than slow" in err


async def test_a_start_on_an_account_never_opened_is_refused_naming_it(
    signals: SignalService,  # noqa: F811
    bots: SignalsClient,  # noqa: F811
    bus: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = await _cli(
        capsys, "session", "start", "lost", "nobody", "ma_crossover", "AAPL", *bus
    )
    assert code == 1
    assert "refused: unknown_account: no account 'nobody'" in err
