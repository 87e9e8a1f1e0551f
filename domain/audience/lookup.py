"""Finding a contact or a saved segment, or answering NOT_FOUND: one wording and one metadata
key per kind, whichever use case looks (the audience service, SendTransactional, previews)."""

from __future__ import annotations

from domain.audience.contacts import Contact
from domain.audience.model import Segment
from domain.audience.ports import ContactDirectory, SegmentStore
from domain.kernel.errors import NotFoundError, required, shown


def contact_not_found(user_id: str) -> NotFoundError:
    return NotFoundError(f"contact {shown(user_id)} not found", metadata={"user_id": user_id})


def segment_not_found(segment_id: str) -> NotFoundError:
    return NotFoundError(
        f"segment {shown(segment_id)} not found", metadata={"segment_id": segment_id}
    )


async def load_contact(contacts: ContactDirectory, organization_id: str, user_id: str) -> Contact:
    """The organization's contact; INVALID_ARGUMENT without an id, NOT_FOUND if none."""
    found = await contacts.get(organization_id, required("user_id", user_id))
    if found is None:
        raise contact_not_found(user_id)
    return found


async def load_segment(segments: SegmentStore, organization_id: str, segment_id: str) -> Segment:
    """The organization's saved segment; INVALID_ARGUMENT without an id, NOT_FOUND if none."""
    found = await segments.get(organization_id, required("segment_id", segment_id))
    if found is None:
        raise segment_not_found(segment_id)
    return found
