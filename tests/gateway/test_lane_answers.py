"""A lane sends a plain JSON response as Litestar would: the same status, headers and bytes;
anything a layer or the response adds leaves the sending to Litestar."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import Message

from papertape.contract.events.portfolio import CommandResult
from papertape.gateway.lane import plain_serializer, send_plain


class _Sent:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)


@post("/plain", status_code=201, sync_to_thread=False)
def _plain() -> Response[Any]:
    """A route no layer adds anything to (a ``Response``'s route leaves its media type unset)."""
    return _result()


@post("/headed", status_code=201, response_headers={"X-Extra": "1"}, sync_to_thread=False)
def _headed() -> None:
    """A route whose layer adds a response header."""


def _handler(app: Litestar, path: str) -> HTTPRouteHandler:
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path == path:
            handler = route.route_handlers[0]
            assert isinstance(handler, HTTPRouteHandler)
            return handler
    raise LookupError(path)


def _request(app: Litestar) -> Request[Any, Any, Any]:
    scope: Any = {"type": "http", "app": app, "litestar_app": app, "headers": [], "state": {}}
    return Request(scope)


def _result() -> Response[Any]:
    content = {
        "result": CommandResult(account_id="a1", version=3, events=[]),
        "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "price": Decimal("101.25"),
    }
    return Response(content, status_code=201, headers={"Idempotent-Replayed": "false"})


async def test_a_plain_response_is_sent_as_litestar_sends_it() -> None:
    app = Litestar([_plain, _headed])
    handler = _handler(app, "/plain")
    serializer = plain_serializer(handler)
    assert serializer is not None
    ours, theirs = _Sent(), _Sent()
    assert await send_plain(_result(), serializer, ours)
    asgi = await handler.to_response(app, _result(), _request(app))
    await asgi({"type": "http"}, _never, theirs)  # type: ignore[arg-type]
    assert ours.messages == theirs.messages
    assert ours.messages[0] == {**ours.messages[0], "status": 201}


async def test_what_a_layer_or_the_response_adds_goes_through_litestar() -> None:
    app = Litestar([_plain, _headed])
    assert _handler(app, "/plain").media_type == ""
    assert plain_serializer(_handler(app, "/headed")) is None
    serializer = plain_serializer(_handler(app, "/plain"))
    assert serializer is not None
    sent = _Sent()
    with_cookie = _result()
    with_cookie.set_cookie("session", "x")
    assert not await send_plain(with_cookie, serializer, sent)
    assert not await send_plain(Response(b"raw", status_code=200), serializer, sent)
    assert not await send_plain(Response(None, status_code=204), serializer, sent)
    assert sent.messages == []


async def _never() -> Message:
    raise AssertionError("nothing is received")
