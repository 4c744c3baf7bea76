"""The ``papertape`` command (``uv run papertape --help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from papertape.cli.commands import register_all


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand of ``papertape.cli.commands``."""
    parser = argparse.ArgumentParser(
        prog="papertape", description="papertape: an event-sourced paper-trading platform"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    register_all(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; its exit code."""
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
