"""`campaign-service watch`'s dashboard (server/dashboard): the figures it derives from a stream
of updates (send rate, ETA) and the picture of a completed A/B campaign, rendered to a recording
console and read back as text."""

from __future__ import annotations

from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import metrics_pb2 as mpb
from campaign.v1 import metrics_service_pb2 as msvc
from rich.console import Console

from server.dashboard.render import render
from server.dashboard.state import DashboardState

RUNNING, COMPLETED = pb.CAMPAIGN_STATUS_RUNNING, pb.CAMPAIGN_STATUS_COMPLETED


def variant_row(
    key: str, sent: int, delivered: int, opened: int, converted: int
) -> mpb.BreakdownRow:
    return mpb.BreakdownRow(
        breakdown=mpb.BREAKDOWN_VARIANT,
        key=key,
        totals=mpb.MetricTotals(sent=sent, delivered=delivered, opened=opened, converted=converted),
        rates=mpb.MetricRates(
            open_rate=opened / delivered if delivered else 0.0,
            conversion_rate=converted / delivered if delivered else 0.0,
        ),
    )


def update(status: int, sent: int, **fields: object) -> msvc.StreamCampaignMetricsResponse:
    return msvc.StreamCampaignMetricsResponse(
        totals=mpb.MetricTotals(queued=1_000, sent=sent),
        campaign_status=status,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


def ab_state() -> DashboardState:
    state = DashboardState("cmp-1", name="Spring sale", audience=1_050, to_send=1_000)
    state.variant_names = {"v-a": "Control", "v-b": "Free shipping"}
    return state


def screen(state: DashboardState) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(render(state))
    return console.export_text()


def test_the_send_rate_and_eta_come_from_successive_updates() -> None:
    state = ab_state()
    state.apply(update(RUNNING, 0, snapshot=True), at=100.0)
    assert state.send_rate() is None  # one update says nothing about a rate
    state.apply(update(RUNNING, 300), at=102.0)
    state.apply(update(RUNNING, 600), at=104.0)

    assert state.send_rate() == 150.0
    assert state.eta_seconds() == (1_000 - 600) / 150.0
    text = screen(state)
    assert "RUNNING" in text
    assert "sending 150.0 msg/s" in text
    assert "ETA 0m03s" in text


def test_a_completed_ab_campaign_shows_its_funnel_variants_intervals_and_verdict() -> None:
    state = ab_state()
    state.apply(update(RUNNING, 0, snapshot=True), at=0.0)
    final = msvc.StreamCampaignMetricsResponse(
        totals=mpb.MetricTotals(
            queued=1_000,
            sent=1_000,
            delivered=950,
            opened=380,
            clicked=95,
            converted=57,
            bounced=50,
            holdout=50,
            conversion_value=1234.5,
        ),
        rows=[variant_row("v-a", 500, 475, 171, 19), variant_row("v-b", 500, 475, 209, 38)],
        final=True,
        campaign_status=COMPLETED,
    )
    state.apply(final, at=30.0)
    state.experiment = msvc.GetExperimentResultsResponse(
        variants=[
            mpb.VariantResult(
                variant_id="v-a", is_control=True, rate=0.04, ci_lower=0.0257, ci_upper=0.0617
            ),
            mpb.VariantResult(
                variant_id="v-b", rate=0.08, ci_lower=0.0588, ci_upper=0.1079, lift=1.0
            ),
        ],
        is_significant=True,
        p_value=0.0089,
        confidence=0.95,
        winner_variant_id="v-b",
        metric=pb.EXPERIMENT_METRIC_CONVERSION_RATE,
    )

    text = screen(state)

    assert "COMPLETED" in text
    assert "final snapshot" in text
    assert "ETA" not in text
    assert "msg/s" not in text
    lines = {line.split()[1]: line for line in text.splitlines() if len(line.split()) > 2}
    assert "1,050" in lines["audience"]
    assert "1,000" in lines["sent"]
    assert "95.2%" in lines["sent"]  # of the audience
    assert "950" in lines["delivered"]
    assert "380" in lines["opened"]
    assert "95" in lines["clicked"]
    assert "57" in lines["converted"]
    assert "█" in lines["sent"]
    assert "conversion value 1,234.50" in text
    assert "Control (control)" in text
    assert "Free shipping" in text
    assert "44.0%" in text  # Free shipping's open rate: 209 / 475
    assert "4.0% [2.6%, 6.2%]" in text
    assert "8.0% [5.9%, 10.8%]" in text
    assert "+100.0%" in text
    assert "significant at 95% confidence (p = 0.0089); winner Free shipping" in text


def test_without_experiment_results_the_variants_show_rates_only() -> None:
    state = ab_state()
    state.apply(
        update(
            COMPLETED,
            1_000,
            final=True,
            rows=[variant_row("v-a", 500, 480, 240, 10), variant_row("v-b", 500, 480, 120, 5)],
        ),
        at=1.0,
    )

    text = screen(state)

    assert "50.0%" in text  # Control's open rate
    assert "25.0%" in text
    assert "CI" not in text
    assert "significant" not in text
    assert "rates only" in text
