"""The Grafana provisioning: dashboards in Grafana's file format, on the provisioned datasource,
asking only for metrics the services really export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
METRIC = re.compile(r"\b(papertape_[a-z_]+?)(?:_bucket|_total|_count|_sum)?\b")
PANEL_TYPES = {"timeseries", "stat", "barchart", "gauge", "table", "bargauge", "text", "row"}
GRID_COLUMNS = 24


def exported_names() -> set[str]:
    """Metric names declared in the code (Counter/Gauge/Histogram first arguments), with
    FastStream's bus metrics and the families collected at scrape time (``GaugeMetricFamily``,
    or a table of ``(name, help)`` pairs such a collector builds them from)."""
    declared = re.compile(
        r"""(?:Counter|Gauge|Histogram|GaugeMetricFamily)\(\s*["'](papertape_[a-z_]+)["']"""
        r"""|\(\s*["'](papertape_[a-z_]+)["']\s*,\s*["']"""
    )
    names: set[str] = set()
    for folder in ("libs", "services"):
        for source in (ROOT / folder).rglob("*.py"):
            names.update(n for pair in declared.findall(source.read_text()) for n in pair if n)
    bus = ("received_processed_messages", "received_messages", "published_messages")
    names.update(f"papertape_bus_{name}" for name in bus)
    return {name.removesuffix("_total") for name in names}


def datasource_uid() -> str:
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    assert source["type"] == "prometheus"
    return str(source["uid"])


def _load(dashboard: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(dashboard.read_text())
    return document


def test_the_trading_and_platform_dashboards_are_provisioned_from_files() -> None:
    titles = {_load(d)["title"] for d in DASHBOARDS}
    assert titles == {"papertape — Trading", "papertape — Platform"}
    uids = [_load(d)["uid"] for d in DASHBOARDS]
    assert len(set(uids)) == len(uids)
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/papertape.yml").read_text())
    (files,) = provider["providers"]
    assert files["type"] == "file"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{files['options']['path']}:ro" in mounts


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d.stem for d in DASHBOARDS])
def test_the_dashboard_is_in_grafanas_provisioning_format(dashboard: Path) -> None:
    document = _load(dashboard)
    uid = datasource_uid()
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", document["uid"])
    assert isinstance(document["schemaVersion"], int)
    assert document["schemaVersion"] >= 36
    assert "id" not in document or document["id"] is None, "a provisioned dashboard has no id"
    assert set(document["time"]) == {"from", "to"}
    for variable in document.get("templating", {}).get("list", []):
        assert variable["datasource"]["uid"] == uid, variable["name"]
        assert variable["type"] in {"query", "custom", "interval", "constant"}
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in document["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        grid = panel["gridPos"]
        assert {"x", "y", "w", "h"} <= set(grid)
        assert all(isinstance(v, int) for v in grid.values())
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs, panel["title"]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target.get("datasource", panel["datasource"])["uid"] == uid


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d.stem for d in DASHBOARDS])
def test_every_panel_queries_exported_metrics(dashboard: Path) -> None:
    document = _load(dashboard)
    exported = exported_names()
    queries = [t["expr"] for p in document["panels"] for t in p.get("targets", [])]
    assert queries, "a dashboard without queries"
    wanted = {m.removesuffix("_total") for q in queries for m in METRIC.findall(q)}
    assert wanted, "no papertape metric in the panels"
    assert wanted <= exported, f"not exported by any service: {sorted(wanted - exported)}"
