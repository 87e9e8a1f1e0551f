"""Who is calling and what they may do. The organization of the principal scopes every query."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from domain.kernel.errors import PermissionDeniedError


class Role(enum.StrEnum):
    ADMIN = "admin"
    SERVICE = "service"
    SYSTEM = "system"
    USER = "user"


WRITERS = frozenset({Role.ADMIN, Role.SERVICE, Role.SYSTEM})
READERS = frozenset(Role)
EXECUTORS = frozenset({Role.SERVICE, Role.SYSTEM})  # may start executions directly
# May estimate audiences and preview messages: both read contacts' data in bulk (counts over
# every contact, a rendering with a contact's profile) and cost far more than a read.
PLANNERS = WRITERS


@dataclass(frozen=True, slots=True)
class Principal:
    organization_id: str
    subject: str
    roles: frozenset[Role]

    def can_read(self) -> bool:
        return bool(self.roles & READERS)

    def can_write(self) -> bool:
        return bool(self.roles & WRITERS)

    def require_read(self) -> None:
        if not self.can_read():
            raise PermissionDeniedError("a reader role is required")

    def require_any(self, allowed: frozenset[Role], action: str) -> None:
        """PermissionDeniedError unless the principal holds one of the `allowed` roles."""
        if not self.roles & allowed:
            raise PermissionDeniedError(
                f"{action} needs the {_spelled(allowed)} role",
                metadata={"roles": ",".join(sorted(self.roles))},
            )

    def require_write(self) -> None:
        if not self.can_write():
            raise PermissionDeniedError(
                "this call changes data; it needs the admin, service or system role",
                metadata={"roles": ",".join(sorted(self.roles))},
            )


def _spelled(roles: frozenset[Role]) -> str:
    names = [r.value for r in Role if r in roles]  # in the enum's order: admin, service, ...
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
