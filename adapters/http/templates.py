"""The TemplateSource port over the creative service (isA_Creative), BR-CAM-008.1.

Templates change rarely and are read for every message of a run, so they are cached: fresh for
`ttl` seconds (served without a request), then refetched; a copy up to `max_stale` old stands in
when the service is down (with a warning). Concurrent misses for one template share a single
request, so a run starting on many workers does not stampede the service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from adapters.http.cache import TtlCache, stale_copy
from adapters.http.client import UpstreamClient
from adapters.http.errors import (
    TemplateNotFoundError,
    UpstreamBadResponseError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from domain.campaigns.model import ChannelContent
from domain.campaigns.templates import Template
from domain.kernel.channels import Channel
from domain.kernel.errors import shown

TEMPLATES_PATH = "/v1/templates/"
_TEXT_FIELDS = (
    "subject", "html_body", "text_body", "from_name", "reply_to", "body", "title", "action_url",
    "url",
)  # fmt: skip

Key = tuple[str, str]


class HttpTemplateSource:
    def __init__(
        self,
        client: UpstreamClient,
        *,
        ttl: float = 300.0,
        max_stale: float = 86_400.0,
        max_entries: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._cache: TtlCache[Key, Template] = TtlCache(
            ttl=max(ttl, max_stale), max_weight=max_entries, clock=clock
        )
        self._in_flight: dict[Key, asyncio.Future[Template]] = {}

    async def get(self, organization_id: str, template_id: str) -> Template:
        key = (organization_id, template_id)
        cached = self._cache.get(key)
        if cached is not None and self._cache.age(cached) < self._ttl:
            return cached.value
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._refresh(key))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(pending)  # one waiter cancelled must not cancel the others

    def _settled(self, key: Key, done: asyncio.Future[Template]) -> None:
        self._in_flight.pop(key, None)
        if not done.cancelled():
            done.exception()  # marks it retrieved even if every waiter was cancelled meanwhile

    async def _refresh(self, key: Key) -> Template:
        organization_id, template_id = key
        try:
            data = await self._client.get_json(
                TEMPLATES_PATH + quote(template_id, safe=""),
                params={"organization_id": organization_id},
            )
        except UpstreamRejectedError as exc:
            if exc.status != 404:
                raise
            self._cache.discard(key)  # deleted upstream: stop serving it
            raise TemplateNotFoundError(template_id) from exc
        except UpstreamUnavailableError as exc:
            return stale_copy(self._cache, key, exc, self._client.name, f"template {template_id}")
        template = to_template(template_id, data, upstream=self._client.name)
        self._cache.put(key, template)
        return template


def to_template(template_id: str, data: Any, *, upstream: str) -> Template:
    """Creative service JSON -> Template; the content keeps `template_id` as its provenance."""
    if not isinstance(data, Mapping):
        raise UpstreamBadResponseError(upstream, f"template {shown(template_id)}: not an object")
    try:
        channel = Channel(str(data.get("channel")))
    except ValueError as exc:
        raise UpstreamBadResponseError(
            upstream, f"template {shown(template_id)}: unknown channel {data.get('channel')!r}"
        ) from exc
    variables = data.get("variables") or []
    headers = data.get("headers") or {}
    if not isinstance(variables, list) or not isinstance(headers, Mapping):
        raise UpstreamBadResponseError(
            upstream, f"template {shown(template_id)}: variables must be a list, headers an object"
        )
    texts = {name: _text(data.get(name)) for name in _TEXT_FIELDS}
    version = data.get("version")
    return Template(
        template_id=template_id,
        content=ChannelContent(
            channel=channel,
            template_id=template_id,
            headers=tuple((str(k), str(v)) for k, v in headers.items()),
            **texts,
        ),
        variables=tuple(str(v) for v in variables),
        version="" if version is None else str(version),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
