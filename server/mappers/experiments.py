"""Experiment results (domain.metrics) to campaign.v1 protos."""

from __future__ import annotations

from typing import Any

from campaign.v1 import metrics_pb2 as mpb
from campaign.v1 import metrics_service_pb2 as msvc

from domain.metrics.experiment_service import ExperimentReport
from domain.metrics.experiments import ArmResult, AutoWinnerState
from domain.metrics.statistics import SRM_P_THRESHOLD
from server.mappers import enums

# Values typed Any because each proto enum is its own int NewType (server.mappers.common.invert).
AUTO_WINNER_STATES: dict[AutoWinnerState, Any] = {
    AutoWinnerState.DISABLED: mpb.AUTO_WINNER_STATE_DISABLED,
    AutoWinnerState.COLLECTING: mpb.AUTO_WINNER_STATE_COLLECTING,
    AutoWinnerState.DECIDED: mpb.AUTO_WINNER_STATE_DECIDED,
    AutoWinnerState.INCONCLUSIVE: mpb.AUTO_WINNER_STATE_INCONCLUSIVE,
}


def experiment_to_proto(report: ExperimentReport) -> msvc.GetExperimentResultsResponse:
    result = report.result
    srm = result.sample_ratio
    return msvc.GetExperimentResultsResponse(
        variants=[_arm(a) for a in result.arms],
        chi_square_statistic=result.overall.statistic,
        p_value=result.overall.p_value,
        is_significant=result.is_significant,
        confidence=result.confidence,
        winner_variant_id=report.winner_variant_id,
        auto_winner_state=AUTO_WINNER_STATES[report.auto_winner_state],
        metric=enums.METRICS_OUT[result.metric],
        baseline_variant_id=result.baseline_variant_id,
        sample_ratio_mismatch=mpb.SampleRatioMismatch(
            checked=srm.checked,
            chi_square_statistic=srm.statistic,
            p_value=srm.p_value,
            flagged=srm.flagged,
            threshold=SRM_P_THRESHOLD,
        ),
        degrees_of_freedom=result.overall.degrees_of_freedom,
    )


def _arm(a: ArmResult) -> mpb.VariantResult:
    return mpb.VariantResult(
        variant_id=a.variant_id,
        name=a.name,
        is_control=a.is_control,
        sample_size=a.sample_size,
        successes=a.successes,
        rate=a.rate,
        ci_lower=a.ci_lower,
        ci_upper=a.ci_upper,
        lift=a.lift,
        p_value=a.p_value,
        adjusted_p_value=a.adjusted_p_value,
        is_significant=a.is_significant,
        is_baseline=a.is_baseline,
        compared=a.compared,
    )
