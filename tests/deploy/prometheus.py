"""A real Prometheus for tests: deploy/'s configuration rendered for the test, run, queried.

The rendering keeps deploy/prometheus/prometheus.yml and rules.yml as they are and changes
only what names the machine: the services' file_sd folder becomes the test's (where each
service writes its target), the intervals shrink to a second, and the NATS job scrapes the
test's exporter of the test's server (``tests.deploy.nats_exporter``; left out when none).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))


def binary(name: str) -> str | None:
    """``prometheus`` or ``promtool`` on PATH (Debian's package puts both in /usr/bin)."""
    return shutil.which(name)


def render_config(targets: Path, folder: Path, nats_exporter: str | None = None) -> Path:
    """deploy/'s configuration, with the services found in ``targets`` and NATS's metrics at
    ``nats_exporter`` (``host:port``); returns its path."""
    config: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    jobs = [job for job in config["scrape_configs"] if job["job_name"] != "nats" or nats_exporter]
    for job in jobs:
        for static in job.get("static_configs", []):
            if job["job_name"] == "nats":
                static["targets"] = [nats_exporter]
        for sd in job.get("file_sd_configs", []):
            sd["files"] = [str(targets / "*.json")]
            sd["refresh_interval"] = "1s"
    config["scrape_configs"] = jobs
    shutil.copy(DEPLOY / "rules.yml", folder / "rules.yml")
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def panel_queries() -> Iterator[tuple[str, str, str]]:
    """(dashboard, panel, PromQL) of every target of every provisioned dashboard, with the
    dashboard variables at their "All" value."""
    for dashboard in DASHBOARDS:
        document = json.loads(dashboard.read_text())
        values = {
            f"${v['name']}": v.get("allValue") or ".*" for v in document["templating"]["list"]
        }
        for panel in document["panels"]:
            for target in panel.get("targets", []):
                expr = str(target["expr"])
                for name, value in values.items():
                    expr = expr.replace(name, value)
                yield document["title"], panel["title"], expr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    """A running Prometheus and its HTTP API."""

    def __init__(self, url: str, proc: asyncio.subprocess.Process) -> None:
        self.url = url
        self.proc = proc
        self.http = httpx.AsyncClient(base_url=url, timeout=10)

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` gives now (raises on a query Prometheus refuses)."""
        answer = (await self.http.get("/api/v1/query", params={"query": expr})).json()
        if answer["status"] != "success":
            raise AssertionError(f"{expr}: {answer.get('error')}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    async def targets(self) -> list[dict[str, Any]]:
        answer = (await self.http.get("/api/v1/targets")).json()
        active: list[dict[str, Any]] = answer["data"]["activeTargets"]
        return active


@contextlib.asynccontextmanager
async def running_prometheus(config: Path, folder: Path) -> AsyncIterator[Prometheus]:
    """Prometheus on a free loopback port with ``config``, stopped after."""
    executable = binary("prometheus")
    assert executable is not None
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        executable,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
    )
    prometheus = Prometheus(f"http://127.0.0.1:{port}", proc)
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if (await prometheus.http.get("/-/ready")).status_code == 200:
                    break
            if proc.returncode is not None:
                raise AssertionError(f"prometheus exited with {proc.returncode}")
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("prometheus never became ready")
        yield prometheus
    finally:
        await prometheus.http.aclose()
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
