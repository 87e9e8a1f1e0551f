"""A tracking hit while the database is down answers 503 with Retry-After (an open still gets
its image), counts the lost hit, and never answers 500."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from domain.kernel.errors import DependencyUnavailableError
from server.http.routes import tracking_app
from server.observability.prometheus import ServiceMetrics


class DatabaseDown:
    """TrackingHits whose every read and write meets a database outage."""

    async def _down(self, _token: str) -> Any:
        raise DependencyUnavailableError("the database is unavailable")

    open = click = unsubscribe_target = unsubscribe = _down


def lost_hits(metrics: ServiceMetrics) -> dict[str, float]:
    families = text_string_to_metric_families(metrics.exposition().decode())
    return {
        sample.labels["kind"]: sample.value
        for family in families
        if family.name == "campaign_tracking_hits"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["outcome"] == "unavailable"
    }


async def test_hits_during_a_database_outage_answer_503_with_retry_after() -> None:
    metrics = ServiceMetrics()
    app = tracking_app(DatabaseDown(), metrics, lambda: False)  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        opened = await client.get("/o/some-token")
        clicked = await client.get("/c/some-token", allow_redirects=False)
        page = await client.get("/u/some-token")
        unsubscribed = await client.post("/u/some-token")

        assert opened.status == 200
        assert opened.content_type == "image/gif"
        for answer in (clicked, page, unsubscribed):
            assert answer.status == 503
            assert answer.headers["Retry-After"] == "60"
            assert "try again" in await answer.text()
    assert lost_hits(metrics) == {
        "open": 1.0,
        "click": 1.0,
        "unsubscribe_page": 1.0,
        "unsubscribe": 1.0,
    }
