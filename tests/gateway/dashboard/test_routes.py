"""The dashboard's routes: the home page redirects, the static files are served with a strict
policy, and the page's scripts never turn data into markup."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from papertape.gateway.dashboard import vendor
from papertape.gateway.dashboard.routes import STATIC_DIR, dashboard_routes


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(app=Litestar(route_handlers=dashboard_routes())) as test_client:
        yield test_client


def test_the_home_page_sends_a_browser_to_the_dashboard(client: TestClient[Litestar]) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code in (301, 302, 307, 308)
    assert answer.headers["location"] == "/dashboard/"


def test_the_dashboard_is_served_with_its_banner_and_a_policy_that_allows_only_its_own_scripts(
    client: TestClient[Litestar],
) -> None:
    answer = client.get("/dashboard/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "PAPER TRADING" in answer.text
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_scripts_are_served_as_javascript(client: TestClient[Litestar]) -> None:
    for name in ("main.js", "chart.js", "socket.js"):
        answer = client.get(f"/dashboard/js/{name}")
        assert answer.status_code == 200, name
        assert "javascript" in answer.headers["content-type"], name


def test_a_path_outside_the_static_folder_is_not_served(client: TestClient[Litestar]) -> None:
    assert client.get("/dashboard/../routes.py").status_code == 404
    assert client.get("/dashboard/%2e%2e/routes.py").status_code == 404


def test_the_chart_library_is_served_from_where_setup_put_it(
    client: TestClient[Litestar],
) -> None:
    if not vendor.installed():
        pytest.skip("the chart library is not fetched here: `make setup` fetches it")
    answer = client.get(f"/dashboard/vendor/{vendor.BUILD}")
    assert answer.status_code == 200
    assert b"createChart" in answer.content


MARKUP_SINKS = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|eval\(")


def test_no_script_of_the_page_writes_markup_from_a_string() -> None:
    """A symbol, a reason or a strategy's reasoning is text: the page builds nodes (dom.el)."""
    scripts = sorted((STATIC_DIR / "js").glob("*.js"))
    assert len(scripts) >= 8
    offenders = {
        path.name: MARKUP_SINKS.findall(path.read_text())
        for path in scripts
        if MARKUP_SINKS.search(path.read_text())
    }
    assert offenders == {}
