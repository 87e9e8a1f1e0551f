"""Reading trigger evaluations (ListTriggerEvaluations): "why did this user not get it?".

By campaign, by user, or both; newest first; always within the caller's organization: another
organization's campaign is NOT_FOUND, like a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.campaigns.store import load_campaign
from domain.events.ports import EventsUnitOfWorkFactory
from domain.events.trigger_model import TriggerEvaluation
from domain.kernel.errors import FieldViolation, InvalidArgumentError
from domain.kernel.paging import clamp_page_size
from domain.kernel.principal import Principal

DEFAULT_EVALUATION_PAGE, MAX_EVALUATION_PAGE = 100, 1_000


class TriggerEvaluations:
    def __init__(self, uow: EventsUnitOfWorkFactory) -> None:
        self._uow = uow

    async def list(
        self,
        principal: Principal,
        *,
        campaign_id: str = "",
        user_id: str = "",
        after: str = "",
        limit: int = 0,
    ) -> tuple[Sequence[TriggerEvaluation], str]:
        principal.require_read()
        if not campaign_id and not user_id:
            raise InvalidArgumentError(
                [
                    FieldViolation("campaign_id", "give a campaign_id, a user_id, or both"),
                    FieldViolation("user_id", "give a campaign_id, a user_id, or both"),
                ]
            )
        size = clamp_page_size(limit, default=DEFAULT_EVALUATION_PAGE, maximum=MAX_EVALUATION_PAGE)
        async with self._uow(read_only=True) as uow:
            if campaign_id:
                await load_campaign(uow.campaigns, principal.organization_id, campaign_id)
            return await uow.triggers.list(
                principal.organization_id,
                campaign_id=campaign_id,
                user_id=user_id,
                after=after,
                limit=size,
            )
