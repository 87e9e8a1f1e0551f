"""BR-CAM-008.2: the variables a campaign's content uses must be fields of its recipients'
profiles, checked when the campaign is scheduled or activated.

A typo such as `{{ frist_name }}` would otherwise render empty for every recipient of a
million-message run (a missing variable at send time renders "" and is only counted). The
known fields are the contact's own (domain.audience.contacts.Contact.profile) plus the attribute
names
the organization's profile source reports; a source that cannot say (None) skips the check.
Only scheduled campaigns render from the profile alone: a transactional send's `context` and a
trigger's event add variables no schema lists, so those campaign types are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from domain.campaigns.campaign import Campaign
from domain.campaigns.model import CampaignType, ChannelContent
from domain.campaigns.rendering import (
    TEMPLATE_GLOBALS,
    TemplateSyntaxProblem,
    compile_text,
    text_mode,
)
from domain.campaigns.rules import TEXT_FIELDS, content_block
from domain.campaigns.templates import Template
from domain.kernel.errors import CampaignIncompleteError, PreconditionViolation, shown

UNKNOWN_PROFILE_FIELD = "UNKNOWN_PROFILE_FIELD"


def renders_from_profiles_alone(campaign: Campaign) -> bool:
    """Whether the campaign's variables can be checked against profile fields at all."""
    return campaign.spec.campaign_type is CampaignType.SCHEDULED


def ensure_known_variables(
    campaign: Campaign, templates: Mapping[str, Template], known: frozenset[str]
) -> None:
    """Raises CampaignIncompleteError naming every text and variable that is neither a profile
    field nor a template built-in (`range`, `loop`, ...), in the order the content is declared.
    Only for a campaign that renders_from_profiles_alone: the caller asks first, since getting
    `known` may cost a call to the data service."""
    unknown = list(_unknown_variables(campaign, templates, known))
    if unknown:
        names = ", ".join(dict.fromkeys(f"{{{{ {name} }}}}" for name, _ in unknown))
        raise CampaignIncompleteError(
            f"the content uses variables that are not profile fields: {names}",
            violations=[violation for _, violation in unknown],
        )


def _unknown_variables(
    campaign: Campaign, templates: Mapping[str, Template], known: frozenset[str]
) -> Iterator[tuple[str, PreconditionViolation]]:
    for where, content, template_id in placed_contents(campaign, templates):
        origin = f" (template {shown(template_id)})" if template_id else ""
        for name in TEXT_FIELDS:
            text = getattr(content, name)
            if not text:
                continue
            try:
                variables = compile_text(text, text_mode(content.channel, name)).variables
            except TemplateSyntaxProblem:
                continue  # reported by the syntax checks
            for variable in sorted(variables - known - TEMPLATE_GLOBALS):
                yield (
                    variable,
                    PreconditionViolation(
                        UNKNOWN_PROFILE_FIELD,
                        f"{where}.{content_block(content.channel)}.{name}",
                        f"{{{{ {variable} }}}} is not a field of this organization's contact "
                        f"profiles{origin}",
                    ),
                )


def placed_contents(
    campaign: Campaign, templates: Mapping[str, Template]
) -> Iterator[tuple[str, ChannelContent, str]]:
    """(field path, the content that is sent, its template id or "")."""
    spec = campaign.spec
    placed = [(f"channels[{i}]", c) for i, c in enumerate(spec.channels)]
    for v, variant in enumerate(spec.variants):
        placed += [(f"variants[{v}].channels[{i}]", c) for i, c in enumerate(variant.channels)]
    for where, content in placed:
        template = templates.get(content.template_id) if content.template_id else None
        if template is not None:
            yield where, template.content, template.template_id
        else:
            yield where, content, ""
