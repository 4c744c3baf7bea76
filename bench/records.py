"""Benchmark records (the latest.json format) and targets checked against them."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil


def machine() -> str:
    """Where the numbers were measured."""
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.node()} {platform.machine()} {psutil.cpu_count()} cpu {memory:.0f} GiB,"
        f" Python {platform.python_version()}"
    )


@dataclass(frozen=True)
class Measurement:
    """One measured value, with the baseline it is compared with (if any)."""

    name: str
    value: float
    unit: str
    higher_is_better: bool = True
    baseline: str | None = None

    def record(self, values: dict[str, float], where: str, at: str) -> dict[str, Any]:
        """The JSON record of bench/results/latest.json."""
        baseline = None
        if self.baseline is not None:
            baseline = {"name": self.baseline, "value": values.get(self.baseline)}
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "baseline": baseline,
            "machine": where,
            "at": at,
        }


@dataclass(frozen=True)
class Target:
    """``name`` must reach ``factor`` times ``baseline`` (or ``factor`` itself without one);
    with ``at_most``, stay at or below it (a latency)."""

    name: str
    factor: float
    baseline: str | None = None
    at_most: bool = False

    def check(self, values: dict[str, float]) -> tuple[str, str, str, bool]:
        """(what, measured, wanted, met) for the table."""
        value = values.get(self.name)
        sign = "<=" if self.at_most else ">="

        def met(measured: float) -> bool:
            return measured <= self.factor if self.at_most else measured >= self.factor

        if self.baseline is None:
            wanted = f"{sign} {self.factor:,.0f}"
            measured = "missing" if value is None else f"{value:,.0f}"
            return self.name, measured, wanted, value is not None and met(value)
        base = values.get(self.baseline)
        what = f"{self.name} / {self.baseline}"
        if value is None or not base:
            return what, "missing", f"{sign} {self.factor}x", False
        ratio = value / base
        return what, f"{ratio:.2f}x", f"{sign} {self.factor}x", met(ratio)


def records(measurements: list[Measurement]) -> list[dict[str, Any]]:
    """Every measurement as a JSON record, stamped with the machine and the time."""
    values = {m.name: m.value for m in measurements}
    where, at = machine(), datetime.now(UTC).isoformat(timespec="seconds")
    return [m.record(values, where, at) for m in measurements]


def table(measurements: list[Measurement], targets: list[Target]) -> str:
    """Measured values, then every target with its measured ratio and whether it is met."""
    values = {m.name: m.value for m in measurements}
    lines = [f"{'measurement':<52} {'value':>14}  unit"]
    lines += [f"{m.name:<52} {m.value:>14,.1f}  {m.unit}" for m in measurements]
    lines += ["", f"{'target':<78} {'measured':>10} {'wanted':>10}  met"]
    for target in targets:
        what, measured, wanted, met = target.check(values)
        lines.append(f"{what:<78} {measured:>10} {wanted:>10}  {'yes' if met else 'NO'}")
    return "\n".join(lines)


def record(
    name: str, value: float, unit: str, higher: bool, base: str | None = None
) -> dict[str, Any]:
    """A bench record as ``bench/run.py`` takes it."""
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "higher_is_better": higher,
        "baseline": {"name": base} if base else None,
    }
