"""What the deployment files say and what the code reads, side by side, for the deploy tests.

The code's side: the workspace members (their pyproject.toml), each service's settings struct
(``papertape.<service>.settings.read_settings``'s return type) and the variables it reads
(``PAPERTAPE_<FIELD>`` or ``<FIELD>``, as ``papertape.common.settings.load_settings`` does).
The files' side: docker-compose.yml, deploy/k8s/*.yaml, deploy/Dockerfile and the Tiltfile.
"""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from papertape.common.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
PREFIX = "PAPERTAPE_"
LOOPBACK = ("127.0.0.1", "localhost")
NOTIFICATION = "papertape.notification"
"""Being merged in parallel: deployed already, checked once it is installed."""


@dataclass(frozen=True)
class Member:
    """A workspace member: its folder and the package it installs."""

    folder: str
    module: str

    @property
    def is_service(self) -> bool:
        return self.folder.startswith("services/")


def members() -> list[Member]:
    """Every member of the uv workspace, from its pyproject.toml."""
    found = []
    for pyproject in [*sorted(ROOT.glob("*/*/pyproject.toml")), ROOT / "cli" / "pyproject.toml"]:
        folder = str(pyproject.parent.relative_to(ROOT))
        if not folder.startswith(("libs/", "services/", "cli")):
            continue
        config = tomllib.loads(pyproject.read_text())
        found.append(Member(folder, config["tool"]["uv"]["build-backend"]["module-name"]))
    return found


def service_modules() -> set[str]:
    """The services the code has (``papertape.<name>``), and notification."""
    return {m.module for m in members() if m.is_service} | {NOTIFICATION}


def settings_class(module: str) -> type[CommonSettings] | None:
    """The settings struct the service reads (None: the service is not installed here)."""
    try:
        settings = importlib.import_module(f"{module}.settings")
    except ModuleNotFoundError:
        return None
    cls = typing.get_type_hints(settings.read_settings)["return"]
    assert issubclass(cls, CommonSettings), cls
    return typing.cast(type[CommonSettings], cls)


def installed_settings(module: str) -> type[CommonSettings]:
    """The service's settings struct; the test is skipped where the service is not installed."""
    cls = settings_class(module)
    if cls is None:
        pytest.skip(f"{module} is not installed here")
    return cls


def variables(cls: type[msgspec.Struct]) -> dict[str, str]:
    """Every environment variable the struct reads, to the field it sets."""
    read = {}
    for field in msgspec.structs.fields(cls):
        read[f"{PREFIX}{field.name.upper()}"] = field.name
        read[field.name.upper()] = field.name
    return read


def must_be_set(cls: type[msgspec.Struct]) -> set[str]:
    """Fields a deployment has to set: no default, or a default that only works on loopback."""
    needed = set()
    for field in msgspec.structs.fields(cls):
        default = field.default
        required = default is msgspec.NODEFAULT and field.default_factory is msgspec.NODEFAULT
        if required or (isinstance(default, str) and any(host in default for host in LOOPBACK)):
            needed.add(field.name)
    return needed


def listening_port(cls: type[CommonSettings]) -> int:
    """Where /health and /ready are served: the metrics port, else (the gateway) its HTTP port."""
    defaults = cls()
    if defaults.metrics_port > 0:
        return defaults.metrics_port
    port = getattr(defaults, "http_port", None)
    assert isinstance(port, int), f"{cls.__name__} serves neither metrics nor HTTP"
    return port


def fields_set(env: Mapping[str, str], cls: type[msgspec.Struct]) -> set[str]:
    read = variables(cls)
    return {read[name] for name, value in env.items() if name in read and value}


# docker-compose.yml

_DEFAULTED = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def compose_env(service: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's environment as the container gets it when nothing is set outside."""
    raw = service.get("environment", {})
    assert isinstance(raw, dict), "environment as a mapping"
    return {key: _DEFAULTED.sub(lambda m: m[2] or "", str(value)) for key, value in raw.items()}


def compose_service(module: str) -> tuple[str, dict[str, Any]]:
    """The compose service that runs ``module``."""
    found = [
        (name, service)
        for name, service in compose()["services"].items()
        if service.get("command", [None])[0] == module
    ]
    assert len(found) == 1, f"{module}: {len(found)} compose services run it"
    return found[0]


# deploy/k8s


def manifests() -> list[dict[str, Any]]:
    """Every document of every file in deploy/k8s."""
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append({**document, "_file": path.name})
    return documents


def manifest(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} manifests"
    return found[0]


def workload_running(module: str) -> dict[str, Any]:
    """The Deployment whose container runs ``module``."""
    found = [
        d
        for d in manifests()
        if d["kind"] == "Deployment"
        and any(c.get("args", [None])[0] == module for c in containers(d))
    ]
    assert len(found) == 1, f"{module}: {len(found)} Deployments run it"
    return found[0]


WORKLOADS = ("Deployment", "StatefulSet", "Job")


def workloads() -> list[dict[str, Any]]:
    return [d for d in manifests() if d["kind"] in WORKLOADS]


def containers(workload: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def container_env(container: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """A container's environment as Kubernetes builds it (ConfigMaps, Secrets, ``$(VAR)``), and
    the variables only there to be referenced by others (``$(NATS_PASSWORD)``)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        config = manifest("ConfigMap", source["configMapRef"]["name"])
        env.update({key: str(value) for key, value in config["data"].items()})
    helpers: set[str] = set()
    for item in container.get("env", []):
        if "value" in item:
            value = str(item["value"])
            for used in re.findall(r"\$\((\w+)\)", value):
                assert used in env, f"{item['name']} refers to {used}, not defined before it"
                helpers.add(used)
                value = value.replace(f"$({used})", env[used])
            env[item["name"]] = value
        elif "secretKeyRef" in item["valueFrom"]:
            ref = item["valueFrom"]["secretKeyRef"]
            data = manifest("Secret", ref["name"])["stringData"]
            assert ref["key"] in data or ref.get("optional"), f"no key {ref['key']} in the Secret"
            env[item["name"]] = str(data.get(ref["key"], ""))
        else:
            env[item["name"]] = "from-the-pod"
    return env, helpers


# The Tiltfile


def tiltfile() -> ast.Module:
    """The Tiltfile (Starlark reads as Python for everything it uses)."""
    return ast.parse((ROOT / "Tiltfile").read_text(), "Tiltfile")


def tilt_calls(name: str) -> Iterator[ast.Call]:
    for node in ast.walk(tiltfile()):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
            yield node


def tilt_constant(name: str) -> Any:
    for node in tiltfile().body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"the Tiltfile sets no {name}")


def literal(node: ast.expr) -> Any:
    """A constant expression of the Tiltfile: literals, and strings joined with ``+``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return literal(node.left) + literal(node.right)
    return ast.literal_eval(node)


def keyword(call: ast.Call, name: str) -> Any:
    for item in call.keywords:
        if item.arg == name:
            return literal(item.value)
    return None


# deploy/Dockerfile


def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in (ROOT / "deploy" / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current = f"{current} {line.removesuffix(chr(92)).strip()}".strip()
        if not line.endswith("\\"):
            lines.append(current)
            current = ""
    return lines


def stages() -> dict[str, list[str]]:
    """Each build stage's instructions, by its name."""
    found: dict[str, list[str]] = {}
    name = ""
    for line in dockerfile():
        if line.upper().startswith("FROM "):
            name = line.split()[-1]
            found[name] = []
        elif name:
            found[name].append(line)
    return found
