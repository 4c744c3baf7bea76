"""What ``make run`` runs: every service on embedded servers, a demo account, a clean stop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_papertape_run_starts_every_service_with_a_demo_account_and_stops_cleanly(
    server_data_dir: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "DATABASE_URL"))}
    # A namespace of its own: the streams must be declared where the services look for them.
    env |= {
        "PAPERTAPE_DEMO_ACCOUNT": "demo",
        "PAPERTAPE_METRICS_PORT": "0",
        "PAPERTAPE_NAMESPACE": "mkrun",
    }
    done = subprocess.run(
        [sys.executable, "-m", "papertape.cli", "run", "--duration", "3"],
        cwd=server_data_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for service in ("portfolio", "execution", "market-data", "signals"):
        assert f"READY {service}" in output, output
    assert "READY (portfolio, execution, marketdata, signals)" in output
    assert "opened demo account demo" in output
    assert "streams declared: MKRUN_MARKET" in output
    assert "Traceback" not in output, output
    assert done.stdout.rstrip().endswith("stopped"), output[-2000:]
    assert not (server_data_dir / ".papertape" / "urls.json").exists()
