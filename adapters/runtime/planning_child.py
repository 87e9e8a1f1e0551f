"""The planning process itself (adapters.runtime.planning_process): the domain's own pure
functions, on plain values that cross the process boundary cheaply.

Started as `python -m adapters.runtime.planning_child` by its server, it reads requests from
stdin and writes answers to stdout, one at a time: a frame is 8 bytes of length and a pickle
(a request: the function's name and its arguments; an answer: a status byte first, 0 for the
result, 1 for an error's description). Its server is the only writer of its stdin, so it ends
at end of input, which is also what it reads when its server dies, killed or not.

A batch crosses as tuples, not as the domain's objects: pickling ten thousand dataclasses costs
the sending process about as much as planning them would (docs/performance.md), tuples of
strings a tenth of it. Compiled templates do not cross at all: the process compiles a plan from
the campaign and its templates once and keeps it for the batches that follow.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import pickle
import signal
import sys
from collections import OrderedDict
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, BinaryIO

from domain.audience.contacts import Contact
from domain.audience.model import Recipient
from domain.execution.model import ExecutionCounts
from domain.execution.planning import CampaignPlan, plan_batch
from domain.execution.tracked_content import tracked_content
from domain.execution.tracking import TrackingLinks
from domain.kernel.channels import Channel

# The contact's fields a plan reads: all but its timestamps (planning never looks at them; the
# process planner's contract test would see it if it did, its contacts carry them).
CONTACT_FIELDS = tuple(
    f.name for f in dataclasses.fields(Contact) if f.name not in ("created_at", "updated_at")
)
contact_row = attrgetter(*CONTACT_FIELDS)
COUNT_FIELDS = tuple(f.name for f in dataclasses.fields(ExecutionCounts))
CHANNELS = {c.value: c for c in Channel}
KEPT_PLANS = 16
GC_YOUNG_THRESHOLD = 50_000
LENGTH_BYTES = 8
OK, FAILED = b"\x00", b"\x01"

RecipientRow = tuple[tuple[Any, ...], tuple[str, ...]]
# (recipient's index in the batch, variant id, channel, address, content, missing variables,
# error, content digest)
DraftRow = tuple[int, str, str, str, dict[str, str], frozenset[str], str, str]
PlannedRows = tuple[list[DraftRow], tuple[int, ...], list[str], str]
TrackRow = tuple[str, str, bool, dict[str, str]]


class _State:
    """What the process keeps between requests."""

    def __init__(self) -> None:
        self.plans: OrderedDict[str, CampaignPlan] = OrderedDict()
        self.links: TrackingLinks | None = None


_state = _State()


def recipient_row(recipient: Recipient) -> RecipientRow:
    suppressed = recipient.suppressed_channels
    values = _SUPPRESSED_VALUES.get(suppressed)
    if values is None:
        values = _SUPPRESSED_VALUES[suppressed] = tuple(sorted(c.value for c in suppressed))
    return contact_row(recipient.contact), values


def _suppressed(values: tuple[str, ...]) -> frozenset[Channel]:
    channels = _SUPPRESSED_CHANNELS.get(values)
    if channels is None:
        channels = _SUPPRESSED_CHANNELS[values] = frozenset(CHANNELS[v] for v in values)
    return channels


# Per recipient, one of a handful of channel sets: each converted once, not once per recipient.
_SUPPRESSED_VALUES: dict[frozenset[Channel], tuple[str, ...]] = {}
_SUPPRESSED_CHANNELS: dict[tuple[str, ...], frozenset[Channel]] = {}


def start(links: TrackingLinks | None) -> bool:
    """The first request: the signer of tracking links the process will use."""
    _state.links = links
    return True


def plan_rows(key: str, source: bytes, rows: Sequence[RecipientRow]) -> PlannedRows:
    """plan_batch of the campaign pickled in `source` (known by `key` once compiled here)."""
    plans = _state.plans
    plan = plans.get(key)
    if plan is None:
        campaign, templates = pickle.loads(source)
        plan = plans[key] = CampaignPlan.of(campaign, templates)
        while len(plans) > KEPT_PLANS:
            plans.popitem(last=False)
    else:
        plans.move_to_end(key)
    recipients = [Recipient(Contact(*contact), _suppressed(values)) for contact, values in rows]
    index = {id(r): i for i, r in enumerate(recipients)}
    batch = plan_batch(plan, recipients)
    drafts = [
        (
            index[id(d.recipient)],
            d.variant_id,
            d.channel.value,
            d.address,
            d.content,
            d.missing_variables,
            d.error,
            d.digest,
        )
        for d in batch.drafts
    ]
    counts = tuple(getattr(batch.counts, name) for name in COUNT_FIELDS)
    return drafts, counts, batch.holdout_user_ids, batch.last_user_id


def track_rows(rows: Sequence[TrackRow]) -> list[dict[str, str] | None]:
    """tracked_content of each (organization, message id, marketing, content)."""
    links = _state.links
    if links is None:
        raise RuntimeError("the planning process was started without tracking links")
    return [
        tracked_content(org, mid, marketing, content, links)
        for org, mid, marketing, content in rows
    ]


REQUESTS: dict[str, Callable[..., Any]] = {
    "start": start,
    "plan_rows": plan_rows,
    "track_rows": track_rows,
}


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until end of input."""
    while True:
        header = requests.read(LENGTH_BYTES)
        if len(header) < LENGTH_BYTES:
            return
        name, args = pickle.loads(requests.read(int.from_bytes(header, "big")))
        try:
            status, body = OK, pickle.dumps(REQUESTS[name](*args), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # the server does the batch itself, and meets it there
            status, body = FAILED, pickle.dumps(f"{type(exc).__name__}: {exc}")
        answers.write(status + len(body).to_bytes(LENGTH_BYTES, "big") + body)
        answers.flush()


def main() -> None:
    # Ctrl-C reaches the whole process group: the server stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A batch allocates hundreds of thousands of objects, almost none in cycles: the collector
    # runs seldom and never walks the modules imported above (as adapters.runtime.gc_tuning
    # does for a fan-out in the server).
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    # The answers get stdout's pipe to themselves: anything printed goes to stderr instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
