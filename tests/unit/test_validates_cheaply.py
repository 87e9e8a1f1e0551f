"""rules.validates_cheaply: which definitions CreateCampaign validates in place (plain
substitutions only, short texts) and which off the event loop (anything Jinja must compile)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.campaigns.model import ChannelContent, Variant
from domain.campaigns.rules import MAX_INLINE_TEXT, validates_cheaply
from domain.kernel.channels import Channel
from tests.contract.builders import rich_spec


def test_plain_substitutions_everywhere_validate_in_place() -> None:
    assert validates_cheaply(rich_spec())


@pytest.mark.parametrize(
    "text",
    [
        "{% for x in items %}{{ x }}{% endfor %}",
        "Hi {{ first_name | upper }}",
        "{# a comment #} Hi",
        "Hi {{ 9 ** 9 }}",
    ],
)
def test_a_text_jinja_must_compile_goes_off_the_loop(text: str) -> None:
    spec = rich_spec()
    in_channels = replace(spec, channels=(ChannelContent(Channel.SMS, body=text),))
    in_a_variant = replace(
        spec,
        variants=(Variant("v", "V", 100.0, channels=(ChannelContent(Channel.SMS, body=text),)),),
    )

    assert not validates_cheaply(in_channels)
    assert not validates_cheaply(in_a_variant)


def test_a_long_text_goes_off_the_loop() -> None:
    long = "Hi {{ first_name }} " + "x" * MAX_INLINE_TEXT
    spec = replace(rich_spec(), channels=(ChannelContent(Channel.SMS, body=long),))

    assert not validates_cheaply(spec)
