"""Attribute conditions compiled to SQL over the contacts table, with domain.audience.conditions'
meaning.

Each field is first described as a typed value (is it present, is it text / a number / a
boolean, and what it is as such), from a contact column or from a key of the `attributes`
document; the operators are then written once against that description:
- missing or JSON null matches nothing, not even not_equals;
- numbers compare only with JSON numbers, both as doubles (domain: `float(a) == float(b)`), so
  the text "5" is not the number 5, and true is not 1;
- contains is a case-sensitive substring test via strpos/instr, which have no wildcards, so a
  "%" or "_" in the value is just that character (SQLite's LIKE would also ignore case).

The predicates may be NULL where the domain says False (a missing key); that reads as no match
wherever they are used positively, and `negatable` makes them safe under NOT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    select,
    true,
)

from adapters.sql.audience.tables import contacts
from domain.audience.conditions import CONTACT_FIELDS
from domain.audience.model import Condition, ConditionOperator, ConditionValue

Clause = ColumnElement[bool]
_SQLITE_NUMBER = ("integer", "real")


@dataclass(frozen=True, slots=True)
class _Value:
    """What a field is for the operators; `text`/`number` are NULL unless it is of that type."""

    present: Clause
    is_text: Clause
    text: ColumnElement[Any] | None
    number: ColumnElement[Any] | None
    equals_boolean: Callable[[bool], Clause] | None


def conditions_clause(conditions: Iterable[Condition], dialect: str) -> Clause:
    """All conditions (AND); no conditions match every contact, as in `matches_all`."""
    return and_(true(), *(condition_clause(c, dialect) for c in conditions))


def condition_clause(condition: Condition, dialect: str) -> Clause:
    if condition.field in CONTACT_FIELDS:
        value = _column(condition.field)
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
    if op is ConditionOperator.EQUALS:
        return _equals(value, expected)
    if op is ConditionOperator.NOT_EQUALS:
        return and_(value.present, not_(negatable(_equals(value, expected))))
    if op is ConditionOperator.CONTAINS:
        if not isinstance(expected, str) or value.text is None:
            return false()
        position = func.strpos if dialect == "postgresql" else func.instr
        return and_(value.is_text, position(value.text, literal(expected)) > 0)
    number = _number(expected)
    if number is None or value.number is None:
        return false()
    bound = literal(number, Float)
    return value.number > bound if op is ConditionOperator.GREATER_THAN else value.number < bound


def _equals(value: _Value, expected: ConditionValue) -> Clause:
    if isinstance(expected, bool):
        return value.equals_boolean(expected) if value.equals_boolean else false()
    number = _number(expected)
    if number is not None:
        return false() if value.number is None else value.number == literal(number, Float)
    if isinstance(expected, str) and value.text is not None:
        return and_(value.is_text, value.text == literal(expected))
    return false()


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _column(name: str) -> _Value:
    """A contact column: never missing ("" is a value), either text or boolean."""
    column = contacts.c[name]
    if isinstance(column.type, Boolean):
        return _Value(true(), false(), None, None, lambda expected: column == expected)
    return _Value(true(), true(), column, None, None)


def _jsonb_attribute(key: str) -> _Value:
    document = contacts.c.attributes
    kind = func.jsonb_typeof(func.jsonb_extract_path(document, literal(key)))
    text = func.jsonb_extract_path_text(document, literal(key))
    # CASE, not AND: Postgres may evaluate the cast before the type test, and "abc" would fail.
    number = case((kind == "number", cast(text, Float)))
    return _Value(
        kind != "null",
        kind == "string",
        text,
        number,
        lambda expected: and_(kind == "boolean", text == ("true" if expected else "false")),
    )


def _sqlite_attribute(key: str) -> _Value:
    kind, value = _sqlite_lookup(key)
    return _Value(
        kind != "null",
        kind == "text",
        value,
        case((kind.in_(_SQLITE_NUMBER), cast(value, Float))),
        lambda expected: kind == ("true" if expected else "false"),
    )


def _sqlite_lookup(key: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """json_type/json_extract by path where the key can be spelled in one; json_each otherwise.

    A path names a key by its stored spelling, and the stored document escapes '"', '\\',
    control and non-ASCII characters, so such keys would never be found by path.
    """
    document = contacts.c.attributes
    if all(" " <= ch <= "~" and ch not in '"\\' for ch in key):
        path = literal(f'$."{key}"')
        return func.json_type(document, path), func.json_extract(document, path)
    each = func.json_each(document).table_valued("key", "value", "type")
    kind = select(each.c.type).where(each.c.key == key).scalar_subquery()
    value = select(each.c.value).where(each.c.key == key).scalar_subquery()
    return kind, value
