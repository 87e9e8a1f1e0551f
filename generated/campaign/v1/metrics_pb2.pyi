from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Breakdown(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREAKDOWN_UNSPECIFIED: _ClassVar[Breakdown]
    BREAKDOWN_VARIANT: _ClassVar[Breakdown]
    BREAKDOWN_CHANNEL: _ClassVar[Breakdown]
    BREAKDOWN_SEGMENT: _ClassVar[Breakdown]

class AutoWinnerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTO_WINNER_STATE_UNSPECIFIED: _ClassVar[AutoWinnerState]
    AUTO_WINNER_STATE_DISABLED: _ClassVar[AutoWinnerState]
    AUTO_WINNER_STATE_COLLECTING: _ClassVar[AutoWinnerState]
    AUTO_WINNER_STATE_DECIDED: _ClassVar[AutoWinnerState]
    AUTO_WINNER_STATE_INCONCLUSIVE: _ClassVar[AutoWinnerState]
BREAKDOWN_UNSPECIFIED: Breakdown
BREAKDOWN_VARIANT: Breakdown
BREAKDOWN_CHANNEL: Breakdown
BREAKDOWN_SEGMENT: Breakdown
AUTO_WINNER_STATE_UNSPECIFIED: AutoWinnerState
AUTO_WINNER_STATE_DISABLED: AutoWinnerState
AUTO_WINNER_STATE_COLLECTING: AutoWinnerState
AUTO_WINNER_STATE_DECIDED: AutoWinnerState
AUTO_WINNER_STATE_INCONCLUSIVE: AutoWinnerState

class MetricTotals(_message.Message):
    __slots__ = ("queued", "sent", "delivered", "opened", "clicked", "converted", "bounced", "failed", "unsubscribed", "holdout", "conversion_value", "holdout_converted", "opens_total", "clicks_total")
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_VALUE_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_CONVERTED_FIELD_NUMBER: _ClassVar[int]
    OPENS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CLICKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    queued: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    converted: int
    bounced: int
    failed: int
    unsubscribed: int
    holdout: int
    conversion_value: float
    holdout_converted: int
    opens_total: int
    clicks_total: int
    def __init__(self, queued: _Optional[int] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., opened: _Optional[int] = ..., clicked: _Optional[int] = ..., converted: _Optional[int] = ..., bounced: _Optional[int] = ..., failed: _Optional[int] = ..., unsubscribed: _Optional[int] = ..., holdout: _Optional[int] = ..., conversion_value: _Optional[float] = ..., holdout_converted: _Optional[int] = ..., opens_total: _Optional[int] = ..., clicks_total: _Optional[int] = ...) -> None: ...

class MetricRates(_message.Message):
    __slots__ = ("delivery_rate", "open_rate", "click_rate", "conversion_rate", "bounce_rate", "unsubscribe_rate")
    DELIVERY_RATE_FIELD_NUMBER: _ClassVar[int]
    OPEN_RATE_FIELD_NUMBER: _ClassVar[int]
    CLICK_RATE_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RATE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_RATE_FIELD_NUMBER: _ClassVar[int]
    delivery_rate: float
    open_rate: float
    click_rate: float
    conversion_rate: float
    bounce_rate: float
    unsubscribe_rate: float
    def __init__(self, delivery_rate: _Optional[float] = ..., open_rate: _Optional[float] = ..., click_rate: _Optional[float] = ..., conversion_rate: _Optional[float] = ..., bounce_rate: _Optional[float] = ..., unsubscribe_rate: _Optional[float] = ...) -> None: ...

class BreakdownRow(_message.Message):
    __slots__ = ("breakdown", "key", "totals", "rates")
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    breakdown: Breakdown
    key: str
    totals: MetricTotals
    rates: MetricRates
    def __init__(self, breakdown: _Optional[_Union[Breakdown, str]] = ..., key: _Optional[str] = ..., totals: _Optional[_Union[MetricTotals, _Mapping]] = ..., rates: _Optional[_Union[MetricRates, _Mapping]] = ...) -> None: ...

class VariantResult(_message.Message):
    __slots__ = ("variant_id", "name", "is_control", "sample_size", "successes", "rate", "ci_lower", "ci_upper", "lift", "p_value", "adjusted_p_value", "is_significant", "is_baseline", "compared")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IS_CONTROL_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    CI_LOWER_FIELD_NUMBER: _ClassVar[int]
    CI_UPPER_FIELD_NUMBER: _ClassVar[int]
    LIFT_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    ADJUSTED_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    IS_SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    IS_BASELINE_FIELD_NUMBER: _ClassVar[int]
    COMPARED_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    name: str
    is_control: bool
    sample_size: int
    successes: int
    rate: float
    ci_lower: float
    ci_upper: float
    lift: float
    p_value: float
    adjusted_p_value: float
    is_significant: bool
    is_baseline: bool
    compared: bool
    def __init__(self, variant_id: _Optional[str] = ..., name: _Optional[str] = ..., is_control: _Optional[bool] = ..., sample_size: _Optional[int] = ..., successes: _Optional[int] = ..., rate: _Optional[float] = ..., ci_lower: _Optional[float] = ..., ci_upper: _Optional[float] = ..., lift: _Optional[float] = ..., p_value: _Optional[float] = ..., adjusted_p_value: _Optional[float] = ..., is_significant: _Optional[bool] = ..., is_baseline: _Optional[bool] = ..., compared: _Optional[bool] = ...) -> None: ...

class SampleRatioMismatch(_message.Message):
    __slots__ = ("checked", "chi_square_statistic", "p_value", "flagged", "threshold")
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    CHI_SQUARE_STATISTIC_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    checked: bool
    chi_square_statistic: float
    p_value: float
    flagged: bool
    threshold: float
    def __init__(self, checked: _Optional[bool] = ..., chi_square_statistic: _Optional[float] = ..., p_value: _Optional[float] = ..., flagged: _Optional[bool] = ..., threshold: _Optional[float] = ...) -> None: ...
