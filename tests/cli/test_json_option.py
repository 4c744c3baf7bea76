"""Every command of ``papertape`` takes ``--json``, as cli/README.md promises."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from papertape.cli.__main__ import build_parser


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """The command paths of the parsers that run something (those with no subcommands)."""
    branches = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not branches:
        yield path
        return
    for branch in branches:
        for name, child in branch.choices.items():
            yield from _leaves(child, (*path, name))


def _parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        (branch,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = branch.choices[name]
    return parser


def test_the_command_tree_has_the_documented_commands() -> None:
    leaves = set(_leaves(build_parser()))

    assert {
        ("run",),
        ("streams", "declare"),
        ("accounts",),
        ("account", "limits", "show"),
        ("account", "limits", "set"),
        ("account", "reset"),
        ("order", "place"),
        ("audit", "export"),
        ("audit", "fork"),
        ("audit", "republish"),
    } <= leaves


def test_every_leaf_command_accepts_json() -> None:
    without = [
        " ".join(path)
        for path in _leaves(build_parser())
        if not any("--json" in action.option_strings for action in _parser_of(path)._actions)
    ]

    assert without == []
