"""`campaign-service watch CAMPAIGN_ID`: a live terminal dashboard that is only a client of the
public API, as any dashboard author's would be: GetCampaign for the names, StreamCampaignMetrics
(broken down by variant) for the counters, ListExecutions for the audience, and
GetExperimentResults for intervals and significance when the service answers it.

It ends by itself with the stream (the final snapshot of a completed or cancelled campaign) and
on Ctrl-C; either way the terminal is left with the last picture and the exit code is 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass
from datetime import timedelta

import grpc
from campaign.v1 import campaign_service_pb2 as svc
from campaign.v1 import campaign_service_pb2_grpc as svc_grpc
from campaign.v1 import metrics_pb2 as mpb
from campaign.v1 import metrics_service_pb2 as msvc
from campaign.v1 import metrics_service_pb2_grpc as msvc_grpc
from google.protobuf import duration_pb2
from rich.console import Console
from rich.live import Live

from server.dashboard.render import render
from server.dashboard.state import DashboardState

SIDE_REFRESH_SECONDS = 5.0  # how often the audience and the experiment results are asked again
CALL_TIMEOUT = 10.0
# Answers that mean "no experiment results for this campaign": not built, no A/B test, ...
NO_RESULTS = frozenset(
    {
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
    }
)


@dataclass(frozen=True)
class WatchOptions:
    address: str
    token: str
    campaign_id: str
    min_interval: float = 1.0


class SideFacts:
    """The figures the stream does not carry, asked for now and then (not on every update)."""

    def __init__(self, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> None:
        self._campaigns = svc_grpc.CampaignServiceStub(channel)
        self._metrics = msvc_grpc.MetricsServiceStub(channel)
        self._metadata = metadata
        self._asked_at: float | None = None
        self.experiment_answers = True

    async def describe(self, state: DashboardState) -> None:
        campaign = (
            await self._campaigns.GetCampaign(
                svc.GetCampaignRequest(campaign_id=state.campaign_id),
                metadata=self._metadata,
                timeout=CALL_TIMEOUT,
            )
        ).campaign
        state.name = campaign.name
        state.variant_names = {v.variant_id: v.name for v in campaign.variants}
        # One variant is no A/B test: rates only.
        self.experiment_answers = len(campaign.variants) > 1

    async def refresh(self, state: DashboardState, now: float, *, force: bool = False) -> None:
        if not force and self._asked_at is not None and now - self._asked_at < SIDE_REFRESH_SECONDS:
            return
        self._asked_at = now
        with contextlib.suppress(grpc.aio.AioRpcError):  # a figure missing, not a failed watch
            runs = await self._campaigns.ListExecutions(
                svc.ListExecutionsRequest(campaign_id=state.campaign_id, page_size=100),
                metadata=self._metadata,
                timeout=CALL_TIMEOUT,
            )
            state.audience = sum(e.audience_size for e in runs.executions)
            state.to_send = sum(
                max(0, e.audience_size - e.holdout_size - e.suppressed_count)
                for e in runs.executions
            )
        if self.experiment_answers:
            try:
                state.experiment = await self._metrics.GetExperimentResults(
                    msvc.GetExperimentResultsRequest(campaign_id=state.campaign_id),
                    metadata=self._metadata,
                    timeout=CALL_TIMEOUT,
                )
            except grpc.aio.AioRpcError as error:
                if error.code() in NO_RESULTS:
                    self.experiment_answers = False  # rates only, and stop asking
                    state.experiment = None


def interval(seconds: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromTimedelta(timedelta(seconds=seconds))
    return out


async def follow(options: WatchOptions, console: Console) -> DashboardState:
    """Draw the dashboard until the stream ends; the last state. AioRpcError when a call fails
    (the campaign is not found, the token is refused, the server is unreachable)."""
    metadata = (("authorization", f"Bearer {options.token}"),)
    loop = asyncio.get_running_loop()
    state = DashboardState(options.campaign_id)
    async with grpc.aio.insecure_channel(options.address) as channel:
        side = SideFacts(channel, metadata)
        await side.describe(state)
        request = msvc.StreamCampaignMetricsRequest(
            campaign_id=options.campaign_id,
            min_interval=interval(options.min_interval),
            breakdowns=[mpb.BREAKDOWN_VARIANT],
        )
        stream = msvc_grpc.MetricsServiceStub(channel).StreamCampaignMetrics(
            request, metadata=metadata
        )
        with Live(render(state), console=console, refresh_per_second=4) as live:
            async for update in stream:
                state.apply(update, loop.time())
                await side.refresh(state, loop.time(), force=update.final)
                live.update(render(state), refresh=True)
    return state


async def watch(options: WatchOptions, console: Console) -> int:
    """The `watch` command: 0 at the campaign's end or on Ctrl-C, 1 when a call failed."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        state = await follow(options, console)
    except asyncio.CancelledError:
        console.print("stopped (Ctrl-C); the campaign goes on")
        return 0
    except grpc.aio.AioRpcError as error:
        console.print(f"error: {error.code().name}: {error.details()}", style="red")
        return 1
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    if not state.final:
        console.print("the stream ended before the campaign did (server shutting down?)")
        return 1
    return 0
