"""Schemathesis against /schema: with every service running, no request it makes gets a 5xx
and no response breaks the OpenAPI document (bounded to a minute of generation)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import pytest

from tests.gateway.stack import running_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCHEMATHESIS = Path(sys.executable).with_name("st")
BUDGET_S = 45


@pytest.mark.timeout(400)
async def test_schemathesis_finds_no_server_error_and_no_response_outside_the_schema(
    nats_url: str, postgres_server_url: str
) -> None:
    market = {"PAPERTAPE_SERVICES": "portfolio,marketdata", "PAPERTAPE_FEED": "synthetic"}
    services = ("portfolio", "execution", "marketdata", "signals", "notification", "gateway")
    with tempfile.TemporaryDirectory(prefix="papertape-schemathesis-") as folder:
        async with running_stack(
            nats_url, postgres_server_url, Path(folder), market, services
        ) as stack:
            await stack.account("fuzzed")
            run = await asyncio.create_subprocess_exec(
                str(SCHEMATHESIS),
                "run",
                f"{stack.url}/schema/openapi.json",
                "--header",
                f"Authorization: Bearer {stack.admin}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-time",
                str(BUDGET_S),
                "--max-examples",
                "25",
                "--seed",
                "1",
                "--no-color",
                cwd=folder,  # its cache of findings stays out of the work tree
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await asyncio.wait_for(run.communicate(), BUDGET_S * 4)
    report = output.decode(errors="replace")
    assert run.returncode == 0, report[-6000:]
    assert "Operations:       " in report
