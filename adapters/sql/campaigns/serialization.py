"""Campaign definitions and schedules <-> JSON documents stored in the database.

pydantic derives the mapping from the domain dataclasses themselves (enums by value, durations
and times as ISO 8601, tuples as arrays), so a new field in `domain.campaigns.model` is stored
without anyone writing a converter, and the domain stays free of persistence code.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from domain.campaigns.model import CampaignSpec, Schedule

_SPEC: TypeAdapter[CampaignSpec] = TypeAdapter(CampaignSpec)
_SCHEDULE: TypeAdapter[Schedule] = TypeAdapter(Schedule)


def spec_to_json(spec: CampaignSpec) -> dict[str, Any]:
    # warnings=False: an int condition value is a valid float, not a surprise worth a warning.
    document: dict[str, Any] = _SPEC.dump_python(spec, mode="json", warnings=False)
    return document


def spec_from_json(document: dict[str, Any]) -> CampaignSpec:
    return _SPEC.validate_python(document)


def schedule_to_json(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    document: dict[str, Any] = _SCHEDULE.dump_python(schedule, mode="json", warnings=False)
    return document


def schedule_from_json(document: dict[str, Any] | None) -> Schedule | None:
    return None if document is None else _SCHEDULE.validate_python(document)
