"""A body is JSON sent as JSON: one sent as another type is refused with 415, over real HTTP.

Found by sending the routes' JSON bodies as ``text/plain``, as a form, and with no Content-Type:
every one was decoded as JSON and acted on (an order placed, cash deposited, limits replaced),
so a page on another origin could place orders with a "simple" cross-origin POST that no
preflight stops. A route that takes no body is served without a Content-Type, as before.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.gateway.stack import BTC, Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNT = "/api/v1/accounts/typed"
ORDER = {"symbol": BTC, "side": "buy", "quantity": "1", "order_type": "limit", "limit_price": "9"}
BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", f"{ACCOUNT}/orders", ORDER),  # the placement lane
    ("POST", f"{ACCOUNT}/deposit", {"amount": "5"}),
    ("PUT", f"{ACCOUNT}/limits", {"max_position_pct": "40"}),
    ("PATCH", f"{ACCOUNT}/positions/{BTC}/exits", {"stop_loss": "90"}),
    ("POST", "/api/v1/accounts", {"account_id": "typed2", "name": "t", "initial_cash": "1"}),
    ("POST", "/api/v1/sessions", {"account_id": "typed", "strategy": "donchian_breakout"}),
]


async def _opened(stack: Stack) -> None:
    async with stack.client(stack.admin) as http:
        if (await http.get(ACCOUNT)).status_code == 404:
            await stack.account("typed")


async def _versions(http: httpx.AsyncClient) -> list[int]:
    activity = (await http.get(f"{ACCOUNT}/activity")).json()
    return [event["stream_version"] for event in activity["items"]]


@pytest.mark.parametrize(("method", "path", "body"), BODIES)
@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("text/plain", "as text/plain"),
        ("text/plain; charset=utf-8", "as text/plain"),
        ("application/x-www-form-urlencoded", "as application/x-www-form-urlencoded"),
        ("multipart/form-data; boundary=x", "as multipart/form-data"),
        ("application/jsonp", "as application/jsonp"),
        (None, "with no Content-Type"),
    ],
)
async def test_a_json_body_sent_as_another_type_is_refused_with_415(
    stack: Stack,
    method: str,
    path: str,
    body: dict[str, Any],
    content_type: str | None,
    named: str,
) -> None:
    await _opened(stack)
    headers = {"content-type": content_type} if content_type else {}
    async with stack.client(stack.admin) as http:
        before = await _versions(http)
        answer = await http.request(method, path, content=json.dumps(body), headers=headers)
        assert answer.status_code == 415, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {
            "code": "unsupported_media_type",
            "message": f"the body is sent {named}: application/json is expected",
            "field": None,
        }
        assert await _versions(http) == before  # nothing placed, deposited or replaced
        assert (await http.get("/api/v1/accounts/typed2")).status_code == 404


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;Charset=UTF-8",
        "application/merge-patch+json",
    ],
)
@pytest.mark.parametrize(
    ("path", "body"), [(f"{ACCOUNT}/orders", ORDER), (f"{ACCOUNT}/deposit", {"amount": "5"})]
)
async def test_a_json_body_sent_as_json_with_parameters_in_any_case_is_served(
    stack: Stack, path: str, body: dict[str, Any], content_type: str
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        answer = await http.post(
            path, content=json.dumps(body), headers={"content-type": content_type}
        )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("content_type", "body"), [(None, None), ("text/plain", None), ("text/plain", "why")]
)
@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        # Reached: the route asks the signals service, which this stack does not run
        # (test_sessions resumes a running session with no body and no Content-Type).
        ("POST", "/api/v1/sessions/nobody/resume", "service_unavailable"),
        ("DELETE", f"{ACCOUNT}/orders/nothing", "unknown_order"),
    ],
)
async def test_a_route_that_takes_no_body_is_served_with_any_content_type_or_none(
    stack: Stack, method: str, path: str, code: str, content_type: str | None, body: str | None
) -> None:
    await _opened(stack)
    headers = {"content-type": content_type} if content_type else {}
    async with stack.client(stack.admin) as http:
        answer = await http.request(method, path, content=body, headers=headers)
    assert answer.json()["code"] == code, answer.text


@pytest.mark.parametrize("path", [f"{ACCOUNT}/orders", f"{ACCOUNT}/deposit"])
async def test_an_empty_body_without_a_content_type_is_told_it_is_missing(
    stack: Stack, path: str
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        answer = await http.post(path)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == "the request has no body: a JSON object is expected"


async def test_the_openapi_document_names_415_on_every_route_that_takes_a_body(
    stack: Stack,
) -> None:
    async with stack.client() as anonymous:
        schema = (await anonymous.get("/schema/openapi.json")).json()
    bodies = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            documented = "415" in operation.get("responses", {})
            assert documented == ("requestBody" in operation), (method, path)
            if documented:
                bodies += 1
                error = operation["responses"]["415"]["content"]["application/json"]
                assert error["schema"]["$ref"].endswith("/ApiError"), (method, path)
                assert error["examples"], (method, path)
    assert bodies >= 15, bodies
