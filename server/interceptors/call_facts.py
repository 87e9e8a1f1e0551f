"""What the inner interceptors learn about a call, kept for the access log's line.

The access log is the outermost interceptor: by the time it writes its line, authentication
has reset its context variable and the error mapping has turned the error into a status. So it
opens a CallFacts for the call, and those inner interceptors note on it who called and which
ErrorInfo reason the call failed with (the object is shared, the context variable only carries
it inward).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from domain.kernel.principal import Principal


@dataclass(slots=True)
class CallFacts:
    principal: Principal | None = None
    error_reason: str = ""
    error_message: str = ""


_facts: ContextVar[CallFacts | None] = ContextVar("call_facts", default=None)


@contextmanager
def call_facts() -> Iterator[CallFacts]:
    """A fresh record for the call running inside (opened by the access log)."""
    facts = CallFacts()
    token = _facts.set(facts)
    try:
        yield facts
    finally:
        _facts.reset(token)


def note_principal(principal: Principal) -> None:
    facts = _facts.get()
    if facts is not None:
        facts.principal = principal


def note_error(reason: str, message: str) -> None:
    facts = _facts.get()
    if facts is not None:
        facts.error_reason, facts.error_message = reason, message
