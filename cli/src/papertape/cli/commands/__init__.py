"""The subcommands of ``papertape``: every module here is one (or a few) of them.

A module ``papertape.cli.commands.<name>`` exposes ``register(subparsers)``, which adds its
parser(s) with ``subparsers.add_parser(...)`` and sets ``handler=<function(args) -> int>`` with
``parser.set_defaults``. ``papertape`` finds the modules itself: adding a file is enough. Every
leaf command takes ``--json`` (``add_json_option``) and then prints one JSON document, or JSON
Lines when its output is a stream.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from typing import TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace], int]


def add_json_option(
    parser: argparse.ArgumentParser, what: str = "print the answer as JSON"
) -> None:
    """``--json``: machine-readable output instead of text for people."""
    parser.add_argument("--json", action="store_true", help=what)


def register_all(subparsers: Subparsers) -> None:
    """Let every module of this package register its subcommands, in name order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(subparsers)
