"""name_uuid is uuid.uuid5 as a string, for any namespace and name (ids already stored were made
with uuid.uuid5: a different string would mint a second message or evaluation for the same one)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from domain.events.trigger_model import evaluation_id
from domain.execution.model import MESSAGE_NAMESPACE, fallback_message_id, message_id
from domain.kernel.channels import Channel
from domain.kernel.name_ids import name_uuid


@given(st.uuids(), st.text())
def test_the_same_string_as_uuid5(namespace: uuid.UUID, name: str) -> None:
    assert name_uuid(namespace, name) == str(uuid.uuid5(namespace, name))


def test_message_and_evaluation_ids_are_unchanged() -> None:
    assert message_id("exec-1", "u1", Channel.EMAIL) == str(
        uuid.uuid5(MESSAGE_NAMESPACE, "exec-1\x1fu1\x1femail")
    )
    assert fallback_message_id("m1", Channel.SMS) == str(
        uuid.uuid5(MESSAGE_NAMESPACE, "fallback\x1fm1\x1fsms")
    )
    # What uuid.uuid5 made for it before this module existed.
    assert evaluation_id("c1", "t1", "e1") == "546bde9d-af14-5e93-8a91-9c939880a691"
