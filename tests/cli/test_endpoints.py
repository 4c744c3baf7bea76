"""Where the command line finds the servers: option, environment, ``urls.json``, default."""

from __future__ import annotations

import argparse
from pathlib import Path

from papertape.cli import endpoints


def _args(**values: str | None) -> argparse.Namespace:
    return argparse.Namespace(nats_url=None, database_url=None, namespace=None, **values)


def test_the_option_wins_over_the_environment() -> None:
    args = argparse.Namespace(nats_url="nats://127.0.0.1:1", database_url=None, namespace=None)
    assert endpoints.nats_url(args, {"NATS_URL": "nats://127.0.0.1:2"}) == "nats://127.0.0.1:1"


def test_the_prefixed_variable_wins_over_the_plain_one() -> None:
    env = {"PAPERTAPE_DATABASE_URL": "postgresql://a/x", "DATABASE_URL": "postgresql://b/y"}
    assert endpoints.database_url(_args(), env) == "postgresql://a/x"


def test_urls_json_written_by_run_is_read_when_the_environment_is_silent(tmp_path: Path) -> None:
    endpoints.save_urls(tmp_path, nats_url="nats://127.0.0.1:9", database_url="postgresql://z/p")
    env = {"PAPERTAPE_DATA_DIR": str(tmp_path)}
    assert endpoints.nats_url(_args(), env) == "nats://127.0.0.1:9"
    assert endpoints.database_url(_args(), env) == "postgresql://z/p"


def test_without_anything_configured_the_local_defaults_apply(tmp_path: Path) -> None:
    env = {"PAPERTAPE_DATA_DIR": str(tmp_path / "missing")}
    assert endpoints.nats_url(_args(), env) == endpoints.DEFAULT_NATS_URL
    assert endpoints.database_url(_args(), env) == endpoints.DEFAULT_DATABASE_URL


def test_the_namespace_comes_from_the_option_or_the_environment() -> None:
    assert endpoints.subjects(_args(), {"PAPERTAPE_NAMESPACE": "demo"}).namespace == "demo"
    args = argparse.Namespace(namespace="t1")
    assert endpoints.subjects(args, {}).portfolio_command() == "t1.portfolio.command"
