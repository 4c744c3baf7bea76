"""``papertape streams declare``: the one start-up step that declares every JetStream stream;
``papertape streams authorization``: the NATS logins and permissions for an operator's server."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import asdict

from papertape.cli import endpoints
from papertape.cli.commands import Subparsers, add_json_option
from papertape.cli.output import print_json
from papertape.cli.run import declare_platform_streams
from papertape.common.bus.permissions import BusLogin, permissions
from papertape.common.servers.nats_auth import DEPLOY_HEADER, authorization_block


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
    authorization = actions.add_parser(
        "authorization",
        help="print the server configuration of the platform's NATS logins and permissions",
        description="The authorization block papertape run gives its embedded server, with "
        "each password read from $PAPERTAPE_NATS_<LOGIN>_PASSWORD (deploy/nats/).",
    )
    authorization.add_argument("--namespace", help="subject namespace (default: none)")
    add_json_option(authorization, "print the logins and their permissions as JSON")
    authorization.set_defaults(handler=_authorization)


def _authorization(args: argparse.Namespace) -> int:
    subjects = endpoints.subjects(args)
    if args.json:
        print_json({login.value: asdict(permissions(login, subjects)) for login in BusLogin})
    else:
        sys.stdout.write(DEPLOY_HEADER + authorization_block(subjects))
    return 0


def _declare(args: argparse.Namespace) -> int:
    subjects = endpoints.subjects(args)
    asyncio.run(
        declare_platform_streams(endpoints.operator_nats_url(args), subjects, args.replicas)
    )
    names = [spec.name for spec in subjects.streams()]
    if args.json:
        print_json({"streams": names, "replicas": args.replicas})
    else:
        print(f"streams declared: {', '.join(names)}")
    return 0
