"""The Grafana dashboards ask only for metrics the services really export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
METRIC = re.compile(r"\b(papertape_[a-z_]+?)(?:_bucket|_total|_count|_sum)?\b")


def exported_names() -> set[str]:
    """Metric names declared in the code (Counter/Gauge/Histogram first arguments)."""
    declared = re.compile(r"""(?:Counter|Gauge|Histogram)\(\s*["'](papertape_[a-z_]+)["']""")
    names: set[str] = set()
    for folder in ("libs", "services"):
        for source in (ROOT / folder).rglob("*.py"):
            names.update(declared.findall(source.read_text()))
    return {name.removesuffix("_total") for name in names}


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d.stem for d in DASHBOARDS])
def test_every_panel_queries_exported_metrics(dashboard: Path) -> None:
    document = json.loads(dashboard.read_text())
    exported = exported_names()
    queries = [t["expr"] for p in document["panels"] for t in p.get("targets", [])]
    assert queries, "a dashboard without queries"
    wanted = {m.removesuffix("_total") for q in queries for m in METRIC.findall(q)}
    assert wanted, "no papertape metric in the panels"
    assert wanted <= exported, f"not exported by any service: {sorted(wanted - exported)}"
