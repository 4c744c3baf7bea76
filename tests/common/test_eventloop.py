"""Every service runs on uvloop unless told otherwise, and a wrong loop name (or collector
setting) is refused."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import uvloop

from papertape.common import eventloop


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_a_service_runs_on_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERTAPE_EVENT_LOOP", raising=False)
    assert eventloop.run(_loop_type()) is uvloop.Loop


def test_the_standard_loop_is_chosen_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTAPE_EVENT_LOOP", "asyncio")
    assert not issubclass(eventloop.run(_loop_type()), uvloop.Loop)


def test_an_unknown_loop_is_refused_with_the_names_it_may_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAPERTAPE_EVENT_LOOP", "trio")
    coroutine = _loop_type()
    with pytest.raises(ValueError, match="uvloop, asyncio, not 'trio'"):
        eventloop.run(coroutine)
    coroutine.close()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PAPERTAPE_EVENT_LOOP", "trio", "PAPERTAPE_EVENT_LOOP must be one of uvloop, asyncio"),
        ("PAPERTAPE_GC_YOUNG_THRESHOLD", "many", "PAPERTAPE_GC_YOUNG_THRESHOLD must be a whole"),
    ],
)
def test_a_service_process_refuses_a_wrong_setting_before_it_starts(
    variable: str, value: str, message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "papertape.portfolio"],
        env={variable: value, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert message in done.stderr
