"""docker-compose.yml against the code: every service, its image, command, health check on the
port its settings serve, every variable it is given read by it and valid, nothing it needs
missing; start-up order by health; data on volumes."""

from __future__ import annotations

import re

import pytest

from papertape.common.bus.permissions import BusLogin
from papertape.common.settings import load_settings
from tests.deploy.deployment import (
    compose,
    compose_env,
    compose_service,
    fields_set,
    installed_settings,
    listening_port,
    must_be_set,
    service_modules,
    variables,
)

MODULES = sorted(service_modules())
SERVERS = {"nats", "postgres"}


@pytest.mark.parametrize("module", MODULES)
def test_each_service_runs_its_module_in_the_one_image(module: str) -> None:
    name, service = compose_service(module)
    assert service["image"] == "papertape:latest", name
    assert service["build"] == {
        "context": ".",
        "dockerfile": "deploy/Dockerfile",
        "target": "runtime",
    }
    assert service["command"] == [module]
    assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize("module", MODULES)
def test_each_service_is_given_what_its_settings_read_and_nothing_else(module: str) -> None:
    cls = installed_settings(module)
    name, service = compose_service(module)
    env = compose_env(service)
    unread = sorted(set(env) - set(variables(cls)))
    assert unread == [], f"{name} is given variables {cls.__name__} never reads"
    missing = sorted(must_be_set(cls) - fields_set(env, cls))
    assert missing == [], f"{name} leaves settings at their loopback defaults (or unset)"
    settings = load_settings(cls, env=env)  # every value valid, as the service would read it
    assert settings.metrics_host == "0.0.0.0"
    login = BusLogin(name)
    assert settings.nats_url.startswith(f"nats://{login.value}:"), "it logs in to NATS as itself"
    assert settings.nats_url.endswith("@nats:4222")
    assert settings.database_url.startswith("postgresql://postgres@postgres:5432/")


@pytest.mark.parametrize("module", MODULES)
def test_each_service_is_healthy_when_its_ready_endpoint_answers(module: str) -> None:
    cls = installed_settings(module)
    name, service = compose_service(module)
    probe = " ".join(service["healthcheck"]["test"])
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe)
    assert urls == [(str(listening_port(cls)), "/ready")], f"{name}: {probe}"


@pytest.mark.parametrize("module", MODULES)
def test_each_service_starts_once_the_servers_are_healthy_and_the_streams_declared(
    module: str,
) -> None:
    name, service = compose_service(module)
    waits = service["depends_on"]
    services = compose()["services"]
    for dependency, condition in waits.items():
        assert dependency in services, f"{name} waits for a service that does not exist"
        if "healthcheck" in services[dependency]:
            assert condition == {"condition": "service_healthy"}, (name, dependency)
    before = _everything_before(name)
    assert {"streams", "nats", "postgres"} <= before, f"{name} may start before the servers"


def test_the_streams_step_runs_once_the_server_answers_jetstream() -> None:
    services = compose()["services"]
    streams = services["streams"]
    assert streams["command"][:3] == ["papertape.cli", "streams", "declare"]
    assert streams["restart"] == "no"
    assert streams["depends_on"] == {"nats": {"condition": "service_healthy"}}
    assert "js-enabled-only=true" in " ".join(services["nats"]["healthcheck"]["test"])
    assert compose_env(streams)["NATS_URL"].startswith("nats://operator:")
    for name, service in services.items():
        if service.get("depends_on", {}).get("streams"):
            assert service["depends_on"]["streams"] == {
                "condition": "service_completed_successfully"
            }, name


def test_servers_and_monitoring_keep_their_data_on_volumes() -> None:
    document = compose()
    services = document["services"]
    mounts = {
        name: [str(v).split(":")[0] for v in service.get("volumes", [])]
        for name, service in services.items()
    }
    for name, volume in [
        ("nats", "nats-data"),
        ("postgres", "pg-data"),
        ("gateway", "gateway-keys"),
        ("prometheus", "prometheus-data"),
        ("grafana", "grafana-data"),
    ]:
        assert volume in mounts[name], name
        assert volume in document["volumes"]
    assert "./deploy/prometheus" in mounts["prometheus"]
    assert "./deploy/grafana/provisioning" in mounts["grafana"]
    assert "8222:8222" in services["nats"]["ports"], "NATS's monitoring port"
    assert services["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    for name in SERVERS | {"prometheus", "grafana"}:
        assert "healthcheck" in services[name], name


def test_the_gateway_writes_its_keys_on_its_volume() -> None:
    _, gateway = compose_service("papertape.gateway")
    keys_file = compose_env(gateway)["PAPERTAPE_KEYS_FILE"]
    mounted = [v.split(":")[1] for v in gateway["volumes"] if v.startswith("gateway-keys:")]
    assert len(mounted) == 1
    assert keys_file.startswith(mounted[0] + "/")
    assert "8000:8000" in gateway["ports"]


def _everything_before(name: str) -> set[str]:
    services = compose()["services"]
    seen: set[str] = set()
    todo = list(services[name].get("depends_on", {}))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(services[current].get("depends_on", {}))
    return seen
