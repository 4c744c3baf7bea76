"""Every shell example of the READMEs, run as written against ``papertape run`` (``make run``).

``papertape run`` starts as ``make run`` starts it in a fresh folder (embedded NATS and
PostgreSQL, the demo account, no namespace; synthetic quotes at one a second per symbol), in
a data directory of its own. Each line of every
```bash block is then run with bash in that folder, with only ``uv run papertape`` / ``papertape``
resolved to this environment's ``papertape`` and documented placeholders (``<ORDER_ID>``)
filled from an earlier ``--json`` answer, and without ``NATS_URL`` / ``DATABASE_URL``: the
commands find the servers through ``.papertape/urls.json``, as the README says. A line exits 0,
or 1 when its comment says ``refused: <reason_code>`` (and stderr names that reason). ``make``
lines name targets of the Makefile (``make run`` is what this test started; ``make test`` is
this suite). The Python subscriber example runs too, until it has printed an account event.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
READMES = (
    ROOT / "README.md",
    ROOT / "cli" / "README.md",
    *sorted((ROOT / "services").glob("*/README.md")),
)
PAPERTAPE = Path(sys.executable).with_name("papertape")
COMMAND = re.compile(r"^(?:uv run )?papertape\b")
HTTP = re.compile(r"^curl -sf ")
"""A request to the gateway: the keys and its address are in .papertape/ (``make run``)."""
REFUSED = re.compile(r"#.*\brefused: ([a-z_]+)")
INVALID = re.compile(r"#\s*invalid: (\w+)")
PLACEHOLDER = re.compile(r"<([A-Z_]+)>")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SERVER_VARIABLES = ("NATS_URL", "DATABASE_URL", "NAMESPACE", "DATA_DIR")


@dataclass(frozen=True)
class Example:
    """One line of a README's ```bash block."""

    readme: str
    line: str

    @property
    def refusal(self) -> str | None:
        match = REFUSED.search(self.line)
        return match[1] if match else None

    @property
    def invalid(self) -> str | None:
        """The field a line refused before sending names (``# invalid: <field>``)."""
        match = INVALID.search(self.line)
        return match[1] if match else None


def blocks(path: Path, language: str) -> list[str]:
    """The text of every fenced block of ``language`` in a Markdown file."""
    return [body for lang, body in BLOCK.findall(path.read_text()) if lang == language]


def shell_examples() -> list[Example]:
    """Every command line of every ```bash block, in reading order (comment lines left out)."""
    return [
        Example(path.relative_to(ROOT).as_posix(), line.strip())
        for path in READMES
        for body in blocks(path, "bash")
        for line in body.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def _client_env() -> dict[str, str]:
    """The environment of a shell in the folder: no server variables, so urls.json decides."""
    return {key: value for key, value in os.environ.items() if not key.endswith(SERVER_VARIABLES)}


class Platform:
    """``papertape run`` in ``folder``, as ``make run`` runs it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "run.log"
        env = _client_env() | {
            "PAPERTAPE_DEMO_ACCOUNT": "demo",  # what make run sets
            "PAPERTAPE_HISTORY_MINUTES": "60",  # and this: the demo bot starts warm, trading
            "PAPERTAPE_METRICS_PORT": "0",  # free ports: another run may hold 9101-9103
            # One quote a second per symbol instead of four: no example depends on the rate, and
            # the other tests sharing this machine's cores keep their share of it.
            "PAPERTAPE_QUOTE_RATE": "1",
            "PAPERTAPE_HTTP_PORT": "0",  # a free port: another run may hold 8000
        }
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [str(PAPERTAPE), "run"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while "| READY (" not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("papertape run never became ready:\n" + self.output())
            time.sleep(0.2)

    def stop(self) -> int:
        self.proc.send_signal(2)  # Ctrl-C, as a user stops make run
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def platform(server_data_dir: Path) -> Iterator[Platform]:
    running = Platform(server_data_dir)
    try:
        running.wait_ready(90)
        yield running
    finally:
        code = running.stop()
        assert code == 0, running.output()[-3000:]


class Shell:
    """Runs README lines in the platform's folder and remembers the last ``--json`` answer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.answer: Any = None
        examples = folder / "examples"  # the sample data the README's lines name, as in a clone
        if not examples.exists():
            examples.symlink_to(ROOT / "examples", target_is_directory=True)

    def resolved(self, line: str) -> str:
        command = COMMAND.sub(shlex.quote(str(PAPERTAPE)), line)
        return PLACEHOLDER.sub(lambda m: shlex.quote(self.placeholder(m[1], line)), command)

    def placeholder(self, name: str, line: str) -> str:
        if name == "ORDER_ID":
            # The order the README just placed: the newest working entry order in the list.
            entries = [o for o in self.answer or [] if o["role"] == "entry"]
            assert entries, f"no working entry order to fill <ORDER_ID> in {line!r}"
            return str(entries[-1]["order_id"])
        raise AssertionError(f"undocumented placeholder <{name}> in {line!r}")

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-c", self.resolved(line)],
            cwd=self.folder,
            env=_client_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if "--json" in line and done.returncode == 0 and ">" not in line:
            self.answer = json.loads(done.stdout)
        return done


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-zA-Z_-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_the_readmes_hold_the_examples_this_test_runs() -> None:
    examples = shell_examples()
    readmes = {example.readme for example in examples}

    assert {"README.md", "cli/README.md"} <= readmes
    assert any("<ORDER_ID>" in example.line for example in examples)
    assert any(example.refusal for example in examples)
    (subscriber,) = blocks(ROOT / "README.md", "python")
    assert ".papertape/urls.json" in subscriber


# About 40 commands of 1-2 s each: 70-90 s alone, several minutes on a machine under load.
@pytest.mark.timeout(600)
def test_every_readme_example_works_as_written_against_papertape_run(
    platform: Platform,
) -> None:
    shell = Shell(platform.folder)
    targets = _make_targets()
    for example in shell_examples():
        where = f"{example.readme}: {example.line}"
        if example.line.startswith("make "):
            assert example.line.split()[1] in targets, where
            continue
        assert COMMAND.match(example.line) or HTTP.match(example.line), f"not a command: {where}"
        done = shell.run(example.line)
        said = f"{where}\nexit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        if example.refusal:
            assert done.returncode == 1, said
            assert f"refused: {example.refusal}:" in done.stderr, said
        elif example.invalid:
            assert done.returncode == 2, said
            assert f"invalid: {example.invalid} " in done.stderr, said
        else:
            assert done.returncode == 0, said
        assert "Traceback" not in done.stderr, said

    # What the lines say happened did happen: the market order filled (on the reader's own
    # account: the demo bot trades the demo account meanwhile), the halt held, the export wrote.
    mine = json.loads(shell.run("papertape account show mine --json").stdout)
    holdings = [(p["symbol"], Decimal(p["quantity"])) for p in mine["positions"]]
    assert holdings == [("BTCUSD", Decimal("0.01"))], mine
    assert mine["summary"]["halted"] is True
    # The demo bot started warm: its live bars were evaluated, none of them as a warm-up (the
    # first live bar closes within its timeframe of the start: on a loaded machine after the
    # examples have run, so it is waited for).
    deadline = time.monotonic() + 90
    while True:
        status = json.loads(shell.run("papertape session status demo-bot --json").stdout)
        if sum(status["signals"].values()) > 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert sum(status["signals"].values()) > 0, status
    signals = json.loads(shell.run("papertape signals --session demo-bot --json").stdout)
    reasons = [s["reasoning"] for s in signals["signals"]]
    assert reasons, signals
    assert not [r for r in reasons if r.startswith("warming up")], reasons
    assert (platform.folder / "log.jsonl").read_text().count("\n") > 10
    _the_subscriber_example_prints_the_demo_accounts_events(platform.folder)


def _the_subscriber_example_prints_the_demo_accounts_events(folder: Path) -> None:
    (example,) = blocks(ROOT / "README.md", "python")
    script = folder / "subscriber.py"
    script.write_text(example)
    env = _client_env() | {"PYTHONUNBUFFERED": "1"}
    reader = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # It reads for ever, as a subscriber does: stopped once it has printed, or after 30 s.
    timer = threading.Timer(30, reader.kill)
    timer.start()
    try:
        assert reader.stdout is not None
        first = reader.stdout.readline()
    finally:
        timer.cancel()
        reader.kill()
        reader.wait()
        if reader.stdout is not None:
            reader.stdout.close()
    subject, envelope = first.split(" ", 1)
    assert subject == "acct.demo.account_opened", first
    assert json.loads(envelope)["data"]["account_id"] == "demo"
