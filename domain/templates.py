"""Creative templates (BR-CAM-008): content kept by the creative service, referenced by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.model import ChannelContent

if TYPE_CHECKING:  # the ports import this module for the Template type
    from domain.campaign import Campaign
    from domain.ports import TemplateSource


@dataclass(frozen=True, slots=True)
class Template:
    """A template's content for one channel and the profile variables it uses."""

    template_id: str
    content: ChannelContent
    variables: tuple[str, ...] = ()
    version: str = ""


async def templates_of(campaign: Campaign, source: TemplateSource | None) -> dict[str, Template]:
    """Every template the campaign's content references, fetched once (the source caches)."""
    if source is None:
        return {}
    spec = campaign.spec
    contents = [*spec.channels, *(c for v in spec.variants for c in v.channels)]
    wanted = sorted({c.template_id for c in contents if c.template_id})
    return {t: await source.get(campaign.organization_id, t) for t in wanted}
