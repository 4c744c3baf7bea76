"""The Tiltfile against the workspace and the manifests: it builds the image every manifest
runs, live-updates every member's package where the image installs it, applies every
manifest and forwards each service's port."""

from __future__ import annotations

import ast

from tests.deploy.deployment import (
    K8S,
    ROOT,
    containers,
    dockerfile,
    keyword,
    listening_port,
    literal,
    members,
    service_modules,
    settings_class,
    stages,
    tilt_calls,
    tilt_constant,
    workload_running,
    workloads,
)


def test_it_builds_the_image_every_manifest_runs_from_the_dev_target() -> None:
    (build,) = tilt_calls("docker_build_with_restart")
    image = ast.literal_eval(build.args[0])
    assert keyword(build, "dockerfile") == "deploy/Dockerfile"
    assert keyword(build, "target") in stages()
    assert keyword(build, "entrypoint") == ["python", "-m"], "the image's own entrypoint"
    ours = [c["image"] for d in workloads() for c in containers(d) if "papertape" in c["image"]]
    assert ours, "no manifest runs the image"
    assert set(ours) == {image}


def test_it_live_updates_every_member_where_the_image_installs_it() -> None:
    packages = tilt_constant("PACKAGES")
    site = tilt_constant("SITE_PACKAGES")
    expected = {m.folder: m.module.removeprefix("papertape.") for m in members()}
    assert packages == expected, "a workspace member is not synced (or one that is not)"
    for folder, package in packages.items():
        assert (ROOT / folder / "src" / "papertape" / package).is_dir(), folder
    (version,) = [line.split("=")[1] for line in dockerfile() if "ARG PYTHON_VERSION=" in line]
    assert site == f"/app/.venv/lib/python{version}/site-packages/papertape/"
    (build,) = tilt_calls("docker_build_with_restart")
    source = ast.unparse(build)
    assert "fall_back_on" in source, "a dependency change rebuilds the image"
    assert "uv.lock" in source


def test_it_applies_every_manifest_and_the_nats_configuration() -> None:
    applied: list[str] = []
    for call in tilt_calls("k8s_yaml"):
        try:
            applied += literal(call.args[0])
        except ValueError:
            assert isinstance(call.args[0], ast.Call), "k8s_yaml of a list, or of local(...)"
            command = literal(call.args[0].args[0])
            assert "configmap nats-config" in command
            for name in ("deploy/nats/cluster.conf", "deploy/nats/authorization.conf"):
                assert f"--from-file={name}" in command
                assert (ROOT / name).is_file()
    assert sorted(applied) == sorted(f"deploy/k8s/{p.name}" for p in K8S.glob("*.yaml"))


def test_every_workload_is_a_resource_and_each_service_forwards_its_port() -> None:
    resources = {ast.literal_eval(call.args[0]): call for call in tilt_calls("k8s_resource")}
    assert set(resources) == {d["metadata"]["name"] for d in workloads()}
    for call in resources.values():
        for dependency in keyword(call, "resource_deps") or []:
            assert dependency in resources
    for module in sorted(service_modules()):
        name = workload_running(module)["metadata"]["name"]
        deps = keyword(resources[name], "resource_deps")
        assert deps, f"{name} starts before the streams and servers"
        cls = settings_class(module)
        if cls is not None:
            port = listening_port(cls)
            assert f"{port}:{port}" in keyword(resources[name], "port_forwards"), name
