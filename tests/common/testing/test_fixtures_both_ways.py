"""The fixture suite passes with configured URLs and with the embedded servers alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURE_TESTS = Path(__file__).with_name("test_fixtures.py")


def _run_fixture_tests(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(FIXTURE_TESTS),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_fixtures_work_on_embedded_servers_when_no_url_is_set() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "DATABASE_URL"))}
    done = _run_fixture_tests(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_fixtures_use_the_servers_named_by_the_environment(
    nats_url: str, postgres_server_url: str
) -> None:
    env = {**os.environ, "NATS_URL": nats_url, "DATABASE_URL": postgres_server_url}
    done = _run_fixture_tests(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
