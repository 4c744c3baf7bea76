"""``papertape run``: the servers, the streams and every installed service, supervised."""

from __future__ import annotations

import argparse
from pathlib import Path

from papertape.cli.commands import Subparsers, add_json_option
from papertape.cli.console import Console
from papertape.cli.run import (
    DEFAULT_PARTITIONS,
    RunOptions,
    installed_services,
    parse_replicas,
    run,
)
from papertape.cli.supervisor import RestartPolicy
from papertape.contract.partitions import MAX_PARTITIONS


def service_argument(text: str) -> str:
    """An argparse type: an installed service, by module (``marketdata``) or folder name."""
    installed = installed_services()
    name = text.replace("-", "")  # services/market-data is the module papertape.marketdata
    if name not in installed:
        raise argparse.ArgumentTypeError(
            f"unknown service {text}; services: {', '.join(installed) or 'none installed'}"
        )
    return name


def replicas_argument(text: str) -> dict[str, int]:
    """An argparse type: ``portfolio=2,execution=2``."""
    try:
        return parse_replicas(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def partitions_argument(text: str) -> int:
    """An argparse type: a number of partitions, 1 to ``MAX_PARTITIONS``."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARTITIONS:
        raise argparse.ArgumentTypeError(f"partitions go from 1 to {MAX_PARTITIONS}, not {text}")
    return int(text)


def register(subparsers: Subparsers) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run NATS, PostgreSQL and every service on this machine",
        description="Start NATS and PostgreSQL (embedded under --data-dir unless NATS_URL / "
        "DATABASE_URL are set), apply migrations, declare the streams, then run every "
        "installed service until Ctrl-C.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".papertape"),
        help="where the embedded servers keep their data (default: ./.papertape)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop by itself this many seconds after everything is ready",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--service",
        action="append",
        type=service_argument,
        metavar="NAME",
        dest="services",
        help="run only this service (repeatable; default: every installed one)",
    )
    group.add_argument(
        "--no-services",
        action="store_const",
        const=[],
        dest="services",
        help="run the servers only",
    )
    parser.add_argument(
        "--replicas",
        type=replicas_argument,
        default={},
        metavar="SERVICE=N[,SERVICE=N]",
        help="run N processes of portfolio or execution, the accounts partitioned among them "
        "(e.g. portfolio=2,execution=2)",
    )
    parser.add_argument(
        "--partitions",
        type=partitions_argument,
        default=DEFAULT_PARTITIONS,
        help=f"partitions of the accounts for --replicas (default {DEFAULT_PARTITIONS})",
    )
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--stop-timeout", type=float, default=10.0, help="seconds (default 10)")
    defaults = RestartPolicy()
    parser.add_argument(
        "--max-crashes",
        type=int,
        default=defaults.max_crashes,
        help="a service that crashes this many times within --crash-window fails the run "
        f"(default {defaults.max_crashes}; 1: never restart)",
    )
    parser.add_argument(
        "--crash-window",
        type=float,
        default=defaults.window_s,
        help=f"seconds (default {defaults.window_s:g})",
    )
    add_json_option(parser, "the output as JSON Lines: {source, line} per line")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    options = RunOptions(
        data_dir=args.data_dir,
        duration=args.duration,
        services=args.services,
        ready_timeout=args.ready_timeout,
        stop_timeout=args.stop_timeout,
        restarts=RestartPolicy(max_crashes=max(1, args.max_crashes), window_s=args.crash_window),
        replicas=args.replicas,
        partitions=args.partitions,
    )
    return run(options, Console(json_lines=args.json))
