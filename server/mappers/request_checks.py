"""Checks every request message gets before its handler runs, whatever the RPC, from the message's
descriptor alone: so a new field or RPC is covered without a line of its own.

- Strings: no NUL character. Postgres cannot store one in `text` or `jsonb` (SQLite can), so
  without this check the two backends would disagree and Postgres would answer INTERNAL. (Invalid
  UTF-8, lone surrogates included, never gets this far: protobuf refuses to decode it.)
- `google.protobuf.Timestamp`: inside its documented range, 0001-01-01 to 9999-12-31, with nanos
  in 0..999,999,999; `google.protobuf.Duration`: within +-10,000 years, nanos below one second
  and of the same sign. Anything else cannot become a Python datetime or timedelta.
- `google.protobuf.Struct` / `ListValue`: nested at most MAX_STRUCT_DEPTH deep.

Each problem is a FieldViolation with the field's path in request terms (`channels[0].sms.body`,
`metadata["k"]`, `context["a"]["b"]`).

Cost, since this runs on the event loop before any handler: the walk visits only fields that are
set; strings are looked at only when the request's bytes hold a 0x00 byte at all (`strings`);
otherwise only the fields whose type can hold a Timestamp, Duration or Struct are entered
(`needs_walk`), so a GetCampaignRequest pays one byte search and a CreateCampaignRequest with
thousands of conditions skips them all. A walk that would visit more than MAX_VISITS fields and
elements stops and rejects the request as too large: no valid request comes near it, and it
bounds the time one request can take here (about 2.5 us a visit).
"""

from __future__ import annotations

import json
from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from domain.kernel.errors import FieldViolation

MAX_STRUCT_DEPTH = 10
MAX_REPORTED = 20  # violations reported per request; the walk stops there
MAX_VISITS = 50_000  # messages and strings looked at per request (AddSuppressions: 10,000 entries)

TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"
STRUCT = "google.protobuf.Struct"
LIST_VALUE = "google.protobuf.ListValue"
VALUE = "google.protobuf.Value"
_CHECKED_TYPES = frozenset({TIMESTAMP, DURATION, STRUCT, LIST_VALUE, VALUE})
# What makes a field worth entering without NUL in sight. Not Value: one on its own (a condition's
# value) is checked by its mapper, and a Value deep inside a Struct is reached through the Struct.
_TRIGGERS = frozenset({TIMESTAMP, DURATION, STRUCT, LIST_VALUE})

MIN_TIMESTAMP_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
MAX_TIMESTAMP_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
MAX_DURATION_SECONDS = 315_576_000_000  # 10,000 years, the Duration type's own bound
NANOS = 1_000_000_000

NUL = "must not contain NUL characters"


@cache
def needs_walk(descriptor: Descriptor) -> bool:
    """Whether messages of this type can hold a Timestamp, Duration or Struct, at any depth."""
    return _holds_checked_types(descriptor, frozenset())


def _holds_checked_types(descriptor: Descriptor, seen: frozenset[str]) -> bool:
    if descriptor.full_name in _TRIGGERS:
        return True
    if descriptor.full_name == VALUE:
        return False  # see _TRIGGERS
    seen = seen | {descriptor.full_name}
    return any(
        f.message_type is not None
        and f.message_type.full_name not in seen
        and _holds_checked_types(f.message_type, seen)
        for f in descriptor.fields
    )


class _TooLarge(Exception):
    pass


def request_violations(message: Message, *, strings: bool = True) -> list[FieldViolation]:
    """Every problem of `message` (up to MAX_REPORTED), with request-relative field paths.

    `strings=False` skips the NUL check (and every field that holds only strings): for a
    request whose bytes have no 0x00 byte, no string can hold a NUL."""
    walk = _Walk(strings)
    try:
        walk.message(message, "")
    except _TooLarge:
        return [FieldViolation("request", f"has more than {MAX_VISITS} fields and elements")]
    return walk.found


def _key(key: object) -> str:
    text = str(key)
    return json.dumps(text if len(text) <= 40 else text[:40] + "...")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Walk:
    __slots__ = ("found", "strings", "visits")

    def __init__(self, strings: bool) -> None:
        self.found: list[FieldViolation] = []
        self.strings = strings
        self.visits = 0

    def visit(self) -> None:
        self.visits += 1
        if self.visits > MAX_VISITS:
            raise _TooLarge

    def add(self, path: str, description: str) -> None:
        if len(self.found) < MAX_REPORTED:
            self.found.append(FieldViolation(path or "request", description))

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_REPORTED

    def text(self, path: str, value: str) -> None:
        self.visit()
        if "\x00" in value:
            self.add(path, NUL)

    def message(self, message: Message, path: str, depth: int = 0) -> None:
        self.visit()
        name = message.DESCRIPTOR.full_name
        if name in _CHECKED_TYPES:
            self.well_known(name, message, path, depth)
            return
        for field, value in message.ListFields():
            if self.full:
                return
            if not self.strings and (
                field.message_type is None or not needs_walk(field.message_type)
            ):
                continue  # nothing in there to check
            where = _join(path, field.name)
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                self.map(field, value, where, depth)
            elif field.is_repeated:
                for i, item in enumerate(value):
                    self.single(field, item, f"{where}[{i}]", depth)
            else:
                self.single(field, value, where, depth)

    def single(self, field: FieldDescriptor, value: object, path: str, depth: int) -> None:
        if field.type == FieldDescriptor.TYPE_STRING:
            if self.strings:
                self.text(path, value)  # type: ignore[arg-type]
        elif field.message_type is not None:
            self.message(value, path, depth)  # type: ignore[arg-type]

    def map(self, field: FieldDescriptor, entries: object, path: str, depth: int) -> None:
        entry = field.message_type
        assert entry is not None  # a map field's entry type
        value_field = entry.fields_by_name["value"]
        for key, item in entries.items():  # type: ignore[attr-defined]
            if self.strings and isinstance(key, str) and "\x00" in key:
                self.add(path, f"keys {NUL}")
            self.single(value_field, item, f"{path}[{_key(key)}]", depth)

    def well_known(self, name: str, message: Message, path: str, depth: int) -> None:
        if name == TIMESTAMP:
            self.timestamp(message, path)
        elif name == DURATION:
            self.duration(message, path)
        elif name == VALUE:
            self.value(message, path, depth)
        elif depth + 1 > MAX_STRUCT_DEPTH:
            self.add(path, f"nested more than {MAX_STRUCT_DEPTH} levels deep")
        elif name == STRUCT:
            for key, item in message.fields.items():  # type: ignore[attr-defined]
                if self.strings and "\x00" in key:
                    self.add(path, f"keys {NUL}")
                self.value(item, f"{path}[{_key(key)}]", depth + 1)
        else:  # ListValue
            for i, item in enumerate(message.values):  # type: ignore[attr-defined]
                self.value(item, f"{path}[{i}]", depth + 1)

    def value(self, value: Message, path: str, depth: int) -> None:
        self.visit()
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            if self.strings:
                self.text(path, value.string_value)  # type: ignore[attr-defined]
        elif kind in ("struct_value", "list_value"):
            name = STRUCT if kind == "struct_value" else LIST_VALUE
            self.well_known(name, getattr(value, kind), path, depth)

    def timestamp(self, ts: Message, path: str) -> None:
        seconds, nanos = ts.seconds, ts.nanos  # type: ignore[attr-defined]
        if not MIN_TIMESTAMP_SECONDS <= seconds <= MAX_TIMESTAMP_SECONDS:
            self.add(path, "must be between 0001-01-01 and 9999-12-31 (UTC)")
        elif not 0 <= nanos < NANOS:
            self.add(path, "nanos must be between 0 and 999,999,999")

    def duration(self, d: Message, path: str) -> None:
        seconds, nanos = d.seconds, d.nanos  # type: ignore[attr-defined]
        if abs(seconds) > MAX_DURATION_SECONDS:
            self.add(path, f"must be within +-{MAX_DURATION_SECONDS} seconds (10,000 years)")
        elif abs(nanos) >= NANOS or (seconds and nanos and (seconds < 0) != (nanos < 0)):
            self.add(path, "nanos must be below one second and of the same sign as seconds")
