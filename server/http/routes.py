"""The HTTP routes (docs/tracking.md):

    GET  /o/{token}   open pixel: a 1x1 GIF, never cached
    GET  /c/{token}   click: 302 to the message's link at the token's position
    GET  /u/{token}   unsubscribe confirmation page (changes nothing: mail scanners fetch links)
    POST /u/{token}   RFC 8058 one-click unsubscribe: 200 once done (again: still 200)
    GET  /healthz     200 while the service is serving, else 503
    GET  /metrics     Prometheus text format

Every refused link (forged, altered, another purpose's, signed with a key no longer kept, or
naming a message that does not exist) is 404, the same answer for each, and changes nothing.
While the database is down, a hit answers 503 with Retry-After (an open still gets its image;
server/http/outage.py).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from aiohttp import web

from domain.events.tracking_hits import TrackingHits
from server.http import pages
from server.http.outage import outage_middleware
from server.observability.prometheus import CONTENT_TYPE, ServiceMetrics

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}
HTML = "text/html"


def tracking_app(
    hits: TrackingHits, metrics: ServiceMetrics, serving: Callable[[], bool]
) -> web.Application:
    counted = metrics.tracking_hits

    def count(kind: str, taken: bool) -> None:
        counted.labels(kind=kind, outcome="taken" if taken else "refused").inc()

    def not_found() -> web.Response:
        return web.Response(status=404, text=pages.not_found_page(), content_type=HTML)

    def pixel() -> web.Response:
        return web.Response(body=PIXEL, content_type="image/gif", headers=NO_CACHE)

    async def open_pixel(request: web.Request) -> web.Response:
        taken = await hits.open(request.match_info["token"])
        count("open", taken)
        if not taken:
            return not_found()
        return pixel()

    async def click(request: web.Request) -> web.StreamResponse:
        url = await hits.click(request.match_info["token"])
        count("click", url is not None)
        if url is None:
            return not_found()
        return web.Response(status=302, headers={"Location": url, **NO_CACHE})

    async def unsubscribe_page(request: web.Request) -> web.Response:
        message = await hits.unsubscribe_target(request.match_info["token"])
        count("unsubscribe_page", message is not None)
        if message is None:
            return not_found()
        page = pages.confirm_page(message.recipient)
        return web.Response(text=page, content_type=HTML, headers=NO_CACHE)

    async def unsubscribe(request: web.Request) -> web.Response:
        done = await hits.unsubscribe(request.match_info["token"])
        count("unsubscribe", done)
        if not done:
            return not_found()
        return web.Response(text=pages.done_page(), content_type=HTML, headers=NO_CACHE)

    async def healthz(_request: web.Request) -> web.Response:
        if serving():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="not serving\n")

    async def prometheus(_request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    def lost(kind: str) -> None:
        counted.labels(kind=kind, outcome="unavailable").inc()

    app = web.Application(
        client_max_size=64 * 1024,  # an RFC 8058 body is a few bytes
        middlewares=[outage_middleware(pixel, lost)],
    )
    app.add_routes(
        [
            web.get("/o/{token}", open_pixel, allow_head=False),
            web.get("/c/{token}", click, allow_head=False),
            web.get("/u/{token}", unsubscribe_page, allow_head=False),
            web.post("/u/{token}", unsubscribe),
            web.get("/healthz", healthz),
            web.get("/metrics", prometheus),
        ]
    )
    return app
