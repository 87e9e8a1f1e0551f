import datetime

from campaign.v1 import campaign_pb2 as _campaign_pb2
from campaign.v1 import metrics_pb2 as _metrics_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCampaignMetricsRequest(_message.Message):
    __slots__ = ("campaign_id", "execution_id", "breakdowns")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWNS_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    execution_id: str
    breakdowns: _containers.RepeatedScalarFieldContainer[_metrics_pb2.Breakdown]
    def __init__(self, campaign_id: _Optional[str] = ..., execution_id: _Optional[str] = ..., breakdowns: _Optional[_Iterable[_Union[_metrics_pb2.Breakdown, str]]] = ...) -> None: ...

class GetCampaignMetricsResponse(_message.Message):
    __slots__ = ("totals", "rates", "rows", "updated_at")
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    totals: _metrics_pb2.MetricTotals
    rates: _metrics_pb2.MetricRates
    rows: _containers.RepeatedCompositeFieldContainer[_metrics_pb2.BreakdownRow]
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, totals: _Optional[_Union[_metrics_pb2.MetricTotals, _Mapping]] = ..., rates: _Optional[_Union[_metrics_pb2.MetricRates, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[_metrics_pb2.BreakdownRow, _Mapping]]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamCampaignMetricsRequest(_message.Message):
    __slots__ = ("campaign_id", "min_interval", "breakdowns")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWNS_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    min_interval: _duration_pb2.Duration
    breakdowns: _containers.RepeatedScalarFieldContainer[_metrics_pb2.Breakdown]
    def __init__(self, campaign_id: _Optional[str] = ..., min_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., breakdowns: _Optional[_Iterable[_Union[_metrics_pb2.Breakdown, str]]] = ...) -> None: ...

class StreamCampaignMetricsResponse(_message.Message):
    __slots__ = ("totals", "rates", "rows", "updated_at", "snapshot", "final", "campaign_status")
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_STATUS_FIELD_NUMBER: _ClassVar[int]
    totals: _metrics_pb2.MetricTotals
    rates: _metrics_pb2.MetricRates
    rows: _containers.RepeatedCompositeFieldContainer[_metrics_pb2.BreakdownRow]
    updated_at: _timestamp_pb2.Timestamp
    snapshot: bool
    final: bool
    campaign_status: _campaign_pb2.CampaignStatus
    def __init__(self, totals: _Optional[_Union[_metrics_pb2.MetricTotals, _Mapping]] = ..., rates: _Optional[_Union[_metrics_pb2.MetricRates, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[_metrics_pb2.BreakdownRow, _Mapping]]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., snapshot: _Optional[bool] = ..., final: _Optional[bool] = ..., campaign_status: _Optional[_Union[_campaign_pb2.CampaignStatus, str]] = ...) -> None: ...

class GetExperimentResultsRequest(_message.Message):
    __slots__ = ("campaign_id", "metric")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    metric: _campaign_pb2.ExperimentMetric
    def __init__(self, campaign_id: _Optional[str] = ..., metric: _Optional[_Union[_campaign_pb2.ExperimentMetric, str]] = ...) -> None: ...

class GetExperimentResultsResponse(_message.Message):
    __slots__ = ("variants", "chi_square_statistic", "p_value", "is_significant", "confidence", "winner_variant_id", "auto_winner_state", "metric", "baseline_variant_id", "sample_ratio_mismatch", "degrees_of_freedom")
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    CHI_SQUARE_STATISTIC_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    IS_SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    WINNER_VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    AUTO_WINNER_STATE_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    BASELINE_VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATIO_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    DEGREES_OF_FREEDOM_FIELD_NUMBER: _ClassVar[int]
    variants: _containers.RepeatedCompositeFieldContainer[_metrics_pb2.VariantResult]
    chi_square_statistic: float
    p_value: float
    is_significant: bool
    confidence: float
    winner_variant_id: str
    auto_winner_state: _metrics_pb2.AutoWinnerState
    metric: _campaign_pb2.ExperimentMetric
    baseline_variant_id: str
    sample_ratio_mismatch: _metrics_pb2.SampleRatioMismatch
    degrees_of_freedom: int
    def __init__(self, variants: _Optional[_Iterable[_Union[_metrics_pb2.VariantResult, _Mapping]]] = ..., chi_square_statistic: _Optional[float] = ..., p_value: _Optional[float] = ..., is_significant: _Optional[bool] = ..., confidence: _Optional[float] = ..., winner_variant_id: _Optional[str] = ..., auto_winner_state: _Optional[_Union[_metrics_pb2.AutoWinnerState, str]] = ..., metric: _Optional[_Union[_campaign_pb2.ExperimentMetric, str]] = ..., baseline_variant_id: _Optional[str] = ..., sample_ratio_mismatch: _Optional[_Union[_metrics_pb2.SampleRatioMismatch, _Mapping]] = ..., degrees_of_freedom: _Optional[int] = ...) -> None: ...
