"""The dashboard's routes: ``/`` sends a browser to ``/dashboard/``, which serves the static page.

The pages need no key to load (they hold no data); every call they make to ``/api/v1`` and
``/ws`` presents the key the user logged in with. A strict Content-Security-Policy keeps the page
to its own scripts and its own origin, so no data can ever run as code in it (inline styles are
allowed: the chart library sizes its canvases with them; inline scripts are not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Response, Router, get
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).parent / "static"
PATH = "/dashboard"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _secured(response: Response[Any]) -> Response[Any]:
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response


@get("/", include_in_schema=False, sync_to_thread=False)
def home() -> Redirect:
    """The dashboard is the gateway's home page."""
    return Redirect(f"{PATH}/")


def dashboard_routes() -> list[Router | Any]:
    """``/`` and the static dashboard under ``/dashboard``."""
    static = create_static_files_router(
        path=PATH,
        directories=[STATIC_DIR],
        html_mode=True,
        name="dashboard",
        include_in_schema=False,
        after_request=_secured,
    )
    return [home, static]
