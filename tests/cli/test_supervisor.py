"""Supervisor: readiness by a READY line, prefixed output, and stopping everything together."""

from __future__ import annotations

import asyncio
import io
import re
import sys
import textwrap
from pathlib import Path

import psutil

from papertape.cli.console import Console
from papertape.cli.supervisor import NO_RESTARTS, RestartPolicy, ServiceSpec, Supervisor

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


def _supervisor(
    *specs: ServiceSpec, restarts: RestartPolicy = NO_RESTARTS, **kwargs: float
) -> tuple[Supervisor, io.StringIO]:
    out = io.StringIO()
    return Supervisor(specs, Console(out, color=False), restarts=restarts, **kwargs), out


FAST = RestartPolicy(backoff_s=(0.05, 0.1, 0.2), max_crashes=4, window_s=60.0)


def _crashing(times: int, counter: Path, *, after_ready: bool = False) -> str:
    """A service that crashes (exit 5) its first ``times`` runs, then serves like SERVE."""
    return (
        textwrap.dedent(f"""
        import pathlib, sys
        counter = pathlib.Path({str(counter)!r})
        runs = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(runs + 1))
        if runs < {times}:
            if {after_ready!r}:
                print("READY", flush=True)
            print(f"crash {{runs + 1}}", flush=True)
            sys.exit(5)
    """)
        + SERVE
    )


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
    assert "service signals exited with code 3; 1 crash(es) within 60s: giving up" in text
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


async def test_a_crashed_service_is_restarted_with_a_growing_pause(tmp_path: Path) -> None:
    flaky = _spec("portfolio", _crashing(2, tmp_path / "runs"))
    supervisor, out = _supervisor(_spec("gateway", SERVE), flaky, restarts=FAST)

    assert await supervisor.run(duration=0.3, handle_signals=False) == 0

    text = out.getvalue()
    assert "service portfolio exited with code 5; restarting in 0.05s (crash 1 of 4" in text
    assert "service portfolio exited with code 5; restarting in 0.1s (crash 2 of 4" in text
    assert "papertape   | READY (gateway, portfolio)" in text
    assert len(_pids(text)) == 4  # the gateway once, the portfolio three times
    assert not any(_running(pid) for pid in _pids(text))


async def test_a_service_that_crashes_after_it_was_ready_comes_back(tmp_path: Path) -> None:
    flaky = _spec("execution", _crashing(1, tmp_path / "runs", after_ready=True))
    supervisor, out = _supervisor(flaky, restarts=FAST)
    running = asyncio.create_task(supervisor.run(handle_signals=False))
    await supervisor.ready.wait()
    for _ in range(100):
        if out.getvalue().count("fills READY"):
            break
        await asyncio.sleep(0.05)
    supervisor.request_stop()

    assert await running == 0
    text = out.getvalue()
    assert "service execution exited with code 5; restarting in 0.05s" in text
    assert "execution   | fills READY" in text
    assert "execution   | stopping on SIGTERM" in text


async def test_a_crash_loop_gives_up_stops_the_others_and_names_the_service() -> None:
    supervisor, out = _supervisor(
        _spec("gateway", SERVE), _spec("marketdata", DIE_AT_ONCE), restarts=FAST
    )

    assert await supervisor.run(handle_signals=False) == 1

    text = out.getvalue()
    assert "service marketdata exited with code 4; 4 crash(es) within 60s: giving up" in text
    assert "papertape   | stopping gateway" in text
    assert text.count("started marketdata") == 4
    assert not any(_running(pid) for pid in _pids(text))


def test_the_pause_grows_and_then_repeats_its_last_step() -> None:
    policy = RestartPolicy()
    assert [policy.pause(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


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
