"""Message ids hashed with a shared prefix: the executor's hot path writes one per message."""

from __future__ import annotations

import hashlib

from domain.execution.model import MESSAGE_NAMESPACE, message_id
from domain.kernel.channels import Channel


class FastMessageIds:
    """domain.execution.model.message_id for the messages of one batch, faster than through
    uuid.uuid5 and uuid.UUID (docs/performance.md): the same SHA-1 name-based UUID, with the hash
    of the shared prefix (namespace and execution id) computed once and the version and variant
    bits set on the bytes.
    The first id is checked against message_id itself; should they ever differ, message_id is
    used for all of them, so the ids never depend on this shortcut."""

    def __init__(self, execution_id: str) -> None:
        self._execution_id = execution_id
        self._prefix = hashlib.sha1(
            MESSAGE_NAMESPACE.bytes + f"{execution_id}\x1f".encode(), usedforsecurity=False
        )
        self._checked = False
        self._fast = True

    def __call__(self, user_id: str, channel: Channel) -> str:
        if not self._fast:
            return message_id(self._execution_id, user_id, channel)
        sha1 = self._prefix.copy()
        sha1.update(f"{user_id}\x1f{channel}".encode())  # a StrEnum formats as its value
        raw = bytearray(sha1.digest()[:16])
        raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
        raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
        h = raw.hex()
        fast = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if not self._checked:
            self._checked = True
            slow = message_id(self._execution_id, user_id, channel)
            if fast != slow:
                self._fast = False
                return slow
        return fast
