import datetime

from campaign.v1 import campaign_pb2 as _campaign_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SuppressionReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUPPRESSION_REASON_UNSPECIFIED: _ClassVar[SuppressionReason]
    SUPPRESSION_REASON_UNSUBSCRIBED: _ClassVar[SuppressionReason]
    SUPPRESSION_REASON_BOUNCED: _ClassVar[SuppressionReason]
    SUPPRESSION_REASON_COMPLAINED: _ClassVar[SuppressionReason]
    SUPPRESSION_REASON_MANUAL: _ClassVar[SuppressionReason]
SUPPRESSION_REASON_UNSPECIFIED: SuppressionReason
SUPPRESSION_REASON_UNSUBSCRIBED: SuppressionReason
SUPPRESSION_REASON_BOUNCED: SuppressionReason
SUPPRESSION_REASON_COMPLAINED: SuppressionReason
SUPPRESSION_REASON_MANUAL: SuppressionReason

class Contact(_message.Message):
    __slots__ = ("user_id", "email", "phone", "whatsapp_verified", "timezone", "locale", "email_opted_in", "sms_opted_in", "whatsapp_opted_in", "in_app_opted_in", "attributes", "created_at", "updated_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    WHATSAPP_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_OPTED_IN_FIELD_NUMBER: _ClassVar[int]
    SMS_OPTED_IN_FIELD_NUMBER: _ClassVar[int]
    WHATSAPP_OPTED_IN_FIELD_NUMBER: _ClassVar[int]
    IN_APP_OPTED_IN_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email: str
    phone: str
    whatsapp_verified: bool
    timezone: str
    locale: str
    email_opted_in: bool
    sms_opted_in: bool
    whatsapp_opted_in: bool
    in_app_opted_in: bool
    attributes: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., whatsapp_verified: _Optional[bool] = ..., timezone: _Optional[str] = ..., locale: _Optional[str] = ..., email_opted_in: _Optional[bool] = ..., sms_opted_in: _Optional[bool] = ..., whatsapp_opted_in: _Optional[bool] = ..., in_app_opted_in: _Optional[bool] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SuppressionEntry(_message.Message):
    __slots__ = ("user_id", "address", "channel", "reason", "created_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    address: str
    channel: _campaign_pb2.Channel
    reason: SuppressionReason
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., address: _Optional[str] = ..., channel: _Optional[_Union[_campaign_pb2.Channel, str]] = ..., reason: _Optional[_Union[SuppressionReason, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SegmentEstimate(_message.Message):
    __slots__ = ("audience", "size")
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    audience: _campaign_pb2.Audience
    size: int
    def __init__(self, audience: _Optional[_Union[_campaign_pb2.Audience, _Mapping]] = ..., size: _Optional[int] = ...) -> None: ...

class ChannelReach(_message.Message):
    __slots__ = ("channel", "size")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    channel: _campaign_pb2.Channel
    size: int
    def __init__(self, channel: _Optional[_Union[_campaign_pb2.Channel, str]] = ..., size: _Optional[int] = ...) -> None: ...

class RejectedContact(_message.Message):
    __slots__ = ("index", "user_id", "reasons")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    index: int
    user_id: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, index: _Optional[int] = ..., user_id: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("segment_id", "name", "conditions", "created_at")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    name: str
    conditions: _containers.RepeatedCompositeFieldContainer[_campaign_pb2.Condition]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, segment_id: _Optional[str] = ..., name: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_campaign_pb2.Condition, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
