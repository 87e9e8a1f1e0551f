import datetime

from campaign.v1 import audience_pb2 as _audience_pb2
from campaign.v1 import campaign_pb2 as _campaign_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EstimateAudienceRequest(_message.Message):
    __slots__ = ("campaign_id", "audiences", "holdout_percentage")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIENCES_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    audiences: _containers.RepeatedCompositeFieldContainer[_campaign_pb2.Audience]
    holdout_percentage: float
    def __init__(self, campaign_id: _Optional[str] = ..., audiences: _Optional[_Iterable[_Union[_campaign_pb2.Audience, _Mapping]]] = ..., holdout_percentage: _Optional[float] = ...) -> None: ...

class EstimateAudienceResponse(_message.Message):
    __slots__ = ("estimated_size", "by_segment", "after_exclusions", "after_suppression", "after_holdout", "reachable_by_channel", "estimated_completion", "estimated_at")
    ESTIMATED_SIZE_FIELD_NUMBER: _ClassVar[int]
    BY_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    AFTER_EXCLUSIONS_FIELD_NUMBER: _ClassVar[int]
    AFTER_SUPPRESSION_FIELD_NUMBER: _ClassVar[int]
    AFTER_HOLDOUT_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_BY_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COMPLETION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_AT_FIELD_NUMBER: _ClassVar[int]
    estimated_size: int
    by_segment: _containers.RepeatedCompositeFieldContainer[_audience_pb2.SegmentEstimate]
    after_exclusions: int
    after_suppression: int
    after_holdout: int
    reachable_by_channel: _containers.RepeatedCompositeFieldContainer[_audience_pb2.ChannelReach]
    estimated_completion: _duration_pb2.Duration
    estimated_at: _timestamp_pb2.Timestamp
    def __init__(self, estimated_size: _Optional[int] = ..., by_segment: _Optional[_Iterable[_Union[_audience_pb2.SegmentEstimate, _Mapping]]] = ..., after_exclusions: _Optional[int] = ..., after_suppression: _Optional[int] = ..., after_holdout: _Optional[int] = ..., reachable_by_channel: _Optional[_Iterable[_Union[_audience_pb2.ChannelReach, _Mapping]]] = ..., estimated_completion: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., estimated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertContactsRequest(_message.Message):
    __slots__ = ("contact",)
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    contact: _audience_pb2.Contact
    def __init__(self, contact: _Optional[_Union[_audience_pb2.Contact, _Mapping]] = ...) -> None: ...

class UpsertContactsResponse(_message.Message):
    __slots__ = ("upserted_count", "rejected", "rejected_count")
    UPSERTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    upserted_count: int
    rejected: _containers.RepeatedCompositeFieldContainer[_audience_pb2.RejectedContact]
    rejected_count: int
    def __init__(self, upserted_count: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[_audience_pb2.RejectedContact, _Mapping]]] = ..., rejected_count: _Optional[int] = ...) -> None: ...

class GetContactRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetContactResponse(_message.Message):
    __slots__ = ("contact",)
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    contact: _audience_pb2.Contact
    def __init__(self, contact: _Optional[_Union[_audience_pb2.Contact, _Mapping]] = ...) -> None: ...

class DeleteContactRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class DeleteContactResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AddSuppressionsRequest(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_audience_pb2.SuppressionEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[_audience_pb2.SuppressionEntry, _Mapping]]] = ...) -> None: ...

class AddSuppressionsResponse(_message.Message):
    __slots__ = ("added_count",)
    ADDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    added_count: int
    def __init__(self, added_count: _Optional[int] = ...) -> None: ...

class RemoveSuppressionsRequest(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_audience_pb2.SuppressionEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[_audience_pb2.SuppressionEntry, _Mapping]]] = ...) -> None: ...

class RemoveSuppressionsResponse(_message.Message):
    __slots__ = ("removed_count",)
    REMOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    removed_count: int
    def __init__(self, removed_count: _Optional[int] = ...) -> None: ...

class ListSuppressionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "channel", "reason")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    channel: _campaign_pb2.Channel
    reason: _audience_pb2.SuppressionReason
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., channel: _Optional[_Union[_campaign_pb2.Channel, str]] = ..., reason: _Optional[_Union[_audience_pb2.SuppressionReason, str]] = ...) -> None: ...

class ListSuppressionsResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_audience_pb2.SuppressionEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[_audience_pb2.SuppressionEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateSegmentRequest(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: _audience_pb2.Segment
    def __init__(self, segment: _Optional[_Union[_audience_pb2.Segment, _Mapping]] = ...) -> None: ...

class CreateSegmentResponse(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: _audience_pb2.Segment
    def __init__(self, segment: _Optional[_Union[_audience_pb2.Segment, _Mapping]] = ...) -> None: ...

class GetSegmentRequest(_message.Message):
    __slots__ = ("segment_id",)
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    def __init__(self, segment_id: _Optional[str] = ...) -> None: ...

class GetSegmentResponse(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: _audience_pb2.Segment
    def __init__(self, segment: _Optional[_Union[_audience_pb2.Segment, _Mapping]] = ...) -> None: ...

class ListSegmentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSegmentsResponse(_message.Message):
    __slots__ = ("segments", "next_page_token")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[_audience_pb2.Segment]
    next_page_token: str
    def __init__(self, segments: _Optional[_Iterable[_Union[_audience_pb2.Segment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSegmentRequest(_message.Message):
    __slots__ = ("segment_id",)
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    def __init__(self, segment_id: _Optional[str] = ...) -> None: ...

class DeleteSegmentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
