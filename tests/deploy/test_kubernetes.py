"""deploy/k8s against Kubernetes' schemas (kubernetes-validate, strict) and against the code:
every service a Deployment and a Service of the one image, its module, the port its settings
serve with /health and /ready probes, resources, config from the one ConfigMap and secrets
from the one Secret, every variable read and valid; a 3-node NATS cluster whose streams are
declared at three replicas; PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from papertape.common.bus.permissions import BusLogin
from papertape.common.servers import nats_server_binary
from papertape.common.settings import load_settings
from tests.deploy.deployment import (
    K8S,
    NOTIFICATION,
    ROOT,
    container_env,
    containers,
    fields_set,
    installed_settings,
    listening_port,
    manifest,
    manifests,
    must_be_set,
    service_modules,
    settings_class,
    variables,
    workload_running,
)

MODULES = sorted(service_modules())
KUBERNETES = "1.30.0"
"""The oldest Kubernetes still maintained when this was written: the manifests use nothing newer."""
CONFIG = "papertape-config"
SECRETS = "papertape-secrets"


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(path: Path) -> None:
    documents = [d for d in manifests() if d["_file"] == path.name]
    assert documents
    for document in documents:
        resource = {k: v for k, v in document.items() if k != "_file"}
        try:
            kubernetes_validate.validate(resource, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            raise AssertionError(
                f"{document['kind']}/{document['metadata']['name']}: {where}: {error.message}"
            ) from None


@pytest.mark.parametrize("module", MODULES)
def test_each_service_is_a_deployment_of_the_one_image_with_its_module(module: str) -> None:
    workload = workload_running(module)
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "papertape"
    assert container["args"] == [module]
    assert "command" not in container, "the image's entrypoint (python -m) runs the module"
    assert container["resources"]["requests"].keys() == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    pod = workload["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert workload["spec"]["replicas"] == 1


@pytest.mark.parametrize("module", MODULES)
def test_each_service_is_probed_on_health_and_ready_where_its_settings_listen(
    module: str,
) -> None:
    cls = installed_settings(module)
    workload = workload_running(module)
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert list(ports.values()) == [listening_port(cls)]

    def probed(probe: str) -> tuple[str, int]:
        get = container[probe]["httpGet"]
        return get["path"], ports[get["port"]]

    port = listening_port(cls)
    assert probed("livenessProbe") == ("/health", port)
    assert probed("startupProbe") == ("/health", port)
    assert probed("readinessProbe") == ("/ready", port)
    name = workload["metadata"]["name"]
    service = manifest("Service", name)
    assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        (port, next(iter(ports)))
    ]
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)


@pytest.mark.parametrize("module", MODULES)
def test_each_service_is_given_what_its_settings_read_from_the_configmap_and_the_secret(
    module: str,
) -> None:
    cls = installed_settings(module)
    workload = workload_running(module)
    name = workload["metadata"]["name"]
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": CONFIG}}]
    own = {item["name"] for item in container["env"]}
    env, helpers = container_env(container)
    shared = set(manifest("ConfigMap", CONFIG)["data"])
    unread = sorted((own - helpers) - set(variables(cls)))
    assert unread == [], f"{name} is given variables {cls.__name__} never reads"
    missing = sorted(must_be_set(cls) - fields_set(env, cls))
    assert missing == [], f"{name} leaves settings at their loopback defaults (or unset)"
    assert own.isdisjoint(shared), "a variable both shared and the service's own"
    for item in container["env"]:
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        assert ref is None or ref["name"] == SECRETS, item["name"]
    settings = load_settings(cls, env=env)
    login = BusLogin(name)
    assert settings.nats_url.startswith(f"nats://{login.value}:"), "it logs in to NATS as itself"
    assert settings.nats_url.endswith("@nats:4222")
    assert settings.database_url.endswith("@postgres:5432/papertape")


def test_every_shared_setting_is_read_by_a_service() -> None:
    read: set[str] = set()
    missing_services = []
    for module in MODULES:
        cls = settings_class(module)
        if cls is None:
            missing_services.append(module)
        else:
            read |= set(variables(cls))
    unread = sorted(set(manifest("ConfigMap", CONFIG)["data"]) - read)
    if unread and missing_services == [NOTIFICATION]:
        assert all(key.startswith("PAPERTAPE_SMTP_") for key in unread), unread
        pytest.skip(f"{unread} are for {NOTIFICATION}, not installed here")
    assert unread == [], "ConfigMap keys no service reads"


def test_every_login_has_its_password_in_the_secret_and_the_servers_get_them_all() -> None:
    secret = manifest("Secret", SECRETS)["stringData"]
    nats = manifest("StatefulSet", "nats")
    (server,) = nats["spec"]["template"]["spec"]["containers"]
    given = {
        item["name"]: item["valueFrom"]["secretKeyRef"]["key"]
        for item in server["env"]
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    for login in BusLogin:
        assert login.value in secret, login
        assert given[f"PAPERTAPE_NATS_{login.name}_PASSWORD"] == login.value


def test_nats_is_a_three_node_cluster_with_routes_to_every_member() -> None:
    nats = manifest("StatefulSet", "nats")
    spec = nats["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"
    headless = manifest("Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    (server,) = spec["template"]["spec"]["containers"]
    config_file = server["args"][server["args"].index("-c") + 1]
    volume = next(v for v in spec["template"]["spec"]["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] == "nats-config"
    conf = (ROOT / "deploy" / "nats" / Path(config_file).name).read_text()
    routes = [f"nats-route://nats-{n}.{spec['serviceName']}:6222" for n in range(3)]
    assert all(route in conf for route in routes)
    assert "sync_interval: always" in conf
    assert "server_name: $SERVER_NAME" in conf
    assert "include ./authorization.conf" in conf
    assert any(e["name"] == "SERVER_NAME" for e in server["env"])
    assert manifest("PodDisruptionBudget", "nats")["spec"]["maxUnavailable"] == 1


def test_the_cluster_configuration_is_one_nats_server_accepts() -> None:
    binary = nats_server_binary()
    assert binary is not None
    env = {f"PAPERTAPE_NATS_{login.name}_PASSWORD": "pw" for login in BusLogin}
    env["SERVER_NAME"] = "nats-0"
    checked = subprocess.run(
        [str(binary), "-t", "-c", "cluster.conf"],
        cwd=ROOT / "deploy" / "nats",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_streams_are_declared_once_at_three_replicas_as_the_operator() -> None:
    job = manifest("Job", "streams")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "papertape"
    replicas = manifest("StatefulSet", "nats")["spec"]["replicas"]
    assert container["args"] == [
        "papertape.cli", "streams", "declare", "--replicas", str(replicas),
    ]  # fmt: skip
    env, _ = container_env(container)
    assert env["NATS_URL"].startswith("nats://operator:")
    declaring = [
        c for d in manifests() if d["kind"] in ("Deployment", "StatefulSet", "Job")
        for c in containers(d) if "streams" in c.get("args", [])
    ]  # fmt: skip
    assert len(declaring) == 1, "streams are declared in one place"


def test_postgres_keeps_its_data_on_a_volume_and_its_password_in_the_secret() -> None:
    postgres = manifest("StatefulSet", "postgres")
    spec: dict[str, Any] = postgres["spec"]
    (server,) = spec["template"]["spec"]["containers"]
    env = {item["name"]: item for item in server["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": SECRETS,
        "key": "postgres",
    }
    assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert server["readinessProbe"]["exec"]["command"][0] == "pg_isready"
    assert manifest("Service", "postgres")["spec"]["ports"][0]["port"] == 5432
