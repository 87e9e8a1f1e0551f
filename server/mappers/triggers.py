"""Domain -> proto for trigger evaluations (ListTriggerEvaluations)."""

from __future__ import annotations

from campaign.v1 import campaign_service_pb2 as svc

from domain.events.trigger_model import TriggerEvaluation, Verdict
from server.mappers.common import set_timestamp

OUTCOMES: dict[Verdict, int] = {
    Verdict.FIRED: svc.TRIGGER_OUTCOME_FIRED,
    Verdict.DEFERRED: svc.TRIGGER_OUTCOME_DEFERRED,
    Verdict.NO_USER: svc.TRIGGER_OUTCOME_NO_USER,
    Verdict.CONDITIONS_NOT_MET: svc.TRIGGER_OUTCOME_CONDITIONS_NOT_MET,
    Verdict.NOT_IN_AUDIENCE: svc.TRIGGER_OUTCOME_NOT_IN_AUDIENCE,
    Verdict.SUPPRESSED: svc.TRIGGER_OUTCOME_SUPPRESSED,
    Verdict.HOLDOUT: svc.TRIGGER_OUTCOME_HOLDOUT,
    Verdict.CONTROL: svc.TRIGGER_OUTCOME_CONTROL,
    Verdict.UNREACHABLE: svc.TRIGGER_OUTCOME_UNREACHABLE,
    Verdict.RENDER_FAILED: svc.TRIGGER_OUTCOME_RENDER_FAILED,
    Verdict.MARKETING_CAP: svc.TRIGGER_OUTCOME_MARKETING_CAP,
    Verdict.FREQUENCY_LIMIT: svc.TRIGGER_OUTCOME_FREQUENCY_LIMIT,
}


def evaluation_to_proto(e: TriggerEvaluation) -> svc.TriggerEvaluation:
    out = svc.TriggerEvaluation(
        evaluation_id=e.evaluation_id,
        campaign_id=e.campaign_id,
        trigger_id=e.trigger_id,
        event_id=e.event_id,
        event_type=e.event_type,
        user_id=e.user_id,
        outcome=OUTCOMES[e.outcome],  # type: ignore[arg-type]
        reason=e.reason,
        message_ids=e.message_ids,
    )
    set_timestamp(out.evaluated_at, e.evaluated_at)
    return out
