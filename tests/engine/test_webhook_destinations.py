"""Webhooks at run time (issue #10 item 8): the destination is checked against the addresses its
host resolves to (a stubbed resolver; nothing connects anywhere) and against the URL policy for
content the create checks never saw (a creative-service template), and the configured headers
reach the delivery request."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from adapters.memory.templates import MemoryTemplateSource
from adapters.nats.delivery import _payload
from adapters.system import UuidGenerator
from domain.campaigns.model import ChannelContent
from domain.campaigns.ports import HostResolver
from domain.campaigns.templates import Template
from domain.execution.executor import Executor
from domain.execution.model import Execution, ExecutionStatus
from domain.kernel.channels import Channel
from tests.engine.conftest import HIGH_LIMITS, ORG, EngineRig
from tests.engine.scenario import drain, launch, seed, spec_sending

HOOK = ChannelContent(
    Channel.WEBHOOK,
    url="https://hooks.example.com/u/{{ user_id }}",
    body='{"user": "{{ user_id }}"}',
    headers=(("Authorization", "Bearer s3cret"), ("X-Signature", "abc")),
)


class StubResolver:
    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str) -> Sequence[str]:
        self.asked.append(host)
        return self.answers.get(host, [])


async def run(
    engine: EngineRig,
    content: ChannelContent,
    resolver: HostResolver,
    templates: MemoryTemplateSource | None = None,
) -> tuple[str, Execution]:
    await seed(engine, 40)
    campaign = await launch(engine, definition=spec_sending(content))
    executor = Executor(
        engine.store.unit_of_work,
        engine.audience,
        engine.limiter,
        engine.clock,
        UuidGenerator(),
        owner="t",
        publisher=engine.delivery,
        templates=templates,
        organization_limits=lambda _org: HIGH_LIMITS,
        resolver=resolver,
    )
    await executor.run_once()
    await drain(engine)
    async with engine.store.unit_of_work(read_only=True) as uow:
        executions, _ = await uow.executions.list(ORG, campaign.campaign_id)
    return campaign.campaign_id, executions[0]


async def test_configured_headers_are_stored_and_delivered(engine: EngineRig):
    resolver = StubResolver({"hooks.example.com": ["93.184.216.34"]})

    campaign_id, execution = await run(engine, HOOK, resolver)

    assert execution.status is ExecutionStatus.COMPLETED
    assert resolver.asked == ["hooks.example.com"]  # once per run, not per recipient
    async with engine.store.unit_of_work(read_only=True) as uow:
        stored, _ = await uow.messages.list(ORG, campaign_id, limit=100)
    assert stored
    delivered = list(engine.delivery.recent)
    assert {m.message_id for m in delivered} == {m.message_id for m in stored}
    for message in delivered:
        payload = orjson.loads(_payload(message))
        assert payload["content"]["headers"] == {
            "Authorization": "Bearer s3cret",
            "X-Signature": "abc",
        }
        assert payload["content"]["url"] == f"https://hooks.example.com/u/{message.user_id}"


async def test_a_host_resolving_to_a_private_address_fails_the_run_and_sends_nothing(
    engine: EngineRig,
):
    resolver = StubResolver({"hooks.example.com": ["93.184.216.34", "10.0.0.7"]})

    campaign_id, execution = await run(engine, HOOK, resolver)

    assert execution.status is ExecutionStatus.FAILED
    assert "10.0.0.7" in execution.failure_reason
    assert "private" in execution.failure_reason
    async with engine.store.unit_of_work(read_only=True) as uow:
        stored, _ = await uow.messages.list(ORG, campaign_id, limit=100)
    assert stored == []
    assert not engine.delivery.recent


async def test_a_template_with_a_templated_host_fails_the_run(engine: EngineRig):
    templates = MemoryTemplateSource()
    templates.put(
        ORG,
        Template("hook", ChannelContent(Channel.WEBHOOK, url="https://{{ city }}.example.com/x")),
    )
    resolver = StubResolver({"oslo.example.com": ["93.184.216.34"]})

    _, execution = await run(
        engine, ChannelContent(Channel.WEBHOOK, template_id="hook"), resolver, templates
    )

    assert execution.status is ExecutionStatus.FAILED
    assert "path and query" in execution.failure_reason
    assert resolver.asked == []
    assert not engine.delivery.recent
