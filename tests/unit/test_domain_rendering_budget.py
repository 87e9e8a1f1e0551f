"""Issue #10 items 1 and 5: no template can freeze the service or fill its memory.

Constant arithmetic that no render could afford is refused when the text is compiled (it used
to be folded by Jinja2 at compile time, on the event loop); everything else that grows values
or loops runs within the render budget and fails that render with TemplateRenderError.
"""

from __future__ import annotations

import pytest

from domain.campaigns import rules
from domain.campaigns.model import CampaignSpec, CampaignType, ChannelContent
from domain.campaigns.rendering import (
    RenderBudget,
    TemplateRenderError,
    TemplateSyntaxProblem,
    compile_text,
    configure_budget,
    current_budget,
)
from domain.kernel.channels import Channel
from domain.kernel.errors import InvalidArgumentError

CONSTANT_BOMBS = [
    "{{ 9**(9**9) }}",
    "{{ 3**20000000 }}",
    "{{ 'x' * 50000000 }}",
    "{{ [1, 2] * 100000000 }}",
    "{{ '%1000000000s' % 'x' }}",
    "{% if never %}{{ 10 ** 1000000 }}{% endif %}",
]


@pytest.mark.parametrize("source", CONSTANT_BOMBS)
def test_constant_that_no_render_can_afford_is_refused_at_compile_time(source: str):
    with pytest.raises(TemplateSyntaxProblem, match="no render can afford it"):
        compile_text(source)


RENDER_BOMBS = {
    "nested loops": "{% for a in items %}{% for b in items %}{{ a }}{% endfor %}{% endfor %}",
    "doubling with ~": (
        "{% set ns = namespace(s=first_name) %}{% for i in range(60) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
    ),
    "doubling with +": (
        "{% set ns = namespace(s=first_name) %}{% for i in range(60) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}"
    ),
    "squaring numbers": (
        "{% set ns = namespace(n=count) %}{% for i in range(60) %}"
        "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n }}"
    ),
    "power of a variable": "{{ count ** 100000000 }}",
    "repeat by a variable": "{{ first_name * 100000000 }}",
    "center filter": "{{ first_name|center(1000000000) }}",
    "indent filter": "{{ (first_name ~ '\n') * 1000 | indent(1000000) }}",
    "format filter": "{{ '%1000000000s'|format(first_name) }}",
    "str.format width": "{{ '{:>1000000000}'.format(first_name) }}",
    "str.ljust": "{{ first_name.ljust(1000000000) }}",
    "str.replace": "{{ (first_name * 20000).replace('', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy') }}",
    "map then join": "{{ range(100000)|map('center', 10000)|join }}",
    "list of references": "{% set s = first_name * 200000 %}{{ [s, s, s, s, s, s, s, s] }}",
    "endless macro recursion": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "exponential macro calls": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(count * 10) }}"
    ),
    "recursive loop": "{% for x in items recursive %}{{ loop(items) }}{% endfor %}",
    "lipsum": "{{ lipsum(count * 100000) }}",
    "output size": "{% for i in items %}{{ first_name * 1000 }}{% endfor %}",
    "growing a list in place": (
        "{% set l = [1] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}"
    ),
}
PROFILE = {"first_name": "Ann", "count": 4, "items": list(range(5000))}


@pytest.mark.parametrize("source", RENDER_BOMBS.values(), ids=RENDER_BOMBS.keys())
def test_render_that_exceeds_the_budget_fails_with_a_reason(source: str):
    compiled = compile_text(source)
    with pytest.raises(TemplateRenderError) as failure:
        compiled.render(PROFILE)
    assert str(failure.value)


def test_the_budget_error_names_the_limit():
    compiled = compile_text(RENDER_BOMBS["nested loops"])
    with pytest.raises(TemplateRenderError, match="loops ran more than 100000 iterations"):
        compiled.render(PROFILE)


def test_errors_in_the_template_are_render_errors():
    with pytest.raises(TemplateRenderError, match="ZeroDivisionError"):
        compile_text("{{ count / 0 }}").render(PROFILE)
    with pytest.raises(TemplateRenderError):
        compile_text("{{ first_name.__class__.__mro__[1].__subclasses__() }}").render(PROFILE)


def test_templates_within_the_budget_render_as_before():
    source = (
        "{% for item in items[:3] %}{{ loop.index }}:{{ item }}{% if not loop.last %}, "
        "{% endif %}{% endfor %} {{ first_name|upper }} {{ '%.2f'|format(count) }} "
        "{{ count * 2 }} {{ 2 ** 10 }} {{ 'ab' * 2 }} {{ first_name ~ '!' }}"
    )
    assert compile_text(source).render(PROFILE).text == "1:0, 2:1, 3:2 ANN 4.00 8 1024 abab Ann!"


def test_budget_is_configurable():
    before = current_budget()
    try:
        configure_budget(RenderBudget(max_loop_iterations=10))
        compiled = compile_text("{% for i in items %}{{ i }}{% endfor %}")
        assert compiled.render({"items": [1] * 10}).text == "1" * 10
        with pytest.raises(TemplateRenderError, match="more than 10 iterations"):
            compiled.render({"items": [1] * 11})
        configure_budget(RenderBudget(max_output_chars=100))
        with pytest.raises(TemplateRenderError, match="longer than 100 characters"):
            compile_text("{{ first_name|center(100) }}!").render(PROFILE)
    finally:
        configure_budget(before)


def _campaign(body: str) -> CampaignSpec:
    return CampaignSpec(
        name="Budget",
        campaign_type=CampaignType.TRIGGERED,
        channels=(ChannelContent(channel=Channel.EMAIL, subject="Hi", html_body=body),),
    )


@pytest.mark.parametrize(
    "body",
    [
        "{{ 9**(9**9) }}",
        "{{ 'x' * 50000000 }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    ],
)
def test_validation_refuses_content_no_render_can_afford(body: str):
    with pytest.raises(InvalidArgumentError) as failure:
        rules.validate_spec(_campaign(body))
    assert [v.field for v in failure.value.violations] == ["channels[0].email.html_body"]
