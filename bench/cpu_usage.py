"""The CPU each process on the machine spends, and the machine's own busy time: the services,
the bench's own clients, the NATS server, PostgreSQL (on a shared machine latencies and rates
depend on what else runs; CPU per order compares fairly)."""

from __future__ import annotations

import contextlib
from typing import Any

import psutil

from bench.records import record

SERVERS = ("nats-server", "postgres")
"""The servers whose CPU is counted beside the services' (by process name)."""


def cpu_used(
    services: dict[str, psutil.Process], since: dict[str, float] | None = None
) -> dict[str, float]:
    """CPU seconds each service, the bench's own clients (``clients``), the NATS server and
    PostgreSQL (every process of those names: the servers the services use, on this machine)
    and the whole machine (``machine``: every core's busy time) have used (since ``since``):
    what compares fairly on a busy machine, where latencies and rates depend on what else runs.
    A PostgreSQL backend that exits takes its time with it; the pools' stay for the run."""
    used = {name: sum(proc.cpu_times()[:2]) for name, proc in services.items()}
    used["clients"] = sum(psutil.Process().cpu_times()[:2])
    used.update(dict.fromkeys(SERVERS, 0.0))
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in SERVERS:
            with contextlib.suppress(psutil.Error):
                used[proc.info["name"]] += sum(proc.cpu_times()[:2])
    used["machine"] = busy_seconds(psutil.cpu_times())
    return {name: value - (since or {}).get(name, 0.0) for name, value in used.items()}


BUSY = ("user", "nice", "system", "irq", "softirq")
"""The fields of the machine's CPU times that are its own work: not idle or waiting, not
``steal`` (a virtual machine's host running something else), and not ``guest`` and
``guest_nice``, which Linux counts in ``user`` and ``nice`` already."""


def busy_seconds(times: Any) -> float:
    """The seconds every core of the machine has spent working (``psutil.cpu_times()``)."""
    return sum(getattr(times, field, 0.0) for field in BUSY)


def cpu_summed(total: dict[str, float], more: dict[str, float]) -> dict[str, float]:
    """CPU seconds per service, summed over rounds."""
    return {name: total.get(name, 0.0) + value for name, value in more.items()}


def machine_records(
    direct: dict[str, float], direct_s: float, http: dict[str, float], http_s: float, orders: int
) -> list[dict[str, Any]]:
    """Each way: the NATS server's, PostgreSQL's and the whole machine's CPU per order, and how
    busy the machine's cores were (a path slowed by a machine at its limit, or not)."""
    cores = psutil.cpu_count() or 1
    out: list[dict[str, Any]] = []
    for way, used, seconds in (("nats", direct, direct_s), ("gateway", http, http_s)):
        for name in (*SERVERS, "machine"):
            per_order = used[name] * 1000 / orders
            key = name.replace("-", "_")
            out.append(record(f"placement_{way}_{key}_cpu_ms_per_order", per_order, "ms", False))
        busy = used["machine"] / seconds / cores
        out.append(record(f"placement_{way}_machine_busy_fraction", busy, "ratio", False))
    return out
