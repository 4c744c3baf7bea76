"""Where the servers are: ``--nats-url`` / ``--database-url``, the environment, or ``urls.json``.

Precedence: the option, then ``PAPERTAPE_<NAME>`` / ``<NAME>`` in the environment, then the
``urls.json`` that ``papertape run`` writes under its data directory (``./.papertape`` by
default, ``PAPERTAPE_DATA_DIR`` to change it), then the local defaults.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path

from papertape.common.servers.nats_auth import write_private
from papertape.common.settings import CommonSettings, setting_from_env
from papertape.contract.subjects import Subjects

DEFAULT_NATS_URL = CommonSettings().nats_url
DEFAULT_DATABASE_URL = CommonSettings().database_url
URLS_FILE = "urls.json"


def urls_file(env: Mapping[str, str] | None = None) -> Path:
    """The file ``papertape run`` leaves its servers' URLs in."""
    source = os.environ if env is None else env
    return Path(source.get("PAPERTAPE_DATA_DIR") or ".papertape") / URLS_FILE


def save_urls(
    data_dir: Path, *, nats_url: str, database_url: str, nats_operator_url: str | None = None
) -> Path:
    """Write ``urls.json`` for the other commands (called by whoever starts the servers).

    The URLs may carry NATS logins, so the file is readable by its owner only.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / URLS_FILE
    urls = {"nats_url": nats_url, "database_url": database_url}
    if nats_operator_url:
        urls["nats_operator_url"] = nats_operator_url
    write_private(path, json.dumps(urls) + "\n")
    return path


def _from_file(key: str, env: Mapping[str, str] | None) -> str | None:
    path = urls_file(env)
    try:
        value = json.loads(path.read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def _resolve(option: str | None, name: str, default: str, env: Mapping[str, str] | None) -> str:
    return option or setting_from_env(name, env) or _from_file(name, env) or default


def nats_url(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> str:
    """The NATS server to talk to."""
    return _resolve(getattr(args, "nats_url", None), "nats_url", DEFAULT_NATS_URL, env)


def operator_nats_url(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> str:
    """The NATS login of the tools that publish (stream declaration, anchors, republishing):
    the operator's from ``urls.json`` when ``papertape run`` secured its server."""
    option = getattr(args, "nats_url", None)
    configured = option or setting_from_env("nats_url", env)
    return configured or _from_file("nats_operator_url", env) or nats_url(args, env)


def database_url(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> str:
    """The PostgreSQL database that holds the event log."""
    return _resolve(getattr(args, "database_url", None), "database_url", DEFAULT_DATABASE_URL, env)


def subjects(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Subjects:
    """Subjects in the namespace of ``--namespace`` or ``PAPERTAPE_NAMESPACE``."""
    namespace = getattr(args, "namespace", None) or setting_from_env("namespace", env)
    return Subjects(namespace=namespace)


def add_nats_options(parser: argparse.ArgumentParser) -> None:
    """``--nats-url`` and ``--namespace``."""
    parser.add_argument(
        "--nats-url", help=f"NATS server (default: $NATS_URL, urls.json, {DEFAULT_NATS_URL})"
    )
    parser.add_argument("--namespace", help="subject namespace (default: $PAPERTAPE_NAMESPACE)")


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """``--database-url``."""
    parser.add_argument(
        "--database-url",
        help=f"event-log database (default: $DATABASE_URL, urls.json, {DEFAULT_DATABASE_URL})",
    )
