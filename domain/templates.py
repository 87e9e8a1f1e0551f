"""Creative templates (BR-CAM-008): content kept by the creative service, referenced by id."""

from __future__ import annotations

from dataclasses import dataclass

from domain.model import ChannelContent


@dataclass(frozen=True, slots=True)
class Template:
    """A template's content for one channel and the profile variables it uses."""

    template_id: str
    content: ChannelContent
    variables: tuple[str, ...] = ()
    version: str = ""
