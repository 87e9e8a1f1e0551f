"""The inbound consumers' lag and connection state on the shared NATS server, as /metrics
reads them: nothing before the connection is first used, then each bound consumer's count of
messages not yet delivered (JetStream num_pending), by subscribed subject."""

from __future__ import annotations

import orjson
import pytest

from adapters.nats.inbound import InboundOptions, NatsInbound
from adapters.nats.jetstream import JetStreamLink
from tests.integration.nats_support import StreamNames, connection, delete_stream, shared_nats_url

pytestmark = pytest.mark.nats


async def test_lag_counts_what_a_bound_consumer_has_not_delivered_yet() -> None:
    url, names = shared_nats_url(), StreamNames.fresh()
    inbound_stream = f"{names.stream}_IN"
    link = JetStreamLink(url, stream=names.stream, subjects=f"{names.prefix}campaign.>")
    inbound = NatsInbound(link, names.prefix, InboundOptions(stream=inbound_stream, fetch_wait=0.1))
    try:
        assert inbound.connected is None  # not opened yet: reported as nothing
        assert await inbound.lag() == {}

        consumer = next(c for c in inbound.consumers if c.subject.endswith("order.completed"))
        assert await consumer.fetch() == []  # binds the durable consumer
        assert inbound.connected is True
        assert await inbound.lag() == {"order.completed": 0}

        async with connection(url) as nc:
            js = nc.jetstream(timeout=5)
            for number in range(3):
                body = orjson.dumps({"event_id": f"e-{number}"})
                await js.publish(f"{names.prefix}order.completed", body)
        assert await inbound.lag() == {"order.completed": 3}

        await inbound.close()
        assert inbound.connected is None
    finally:
        await inbound.close()
        for stream in (names.stream, inbound_stream):
            await delete_stream(url, stream)
