"""The console of ``papertape run``: ``name | line`` for people, JSON Lines with ``--json``."""

from __future__ import annotations

import io
import json

from papertape.cli.console import Console


def test_lines_are_prefixed_with_their_source() -> None:
    out = io.StringIO()
    Console(out, color=False, width=8).emit("market", "READY market-data\n")

    assert out.getvalue() == "market  | READY market-data\n"


def test_json_lines_carry_the_source_and_the_line_without_colour() -> None:
    out = io.StringIO()
    console = Console(out, color=True, json_lines=True)
    console.emit("portfolio", "READY portfolio\n")
    console.emit("papertape", 'a "quoted" word')

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [
        {"source": "portfolio", "line": "READY portfolio"},
        {"source": "papertape", "line": 'a "quoted" word'},
    ]
