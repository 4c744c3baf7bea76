"""Interleaved output of several processes: every line prefixed with its source's name."""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

_COLORS = ("36", "33", "35", "32", "34", "91", "96", "93")
_RESET = "\x1b[0m"


class Console:
    """Writes ``name | line``, the name in a colour of its own when the output is a terminal.

    With ``json_lines`` each line is a JSON object instead: ``{"source": name, "line": line}``.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        color: bool | None = None,
        width: int = 12,
        json_lines: bool = False,
    ):
        self._out = sys.stdout if out is None else out
        if color is None:
            color = self._out.isatty() and "NO_COLOR" not in os.environ
        self._color = color and not json_lines
        self._json_lines = json_lines
        self._width = width
        self._palette: dict[str, str] = {}

    def emit(self, name: str, line: str) -> None:
        """Write one line from ``name``."""
        if self._json_lines:
            self._out.write(json.dumps({"source": name, "line": line.rstrip()}) + "\n")
            self._out.flush()
            return
        label = f"{name:<{self._width}}|"
        if self._color:
            code = self._palette.setdefault(name, _COLORS[len(self._palette) % len(_COLORS)])
            label = f"\x1b[{code}m{label}{_RESET}"
        self._out.write(f"{label} {line.rstrip()}\n")
        self._out.flush()
