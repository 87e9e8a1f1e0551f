"""Creative templates (BR-CAM-008): content kept by the creative service, referenced by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import ChannelContent


@dataclass(frozen=True, slots=True)
class Template:
    """A template's content for one channel and the profile variables it uses."""

    template_id: str
    content: ChannelContent
    variables: tuple[str, ...] = ()
    version: str = ""


class TemplateSource(Protocol):
    """Templates of the creative service, cached by the adapter (BR-CAM-008.1)."""

    async def get(self, organization_id: str, template_id: str) -> Template:
        """Raises NotFoundError for an unknown template and DependencyUnavailableError when the
        service is down and nothing is cached."""


async def templates_of(campaign: Campaign, source: TemplateSource | None) -> dict[str, Template]:
    """Every template the campaign's content references, fetched once (the source caches)."""
    if source is None:
        return {}
    spec = campaign.spec
    contents = [*spec.channels, *(c for v in spec.variants for c in v.channels)]
    wanted = sorted({c.template_id for c in contents if c.template_id})
    return {t: await source.get(campaign.organization_id, t) for t in wanted}
