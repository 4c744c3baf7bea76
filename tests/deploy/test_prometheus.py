"""deploy/'s Prometheus, for real: its configuration and rules pass promtool, and scraping a
stack that trades, every query of every provisioned dashboard panel returns series.

The stack is portfolio, execution, signals, the gateway, notification and market-data as
processes, each with its /metrics on a free port, found by Prometheus through the file_sd
targets the services write, on a NATS server of the test's own whose monitoring endpoint is
scraped through an exporter (``tests.deploy.nats_exporter``), as deploy/'s NATS job does
(the Platform dashboard's NATS panels ask for it). A bot session buys a breakout from replayed
quotes (the scenario of the bot-session end-to-end test), its fill goes to a webhook the test
receives (a rule of the account), an order too big for the account is refused, HTTP requests
go through the gateway; then each panel's PromQL must answer with at least one series, and
every service's exposition passes ``promtool check metrics`` (Prometheus's naming lint: units,
``_total``).
"""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from papertape.common.servers.nats_server import EmbeddedNats
from papertape.contract.events.sessions import GetSession
from tests.deploy.nats_exporter import running_exporter
from tests.deploy.prometheus import (
    DEPLOY,
    Prometheus,
    binary,
    panel_queries,
    render_config,
    running_prometheus,
)
from tests.e2e.processes import replay_feed, running
from tests.e2e.test_bot_session import ACC, BTC, SPEED, session_start, write_quotes
from tests.e2e.test_trade_flow import until
from tests.gateway.stack import Stack, running_stack
from tests.notification.conftest import SignedReceiver
from tests.signals.conftest import SignalsClient

MISSING = "Debian's prometheus package is not installed (apt-get install -y prometheus)"
SERVICES = {"portfolio", "execution", "signals", "gateway", "notification", "market-data"}
SCRAPED = SERVICES | {"nats"}


@pytest.mark.skipif(binary("promtool") is None, reason=MISSING)
def test_promtool_accepts_the_configuration_and_the_rules() -> None:
    promtool = str(binary("promtool"))
    for check in (["config", str(DEPLOY / "prometheus.yml")], ["rules", str(DEPLOY / "rules.yml")]):
        done = subprocess.run(
            [promtool, "check", *check], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(binary("prometheus") is None, reason=MISSING)
async def test_every_dashboard_query_returns_series_while_the_stack_trades(
    postgres_server_url: str, tmp_path: Path
) -> None:
    targets = tmp_path / "targets"
    extra = {
        "PAPERTAPE_METRICS_PORT": "0",
        "PAPERTAPE_METRICS_TARGETS_DIR": str(targets),
        "PAPERTAPE_ACCOUNT_INTERVAL_S": "0.5",
        "PAPERTAPE_CLOCK_INTERVAL_S": "0.5",
        "PAPERTAPE_ALLOW_PRIVATE_TARGETS": "true",  # the webhook's receiver is on loopback
    }
    started_services = ("portfolio", "execution", "signals", "notification", "gateway")
    receiver = SignedReceiver()
    with (
        EmbeddedNats(monitoring=True) as nats_server,
        running_exporter(f"http://127.0.0.1:{nats_server.monitoring_port}") as nats_exporter,
    ):
        async with (
            receiver.server,
            running_stack(
                nats_server.url, postgres_server_url, tmp_path, extra, services=started_services
            ) as stack,
            running_prometheus(render_config(targets, tmp_path, nats_exporter), tmp_path) as (
                prometheus
            ),
        ):
            key = await stack.account(ACC)
            await _fills_to_webhook(stack, key, receiver)
            bots = SignalsClient(stack.nc, stack.subjects)
            assert (await bots.command(session_start())).ok
            quotes = tmp_path / "quotes.csv"
            write_quotes(quotes, datetime.now(UTC))
            feed = replay_feed(stack.env, str(quotes), BTC, speed=SPEED, bars="1m")
            async with running("marketdata", feed):
                await until(lambda: _session_filled(bots), seconds=120)
                await until(lambda: _received(receiver), seconds=60)
                async with stack.client(key) as http:
                    refused = await http.post(
                        f"/api/v1/accounts/{ACC}/orders",
                        json={"symbol": BTC, "side": "buy", "quantity": "100000"},
                    )
                    assert 400 <= refused.status_code < 500, refused.text
                missing = await _until_every_query_answers(prometheus)
                active = await prometheus.targets()
                expositions = {  # the project's own (NATS's is the exporter's)
                    t["labels"]["service"]: await _exposition(t["scrapeUrl"])
                    for t in active
                    if t["labels"]["service"] in SERVICES
                }

    assert not missing, "queries without series:\n" + "\n".join(map(str, missing))
    assert {t["labels"]["service"] for t in active} == SCRAPED, active
    assert all(t["health"] == "up" for t in active), active
    for text in expositions.values():
        lint = _promtool_check_metrics(text)
        assert not lint, lint
    # Bus metrics are labelled by subject pattern: no account or symbol in a label.
    bus = [
        line
        for text in expositions.values()
        for line in text.splitlines()
        if line.startswith("papertape_bus_")
    ]
    assert bus, "no bus metrics"
    assert not [line for line in bus if ACC in line or BTC in line], bus


async def _fills_to_webhook(stack: Stack, key: str, receiver: SignedReceiver) -> None:
    """A rule of the account: its fills to the test's webhook receiver."""
    base = f"/api/v1/notifications/{ACC}"
    async with stack.client(key) as http:
        hook = {"kind": "webhook", "url": f"{receiver.server.url}/hook"}
        added = await http.put(f"{base}/endpoints/hook", json=hook)
        assert added.status_code == 200, added.text
        receiver.secret = added.json()["secret"]
        rule = {"happenings": ["fill"], "endpoints": ["hook"]}
        assert (await http.put(f"{base}/rules/fills", json=rule)).status_code == 200


async def _received(receiver: SignedReceiver) -> bool:
    return bool(receiver.accepted)


async def _session_filled(bots: SignalsClient) -> bool:
    answer = await bots.query(GetSession(session_id="e2e-bot"))
    return bool(answer.ok and answer.result["fills"] >= 1)


async def _until_every_query_answers(
    prometheus: Prometheus, seconds: float = 60.0
) -> list[tuple[str, str, str]]:
    """The (dashboard, panel, query) still without series when time is up (none: all answer)."""
    missing: list[tuple[str, str, str]] = []
    for _ in range(int(seconds)):
        missing = [q for q in panel_queries() if not await prometheus.query(q[2])]
        if not missing:
            break
        await asyncio.sleep(1)
    return missing


async def _exposition(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        return (await http.get(url)).text


def _promtool_check_metrics(text: str) -> Any:
    done = subprocess.run(
        [str(binary("promtool")), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    return (done.stdout + done.stderr).strip()
