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
    assert scraped == PORTS
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(PORTS) <= set(compose)
    assert "./deploy/prometheus:/etc/prometheus:ro" in compose["prometheus"]["volumes"]


def test_prometheus_discovers_services_from_files_and_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["papertape"]["file_sd_configs"][0]["files"] == ["targets/*.json"]
    assert jobs["nats"]["static_configs"][0]["targets"] == ["nats-exporter:7777"]
