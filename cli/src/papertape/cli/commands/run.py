"""``papertape run``: the servers, the streams and every installed service, supervised."""

from __future__ import annotations

import argparse
from pathlib import Path

from papertape.cli.commands import Subparsers
from papertape.cli.run import SERVICES, RunOptions, run


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
        choices=SERVICES,
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
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--stop-timeout", type=float, default=10.0, help="seconds (default 10)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    options = RunOptions(
        data_dir=args.data_dir,
        duration=args.duration,
        services=args.services,
        ready_timeout=args.ready_timeout,
        stop_timeout=args.stop_timeout,
    )
    return run(options)
