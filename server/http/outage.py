"""A tracking hit while the database is down: 503 with Retry-After, never a 500.

A mail provider retries an RFC 8058 one-click unsubscribe that answered 503, and a person who
clicked sees a page that says to try again instead of an error; the hit itself changed nothing,
so a retry takes effect once. An open pixel is the one exception: it still answers the image
(a broken image in a reader's email helps nobody), and that open is not counted, which the
`campaign_tracking_hits{outcome="unavailable"}` figure shows.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from domain.kernel.errors import DependencyUnavailableError
from server.http import pages

RETRY_AFTER_SECONDS = 60


def outage_middleware(
    pixel: Callable[[], web.Response], counted: Callable[[str], None]
) -> Middleware:
    """`pixel` answers an open during an outage; `counted(kind)` records the lost hit."""

    @web.middleware
    async def answer_outages(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except DependencyUnavailableError:
            kind = _kind(request)
            counted(kind)
            if kind == "open":
                return pixel()
            return web.Response(
                status=503,
                text=pages.unavailable_page(),
                content_type="text/html",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
            )

    return answer_outages


def _kind(request: web.Request) -> str:
    prefix = request.path[:3]
    if prefix == "/o/":
        return "open"
    if prefix == "/c/":
        return "click"
    if prefix == "/u/":
        return "unsubscribe" if request.method == "POST" else "unsubscribe_page"
    return "other"
