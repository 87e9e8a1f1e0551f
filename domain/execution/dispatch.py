"""Handing a just-committed batch straight to delivery, instead of through the relay.

The executor writes a batch's due messages as claimed, in the transaction that also moves its
checkpoint past the batch; here they are published from memory and then marked, while the next
batch is being planned. Through the relay the same messages would be selected, locked and
decoded once more before publishing, a read-back a big run cannot afford (docs/performance.md).

Nothing is lost on any failure. A publish that fails gives the claims back to the relay
(`release_claims`), which retries with its own backoff, and turns direct hand-over off for the
rest of the run, so a broker that is down costs one timeout rather than one per batch. A crash
between the commit and the mark leaves the rows claimed; the next lease holder releases them
(Executor.run_once), and the broker drops the re-published ids (Nats-Msg-Id).
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.execution.model import Message
from domain.execution.pipeline import OneInFlight
from domain.execution.ports import DeliveryPublisher, ExecutionUnitOfWorkFactory
from domain.kernel.errors import DependencyUnavailableError
from domain.kernel.ports import Clock


class DirectDispatch:
    """One execution's direct hand-overs: at most one batch in flight, in commit order."""

    def __init__(
        self,
        uow: ExecutionUnitOfWorkFactory,
        publisher: DeliveryPublisher,
        clock: Clock,
        execution_id: str,
    ) -> None:
        self._uow = uow
        self._publisher = publisher
        self._clock = clock
        self._execution_id = execution_id
        # Publishing batch k+1 overlaps with marking batch k: one waits on the broker, the other
        # on the database.
        self._publishing = OneInFlight()
        self._marking = OneInFlight()
        self.enabled = True

    async def hand_over(self, messages: Sequence[Message]) -> None:
        """Start publishing a committed batch of claimed messages (after the previous one)."""
        await self._publishing.settle()
        if not messages:
            return
        if not self.enabled:  # claimed before an earlier batch failed: the relay's now
            await self._release()
            return
        self._publishing.start(self._publish(messages))

    async def drain(self) -> None:
        """Wait for the batches in flight; a failure to mark one is raised here."""
        await self._publishing.settle()
        await self._marking.settle()

    async def abandon(self) -> None:
        """Stop the batches in flight (the run failed); their claims wait for the next lease."""
        await self._publishing.abandon()
        await self._marking.abandon()

    async def _publish(self, messages: Sequence[Message]) -> None:
        try:
            await self._publisher.publish(messages)
        except DependencyUnavailableError:
            self.enabled = False
            await self._release()
            return
        await self._marking.settle()
        self._marking.start(self._mark(messages))

    async def _mark(self, messages: Sequence[Message]) -> None:
        async with self._uow() as uow:
            await uow.messages.mark_claimed(
                [m.message_id for m in messages],
                self._publisher.handed_over_status,
                self._clock.now(),
            )
            await uow.commit()
        await self._publisher.handed_over(messages)

    async def _release(self) -> None:
        await self._marking.settle()  # a mark still to come would find its rows released
        async with self._uow() as uow:
            await uow.messages.release_claims(self._execution_id)
            await uow.commit()
