"""``papertape streams declare``: the one start-up step that declares every JetStream stream."""

from __future__ import annotations

import argparse
import asyncio

from papertape.cli import endpoints
from papertape.cli.commands import Subparsers, add_json_option
from papertape.cli.output import print_json
from papertape.cli.run import declare_platform_streams


def register(subparsers: Subparsers) -> None:
    """Add the ``streams`` subcommand."""
    parser = subparsers.add_parser("streams", help="declare the platform's JetStream streams")
    actions = parser.add_subparsers(dest="action", required=True)
    declare = actions.add_parser(
        "declare", help="create every stream, or update one whose configuration differs"
    )
    endpoints.add_nats_options(declare)
    declare.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="copies of each stream in a NATS cluster (3 in production; default 1)",
    )
    add_json_option(declare, "print the names of the streams as JSON")
    declare.set_defaults(handler=_declare)


def _declare(args: argparse.Namespace) -> int:
    subjects = endpoints.subjects(args)
    asyncio.run(declare_platform_streams(endpoints.nats_url(args), subjects, args.replicas))
    names = [spec.name for spec in subjects.streams()]
    if args.json:
        print_json({"streams": names, "replicas": args.replicas})
    else:
        print(f"streams declared: {', '.join(names)}")
    return 0
