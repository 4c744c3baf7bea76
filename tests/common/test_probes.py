"""/health and /ready on a service's metrics port: what Kubernetes and compose probe."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from papertape.common.runtime import ServiceRuntime
from papertape.common.settings import CommonSettings
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.common.telemetry.probes import Probes, start_probed_metrics_server
from papertape.contract.subjects import Subjects


def test_ready_answers_503_until_marked_ready_and_while_a_check_fails() -> None:
    connected = [True]
    probes = Probes([lambda: connected[0]])
    port = start_probed_metrics_server(ServiceMetrics("probe"), probes, 0)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=5) as http:
        assert http.get("/health").status_code == 200
        assert http.get("/ready").status_code == 503
        probes.mark_ready()
        assert http.get("/ready").status_code == 200
        connected[0] = False
        assert http.get("/ready").status_code == 503
        connected[0] = True
        probes.add_check(lambda: 1 / len(connected[1:]) > 0)  # raises: cannot tell
        assert http.get("/ready").status_code == 503
        probes.mark_stopping()
        assert http.get("/ready").status_code == 503
        assert http.get("/health").status_code == 200
        metrics = http.get("/metrics")
    assert metrics.status_code == 200
    assert 'papertape_up{service="probe"} 1.0' in metrics.text


@pytest.mark.integration
async def test_a_service_is_ready_after_it_said_ready_and_not_once_it_stops(
    nats_url: str, subjects: Subjects
) -> None:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=0)
    runtime = ServiceRuntime("probe", settings)
    started = asyncio.Event()
    release = asyncio.Event()

    async def on_ready() -> None:
        started.set()
        await release.wait()

    serving = asyncio.create_task(runtime.serve(on_ready=on_ready))
    await asyncio.wait_for(started.wait(), 20)
    assert runtime.metrics_port is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.metrics_port}") as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/ready")).status_code == 503  # subscribers up, READY not said
        release.set()
        for _ in range(100):
            if (await http.get("/ready")).status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert (await http.get("/ready")).status_code == 200
        runtime.stop()
        await asyncio.wait_for(serving, 20)
        assert (await http.get("/ready")).status_code == 503
        assert (await http.get("/health")).status_code == 200
