"""Hypothesis strategies for any protobuf message, built from its descriptor alone.

The PyPI candidates (`hypothesis-protobuf`, 2015; `hypothesis-pb`, 2019) predate protobuf 4's
upb runtime and read `FieldDescriptor.label`, which protobuf 7 no longer has, so this small
module walks descriptors itself. It aims at the inputs that break servers, not at plausible data:

- strings: short text, NUL inside, unicode (emoji, RTL marks, combining marks), whitespace,
  template-looking text and, now and then, a very long string;
- integers at their type's extremes, floats incl. NaN, infinities and -0.0;
- enums: every declared value plus unknown numbers (proto3 enums are open);
- repeated fields of varying length, maps with odd keys, nested messages to a bounded depth;
- `google.protobuf.Timestamp` / `Duration` at and beyond their valid ranges, nanos out of range;
- `google.protobuf.Struct` with JSON values nested up to STRUCT_DEPTH deep.

Invalid UTF-8 and other undecodable bytes cannot be built as messages; `undecodable_bytes`
draws raw request bodies for those.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

MAX_DEPTH = 5  # nested messages below this depth are left unset
MAX_REPEATED = 4
LONG_STRING = 70_000
STRUCT_DEPTH = 24  # deeper than the server's cap, below protobuf's own encoding limit

F = FieldDescriptor

_ODD_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\n\r",
    "\u202e\u0301",
    "🎉👩‍👩‍👧",
    "Ω≈ç√∫",
    "{{ first_name }}",
    "{{ 1/0 }}",
    "{% for x in y %}",
    "' OR 1=1 --",
    "%s%n",
    "../../etc/passwd",
    "https://example.com/hook",
    "user@example.com",
    "+14155550100",
    "UTC",
    "Europe/Paris",
    "created_at desc",
    "name",
    "0 9 * * 1",
    "seg-active-users",
    "a" * 300,
)

_INT32 = (-(2**31), -1, 0, 1, 2**31 - 1)
_INT64 = (-(2**63), -(2**31) - 1, 2**31, 2**63 - 1)
_UINT32 = (0, 1, 2**32 - 1)
_UINT64 = (0, 2**63, 2**64 - 1)

TIMESTAMP_EXTREMES = (
    -62_135_596_801,  # one second before 0001-01-01
    -62_135_596_800,
    0,
    253_402_300_799,
    253_402_300_800,  # 10000-01-01
    10**15,
    -(10**15),
)
NANOS_EXTREMES = (0, 999_999_999, 1_000_000_000, -1, 2**31 - 1, -(2**31))
DURATION_EXTREMES = (0, 1, -1, 86_400, 315_576_000_000, 315_576_000_001, 10**15, -(10**15))


def text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(_ODD_STRINGS),
        st.text(st.characters(codec="utf-8"), max_size=30),
        st.text(st.characters(codec="utf-8"), max_size=8).map(lambda s: s + "\x00" + s),
        st.integers(1_000, LONG_STRING).map(lambda n: "x" * n),
    )


def _integers(bounds: tuple[int, int], extremes: tuple[int, ...]) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(extremes), st.integers(*bounds))


def _floats(width: int) -> st.SearchStrategy[float]:
    return st.one_of(
        st.sampled_from((0.0, -0.0, 50.0, 100.0, 100.1, -1.0, float("nan"), float("inf"))),
        st.floats(width=width),  # type: ignore[arg-type]
    )


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == F.TYPE_STRING:
        return text()
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind == F.TYPE_ENUM:
        numbers = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(numbers), st.sampled_from((-1, 99, 2**31 - 1)))
    if kind in (F.TYPE_DOUBLE,):
        return _floats(64)
    if kind == F.TYPE_FLOAT:
        return _floats(32)
    if kind in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return _integers((-(2**31), 2**31 - 1), _INT32)
    if kind in (F.TYPE_UINT32, F.TYPE_FIXED32):
        return _integers((0, 2**32 - 1), _UINT32)
    if kind in (F.TYPE_UINT64, F.TYPE_FIXED64):
        return _integers((0, 2**64 - 1), _UINT64)
    return _integers((-(2**63), 2**63 - 1), _INT32 + _INT64)  # int64, sint64, sfixed64


def timestamps() -> st.SearchStrategy[timestamp_pb2.Timestamp]:
    return st.builds(
        timestamp_pb2.Timestamp,
        seconds=st.one_of(
            st.sampled_from(TIMESTAMP_EXTREMES),
            st.integers(1_600_000_000, 2_000_000_000),  # 2020 .. 2033: plausible instants
        ),
        nanos=st.one_of(st.just(0), st.sampled_from(NANOS_EXTREMES)),
    )


def durations() -> st.SearchStrategy[duration_pb2.Duration]:
    return st.builds(
        duration_pb2.Duration,
        seconds=st.one_of(st.sampled_from(DURATION_EXTREMES), st.integers(-(10**6), 10**6)),
        nanos=st.one_of(st.just(0), st.sampled_from(NANOS_EXTREMES)),
    )


def json_values(max_depth: int = STRUCT_DEPTH) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        text(),
    )
    shallow = st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(text(), inner, max_size=3)
        ),
        max_leaves=8,
    )
    return st.one_of(shallow, st.integers(1, max_depth).map(_nested))


def _nested(depth: int) -> dict[str, Any]:
    value: Any = "leaf"
    for level in range(depth):
        value = {"k": value} if level % 2 == 0 else [value]
    return value if isinstance(value, dict) else {"k": value}


def structs() -> st.SearchStrategy[struct_pb2.Struct]:
    def build(data: dict[str, Any]) -> struct_pb2.Struct:
        out = struct_pb2.Struct()
        out.update(data)
        return out

    return st.one_of(
        st.dictionaries(text(), json_values(), max_size=4),
        st.integers(1, STRUCT_DEPTH).map(_nested),
    ).map(build)


def values() -> st.SearchStrategy[struct_pb2.Value]:
    return structs().map(lambda s: struct_pb2.Value(struct_value=s)) | st.builds(
        struct_pb2.Value, string_value=text()
    )


_WELL_KNOWN = {
    "google.protobuf.Timestamp": timestamps,
    "google.protobuf.Duration": durations,
    "google.protobuf.Struct": structs,
    "google.protobuf.Value": values,
}


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of `descriptor`'s type with any subset of its fields set."""
    special = _WELL_KNOWN.get(descriptor.full_name)
    if special is not None:
        return special()  # type: ignore[return-value]
    message_class = GetMessageClass(descriptor)
    if depth > MAX_DEPTH:
        return st.just(message_class())
    optional = {field.name: _field(field, depth) for field in descriptor.fields}
    return st.fixed_dictionaries({}, optional=optional).map(
        lambda values: _build(message_class, descriptor, values)
    )


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        return st.dictionaries(
            _one(entry.fields_by_name["key"], depth),
            _one(entry.fields_by_name["value"], depth + 1),
            max_size=MAX_REPEATED,
        )
    one = _one(field, depth)
    if field.is_repeated:
        return st.one_of(st.lists(one, max_size=MAX_REPEATED), st.lists(one, max_size=40))
    return one


def _one(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        return st.deferred(lambda: messages(field.message_type, depth + 1))
    return scalar(field)


def _build(message_class: type[Message], descriptor: Descriptor, values: dict[str, Any]) -> Message:
    message = message_class()
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        target = getattr(message, name, None)
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(item, Message):
                    target[key].CopyFrom(item)  # type: ignore[index]
                else:
                    target[key] = item  # type: ignore[index]
        elif field.is_repeated:
            if field.message_type is not None:
                for item in value:
                    target.add().CopyFrom(item)  # type: ignore[union-attr]
            else:
                target.extend(value)  # type: ignore[union-attr]
        elif field.message_type is not None:
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def undecodable_bytes() -> st.SearchStrategy[bytes]:
    """Request bodies no message type decodes: a string field (tag 1, length-delimited) holding
    invalid UTF-8, a truncated length, or a field with a reserved wire type."""
    return st.one_of(
        st.just(b"\x0a\x02\xff\xfe"),  # field 1, string, bytes that are not UTF-8
        st.just(b"\x0a\x03\xed\xa0\x80"),  # a lone surrogate (U+D800) encoded as UTF-8
        st.just(b"\x0a\x64abc"),  # length 100, 3 bytes follow
        st.just(b"\x0f"),  # field 1 with wire type 7 (invalid)
        st.binary(min_size=1, max_size=32).map(lambda b: b"\x0a\x7f" + b),
    )
