"""Templates held in process: the TemplateSource port for tests and for deployments that keep
their templates in configuration instead of a creative service."""

from __future__ import annotations

from domain.campaigns.templates import Template
from domain.kernel.errors import NotFoundError, shown


class MemoryTemplateSource:
    def __init__(self) -> None:
        self._templates: dict[tuple[str, str], Template] = {}
        self.fetches = 0

    def put(self, organization_id: str, template: Template) -> None:
        self._templates[(organization_id, template.template_id)] = template

    async def get(self, organization_id: str, template_id: str) -> Template:
        self.fetches += 1
        found = self._templates.get((organization_id, template_id))
        if found is None:
            raise NotFoundError(
                f"template {shown(template_id)} not found", metadata={"template_id": template_id}
            )
        return found
