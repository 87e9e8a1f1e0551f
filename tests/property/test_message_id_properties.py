"""Message ids: the executor's fast path must mint exactly domain.execution.model.message_id, since
the
id is the database key and JetStream's Nats-Msg-Id, and a rerun with either must collide."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from adapters.runtime.message_ids import FastMessageIds
from domain.execution.model import message_id
from domain.kernel.channels import Channel

ids_text = st.text(min_size=1, max_size=40)


@given(execution_id=ids_text, user_ids=st.lists(ids_text, min_size=1, max_size=30))
def test_fast_ids_equal_message_id(execution_id: str, user_ids: list[str]) -> None:
    fast = FastMessageIds(execution_id)
    for user_id in user_ids:
        for channel in Channel:
            expected = message_id(execution_id, user_id, channel)
            assert fast(user_id, channel) == expected
    assert fast._fast, "the shortcut disagreed with message_id and fell back to it"


def test_fast_ids_are_version_5_rfc_4122_uuids() -> None:
    fast = FastMessageIds(str(uuid.uuid4()))
    for n in range(2_000):
        parsed = uuid.UUID(fast(f"u{n}", Channel.EMAIL))
        assert parsed.version == 5
        assert parsed.variant == uuid.RFC_4122
