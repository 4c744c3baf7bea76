"""Servers in Docker containers (testcontainers, the optional extra ``docker``): the last resort."""

from __future__ import annotations

import contextlib
import importlib
from contextlib import ExitStack
from typing import Any

NATS_IMAGE = "nats:2.11-alpine"
POSTGRES_IMAGE = "postgres:17-alpine"


def docker_available() -> bool:
    """Whether testcontainers is installed and a Docker daemon answers."""
    try:
        importlib.import_module("testcontainers.core.container")
        docker: Any = importlib.import_module("docker")
    except ImportError:
        return False
    with contextlib.suppress(Exception):  # any failure to reach the daemon means "no Docker"
        return bool(docker.from_env().ping())
    return False


def start_nats_container(stack: ExitStack) -> str:
    """Start ``nats-server -js`` in a container (stopped by ``stack``); its client URL."""
    container_mod: Any = importlib.import_module("testcontainers.core.container")
    waiting: Any = importlib.import_module("testcontainers.core.waiting_utils")
    container = (
        container_mod.DockerContainer(NATS_IMAGE).with_command("-js").with_exposed_ports(4222)
    )
    stack.enter_context(container)
    waiting.wait_for_logs(container, "Server is ready", timeout=60)
    return f"nats://{container.get_container_host_ip()}:{container.get_exposed_port(4222)}"


def start_postgres_container(stack: ExitStack) -> str:
    """Start PostgreSQL in a container (stopped by ``stack``); a superuser DSN."""
    postgres_mod: Any = importlib.import_module("testcontainers.postgres")
    container = postgres_mod.PostgresContainer(
        POSTGRES_IMAGE,
        username="postgres",
        password="postgres",
        dbname="postgres",
        driver=None,
    )
    stack.enter_context(container)
    url: str = container.get_connection_url()
    return url
