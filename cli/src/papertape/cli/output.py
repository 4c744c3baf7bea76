"""What the command line prints: tables for people, JSON for scripts, progress on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from papertape.contract.codec import to_builtins


def stdout() -> Console:
    """A console on the current ``sys.stdout`` (wide enough not to wrap in a pipe)."""
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)


def stderr() -> Console:
    """A console on the current ``sys.stderr``."""
    return Console(file=sys.stderr)


def print_json(value: Any) -> None:
    """Print a struct, list or dict as indented JSON (Decimals as strings)."""
    sys.stdout.write(json.dumps(to_builtins(value), indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> int:
    """Print an error on stderr; the exit code to return."""
    sys.stderr.write(f"papertape: error: {message}\n")
    sys.stderr.flush()
    return code


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        return json.dumps(value, default=str)
    return str(value)


def print_record(title: str, record: Mapping[str, Any], fields: Sequence[str] = ()) -> None:
    """One record as a two-column table (every field, or only ``fields``)."""
    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key in fields or list(record):
        if key in record:
            table.add_row(key, _cell(record[key]))
    console = stdout()
    console.print(title, style="bold", soft_wrap=True)
    console.print(table)


def print_rows(title: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Records as a table with the given columns (a line saying so when there are none)."""
    if not rows:
        stdout().print(f"{title}: none")
        return
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    console = stdout()
    console.print(title, style="bold", soft_wrap=True)
    console.print(table)


class Advance(Protocol):
    """Moves a progress bar on by ``steps``."""

    def __call__(self, steps: int) -> None: ...


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Advance]:
    """A progress bar on stderr (shown only on a terminal); yields its ``advance``."""
    console = stderr()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(steps: int) -> None:
            bar.advance(task, steps)

        yield advance
