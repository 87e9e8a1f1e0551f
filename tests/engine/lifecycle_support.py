"""Shared by the user lifecycle tests: the intake with the lifecycle handlers on an engine rig,
and the sweep of every stored column for a person's data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import text

from adapters.system import UuidGenerator
from domain.audience.pseudonyms import Pseudonyms
from domain.events.erasure import ErasureHandler
from domain.events.intake import EventIntake
from domain.events.model import InboundEvent, Taken
from domain.events.preferences import PreferencesHandler
from tests.engine.conftest import ORG, EngineRig

PSEUDONYMS = Pseudonyms(b"k" * 32)


def intake(engine: EngineRig) -> EventIntake:
    handlers = [
        ErasureHandler(PSEUDONYMS, engine.clock, UuidGenerator()),
        PreferencesHandler(engine.clock),
    ]
    return EventIntake(engine.store.unit_of_work, handlers, engine.clock)


async def take(engine: EngineRig, event_id: str, event_type: str, **properties: object) -> Taken:
    user_id = str(properties.get("user_id", ""))
    event = InboundEvent(
        ORG,
        event_id,
        event_type,
        engine.clock.now() - timedelta(seconds=1),
        user_id=user_id,
        properties=properties,
    )
    return await intake(engine).take(event)


async def columns(engine: EngineRig) -> list[tuple[str, str]]:
    """(table, column) of EVERY column of EVERY table, from the database's own catalog."""
    async with engine.store.engine.connect() as connection:
        if engine.store.engine.dialect.name == "postgresql":
            rows = await connection.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() ORDER BY table_name, column_name"
                )
            )
            return [(t, c) for t, c in rows]
        tables = await connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        )
        found = []
        for (table,) in tables.all():
            info = await connection.execute(text(f'PRAGMA table_info("{table}")'))
            found += [(table, row[1]) for row in info]
        return found


async def sweep(engine: EngineRig, needles: Sequence[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a column's text holds one of `needles`, in any case."""
    hits = []
    async with engine.store.engine.connect() as connection:
        for table, column in await columns(engine):
            for needle in needles:
                count = await connection.scalar(
                    text(
                        f'SELECT count(*) FROM "{table}" '
                        f'WHERE lower(CAST("{column}" AS TEXT)) LIKE :pattern'
                    ),
                    {"pattern": f"%{needle.lower()}%"},
                )
                if count:
                    hits.append((table, column, needle))
    return hits
