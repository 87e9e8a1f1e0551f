"""What `campaign-service watch` shows, computed from what a client receives: the stream's
updates (StreamCampaignMetrics), the campaign (variant names), its runs (the audience) and, when
the service answers it, the experiment's results. No terminal code here, so a test can feed it a
campaign's updates and check every figure.

The send rate and the ETA are what a dashboard author derives: the stream carries counters, not
rates over time, so the rate is the growth of `sent` over the updates of the last RATE_WINDOW
seconds, and the ETA is what is left to send at that rate.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from campaign.v1 import campaign_pb2 as pb
from campaign.v1 import metrics_pb2 as mpb
from campaign.v1 import metrics_service_pb2 as msvc

RATE_WINDOW = 10.0  # seconds of updates the send rate is measured over
FUNNEL = ("audience", "sent", "delivered", "opened", "clicked", "converted")


@dataclass(frozen=True, slots=True)
class VariantFigures:
    variant_id: str
    name: str
    sent: int
    delivered: int
    open_rate: float
    click_rate: float
    conversion_rate: float
    # From GetExperimentResults, when it answers: the compared metric's rate and interval.
    rate: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    lift: float | None = None
    is_control: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    metric: str  # e.g. "conversion rate"
    significant: bool
    p_value: float
    confidence: float
    winner: str  # a variant name, or "" before one is chosen


@dataclass
class DashboardState:
    campaign_id: str
    name: str = ""
    variant_names: dict[str, str] = field(default_factory=dict)
    audience: int = 0  # recipients of the campaign's runs; 0 until a run resolved its audience
    to_send: int = 0  # of them, those who get a message (no holdout, no suppression)
    status: int = pb.CAMPAIGN_STATUS_UNSPECIFIED
    totals: mpb.MetricTotals = field(default_factory=mpb.MetricTotals)
    rates: mpb.MetricRates = field(default_factory=mpb.MetricRates)
    rows: list[mpb.BreakdownRow] = field(default_factory=list)
    experiment: msvc.GetExperimentResultsResponse | None = None
    updates: int = 0
    final: bool = False
    _sent_at: deque[tuple[float, int]] = field(default_factory=deque)

    def apply(self, update: msvc.StreamCampaignMetricsResponse, at: float) -> None:
        """One update of the stream, received at `at` (seconds, monotonic)."""
        self.updates += 1
        self.status = update.campaign_status
        self.totals, self.rates = update.totals, update.rates
        self.rows = list(update.rows)
        self.final = update.final
        self._sent_at.append((at, update.totals.sent))
        while len(self._sent_at) > 2 and at - self._sent_at[0][0] > RATE_WINDOW:
            self._sent_at.popleft()

    @property
    def status_name(self) -> str:
        return pb.CampaignStatus.Name(self.status).removeprefix("CAMPAIGN_STATUS_")

    @property
    def running(self) -> bool:
        return self.status == pb.CAMPAIGN_STATUS_RUNNING and not self.final

    def funnel(self) -> list[tuple[str, int]]:
        """Each stage and its count; the audience is at least what was queued (a run still
        resolving its audience, or the triggered messages of an always-on campaign)."""
        t = self.totals
        audience = max(self.audience, t.queued + t.holdout)
        return list(
            zip(
                FUNNEL,
                (audience, t.sent, t.delivered, t.opened, t.clicked, t.converted),
                strict=True,
            )
        )

    def send_rate(self) -> float | None:
        """Messages sent per second over the last RATE_WINDOW seconds; None before two updates
        a moment apart."""
        if len(self._sent_at) < 2:
            return None
        (first_at, first_sent), (last_at, last_sent) = self._sent_at[0], self._sent_at[-1]
        if last_at - first_at < 0.5:
            return None
        return max(0, last_sent - first_sent) / (last_at - first_at)

    def eta_seconds(self) -> float | None:
        """Seconds until the run has sent what it will, at the current rate; only while running."""
        rate = self.send_rate()
        target = self.to_send or self.totals.queued
        if not self.running or not rate or target <= self.totals.sent:
            return None
        return (target - self.totals.sent) / rate

    def variants(self) -> list[VariantFigures]:
        """Per variant, in the campaign's order (then any the campaign no longer lists)."""
        rows = {r.key: r for r in self.rows if r.breakdown == mpb.BREAKDOWN_VARIANT}
        results = {v.variant_id: v for v in self.experiment.variants} if self.experiment else {}
        order = [*self.variant_names, *(k for k in rows if k not in self.variant_names)]
        figures = []
        for variant_id in order:
            row = rows.get(variant_id)
            totals, rates = (
                (row.totals, row.rates) if row else (mpb.MetricTotals(), mpb.MetricRates())
            )
            result = results.get(variant_id)
            figures.append(
                VariantFigures(
                    variant_id=variant_id,
                    name=self.variant_names.get(variant_id, variant_id),
                    sent=totals.sent,
                    delivered=totals.delivered,
                    open_rate=rates.open_rate,
                    click_rate=rates.click_rate,
                    conversion_rate=rates.conversion_rate,
                    rate=result.rate if result else None,
                    ci_lower=result.ci_lower if result else None,
                    ci_upper=result.ci_upper if result else None,
                    lift=result.lift if result else None,
                    is_control=result.is_control if result else False,
                )
            )
        return figures

    def verdict(self) -> Verdict | None:
        if self.experiment is None:
            return None
        e = self.experiment
        return Verdict(
            metric=pb.ExperimentMetric.Name(e.metric)
            .removeprefix("EXPERIMENT_METRIC_")
            .replace("_", " ")
            .lower(),
            significant=e.is_significant,
            p_value=e.p_value,
            confidence=e.confidence,
            winner=self.variant_names.get(e.winner_variant_id, e.winner_variant_id),
        )
