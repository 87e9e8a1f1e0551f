"""Content kept by the creative service is fetched once per run and personalized per recipient."""

from __future__ import annotations

from adapters.memory.templates import MemoryTemplateSource
from adapters.system import UuidGenerator
from domain.audience.contacts import UNSUBSCRIBE_URL_PLACEHOLDER
from domain.campaigns.model import ChannelContent
from domain.campaigns.templates import Template
from domain.execution.executor import Executor
from domain.kernel.channels import Channel
from tests.engine.conftest import HIGH_LIMITS, ORG, EngineRig
from tests.engine.scenario import drain, launch, seed, spec_sending
from tests.support.compliance import FOOTER


async def test_template_content_is_rendered_into_every_message(engine: EngineRig):
    await seed(engine, 300)
    templates = MemoryTemplateSource()
    templates.put(
        ORG,
        Template(
            "promo",
            ChannelContent(
                Channel.EMAIL,
                subject="{{ first_name }}, 20% off",
                html_body="<b>{{ city }}</b>" + FOOTER,
            ),
        ),
    )
    by_template = ChannelContent(Channel.EMAIL, template_id="promo")
    campaign = await launch(engine, definition=spec_sending(by_template))
    executor = Executor(
        engine.store.unit_of_work,
        engine.audience,
        engine.limiter,
        engine.clock,
        UuidGenerator(),
        owner="t",
        templates=templates,
        organization_limits=lambda _org: HIGH_LIMITS,
        batch_size=100,
    )

    await executor.run_once()
    await drain(engine)

    async with engine.store.unit_of_work(read_only=True) as uow:
        page, _ = await uow.messages.list(ORG, campaign.campaign_id, limit=500)
    assert page
    for message in page:
        number = int(message.user_id[1:])
        assert message.content["subject"] == f"N{number}, 20% off"
        assert message.content["html_body"] == "<b>Oslo</b>" + FOOTER.replace(
            "{{ unsubscribe_url }}", UNSUBSCRIBE_URL_PLACEHOLDER
        )
    assert templates.fetches == 1  # once per execution, not per recipient or batch
