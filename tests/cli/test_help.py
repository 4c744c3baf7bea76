"""Every command's ``--help`` is written: a bare % in a help text makes argparse fail on it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from papertape.cli.__main__ import build_parser


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("papertape",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(build_parser()))


def test_there_are_commands_to_check() -> None:
    assert len(COMMANDS) > 30
    assert ("papertape", "backtest") in {path for path, _ in COMMANDS}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[0]))
def test_the_help_of_every_command_is_written(
    command: tuple[tuple[str, ...], argparse.ArgumentParser],
) -> None:
    _path, parser = command
    text = parser.format_help()
    assert text.startswith("usage: ")
    assert "%%" not in text
