"""StreamCampaignMetrics through the whole gRPC stack in one process (the embedded application:
interceptors, authentication, the servicer and the hub): 300 concurrent streams all end with the
same final snapshot, 300 streams their clients cancel leave the process's asyncio task count
where it was, and stopping the server ends its streams at once (UNAVAILABLE) instead of waiting
out the grace period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import campaign_service_pb2_grpc as svc_grpc
from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc
from google.protobuf import duration_pb2

from server.composition import Application, build_application
from server.settings import Settings
from server.workers.loop import PAUSE
from tests.e2e.helpers import bearer, mint_token, new_org
from tests.support.server_process import TEST_SECRET
from tests.support.waiting import until

SUBSCRIBERS = 300


def settings(data_dir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        grpc_address="127.0.0.1:0",
        jwt_secret=TEST_SECRET,
        executor_enabled=False,  # the campaigns here never run; nothing else to wait for
    )


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Application]:
    application = await build_application(settings(tmp_path))
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


async def draft(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> str:
    reply = await svc_grpc.CampaignServiceStub(channel).CreateCampaign(
        svc.CreateCampaignRequest(name="Watched", campaign_type=pb.CAMPAIGN_TYPE_SCHEDULED),
        metadata=metadata,
    )
    return str(reply.campaign.campaign_id)


def request(campaign_id: str) -> msvc.StreamCampaignMetricsRequest:
    return msvc.StreamCampaignMetricsRequest(
        campaign_id=campaign_id, min_interval=duration_pb2.Duration(nanos=100_000_000)
    )


async def test_300_streams_all_receive_the_same_final_snapshot(app: Application) -> None:
    metadata = bearer(mint_token(new_org()))
    async with grpc.aio.insecure_channel(app.address) as channel:
        campaign_id = await draft(channel, metadata)
        stub = msvc_grpc.MetricsServiceStub(channel)

        served: list[bool] = []

        async def follow() -> list[msvc.StreamCampaignMetricsResponse]:
            updates = []
            async for update in stub.StreamCampaignMetrics(request(campaign_id), metadata=metadata):
                updates.append(update)
                served.append(update.snapshot)
            return updates

        followers = [asyncio.create_task(follow()) for _ in range(SUBSCRIBERS)]
        live = app.services.live_metrics
        await until(lambda: len(served) == SUBSCRIBERS, within=20.0, what="every snapshot")
        assert (live.streams, live.watchers) == (SUBSCRIBERS, 1)
        await svc_grpc.CampaignServiceStub(channel).CancelCampaign(
            svc.CancelCampaignRequest(campaign_id=campaign_id, reason="seen enough"),
            metadata=metadata,
        )
        streams = await asyncio.gather(*followers)

    finals = {stream[-1].SerializeToString(deterministic=True) for stream in streams}
    assert len(finals) == 1
    final = streams[0][-1]
    assert final.final
    assert final.campaign_status == pb.CAMPAIGN_STATUS_CANCELLED
    assert all(len(stream) == 2 and stream[0].snapshot for stream in streams)


async def test_streams_cancelled_by_their_clients_leave_no_task_behind(app: Application) -> None:
    metadata = bearer(mint_token(new_org()))
    async with grpc.aio.insecure_channel(app.address) as channel:
        campaign_id = await draft(channel, metadata)
        stub = msvc_grpc.MetricsServiceStub(channel)
        await asyncio.sleep(0)
        baseline = tasks_but_worker_pauses()

        calls = [
            stub.StreamCampaignMetrics(request(campaign_id), metadata=metadata)
            for _ in range(SUBSCRIBERS)
        ]
        firsts = await asyncio.gather(*(call.read() for call in calls))
        live = app.services.live_metrics
        assert all(first.snapshot for first in firsts)
        assert (live.streams, live.watchers) == (SUBSCRIBERS, 1)
        for call in calls:
            call.cancel()

        await until(lambda: live.streams == 0, within=10.0, what="every stream closed")
        assert live.watchers == 0
        await until(
            lambda: tasks_but_worker_pauses() <= baseline,
            within=10.0,
            what=f"the task count back to {baseline}",
        )


def tasks_but_worker_pauses() -> int:
    """The process's tasks, less those a background worker waits on between its steps: whether
    the outbox relay happens to be in a step or in a pause when the baseline is taken is not the
    streams' doing."""
    return sum(1 for t in asyncio.all_tasks() if not t.get_name().endswith(PAUSE))


async def test_stopping_the_server_ends_its_streams_as_unavailable_at_once(tmp_path: Path) -> None:
    application = await build_application(settings(tmp_path))
    await application.start()
    metadata = bearer(mint_token(new_org()))
    async with grpc.aio.insecure_channel(application.address) as channel:
        campaign_id = await draft(channel, metadata)
        call = msvc_grpc.MetricsServiceStub(channel).StreamCampaignMetrics(
            request(campaign_id), metadata=metadata
        )
        assert (await call.read()).snapshot
        loop = asyncio.get_running_loop()
        started = loop.time()
        await application.stop()
        stopped_in = loop.time() - started
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()

    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert stopped_in < application.settings.shutdown_grace / 2
