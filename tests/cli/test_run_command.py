"""``papertape run``: embedded servers, migrations, streams; stopped cleanly, twice in a folder."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import msgspec
import nats
import pytest
from nats.errors import NoRespondersError

from papertape.cli.__main__ import build_parser
from papertape.cli.run import installed_services, service_specs
from papertape.common.bus.permissions import BusLogin
from papertape.common.servers import ServerUrls
from papertape.common.servers.nats_auth import NatsUsers
from papertape.common.servers.processes import accepts_connections
from papertape.contract import codec
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.market import GetLatestQuote
from papertape.contract.ids import Actor, Symbol
from papertape.contract.subjects import Subjects

SERVERS_LINE = re.compile(r"servers nats=(\S+) database=(\S+)")


def test_installed_services_are_the_runnable_packages() -> None:
    assert installed_services(["cli", "no_such_service"]) == ["cli"]


def test_services_are_told_where_the_servers_are() -> None:
    urls = ServerUrls("nats://127.0.0.1:1", "postgresql://h:2/x", "environment", "environment")
    (spec,) = service_specs(["execution"], urls, "postgresql://h:2/papertape")
    assert spec.argv == (sys.executable, "-m", "papertape.execution")
    assert spec.env["NATS_URL"] == spec.env["PAPERTAPE_NATS_URL"] == "nats://127.0.0.1:1"
    assert spec.env["DATABASE_URL"] == "postgresql://h:2/papertape"


def test_the_embedded_run_allows_webhooks_to_this_machine_unless_the_environment_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = ServerUrls("nats://127.0.0.1:1", "postgresql://h:2/x", "environment", "environment")
    monkeypatch.delenv("PAPERTAPE_ALLOW_PRIVATE_TARGETS", raising=False)
    (spec,) = service_specs(["notification"], urls, "postgresql://h:2/papertape")
    assert spec.env["PAPERTAPE_ALLOW_PRIVATE_TARGETS"] == "true"  # the service's default: off
    monkeypatch.setenv("PAPERTAPE_ALLOW_PRIVATE_TARGETS", "false")
    (spec,) = service_specs(["notification"], urls, "postgresql://h:2/papertape")
    assert spec.env["PAPERTAPE_ALLOW_PRIVATE_TARGETS"] == "false"


def test_services_write_their_scrape_targets_into_the_data_dir(tmp_path: Path) -> None:
    urls = ServerUrls("nats://127.0.0.1:1", "postgresql://h:2/x", "environment", "environment")
    specs = service_specs(["execution", "gateway"], urls, "postgresql://h:2/x", tmp_path)
    folders = {spec.env["PAPERTAPE_METRICS_TARGETS_DIR"] for spec in specs}
    assert folders == {str((tmp_path / "prometheus").absolute())}


def test_each_service_logs_in_to_a_secured_nats_as_itself() -> None:
    users = NatsUsers.generate()
    urls = ServerUrls("nats://127.0.0.1:1", "postgresql://h/x", "embedded", "embedded", users)
    specs = service_specs(["execution", "portfolio", "someone_new"], urls, "postgresql://h/x")
    logins = [urlsplit(spec.env["NATS_URL"]).username for spec in specs]
    assert logins == ["execution", "portfolio", "client"]
    assert urlsplit(specs[0].env["NATS_URL"]).password == users.passwords[BusLogin.EXECUTION]


def test_run_accepts_a_choice_of_services_or_none() -> None:
    parser = build_parser()
    assert parser.parse_args(["run", "--service", "portfolio"]).services == ["portfolio"]
    assert parser.parse_args(["run", "--no-services"]).services == []
    assert parser.parse_args(["run"]).services is None


def test_a_service_is_named_by_its_module_or_its_folder() -> None:
    args = build_parser().parse_args(["run", "--service", "market-data", "--service", "execution"])
    assert args.services == ["marketdata", "execution"]


@pytest.mark.parametrize("name", ["nope", "notifications"])
def test_run_refuses_a_service_that_is_not_installed_and_lists_those_that_are(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["run", "--service", name])

    assert exited.value.code == 2
    installed = ", ".join(installed_services())
    assert f"unknown service {name}; services: {installed}\n" in capsys.readouterr().err
    assert installed == "portfolio, execution, marketdata, signals, notification, gateway"


class _Run:
    """A ``papertape run --no-services`` child process in ``folder``."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, folder: Path, *options: str) -> _Run:
        env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "DATABASE_URL"))}
        # Free ports: a `make run` beside the tests holds the defaults (8000, 9101-9106).
        env |= {"PAPERTAPE_METRICS_PORT": "0", "PAPERTAPE_HTTP_PORT": "0"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "papertape.cli",
            "run",
            *(options or ("--no-services",)),
            cwd=folder,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(proc)

    async def until(self, word: str) -> str:
        assert self.proc.stdout is not None
        while line := (await self.proc.stdout.readline()).decode():
            self.lines.append(line)
            if word in line:
                return line
        raise AssertionError(f"exited before {word!r}:\n{''.join(self.lines)}")

    async def stop(self, sig: signal.Signals) -> int:
        self.proc.send_signal(sig)
        assert self.proc.stdout is not None
        rest = await asyncio.wait_for(self.proc.stdout.read(), 60)
        self.lines.append(rest.decode())
        return await self.proc.wait()


async def _started(folder: Path, *options: str) -> tuple[_Run, str, str]:
    """The run, the client's NATS URL (from urls.json: the console shows no password) and
    the database's."""
    run = await _Run.start(folder, *options)
    match = SERVERS_LINE.search(await run.until("servers nats="))
    assert match is not None
    assert urlsplit(match[1]).password in (None, "***"), "a NATS password was printed"
    await run.until("READY")
    urls = json.loads((folder / ".papertape" / "urls.json").read_text())
    assert urlsplit(urls["nats_url"]).username in (None, "client")
    return run, urls["nats_url"], match[2]


@pytest.mark.integration
@pytest.mark.slow
async def test_papertape_run_twice_in_one_folder_keeps_the_data_and_stops_cleanly(
    server_data_dir: Path,
) -> None:
    first, nats_url, database_url = await _started(server_data_dir)
    assert database_url.endswith("/papertape")
    conn = await asyncpg.connect(database_url)
    await conn.execute("CREATE TABLE demo_accounts (id text)")
    await conn.execute("INSERT INTO demo_accounts VALUES ('demo-1')")
    await conn.close()
    nc = await nats.connect(nats_url)
    assert (await nc.jetstream().stream_info("ACCOUNTS")).config.name == "ACCOUNTS"
    await nc.close()
    assert await first.stop(signal.SIGINT) == 0, "".join(first.lines)
    assert "papertape   | stopped\n" in first.lines[-1]
    assert not accepts_connections("127.0.0.1", int(nats_url.rsplit(":", 1)[1]))

    second, _, database_url = await _started(server_data_dir)
    conn = await asyncpg.connect(database_url)
    assert await conn.fetchval("SELECT id FROM demo_accounts") == "demo-1"
    await conn.close()
    assert await second.stop(signal.SIGTERM) == 0, "".join(second.lines)
    db_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    assert not accepts_connections("127.0.0.1", db_port)
    assert (server_data_dir / ".papertape" / "postgres" / "data" / "PG_VERSION").is_file()


@pytest.mark.integration
@pytest.mark.slow
def test_papertape_run_with_a_duration_stops_by_itself(server_data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "DATABASE_URL"))}
    done = subprocess.run(
        [sys.executable, "-m", "papertape.cli", "run", "--no-services", "--duration", "0.2"],
        cwd=server_data_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "READY (no services)" in done.stdout


@pytest.mark.integration
@pytest.mark.slow
async def test_a_service_killed_under_papertape_run_comes_back_and_answers(
    server_data_dir: Path,
) -> None:
    run, nats_url, _ = await _started(server_data_dir, "--service", "marketdata")
    try:
        started = await run.until("READY (marketdata)")
        pid = re.search(r"started marketdata \(pid (\d+)\)", "".join(run.lines))
        assert pid is not None, started
        os.killpg(int(pid[1]), signal.SIGKILL)  # the child leads its own process group

        restarting = await asyncio.wait_for(run.until("restarting in"), 30)
        await asyncio.wait_for(run.until("READY market-data"), 60)
        nc = await nats.connect(nats_url)
        try:
            query = Request(
                request_id="r-1",
                issued_at=datetime.now(UTC),
                actor=Actor("test"),
                body=GetLatestQuote(symbol=Symbol("NOSUCH")),
            )
            subject = Subjects("").marketdata_query("get_latest_quote")
            for _ in range(50):  # the server may not have seen the new subscription yet
                try:
                    answer = await nc.request(subject, codec.encode(query), timeout=10)
                    break
                except NoRespondersError:
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()
    finally:
        code = await run.stop(signal.SIGTERM)
    assert f"exited with code -{int(signal.SIGKILL)}; restarting in 0.5s" in restarting
    assert msgspec.json.decode(answer.data, type=Reply[object]).error_code == "no_market_price"
    assert code == 0, "".join(run.lines)
