"""JSON column values are read through orjson (adapters/sql/documents.py, the engines'
json_deserializer) and must come out exactly as the stdlib json.loads would make them: an integer
beyond 64 bits stays an exact int, a float stays that float, NaN (which SQLite may hold) still
reads, and the engines of both databases read a JSON value that way."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, cast, literal, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from adapters.sql.documents import decode_document
from adapters.sql.engine import make_engine, sqlite_url_for
from tests.support.services import postgres_database

HUGE = 123456789012345678901234567890  # more than 64 bits: orjson alone would make it a float
DOCUMENT = {"big": HUGE, "ratio": 0.1, "nested": [{"n": -(2**70)}, "text", None, True]}

documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(documents)
def test_a_document_reads_as_json_loads_reads_it(value: object) -> None:
    raw = json.dumps(value)
    assert decode_document(raw) == json.loads(raw)
    assert decode_document(raw.encode()) == json.loads(raw)


def test_big_integers_stay_exact_and_nan_still_reads() -> None:
    decoded = decode_document(json.dumps(DOCUMENT))
    assert decoded == DOCUMENT
    assert type(decoded["big"]) is int
    assert math.isnan(decode_document('{"x": NaN}')["x"])
    assert decode_document({"already": "decoded"}) == {"already": "decoded"}


async def test_the_sqlite_engine_reads_json_values_exactly(tmp_path: Path) -> None:
    # SQLite keeps JSON as text: the column's type alone makes the engine decode it.
    stored = literal_column("'" + json.dumps(DOCUMENT) + "'")
    engine = make_engine(sqlite_url_for(tmp_path))
    try:
        async with engine.connect() as connection:
            value = (await connection.execute(select(type_coerce(stored, JSON)))).scalar_one()
    finally:
        await engine.dispose()
    assert value == DOCUMENT
    assert type(value["big"]) is int


@pytest.mark.postgres
async def test_the_postgres_engine_reads_jsonb_values_exactly() -> None:
    async with postgres_database() as url:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                statement = select(cast(literal(json.dumps(DOCUMENT)), JSONB))
                value = (await connection.execute(statement)).scalar_one()
        finally:
            await engine.dispose()
    assert value == DOCUMENT
    assert type(value["big"]) is int
