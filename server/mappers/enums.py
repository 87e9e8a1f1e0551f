"""Explicit proto <-> domain enum tables (a renumbered proto enum can never map silently)."""

from __future__ import annotations

from campaign.v1 import campaign_pb2 as pb

from domain.audience.model import ConditionOperator, SegmentType
from domain.campaigns import model as m
from domain.kernel.channels import Channel
from server.mappers.common import invert

CAMPAIGN_TYPES: dict[int, m.CampaignType] = {
    pb.CAMPAIGN_TYPE_SCHEDULED: m.CampaignType.SCHEDULED,
    pb.CAMPAIGN_TYPE_TRIGGERED: m.CampaignType.TRIGGERED,
    pb.CAMPAIGN_TYPE_TRANSACTIONAL: m.CampaignType.TRANSACTIONAL,
}
STATUSES: dict[int, m.CampaignStatus] = {
    pb.CAMPAIGN_STATUS_DRAFT: m.CampaignStatus.DRAFT,
    pb.CAMPAIGN_STATUS_SCHEDULED: m.CampaignStatus.SCHEDULED,
    pb.CAMPAIGN_STATUS_ACTIVE: m.CampaignStatus.ACTIVE,
    pb.CAMPAIGN_STATUS_RUNNING: m.CampaignStatus.RUNNING,
    pb.CAMPAIGN_STATUS_PAUSED: m.CampaignStatus.PAUSED,
    pb.CAMPAIGN_STATUS_COMPLETED: m.CampaignStatus.COMPLETED,
    pb.CAMPAIGN_STATUS_CANCELLED: m.CampaignStatus.CANCELLED,
}
CHANNELS: dict[int, Channel] = {
    pb.CHANNEL_EMAIL: Channel.EMAIL,
    pb.CHANNEL_SMS: Channel.SMS,
    pb.CHANNEL_WHATSAPP: Channel.WHATSAPP,
    pb.CHANNEL_IN_APP: Channel.IN_APP,
    pb.CHANNEL_WEBHOOK: Channel.WEBHOOK,
}
SEGMENT_TYPES: dict[int, SegmentType] = {
    pb.SEGMENT_TYPE_INCLUDE: SegmentType.INCLUDE,
    pb.SEGMENT_TYPE_EXCLUDE: SegmentType.EXCLUDE,
}
OPERATORS: dict[int, ConditionOperator] = {
    pb.CONDITION_OPERATOR_EQUALS: ConditionOperator.EQUALS,
    pb.CONDITION_OPERATOR_NOT_EQUALS: ConditionOperator.NOT_EQUALS,
    pb.CONDITION_OPERATOR_CONTAINS: ConditionOperator.CONTAINS,
    pb.CONDITION_OPERATOR_GREATER_THAN: ConditionOperator.GREATER_THAN,
    pb.CONDITION_OPERATOR_LESS_THAN: ConditionOperator.LESS_THAN,
    pb.CONDITION_OPERATOR_NOT_CONTAINS: ConditionOperator.NOT_CONTAINS,
    pb.CONDITION_OPERATOR_GREATER_THAN_OR_EQUAL: ConditionOperator.GREATER_THAN_OR_EQUAL,
    pb.CONDITION_OPERATOR_LESS_THAN_OR_EQUAL: ConditionOperator.LESS_THAN_OR_EQUAL,
    pb.CONDITION_OPERATOR_IN: ConditionOperator.IN,
    pb.CONDITION_OPERATOR_NOT_IN: ConditionOperator.NOT_IN,
    pb.CONDITION_OPERATOR_EXISTS: ConditionOperator.EXISTS,
    pb.CONDITION_OPERATOR_NOT_EXISTS: ConditionOperator.NOT_EXISTS,
}
STRATEGIES: dict[int, m.ChannelStrategy] = {
    pb.CHANNEL_STRATEGY_FALLBACK: m.ChannelStrategy.FALLBACK,
    pb.CHANNEL_STRATEGY_ALL: m.ChannelStrategy.ALL,
}
ATTRIBUTION_MODELS: dict[int, m.AttributionModel] = {
    pb.ATTRIBUTION_MODEL_LAST_TOUCH: m.AttributionModel.LAST_TOUCH,
    pb.ATTRIBUTION_MODEL_FIRST_TOUCH: m.AttributionModel.FIRST_TOUCH,
    pb.ATTRIBUTION_MODEL_LINEAR: m.AttributionModel.LINEAR,
}
METRICS: dict[int, m.ExperimentMetric] = {
    pb.EXPERIMENT_METRIC_OPEN_RATE: m.ExperimentMetric.OPEN_RATE,
    pb.EXPERIMENT_METRIC_CLICK_RATE: m.ExperimentMetric.CLICK_RATE,
    pb.EXPERIMENT_METRIC_CONVERSION_RATE: m.ExperimentMetric.CONVERSION_RATE,
}

CAMPAIGN_TYPES_OUT = invert(CAMPAIGN_TYPES)
STATUSES_OUT = invert(STATUSES)
CHANNELS_OUT = invert(CHANNELS)
SEGMENT_TYPES_OUT = invert(SEGMENT_TYPES)
OPERATORS_OUT = invert(OPERATORS)
STRATEGIES_OUT = invert(STRATEGIES)
ATTRIBUTION_MODELS_OUT = invert(ATTRIBUTION_MODELS)
METRICS_OUT = invert(METRICS)
