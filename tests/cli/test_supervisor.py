"""Supervisor: readiness by a READY line, prefixed output, and stopping everything together."""

from __future__ import annotations

import asyncio
import io
import re
import sys
import textwrap

import psutil

from papertape.cli.console import Console
from papertape.cli.supervisor import ServiceSpec, Supervisor

SERVE = textwrap.dedent("""
    import signal, sys, time
    def say(line):  # one write per line: a signal cannot split it
        sys.stdout.write(line + "\\n")
        sys.stdout.flush()
    def bye(*_):
        say("stopping on SIGTERM")
        sys.exit(0)
    signal.signal(signal.SIGTERM, bye)
    say("warming up")
    say("fills READY")
    while True:
        time.sleep(0.05)
""")
DIE_AFTER_READY = "import sys; print('READY', flush=True); sys.exit(3)"
DIE_AT_ONCE = "import sys; print('boom', flush=True); sys.exit(4)"
NEVER_READY = "import time; print('still loading', flush=True); time.sleep(60)"
STUBBORN = textwrap.dedent("""
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("READY", flush=True)
    while True:
        time.sleep(0.05)
""")


def _spec(name: str, code: str) -> ServiceSpec:
    return ServiceSpec(name, (sys.executable, "-c", code))


def _supervisor(*specs: ServiceSpec, **kwargs: float) -> tuple[Supervisor, io.StringIO]:
    out = io.StringIO()
    return Supervisor(specs, Console(out, color=False), **kwargs), out


async def test_ready_services_run_until_the_duration_ends_and_stop_on_sigterm() -> None:
    supervisor, out = _supervisor(_spec("execution", SERVE), _spec("portfolio", SERVE))
    assert await supervisor.run(duration=0.2, handle_signals=False) == 0
    lines = out.getvalue().splitlines()
    assert "execution   | fills READY" in lines
    assert "portfolio   | warming up" in lines
    assert "papertape   | READY (execution, portfolio)" in lines
    assert "execution   | stopping on SIGTERM" in lines
    assert "portfolio   | stopping on SIGTERM" in lines


async def test_a_service_that_dies_stops_the_others_and_is_named() -> None:
    supervisor, out = _supervisor(_spec("gateway", SERVE), _spec("signals", DIE_AFTER_READY))
    assert await supervisor.run(handle_signals=False) == 1
    text = out.getvalue()
    assert "service signals exited with code 3; stopping the others" in text
    assert "papertape   | stopping gateway" in text
    assert not any(_running(pid) for pid in _pids(text))


async def test_a_service_that_dies_before_it_is_ready_fails_the_run() -> None:
    supervisor, out = _supervisor(_spec("gateway", SERVE), _spec("marketdata", DIE_AT_ONCE))
    assert await supervisor.run(handle_signals=False) == 1
    text = out.getvalue()
    assert "marketdata  | boom" in text
    assert "service marketdata exited with code 4" in text
    assert "READY (" not in text


async def test_a_service_never_ready_fails_the_run_by_name() -> None:
    supervisor, out = _supervisor(_spec("notification", NEVER_READY), ready_timeout=0.5)
    assert await supervisor.run(handle_signals=False) == 1
    assert "not ready after 0.5s: notification" in out.getvalue()


async def test_a_service_ignoring_sigterm_is_killed_after_the_stop_timeout() -> None:
    supervisor, out = _supervisor(_spec("portfolio", STUBBORN), stop_timeout=0.3)
    assert await supervisor.run(duration=0.1, handle_signals=False) == 0
    assert "portfolio did not stop within 0.3s: killed" in out.getvalue()


async def test_a_stop_request_ends_the_run_cleanly() -> None:
    supervisor, out = _supervisor(_spec("execution", SERVE))
    running = asyncio.create_task(supervisor.run(handle_signals=False))
    await supervisor.ready.wait()
    supervisor.request_stop()
    assert await running == 0
    assert "execution   | stopping on SIGTERM" in out.getvalue()


async def test_no_child_outlives_the_supervisor() -> None:
    supervisor, out = _supervisor(_spec("execution", SERVE), _spec("signals", DIE_AFTER_READY))
    await supervisor.run(handle_signals=False)
    pids = _pids(out.getvalue())
    assert len(pids) == 2
    assert not any(_running(pid) for pid in pids)


async def test_with_no_services_the_supervisor_is_ready_at_once() -> None:
    supervisor, out = _supervisor()
    assert await supervisor.run(duration=0.05, handle_signals=False) == 0
    assert "papertape   | READY (no services)" in out.getvalue()


def test_console_colours_names_only_on_request() -> None:
    out = io.StringIO()
    Console(out, color=True).emit("gateway", "listening\n")
    assert out.getvalue() == "\x1b[36mgateway     |\x1b[0m listening\n"


def _pids(output: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", output)]


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
