"""Name-based ids (RFC 4122 version 5 UUIDs) as strings, without the uuid module's objects.

The intake derives one id per trigger evaluation (twenty an event where twenty triggered
campaigns listen) and one per message: str(uuid.uuid5(...)) spent about 5 us on each, most of it
building and formatting a UUID object; the same SHA-1 bytes with the version and variant bits set
directly take about 1 us (docs/performance.md, "Name-based ids").
"""

from __future__ import annotations

import hashlib
import uuid


def name_uuid(namespace: uuid.UUID, name: str) -> str:
    """str(uuid.uuid5(namespace, name)), the same string (tests/unit/test_name_ids.py)."""
    raw = bytearray(
        hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()[:16]
    )
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
