import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CampaignType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAMPAIGN_TYPE_UNSPECIFIED: _ClassVar[CampaignType]
    CAMPAIGN_TYPE_SCHEDULED: _ClassVar[CampaignType]
    CAMPAIGN_TYPE_TRIGGERED: _ClassVar[CampaignType]
    CAMPAIGN_TYPE_TRANSACTIONAL: _ClassVar[CampaignType]

class CampaignStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAMPAIGN_STATUS_UNSPECIFIED: _ClassVar[CampaignStatus]
    CAMPAIGN_STATUS_DRAFT: _ClassVar[CampaignStatus]
    CAMPAIGN_STATUS_SCHEDULED: _ClassVar[CampaignStatus]
    CAMPAIGN_STATUS_ACTIVE: _ClassVar[CampaignStatus]
    CAMPAIGN_STATUS_RUNNING: _ClassVar[CampaignStatus]
    CAMPAIGN_STATUS_PAUSED: _ClassVar[CampaignStatus]
    CAMPAIGN_STATUS_COMPLETED: _ClassVar[CampaignStatus]
    CAMPAIGN_STATUS_CANCELLED: _ClassVar[CampaignStatus]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_SMS: _ClassVar[Channel]
    CHANNEL_WHATSAPP: _ClassVar[Channel]
    CHANNEL_IN_APP: _ClassVar[Channel]
    CHANNEL_WEBHOOK: _ClassVar[Channel]

class SegmentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEGMENT_TYPE_UNSPECIFIED: _ClassVar[SegmentType]
    SEGMENT_TYPE_INCLUDE: _ClassVar[SegmentType]
    SEGMENT_TYPE_EXCLUDE: _ClassVar[SegmentType]

class ConditionOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONDITION_OPERATOR_UNSPECIFIED: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_EQUALS: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_NOT_EQUALS: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_CONTAINS: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_GREATER_THAN: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_LESS_THAN: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_NOT_CONTAINS: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_GREATER_THAN_OR_EQUAL: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_LESS_THAN_OR_EQUAL: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_IN: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_NOT_IN: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_EXISTS: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_NOT_EXISTS: _ClassVar[ConditionOperator]

class ChannelStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_STRATEGY_UNSPECIFIED: _ClassVar[ChannelStrategy]
    CHANNEL_STRATEGY_FALLBACK: _ClassVar[ChannelStrategy]
    CHANNEL_STRATEGY_ALL: _ClassVar[ChannelStrategy]

class AttributionModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTRIBUTION_MODEL_UNSPECIFIED: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_LAST_TOUCH: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_FIRST_TOUCH: _ClassVar[AttributionModel]
    ATTRIBUTION_MODEL_LINEAR: _ClassVar[AttributionModel]

class ExperimentMetric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPERIMENT_METRIC_UNSPECIFIED: _ClassVar[ExperimentMetric]
    EXPERIMENT_METRIC_OPEN_RATE: _ClassVar[ExperimentMetric]
    EXPERIMENT_METRIC_CLICK_RATE: _ClassVar[ExperimentMetric]
    EXPERIMENT_METRIC_CONVERSION_RATE: _ClassVar[ExperimentMetric]
CAMPAIGN_TYPE_UNSPECIFIED: CampaignType
CAMPAIGN_TYPE_SCHEDULED: CampaignType
CAMPAIGN_TYPE_TRIGGERED: CampaignType
CAMPAIGN_TYPE_TRANSACTIONAL: CampaignType
CAMPAIGN_STATUS_UNSPECIFIED: CampaignStatus
CAMPAIGN_STATUS_DRAFT: CampaignStatus
CAMPAIGN_STATUS_SCHEDULED: CampaignStatus
CAMPAIGN_STATUS_ACTIVE: CampaignStatus
CAMPAIGN_STATUS_RUNNING: CampaignStatus
CAMPAIGN_STATUS_PAUSED: CampaignStatus
CAMPAIGN_STATUS_COMPLETED: CampaignStatus
CAMPAIGN_STATUS_CANCELLED: CampaignStatus
CHANNEL_UNSPECIFIED: Channel
CHANNEL_EMAIL: Channel
CHANNEL_SMS: Channel
CHANNEL_WHATSAPP: Channel
CHANNEL_IN_APP: Channel
CHANNEL_WEBHOOK: Channel
SEGMENT_TYPE_UNSPECIFIED: SegmentType
SEGMENT_TYPE_INCLUDE: SegmentType
SEGMENT_TYPE_EXCLUDE: SegmentType
CONDITION_OPERATOR_UNSPECIFIED: ConditionOperator
CONDITION_OPERATOR_EQUALS: ConditionOperator
CONDITION_OPERATOR_NOT_EQUALS: ConditionOperator
CONDITION_OPERATOR_CONTAINS: ConditionOperator
CONDITION_OPERATOR_GREATER_THAN: ConditionOperator
CONDITION_OPERATOR_LESS_THAN: ConditionOperator
CONDITION_OPERATOR_NOT_CONTAINS: ConditionOperator
CONDITION_OPERATOR_GREATER_THAN_OR_EQUAL: ConditionOperator
CONDITION_OPERATOR_LESS_THAN_OR_EQUAL: ConditionOperator
CONDITION_OPERATOR_IN: ConditionOperator
CONDITION_OPERATOR_NOT_IN: ConditionOperator
CONDITION_OPERATOR_EXISTS: ConditionOperator
CONDITION_OPERATOR_NOT_EXISTS: ConditionOperator
CHANNEL_STRATEGY_UNSPECIFIED: ChannelStrategy
CHANNEL_STRATEGY_FALLBACK: ChannelStrategy
CHANNEL_STRATEGY_ALL: ChannelStrategy
ATTRIBUTION_MODEL_UNSPECIFIED: AttributionModel
ATTRIBUTION_MODEL_LAST_TOUCH: AttributionModel
ATTRIBUTION_MODEL_FIRST_TOUCH: AttributionModel
ATTRIBUTION_MODEL_LINEAR: AttributionModel
EXPERIMENT_METRIC_UNSPECIFIED: ExperimentMetric
EXPERIMENT_METRIC_OPEN_RATE: ExperimentMetric
EXPERIMENT_METRIC_CLICK_RATE: ExperimentMetric
EXPERIMENT_METRIC_CONVERSION_RATE: ExperimentMetric

class Condition(_message.Message):
    __slots__ = ("field", "operator", "value")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    field: str
    operator: ConditionOperator
    value: _struct_pb2.Value
    def __init__(self, field: _Optional[str] = ..., operator: _Optional[_Union[ConditionOperator, str]] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class SegmentQuery(_message.Message):
    __slots__ = ("conditions",)
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    def __init__(self, conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ...) -> None: ...

class Audience(_message.Message):
    __slots__ = ("audience_id", "segment_type", "segment_id", "query", "name")
    AUDIENCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    audience_id: str
    segment_type: SegmentType
    segment_id: str
    query: SegmentQuery
    name: str
    def __init__(self, audience_id: _Optional[str] = ..., segment_type: _Optional[_Union[SegmentType, str]] = ..., segment_id: _Optional[str] = ..., query: _Optional[_Union[SegmentQuery, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class ChannelContent(_message.Message):
    __slots__ = ("channel", "template_id", "email", "sms", "whatsapp", "in_app", "webhook")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    SMS_FIELD_NUMBER: _ClassVar[int]
    WHATSAPP_FIELD_NUMBER: _ClassVar[int]
    IN_APP_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    template_id: str
    email: EmailContent
    sms: SmsContent
    whatsapp: WhatsAppContent
    in_app: InAppContent
    webhook: WebhookContent
    def __init__(self, channel: _Optional[_Union[Channel, str]] = ..., template_id: _Optional[str] = ..., email: _Optional[_Union[EmailContent, _Mapping]] = ..., sms: _Optional[_Union[SmsContent, _Mapping]] = ..., whatsapp: _Optional[_Union[WhatsAppContent, _Mapping]] = ..., in_app: _Optional[_Union[InAppContent, _Mapping]] = ..., webhook: _Optional[_Union[WebhookContent, _Mapping]] = ...) -> None: ...

class EmailContent(_message.Message):
    __slots__ = ("subject", "html_body", "text_body", "from_name", "reply_to")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_FIELD_NUMBER: _ClassVar[int]
    TEXT_BODY_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    subject: str
    html_body: str
    text_body: str
    from_name: str
    reply_to: str
    def __init__(self, subject: _Optional[str] = ..., html_body: _Optional[str] = ..., text_body: _Optional[str] = ..., from_name: _Optional[str] = ..., reply_to: _Optional[str] = ...) -> None: ...

class SmsContent(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: str
    def __init__(self, body: _Optional[str] = ...) -> None: ...

class WhatsAppContent(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: str
    def __init__(self, body: _Optional[str] = ...) -> None: ...

class InAppContent(_message.Message):
    __slots__ = ("title", "body", "action_url")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    ACTION_URL_FIELD_NUMBER: _ClassVar[int]
    title: str
    body: str
    action_url: str
    def __init__(self, title: _Optional[str] = ..., body: _Optional[str] = ..., action_url: _Optional[str] = ...) -> None: ...

class WebhookContent(_message.Message):
    __slots__ = ("url", "body", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    url: str
    body: str
    headers: _containers.ScalarMap[str, str]
    def __init__(self, url: _Optional[str] = ..., body: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("variant_id", "name", "allocation_percentage", "is_control", "channels")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    IS_CONTROL_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    name: str
    allocation_percentage: float
    is_control: bool
    channels: _containers.RepeatedCompositeFieldContainer[ChannelContent]
    def __init__(self, variant_id: _Optional[str] = ..., name: _Optional[str] = ..., allocation_percentage: _Optional[float] = ..., is_control: _Optional[bool] = ..., channels: _Optional[_Iterable[_Union[ChannelContent, _Mapping]]] = ...) -> None: ...

class Trigger(_message.Message):
    __slots__ = ("trigger_id", "event_type", "conditions", "delay", "frequency_limit", "frequency_window")
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_WINDOW_FIELD_NUMBER: _ClassVar[int]
    trigger_id: str
    event_type: str
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    delay: _duration_pb2.Duration
    frequency_limit: int
    frequency_window: _duration_pb2.Duration
    def __init__(self, trigger_id: _Optional[str] = ..., event_type: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., frequency_limit: _Optional[int] = ..., frequency_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class QuietHours(_message.Message):
    __slots__ = ("enabled", "start", "end")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    start: str
    end: str
    def __init__(self, enabled: _Optional[bool] = ..., start: _Optional[str] = ..., end: _Optional[str] = ...) -> None: ...

class Throttle(_message.Message):
    __slots__ = ("per_minute", "per_hour", "quiet_hours", "exclude_weekends")
    PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_WEEKENDS_FIELD_NUMBER: _ClassVar[int]
    per_minute: int
    per_hour: int
    quiet_hours: QuietHours
    exclude_weekends: bool
    def __init__(self, per_minute: _Optional[int] = ..., per_hour: _Optional[int] = ..., quiet_hours: _Optional[_Union[QuietHours, _Mapping]] = ..., exclude_weekends: _Optional[bool] = ...) -> None: ...

class Conversion(_message.Message):
    __slots__ = ("event_type", "attribution_window_days", "attribution_model")
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_MODEL_FIELD_NUMBER: _ClassVar[int]
    event_type: str
    attribution_window_days: int
    attribution_model: AttributionModel
    def __init__(self, event_type: _Optional[str] = ..., attribution_window_days: _Optional[int] = ..., attribution_model: _Optional[_Union[AttributionModel, str]] = ...) -> None: ...

class AbTest(_message.Message):
    __slots__ = ("auto_winner_enabled", "auto_winner_metric", "confidence", "min_sample_per_variant")
    AUTO_WINNER_ENABLED_FIELD_NUMBER: _ClassVar[int]
    AUTO_WINNER_METRIC_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MIN_SAMPLE_PER_VARIANT_FIELD_NUMBER: _ClassVar[int]
    auto_winner_enabled: bool
    auto_winner_metric: ExperimentMetric
    confidence: float
    min_sample_per_variant: int
    def __init__(self, auto_winner_enabled: _Optional[bool] = ..., auto_winner_metric: _Optional[_Union[ExperimentMetric, str]] = ..., confidence: _Optional[float] = ..., min_sample_per_variant: _Optional[int] = ...) -> None: ...

class CronSchedule(_message.Message):
    __slots__ = ("expression", "timezone", "start_at", "end_at")
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    END_AT_FIELD_NUMBER: _ClassVar[int]
    expression: str
    timezone: str
    start_at: _timestamp_pb2.Timestamp
    end_at: _timestamp_pb2.Timestamp
    def __init__(self, expression: _Optional[str] = ..., timezone: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("scheduled_at", "cron")
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    scheduled_at: _timestamp_pb2.Timestamp
    cron: CronSchedule
    def __init__(self, scheduled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cron: _Optional[_Union[CronSchedule, _Mapping]] = ...) -> None: ...

class Campaign(_message.Message):
    __slots__ = ("campaign_id", "organization_id", "name", "description", "campaign_type", "status", "audiences", "channels", "variants", "triggers", "throttle", "holdout_percentage", "conversion", "ab_test", "channel_strategy", "tags", "metadata", "schedule", "next_run_at", "etag", "created_by", "updated_by", "created_at", "updated_at", "cloned_from_id", "winner_variant_id", "cancel_reason", "activated_at", "paused_at", "completed_at", "cancelled_at")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AUDIENCES_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    AB_TEST_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CLONED_FROM_ID_FIELD_NUMBER: _ClassVar[int]
    WINNER_VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    PAUSED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    organization_id: str
    name: str
    description: str
    campaign_type: CampaignType
    status: CampaignStatus
    audiences: _containers.RepeatedCompositeFieldContainer[Audience]
    channels: _containers.RepeatedCompositeFieldContainer[ChannelContent]
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    triggers: _containers.RepeatedCompositeFieldContainer[Trigger]
    throttle: Throttle
    holdout_percentage: float
    conversion: Conversion
    ab_test: AbTest
    channel_strategy: ChannelStrategy
    tags: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    schedule: Schedule
    next_run_at: _timestamp_pb2.Timestamp
    etag: str
    created_by: str
    updated_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    cloned_from_id: str
    winner_variant_id: str
    cancel_reason: str
    activated_at: _timestamp_pb2.Timestamp
    paused_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    cancelled_at: _timestamp_pb2.Timestamp
    def __init__(self, campaign_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., campaign_type: _Optional[_Union[CampaignType, str]] = ..., status: _Optional[_Union[CampaignStatus, str]] = ..., audiences: _Optional[_Iterable[_Union[Audience, _Mapping]]] = ..., channels: _Optional[_Iterable[_Union[ChannelContent, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., triggers: _Optional[_Iterable[_Union[Trigger, _Mapping]]] = ..., throttle: _Optional[_Union[Throttle, _Mapping]] = ..., holdout_percentage: _Optional[float] = ..., conversion: _Optional[_Union[Conversion, _Mapping]] = ..., ab_test: _Optional[_Union[AbTest, _Mapping]] = ..., channel_strategy: _Optional[_Union[ChannelStrategy, str]] = ..., tags: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., schedule: _Optional[_Union[Schedule, _Mapping]] = ..., next_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., created_by: _Optional[str] = ..., updated_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cloned_from_id: _Optional[str] = ..., winner_variant_id: _Optional[str] = ..., cancel_reason: _Optional[str] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancelled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
