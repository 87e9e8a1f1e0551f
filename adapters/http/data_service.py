"""The data service's (isA_Data) wire contract: intelligent_query members/count, user_360 profiles.

Request bodies are built and responses checked here, and only here, against
docs/upstream-http.md. A response that breaks the contract (ids out of order, a cursor that does
not move) raises UpstreamBadResponseError instead of letting a wrong audience through: the merge
of sorted streams silently sends to the wrong people if the order is not what it assumes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.http.client import UpstreamClient
from adapters.http.errors import (
    SegmentNotFoundError,
    UpstreamBadResponseError,
    UpstreamRejectedError,
)
from adapters.http.id_streams import IdPage
from domain.audience.contacts import DEFAULT_TIMEZONE, Contact
from domain.audience.model import Audience, Condition
from domain.kernel.time_zones import zone

MEMBERS_PATH = "/v1/intelligent_query/members"
COUNT_PATH = "/v1/intelligent_query/count"
PROFILES_PATH = "/v1/user_360/profiles:batchGet"
SCHEMA_PATH = "/v1/user_360/schema"
MAX_MEMBERS_PAGE = 10_000
MAX_PROFILES_BATCH = 1_000


def selector(audience: Audience) -> dict[str, Any]:
    """A saved segment by id, else the inline conditions (AND; none means everyone)."""
    if audience.segment_id:
        return {"segment_id": audience.segment_id}
    return {"conditions": [condition_json(c) for c in audience.query]}


def condition_json(c: Condition) -> dict[str, Any]:
    """A condition on the wire (docs/upstream-http.md): lists for in/not_in, no `value` for
    exists/not_exists."""
    out: dict[str, Any] = {"field": c.field, "operator": c.operator.value}
    if c.value is not None:
        out["value"] = list(c.value) if isinstance(c.value, tuple) else c.value
    return out


class DataServiceApi:
    """Typed calls to the data service; no caching or fallback (HttpAudienceSource adds those)."""

    def __init__(self, client: UpstreamClient) -> None:
        self._client = client

    @property
    def name(self) -> str:
        return self._client.name

    async def members(
        self, organization_id: str, audience: Audience, *, after: str, limit: int
    ) -> IdPage:
        body = {
            "organization_id": organization_id,
            **selector(audience),
            "after_user_id": after,
            "limit": limit,
        }
        data = await self._post(MEMBERS_PATH, body, audience)
        ids = data.get("user_ids") if isinstance(data, dict) else None
        next_after = data.get("next_after_user_id") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not (next_after is None or isinstance(next_after, str)):
            raise self._bad(MEMBERS_PATH, "expected {user_ids: [...], next_after_user_id}")
        self._check_page(ids, after, next_after, limit)
        return IdPage(ids, next_after)

    async def count(self, organization_id: str, audience: Audience) -> int:
        data = await self._post(
            COUNT_PATH, {"organization_id": organization_id, **selector(audience)}, audience
        )
        count = data.get("count") if isinstance(data, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise self._bad(COUNT_PATH, "expected {count: non-negative integer}")
        return count

    async def profiles(self, organization_id: str, user_ids: Sequence[str]) -> dict[str, Contact]:
        """Contacts by user_id; users the service no longer knows are simply absent."""
        data = await self._client.post_json(
            PROFILES_PATH, {"organization_id": organization_id, "user_ids": list(user_ids)}
        )
        profiles = data.get("profiles") if isinstance(data, dict) else None
        if not isinstance(profiles, list):
            raise self._bad(PROFILES_PATH, "expected {profiles: [...]}")
        wanted = set(user_ids)
        contacts = (to_contact(p) for p in profiles if _user_id_of(p) in wanted)
        return {c.user_id: c for c in contacts}

    async def profile_fields(self, organization_id: str) -> frozenset[str] | None:
        """The attribute names user_360 profiles of the organization may carry; None when the
        service offers no schema (404), which leaves template variables unchecked."""
        try:
            data = await self._client.get_json(
                SCHEMA_PATH, params={"organization_id": organization_id}
            )
        except UpstreamRejectedError as exc:
            if exc.status == 404:
                return None
            raise
        fields = data.get("fields") if isinstance(data, dict) else None
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise self._bad(SCHEMA_PATH, "expected {fields: [string, ...]}")
        return frozenset(fields)

    async def _post(self, path: str, body: dict[str, Any], audience: Audience) -> Any:
        try:
            return await self._client.post_json(path, body)
        except UpstreamRejectedError as exc:
            if exc.status == 404 and audience.segment_id:
                raise SegmentNotFoundError(audience.segment_id) from exc
            raise

    def _check_page(self, ids: list[Any], after: str, next_after: str | None, limit: int) -> None:
        if len(ids) > limit:
            raise self._bad(MEMBERS_PATH, f"{len(ids)} ids for a limit of {limit}")
        previous = after
        for user_id in ids:
            if not isinstance(user_id, str) or user_id <= previous:
                raise self._bad(MEMBERS_PATH, f"ids not strictly ascending after {previous!r}")
            previous = user_id
        if next_after is not None and next_after <= after:
            raise self._bad(MEMBERS_PATH, f"cursor {next_after!r} does not move past {after!r}")

    def _bad(self, path: str, message: str) -> UpstreamBadResponseError:
        return UpstreamBadResponseError(self.name, f"{path}: {message}")


def to_contact(profile: Mapping[str, Any]) -> Contact:
    """user_360 profile -> Contact. Consent is opt-in: only a JSON `true` counts, so a missing or
    malformed flag can never make someone reachable. A time zone we cannot use falls back to UTC
    rather than dropping the person (quiet hours still apply, in UTC)."""
    user_id = str(profile["user_id"])
    timezone = profile.get("timezone")
    attributes = profile.get("attributes")
    return Contact(
        user_id=user_id,
        email=_text(profile.get("email")),
        phone=_text(profile.get("phone")),
        whatsapp_verified=profile.get("whatsapp_verified") is True,
        timezone=timezone if isinstance(timezone, str) and zone(timezone) else DEFAULT_TIMEZONE,
        locale=_text(profile.get("locale")),
        email_opted_in=profile.get("email_opted_in") is True,
        sms_opted_in=profile.get("sms_opted_in") is True,
        whatsapp_opted_in=profile.get("whatsapp_opted_in") is True,
        in_app_opted_in=profile.get("in_app_opted_in") is True,
        attributes=attributes if isinstance(attributes, dict) else {},
    )


def _user_id_of(profile: Any) -> str | None:
    user_id = profile.get("user_id") if isinstance(profile, dict) else None
    return user_id if isinstance(user_id, str) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
