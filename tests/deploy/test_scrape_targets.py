"""The compose stack's scrape targets match the code: every service, at the port it listens on."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from papertape.execution.settings import ExecutionSettings
from papertape.gateway.settings import GatewaySettings
from papertape.marketdata.settings import MarketDataSettings
from papertape.portfolio.settings import PortfolioSettings
from papertape.signals.settings import SignalSettings

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
# compose service -> the port its /metrics listens on by default
PORTS = {
    "portfolio": PortfolioSettings().metrics_port,
    "marketdata": MarketDataSettings().metrics_port,
    "execution": ExecutionSettings().metrics_port,
    "signals": SignalSettings().metrics_port,
    "gateway": GatewaySettings().http_port,  # the gateway serves /metrics on its HTTP port
}


def test_every_compose_service_is_scraped_at_its_metrics_port() -> None:
    groups = json.loads((PROMETHEUS / "targets" / "compose.json").read_text())
    scraped = {}
    for group in groups:
        (target,) = group["targets"]
        host, port = target.rsplit(":", 1)
        scraped[host] = int(port)
        assert group["labels"]["service"], target
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    probed = {
        name: " ".join(service["healthcheck"]["test"])
        for name, service in compose.items()
        if str(service.get("command", [""])[0]).startswith("papertape.")
        and "/ready" in " ".join(service.get("healthcheck", {}).get("test", []))
    }
    # Every service of the stack, at the port its /ready (and so its /metrics) answers on.
    assert set(scraped) == set(probed)
    for host, port in scraped.items():
        assert f"127.0.0.1:{port}/ready" in probed[host], host
    # The services installed here listen there by default.
    for host, port in PORTS.items():
        assert scraped[host] == port, host
    assert "./deploy/prometheus:/etc/prometheus:ro" in compose["prometheus"]["volumes"]


def test_prometheus_discovers_services_from_files_and_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["papertape"]["file_sd_configs"][0]["files"] == ["targets/*.json"]
    assert jobs["nats"]["static_configs"][0]["targets"] == ["nats-exporter:7777"]
