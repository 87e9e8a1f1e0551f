import datetime

from campaign.v1 import campaign_pb2 as _campaign_pb2
from campaign.v1 import execution_pb2 as _execution_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TriggerOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_OUTCOME_UNSPECIFIED: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_FIRED: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_DEFERRED: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_NO_USER: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_CONDITIONS_NOT_MET: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_NOT_IN_AUDIENCE: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_SUPPRESSED: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_HOLDOUT: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_CONTROL: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_UNREACHABLE: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_RENDER_FAILED: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_FREQUENCY_LIMIT: _ClassVar[TriggerOutcome]
    TRIGGER_OUTCOME_MARKETING_CAP: _ClassVar[TriggerOutcome]
TRIGGER_OUTCOME_UNSPECIFIED: TriggerOutcome
TRIGGER_OUTCOME_FIRED: TriggerOutcome
TRIGGER_OUTCOME_DEFERRED: TriggerOutcome
TRIGGER_OUTCOME_NO_USER: TriggerOutcome
TRIGGER_OUTCOME_CONDITIONS_NOT_MET: TriggerOutcome
TRIGGER_OUTCOME_NOT_IN_AUDIENCE: TriggerOutcome
TRIGGER_OUTCOME_SUPPRESSED: TriggerOutcome
TRIGGER_OUTCOME_HOLDOUT: TriggerOutcome
TRIGGER_OUTCOME_CONTROL: TriggerOutcome
TRIGGER_OUTCOME_UNREACHABLE: TriggerOutcome
TRIGGER_OUTCOME_RENDER_FAILED: TriggerOutcome
TRIGGER_OUTCOME_FREQUENCY_LIMIT: TriggerOutcome
TRIGGER_OUTCOME_MARKETING_CAP: TriggerOutcome

class CreateCampaignRequest(_message.Message):
    __slots__ = ("name", "description", "campaign_type", "audiences", "channels", "variants", "triggers", "throttle", "holdout_percentage", "conversion", "ab_test", "channel_strategy", "tags", "metadata", "request_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
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
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    campaign_type: _campaign_pb2.CampaignType
    audiences: _containers.RepeatedCompositeFieldContainer[_campaign_pb2.Audience]
    channels: _containers.RepeatedCompositeFieldContainer[_campaign_pb2.ChannelContent]
    variants: _containers.RepeatedCompositeFieldContainer[_campaign_pb2.Variant]
    triggers: _containers.RepeatedCompositeFieldContainer[_campaign_pb2.Trigger]
    throttle: _campaign_pb2.Throttle
    holdout_percentage: float
    conversion: _campaign_pb2.Conversion
    ab_test: _campaign_pb2.AbTest
    channel_strategy: _campaign_pb2.ChannelStrategy
    tags: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., campaign_type: _Optional[_Union[_campaign_pb2.CampaignType, str]] = ..., audiences: _Optional[_Iterable[_Union[_campaign_pb2.Audience, _Mapping]]] = ..., channels: _Optional[_Iterable[_Union[_campaign_pb2.ChannelContent, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[_campaign_pb2.Variant, _Mapping]]] = ..., triggers: _Optional[_Iterable[_Union[_campaign_pb2.Trigger, _Mapping]]] = ..., throttle: _Optional[_Union[_campaign_pb2.Throttle, _Mapping]] = ..., holdout_percentage: _Optional[float] = ..., conversion: _Optional[_Union[_campaign_pb2.Conversion, _Mapping]] = ..., ab_test: _Optional[_Union[_campaign_pb2.AbTest, _Mapping]] = ..., channel_strategy: _Optional[_Union[_campaign_pb2.ChannelStrategy, str]] = ..., tags: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class GetCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class GetCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class ListCampaignsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "statuses", "campaign_type", "channel", "name_prefix", "tags", "created_after", "created_before", "scheduled_after", "scheduled_before", "order_by")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AFTER_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[_campaign_pb2.CampaignStatus]
    campaign_type: _campaign_pb2.CampaignType
    channel: _campaign_pb2.Channel
    name_prefix: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    scheduled_after: _timestamp_pb2.Timestamp
    scheduled_before: _timestamp_pb2.Timestamp
    order_by: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[_campaign_pb2.CampaignStatus, str]]] = ..., campaign_type: _Optional[_Union[_campaign_pb2.CampaignType, str]] = ..., channel: _Optional[_Union[_campaign_pb2.Channel, str]] = ..., name_prefix: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scheduled_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scheduled_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListCampaignsResponse(_message.Message):
    __slots__ = ("campaigns", "next_page_token", "total_size")
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    campaigns: _containers.RepeatedCompositeFieldContainer[_campaign_pb2.Campaign]
    next_page_token: str
    total_size: int
    def __init__(self, campaigns: _Optional[_Iterable[_Union[_campaign_pb2.Campaign, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateCampaignRequest(_message.Message):
    __slots__ = ("campaign", "update_mask", "etag")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    update_mask: _field_mask_pb2.FieldMask
    etag: str
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class UpdateCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class DeleteCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "etag")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    etag: str
    def __init__(self, campaign_id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteCampaignResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CloneCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "name", "request_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    name: str
    request_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CloneCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class ScheduleCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "scheduled_at", "cron")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    scheduled_at: _timestamp_pb2.Timestamp
    cron: _campaign_pb2.CronSchedule
    def __init__(self, campaign_id: _Optional[str] = ..., scheduled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cron: _Optional[_Union[_campaign_pb2.CronSchedule, _Mapping]] = ...) -> None: ...

class ScheduleCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class UnscheduleCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class UnscheduleCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class ActivateCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class ActivateCampaignResponse(_message.Message):
    __slots__ = ("campaign", "warnings")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class PauseCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class PauseCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class ResumeCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class ResumeCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class CancelCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "reason")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    reason: str
    def __init__(self, campaign_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class SendTransactionalRequest(_message.Message):
    __slots__ = ("campaign_id", "user_id", "context", "idempotency_key")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    user_id: str
    context: _struct_pb2.Struct
    idempotency_key: str
    def __init__(self, campaign_id: _Optional[str] = ..., user_id: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class SendTransactionalResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _execution_pb2.Message
    def __init__(self, message: _Optional[_Union[_execution_pb2.Message, _Mapping]] = ...) -> None: ...

class PreviewMessageRequest(_message.Message):
    __slots__ = ("campaign_id", "variant_id", "channel", "sample_user_id", "sample_profile")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_USER_ID_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    variant_id: str
    channel: _campaign_pb2.Channel
    sample_user_id: str
    sample_profile: _struct_pb2.Struct
    def __init__(self, campaign_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., channel: _Optional[_Union[_campaign_pb2.Channel, str]] = ..., sample_user_id: _Optional[str] = ..., sample_profile: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class PreviewMessageResponse(_message.Message):
    __slots__ = ("contents", "warnings")
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    contents: _containers.RepeatedCompositeFieldContainer[_execution_pb2.RenderedContent]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, contents: _Optional[_Iterable[_Union[_execution_pb2.RenderedContent, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class SelectWinnerRequest(_message.Message):
    __slots__ = ("campaign_id", "variant_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    variant_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., variant_id: _Optional[str] = ...) -> None: ...

class SelectWinnerResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ...) -> None: ...

class GetExecutionRequest(_message.Message):
    __slots__ = ("campaign_id", "execution_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    execution_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., execution_id: _Optional[str] = ...) -> None: ...

class GetExecutionResponse(_message.Message):
    __slots__ = ("execution",)
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    execution: _execution_pb2.Execution
    def __init__(self, execution: _Optional[_Union[_execution_pb2.Execution, _Mapping]] = ...) -> None: ...

class ListExecutionsRequest(_message.Message):
    __slots__ = ("campaign_id", "page_size", "page_token")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    page_size: int
    page_token: str
    def __init__(self, campaign_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExecutionsResponse(_message.Message):
    __slots__ = ("executions", "next_page_token")
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[_execution_pb2.Execution]
    next_page_token: str
    def __init__(self, executions: _Optional[_Iterable[_Union[_execution_pb2.Execution, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetMessageRequest(_message.Message):
    __slots__ = ("campaign_id", "message_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    message_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class GetMessageResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _execution_pb2.Message
    def __init__(self, message: _Optional[_Union[_execution_pb2.Message, _Mapping]] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("campaign_id", "execution_id", "user_id", "statuses", "page_size", "page_token")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    execution_id: str
    user_id: str
    statuses: _containers.RepeatedScalarFieldContainer[_execution_pb2.MessageStatus]
    page_size: int
    page_token: str
    def __init__(self, campaign_id: _Optional[str] = ..., execution_id: _Optional[str] = ..., user_id: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[_execution_pb2.MessageStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[_execution_pb2.Message]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[_execution_pb2.Message, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SendCampaignNowRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class SendCampaignNowResponse(_message.Message):
    __slots__ = ("campaign", "execution")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    campaign: _campaign_pb2.Campaign
    execution: _execution_pb2.Execution
    def __init__(self, campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ..., execution: _Optional[_Union[_execution_pb2.Execution, _Mapping]] = ...) -> None: ...

class ListTriggerEvaluationsRequest(_message.Message):
    __slots__ = ("campaign_id", "user_id", "page_size", "page_token")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, campaign_id: _Optional[str] = ..., user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTriggerEvaluationsResponse(_message.Message):
    __slots__ = ("evaluations", "next_page_token")
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    evaluations: _containers.RepeatedCompositeFieldContainer[TriggerEvaluation]
    next_page_token: str
    def __init__(self, evaluations: _Optional[_Iterable[_Union[TriggerEvaluation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TriggerEvaluation(_message.Message):
    __slots__ = ("evaluation_id", "campaign_id", "trigger_id", "event_id", "event_type", "user_id", "outcome", "reason", "message_ids", "evaluated_at")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_AT_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    campaign_id: str
    trigger_id: str
    event_id: str
    event_type: str
    user_id: str
    outcome: TriggerOutcome
    reason: str
    message_ids: _containers.RepeatedScalarFieldContainer[str]
    evaluated_at: _timestamp_pb2.Timestamp
    def __init__(self, evaluation_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., trigger_id: _Optional[str] = ..., event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., user_id: _Optional[str] = ..., outcome: _Optional[_Union[TriggerOutcome, str]] = ..., reason: _Optional[str] = ..., message_ids: _Optional[_Iterable[str]] = ..., evaluated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
