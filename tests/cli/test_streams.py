"""``papertape streams declare`` creates every platform stream, and is safe to run twice."""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
import pytest

from papertape.cli.__main__ import main
from papertape.common.servers import delete_streams
from papertape.contract.subjects import Subjects

pytestmark = pytest.mark.integration


async def _stream_names(url: str, subjects: Subjects) -> set[str]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        names = set()
        for spec in subjects.streams():
            info = await js.stream_info(spec.name)
            names.add(info.config.name or "")
        return names
    finally:
        await nc.close()


async def _cleanup(url: str, subjects: Subjects) -> None:
    nc = await nats.connect(url)
    try:
        await delete_streams(nc, subjects.streams())
    finally:
        await nc.close()


def test_streams_declare_creates_every_stream_and_runs_twice(nats_url: str) -> None:
    subjects = Subjects(f"tcli{uuid.uuid4().hex[:10]}")
    args = ["streams", "declare", "--nats-url", nats_url, "--namespace", subjects.namespace]
    try:
        assert main(args) == 0
        assert main(args) == 0
        expected = {spec.name for spec in subjects.streams()}
        assert asyncio.run(_stream_names(nats_url, subjects)) == expected
    finally:
        asyncio.run(_cleanup(nats_url, subjects))


def test_streams_declare_with_json_names_the_streams(
    nats_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    subjects = Subjects(f"tcli{uuid.uuid4().hex[:10]}")
    args = ["streams", "declare", "--nats-url", nats_url, "--namespace", subjects.namespace]
    try:
        assert main([*args, "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert answer == {"streams": [spec.name for spec in subjects.streams()], "replicas": 1}
    finally:
        asyncio.run(_cleanup(nats_url, subjects))
