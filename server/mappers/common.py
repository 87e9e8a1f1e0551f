"""Conversions shared by every mapper: timestamps, durations, struct values, enum tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from domain.audience.model import ConditionScalar, ConditionValue
from domain.kernel.errors import ViolationCollector

E = TypeVar("E", bound=Enum)


def to_datetime(ts: timestamp_pb2.Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def optional_datetime(message: object, field: str) -> datetime | None:
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    return to_datetime(getattr(message, field))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def set_timestamp(target: timestamp_pb2.Timestamp, value: datetime | None) -> None:
    """Timestamp.FromDatetime's result, computed in one subtraction: a campaign has seven
    timestamps, and FromDatetime (pure Python) was a visible share of a Get's CPU."""
    if value is None:
        return
    if value.tzinfo is None:  # naive: read as local time, as astimezone does
        target.FromDatetime(value.astimezone(UTC))
        return
    delta = value - _EPOCH  # normalized: days may be negative, seconds and microseconds not
    target.seconds = delta.days * 86_400 + delta.seconds
    target.nanos = delta.microseconds * 1000


def to_timedelta(message: object, field: str, default: timedelta) -> timedelta:
    if not message.HasField(field):  # type: ignore[attr-defined]
        return default
    value: duration_pb2.Duration = getattr(message, field)
    return value.ToTimedelta()


def set_duration(target: duration_pb2.Duration, value: timedelta) -> None:
    target.FromTimedelta(value)


def from_value(v: ViolationCollector, path: str, value: struct_pb2.Value) -> ConditionValue:
    """A condition's value: a scalar, a list of scalars (in/not_in), or None when unset or null
    (exists/not_exists); the domain checks which one the operator takes."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "list_value":
        items = []
        for i, item in enumerate(value.list_value.values):
            scalar = _scalar(item)
            if scalar is None:
                v.add(f"{path}[{i}]", "must be a string, number or boolean")
            else:
                items.append(scalar)
        return tuple(items)
    scalar = _scalar(value)
    if scalar is None:
        v.add(path, "must be a string, number, boolean or a list of them")
        return None
    return scalar


def _scalar(value: struct_pb2.Value) -> ConditionScalar | None:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    return None


def to_value(value: ConditionValue) -> struct_pb2.Value | None:
    """None (no value) stays unset on the wire."""
    if value is None:
        return None
    if isinstance(value, tuple):
        out = struct_pb2.Value()
        out.list_value.values.extend(_scalar_value(e) for e in value)
        return out
    return _scalar_value(value)


def _scalar_value(value: ConditionScalar) -> struct_pb2.Value:
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, int | float):
        return struct_pb2.Value(number_value=float(value))
    return struct_pb2.Value(string_value=value)


def enum_in(
    v: ViolationCollector, path: str, table: Mapping[int, E], number: int, *, required: bool = True
) -> E | None:
    """Proto enum number -> domain enum by an explicit table, never by numeric coincidence."""
    if number in table:
        return table[number]
    if number != 0 or required:
        v.add(path, "is required" if number == 0 else f"unknown value {number}")
    return None


def invert(table: Mapping[int, E]) -> dict[E, Any]:
    """Domain -> proto; values typed Any because each proto enum is its own int NewType."""
    return {member: number for number, member in table.items()}
