import datetime

from campaign.v1 import audience_pb2 as _audience_pb2
from campaign.v1 import campaign_pb2 as _campaign_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExecutionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_STATUS_UNSPECIFIED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_PENDING: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_RUNNING: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_PAUSED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_COMPLETED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_CANCELLED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_FAILED: _ClassVar[ExecutionStatus]

class BounceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BOUNCE_TYPE_UNSPECIFIED: _ClassVar[BounceType]
    BOUNCE_TYPE_SOFT: _ClassVar[BounceType]
    BOUNCE_TYPE_HARD: _ClassVar[BounceType]

class MessageStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_STATUS_UNSPECIFIED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_QUEUED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_DEFERRED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_SENT: _ClassVar[MessageStatus]
    MESSAGE_STATUS_DELIVERED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_OPENED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_CLICKED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_CONVERTED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_BOUNCED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_FAILED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_UNSUBSCRIBED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_SUPPRESSED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_CANCELLED: _ClassVar[MessageStatus]
EXECUTION_STATUS_UNSPECIFIED: ExecutionStatus
EXECUTION_STATUS_PENDING: ExecutionStatus
EXECUTION_STATUS_RUNNING: ExecutionStatus
EXECUTION_STATUS_PAUSED: ExecutionStatus
EXECUTION_STATUS_COMPLETED: ExecutionStatus
EXECUTION_STATUS_CANCELLED: ExecutionStatus
EXECUTION_STATUS_FAILED: ExecutionStatus
BOUNCE_TYPE_UNSPECIFIED: BounceType
BOUNCE_TYPE_SOFT: BounceType
BOUNCE_TYPE_HARD: BounceType
MESSAGE_STATUS_UNSPECIFIED: MessageStatus
MESSAGE_STATUS_QUEUED: MessageStatus
MESSAGE_STATUS_DEFERRED: MessageStatus
MESSAGE_STATUS_SENT: MessageStatus
MESSAGE_STATUS_DELIVERED: MessageStatus
MESSAGE_STATUS_OPENED: MessageStatus
MESSAGE_STATUS_CLICKED: MessageStatus
MESSAGE_STATUS_CONVERTED: MessageStatus
MESSAGE_STATUS_BOUNCED: MessageStatus
MESSAGE_STATUS_FAILED: MessageStatus
MESSAGE_STATUS_UNSUBSCRIBED: MessageStatus
MESSAGE_STATUS_SUPPRESSED: MessageStatus
MESSAGE_STATUS_CANCELLED: MessageStatus

class MessageCounts(_message.Message):
    __slots__ = ("queued", "deferred", "sent", "delivered", "opened", "clicked", "converted", "bounced", "failed", "unsubscribed", "suppressed", "cancelled")
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    DEFERRED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    queued: int
    deferred: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    converted: int
    bounced: int
    failed: int
    unsubscribed: int
    suppressed: int
    cancelled: int
    def __init__(self, queued: _Optional[int] = ..., deferred: _Optional[int] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., opened: _Optional[int] = ..., clicked: _Optional[int] = ..., converted: _Optional[int] = ..., bounced: _Optional[int] = ..., failed: _Optional[int] = ..., unsubscribed: _Optional[int] = ..., suppressed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class Execution(_message.Message):
    __slots__ = ("execution_id", "campaign_id", "status", "trigger", "audience_size", "holdout_size", "suppressed_count", "counts", "started_at", "completed_at", "failure_reason", "missed_firing")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_SIZE_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_SIZE_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    MISSED_FIRING_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    campaign_id: str
    status: ExecutionStatus
    trigger: str
    audience_size: int
    holdout_size: int
    suppressed_count: int
    counts: MessageCounts
    started_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    failure_reason: str
    missed_firing: bool
    def __init__(self, execution_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., status: _Optional[_Union[ExecutionStatus, str]] = ..., trigger: _Optional[str] = ..., audience_size: _Optional[int] = ..., holdout_size: _Optional[int] = ..., suppressed_count: _Optional[int] = ..., counts: _Optional[_Union[MessageCounts, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failure_reason: _Optional[str] = ..., missed_firing: _Optional[bool] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("message_id", "campaign_id", "execution_id", "user_id", "variant_id", "channel", "status", "recipient", "send_after", "queued_at", "sent_at", "delivered_at", "opened_at", "clicked_at", "converted_at", "bounced_at", "failed_at", "error", "content_digest", "unsubscribed_at", "suppression_reason", "bounce_type", "provider_message_id")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SEND_AFTER_FIELD_NUMBER: _ClassVar[int]
    QUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    CLICKED_AT_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_AT_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_AT_FIELD_NUMBER: _ClassVar[int]
    FAILED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_AT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_REASON_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    campaign_id: str
    execution_id: str
    user_id: str
    variant_id: str
    channel: _campaign_pb2.Channel
    status: MessageStatus
    recipient: str
    send_after: _timestamp_pb2.Timestamp
    queued_at: _timestamp_pb2.Timestamp
    sent_at: _timestamp_pb2.Timestamp
    delivered_at: _timestamp_pb2.Timestamp
    opened_at: _timestamp_pb2.Timestamp
    clicked_at: _timestamp_pb2.Timestamp
    converted_at: _timestamp_pb2.Timestamp
    bounced_at: _timestamp_pb2.Timestamp
    failed_at: _timestamp_pb2.Timestamp
    error: str
    content_digest: str
    unsubscribed_at: _timestamp_pb2.Timestamp
    suppression_reason: _audience_pb2.SuppressionReason
    bounce_type: BounceType
    provider_message_id: str
    def __init__(self, message_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., execution_id: _Optional[str] = ..., user_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., channel: _Optional[_Union[_campaign_pb2.Channel, str]] = ..., status: _Optional[_Union[MessageStatus, str]] = ..., recipient: _Optional[str] = ..., send_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., queued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., clicked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., converted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bounced_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ..., content_digest: _Optional[str] = ..., unsubscribed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., suppression_reason: _Optional[_Union[_audience_pb2.SuppressionReason, str]] = ..., bounce_type: _Optional[_Union[BounceType, str]] = ..., provider_message_id: _Optional[str] = ...) -> None: ...

class RenderedContent(_message.Message):
    __slots__ = ("channel", "template_id", "subject", "html_body", "text_body", "from_name", "reply_to", "body", "title", "action_url", "url", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_FIELD_NUMBER: _ClassVar[int]
    TEXT_BODY_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ACTION_URL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    channel: _campaign_pb2.Channel
    template_id: str
    subject: str
    html_body: str
    text_body: str
    from_name: str
    reply_to: str
    body: str
    title: str
    action_url: str
    url: str
    headers: _containers.ScalarMap[str, str]
    def __init__(self, channel: _Optional[_Union[_campaign_pb2.Channel, str]] = ..., template_id: _Optional[str] = ..., subject: _Optional[str] = ..., html_body: _Optional[str] = ..., text_body: _Optional[str] = ..., from_name: _Optional[str] = ..., reply_to: _Optional[str] = ..., body: _Optional[str] = ..., title: _Optional[str] = ..., action_url: _Optional[str] = ..., url: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...
