"""What ``make run`` runs: every service on embedded servers, a demo account, a clean stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from papertape.common.bus.permissions import BusLogin

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_papertape_run_starts_every_service_with_a_demo_account_and_stops_cleanly(
    server_data_dir: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "DATABASE_URL"))}
    # A namespace of its own: the streams must be declared where the services look for them.
    env |= {
        "PAPERTAPE_DEMO_ACCOUNT": "demo",
        "PAPERTAPE_METRICS_PORT": "0",
        "PAPERTAPE_HTTP_PORT": "0",  # a free port: another run may hold 8000
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
    for service in ("portfolio", "execution", "market-data", "signals", "notification", "gateway"):
        assert f"READY {service}" in output, output
    assert "READY (portfolio, execution, marketdata, signals, notification, gateway)" in output
    assert "admin key: pt_" in output
    assert (server_data_dir / ".papertape" / "admin.key").read_text().startswith("pt_")
    assert "opened demo account demo" in output
    assert "streams declared: MKRUN_MARKET" in output
    assert "Traceback" not in output, output
    assert done.stdout.rstrip().endswith("stopped"), output[-2000:]
    assert not (server_data_dir / ".papertape" / "urls.json").exists()
    # The server had a login per service; no password was ever printed or logged.
    assert "a login per service" in output
    users = server_data_dir / ".papertape" / "nats" / "nats-users.json"
    assert users.stat().st_mode & 0o077 == 0, "the NATS passwords are readable by others"
    passwords = json.loads(users.read_text())
    assert sorted(passwords) == sorted(login.value for login in BusLogin)
    logs = [output, *(path.read_text() for path in server_data_dir.rglob("*.log"))]
    assert not [pw for pw in passwords.values() for text in logs if pw in text]
