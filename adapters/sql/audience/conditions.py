"""Attribute conditions compiled to SQL over the contacts table, with domain.audience.conditions'
meaning (docs/conditions.md).

Each field is first described as a typed value (is it present, is it text / a number / a
boolean, and what it is as such), from a contact column or from the `attributes` document (a key,
or a dot path through nested objects); the operators are then written once against that
description:
- missing or JSON null: only not_exists matches;
- numbers compare as doubles (domain: `float(a) == float(b)`), JSON numbers and numeric text
  alike when the other side is a number; text compares with text exactly, booleans with
  booleans; any other pairing is false, negated operators included;
- contains is a case-sensitive substring test via strpos/instr, which have no wildcards, so a
  "%" or "_" in the value is just that character (SQLite's LIKE would also ignore case);
- in/not_in are an OR of equals / an AND of not_equals over the (capped) list.

The predicates may be NULL where the domain says False (a missing key); that reads as no match
wherever they are used positively, and `negatable` makes them safe under NOT. Nothing here can
raise at run time: casts happen under CASE only for text already known to be numeric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from adapters.sql.audience.tables import contacts
from domain.audience.conditions import (
    CONTACT_FIELDS,
    NUMERIC_TEXT_MAX,
    ORDERED,
    is_number,
    numeric_text,
)
from domain.audience.model import Condition, ConditionOperator, ConditionScalar, ConditionValue

Clause = ColumnElement[bool]
OP = ConditionOperator
_SQLITE_NUMBER = ("integer", "real")
# domain.audience.conditions.NUMERIC_TEXT as a Postgres regex, and as SQLite GLOBs: only digits,
# "." and "-"; "-" only first; at most one "."; a digit last; no "." first or right after "-".
_PG_NUMERIC = r"^-?[0-9]+(\.[0-9]+)?$"
_SQLITE_NOT_NUMERIC = ("*[^0-9.-]*", "?*-*", "*.*.*", ".*", "-.*")


@dataclass(frozen=True, slots=True)
class _Value:
    """What a field is for the operators; `text`/`number` are NULL unless it is of that type,
    `numeric_text` unless it is text that reads as a number."""

    present: Clause
    is_text: Clause
    text: ColumnElement[Any] | None
    number: ColumnElement[Any] | None
    numeric_text: ColumnElement[Any] | None
    is_boolean: Callable[[bool], Clause] | None


def conditions_clause(conditions: Iterable[Condition], dialect: str) -> Clause:
    """All conditions (AND); no conditions match every contact, as in `matches_all`."""
    return and_(true(), *(condition_clause(c, dialect) for c in conditions))


def condition_clause(condition: Condition, dialect: str) -> Clause:
    if condition.field in CONTACT_FIELDS:
        value = _column(condition.field, dialect)
    elif dialect == "postgresql":
        value = _jsonb_attribute(condition.field)
    else:
        value = _sqlite_attribute(condition.field)
    return _operator(value, condition.operator, condition.value, dialect)


def negatable(clause: Clause) -> Clause:
    """NULL (unknown) turned into false, so NOT of it means "did not match"."""
    return func.coalesce(clause, false(), type_=Boolean)


def _operator(
    value: _Value, op: ConditionOperator, expected: ConditionValue, dialect: str
) -> Clause:
    if op is OP.EXISTS:
        return negatable(value.present)
    if op is OP.NOT_EXISTS:
        return not_(negatable(value.present))
    if op is OP.IN or op is OP.NOT_IN:
        if not isinstance(expected, tuple) or not expected:
            return false()
        return _listed(value, expected, inside=op is OP.IN)
    if expected is None or isinstance(expected, tuple):
        return false()
    if op is OP.EQUALS or op is OP.NOT_EQUALS:
        return _compare(value, expected, equal=op is OP.EQUALS)
    if op is OP.CONTAINS or op is OP.NOT_CONTAINS:
        if not isinstance(expected, str) or value.text is None:
            return false()
        position = (func.strpos if dialect == "postgresql" else func.instr)(
            value.text, literal(expected)
        )
        return and_(value.is_text, position > 0 if op is OP.CONTAINS else position == 0)
    assert op in ORDERED, op
    number = _coerced(value)
    if not is_number(expected) or number is None:
        return false()
    bound = literal(float(expected), Float)
    if op is OP.GREATER_THAN:
        return number > bound
    if op is OP.LESS_THAN:
        return number < bound
    if op is OP.GREATER_THAN_OR_EQUAL:
        return number >= bound
    return number <= bound


def _compare(value: _Value, expected: ConditionScalar, *, equal: bool) -> Clause:
    """equals (equal=True) or not_equals under the type rule; false on a type mismatch."""
    if isinstance(expected, bool):
        return value.is_boolean(expected is equal) if value.is_boolean else false()
    if is_number(expected):
        number = _coerced(value)
        if number is None:
            return false()
        bound = literal(float(expected), Float)
        return number == bound if equal else number != bound
    assert isinstance(expected, str)
    clauses = []
    if value.text is not None:
        same = value.text == literal(expected) if equal else value.text != literal(expected)
        clauses.append(and_(value.is_text, same))
    as_number = numeric_text(expected)
    if as_number is not None and value.number is not None:
        bound = literal(as_number, Float)
        clauses.append(value.number == bound if equal else value.number != bound)
    return or_(*clauses) if clauses else false()


def _listed(value: _Value, expected: tuple[ConditionScalar, ...], *, inside: bool) -> Clause:
    """in: equals for some value (OR); not_in: not_equals for every value (AND). Written as one
    SQL IN list per kind of value, so a capped list is a handful of clauses, not hundreds."""
    numbers = sorted({float(e) for e in expected if is_number(e)})
    texts = sorted({e for e in expected if isinstance(e, str)})
    as_numbers = sorted({n for n in map(numeric_text, texts) if n is not None})
    plain_texts = [t for t in texts if numeric_text(t) is None]
    booleans = {e for e in expected if isinstance(e, bool)}
    parts: list[Clause] = [_compare(value, b, equal=inside) for b in sorted(booleans)]
    coerced = _coerced(value)
    if numbers:
        parts.append(_among(coerced, numbers, inside))
    if plain_texts:
        parts.append(and_(value.is_text, _among(value.text, plain_texts, inside)))
    if as_numbers:  # numeric text: text against text, or a JSON number against the number
        numeric = [t for t in texts if numeric_text(t) is not None]
        parts.append(
            or_(
                and_(value.is_text, _among(value.text, numeric, inside)),
                _among(value.number, as_numbers, inside),
            )
        )
    return or_(*parts) if inside else and_(*parts)


def _among(column: ColumnElement[Any] | None, values: list[Any], inside: bool) -> Clause:
    if column is None:
        return false()
    bound = [literal(v, Float) if isinstance(v, float) else literal(v) for v in values]
    return column.in_(bound) if inside else and_(column.is_not(None), column.not_in(bound))


def _coerced(value: _Value) -> ColumnElement[Any] | None:
    """The field as a number when it is one or is numeric text (compared with a number)."""
    parts = [p for p in (value.number, value.numeric_text) if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else func.coalesce(*parts, type_=Float)


def _numeric_text(is_text: Clause, text: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    shape: Clause
    if dialect == "postgresql":
        shape = text.op("~", is_comparison=True)(literal(_PG_NUMERIC))
    else:
        shape = and_(
            text.op("GLOB", is_comparison=True)(literal("*[0-9]")),
            *(not_(text.op("GLOB", is_comparison=True)(literal(p))) for p in _SQLITE_NOT_NUMERIC),
        )
    # CASE, not AND: the cast must never see text that is not a number.
    return case((and_(is_text, func.length(text) <= NUMERIC_TEXT_MAX, shape), cast(text, Float)))


def _column(name: str, dialect: str) -> _Value:
    """A contact column: never missing ("" is a value), either text or boolean."""
    column = contacts.c[name]
    if isinstance(column.type, Boolean):
        return _Value(
            true(), false(), None, None, None, lambda expected: column == literal(expected)
        )
    return _Value(true(), true(), column, None, _numeric_text(true(), column, dialect), None)


def _jsonb_attribute(field: str) -> _Value:
    """The key `field` when the document has it (even as null), else the dot path through
    objects: `->` with a text key, which (unlike jsonb_extract_path) never indexes a list."""
    document: ColumnElement[Any] = contacts.c.attributes
    node = _arrow(document, field)
    if "." in field and field.split(".", 1)[0] not in CONTACT_FIELDS:
        walked = document
        for part in field.split("."):
            walked = _arrow(walked, part)
        node = func.coalesce(node, walked, type_=JSONB)
    kind = func.jsonb_typeof(node)
    text = node.op("#>>", return_type=Text)(literal_column("'{}'::text[]"))
    number = case((kind == "number", cast(text, Float)))
    return _Value(
        kind != "null",
        kind == "string",
        text,
        number,
        _numeric_text(kind == "string", text, "postgresql"),
        lambda expected: and_(kind == "boolean", text == ("true" if expected else "false")),
    )


def _arrow(document: ColumnElement[Any], key: str) -> ColumnElement[Any]:
    return document.op("->", return_type=JSONB)(cast(literal(key), Text))


def _sqlite_attribute(field: str) -> _Value:
    kind, value = _sqlite_lookup(field)
    return _Value(
        kind != "null",
        kind == "text",
        value,
        case((kind.in_(_SQLITE_NUMBER), cast(value, Float))),
        _numeric_text(kind == "text", value, "sqlite"),
        lambda expected: kind == ("true" if expected else "false"),
    )


def _sqlite_lookup(field: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(json_type, value) of the key `field`, else of the dot path (see _jsonb_attribute)."""
    document: ColumnElement[Any] = contacts.c.attributes
    kind, value = _sqlite_key(document, "$", field)
    if "." not in field or field.split(".", 1)[0] in CONTACT_FIELDS:
        return kind, value
    node: ColumnElement[Any] = document
    path = "$"
    *parents, last = field.split(".")
    for part in parents:
        if _spellable(part):
            path += f'."{part}"'
        else:  # step into the object by json_each; anything but an object ends the walk
            each = func.json_each(node, literal(path)).table_valued("key", "value", "type")
            node = (
                select(case((each.c.type == "object", each.c.value)))
                .where(each.c.key == part)
                .scalar_subquery()
            )
            path = "$"
    walked_kind, walked_value = _sqlite_key(node, path, last)
    literal_found = kind.is_not(None)
    return (
        case((literal_found, kind), else_=walked_kind),
        case((literal_found, value), else_=walked_value),
    )


def _sqlite_key(
    document: ColumnElement[Any], path: str, key: str
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """json_type/json_extract of `key` in the object at `path`, by path where the key can be
    spelled in one, by json_each otherwise.

    A path names a key by its stored spelling, and the stored document escapes '"', '\\',
    control and non-ASCII characters, so such keys would never be found by path.
    """
    if _spellable(key):
        full = literal(f'{path}."{key}"')
        return func.json_type(document, full), func.json_extract(document, full)
    each = func.json_each(document, literal(path)).table_valued("key", "value", "type")
    kind = select(each.c.type).where(each.c.key == key).scalar_subquery()
    value = select(each.c.value).where(each.c.key == key).scalar_subquery()
    return kind, value


def _spellable(key: str) -> bool:
    return all(" " <= ch <= "~" and ch not in '"\\' for ch in key)
