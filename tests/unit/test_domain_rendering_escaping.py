"""Issue #10 item 7: contact data can only ever be data where it lands.

An email's HTML body escapes every substituted value; a webhook's JSON body encodes it as JSON
(between the writer's quotes: the escaped string content; elsewhere a whole JSON value). The
fast path writes exactly what the sandbox writes; a `{# #}` comment forces the sandbox.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.campaigns.model import ChannelContent
from domain.campaigns.rendering import TextMode, compile_text, text_mode
from domain.execution.planning import CompiledContent
from domain.kernel.channels import Channel

XSS = '<script>alert(1)</script><a href="https://evil.example">verify</a>'
INJECTION = 'Ann", "role": "admin'


def both_paths(source: str, mode: TextMode, profile: dict[str, Any]) -> str:
    fast = compile_text(source, mode)
    sandboxed = compile_text(source + "{# forces the sandbox #}", mode)
    assert not fast.sandboxed
    assert sandboxed.sandboxed
    fast_text = fast.render(profile).text
    assert sandboxed.render(profile).text == fast_text
    return fast_text


def test_html_body_escapes_contact_data_on_both_paths():
    out = both_paths("<p>Hi {{ first_name }}</p>", TextMode.HTML, {"first_name": XSS})
    assert "<script>" not in out
    assert "<a href" not in out
    assert out == (
        "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;&lt;a href=&#34;https://evil.example&#34;"
        "&gt;verify&lt;/a&gt;</p>"
    )


def test_html_body_escapes_values_after_filters_and_keeps_the_writers_markup():
    out = compile_text("<b>{{ first_name|upper }}</b>{{ '<i>ok</i>'|safe }}", TextMode.HTML)
    assert out.render({"first_name": "<x>"}).text == "<b>&lt;X&gt;</b><i>ok</i>"


def test_text_bodies_subjects_and_sms_stay_raw():
    assert both_paths("Hi {{ first_name }}", TextMode.TEXT, {"first_name": XSS}) == f"Hi {XSS}"
    assert text_mode(Channel.EMAIL, "subject") is TextMode.TEXT
    assert text_mode(Channel.EMAIL, "text_body") is TextMode.TEXT
    assert text_mode(Channel.SMS, "body") is TextMode.TEXT
    assert text_mode(Channel.EMAIL, "html_body") is TextMode.HTML
    assert text_mode(Channel.WEBHOOK, "body") is TextMode.JSON
    assert text_mode(Channel.WEBHOOK, "url") is TextMode.TEXT


def test_json_body_value_between_quotes_cannot_add_a_key():
    body = '{"name": "{{ first_name }}", "role": "user"}'
    out = both_paths(body, TextMode.JSON, {"first_name": INJECTION})
    assert json.loads(out) == {"name": INJECTION, "role": "user"}


def test_json_body_value_outside_quotes_is_one_json_value():
    body = '{"name": {{ first_name }}, "age": {{ age }}, "vip": {{ vip }}, "x": {{ missing }}}'
    profile = {"first_name": INJECTION, "age": 42, "vip": True}
    out = both_paths(body, TextMode.JSON, profile)
    assert json.loads(out) == {"name": INJECTION, "age": 42, "vip": True, "x": None}


def test_json_body_with_filters_and_escapes_in_the_writers_text():
    body = '{"a": "say \\"{{ first_name|upper }}\\"", "b": {{ tags }}, "c": "{{ tags|join(",") }}"}'
    out = compile_text(body, TextMode.JSON).render({"first_name": INJECTION, "tags": ["x", "y"]})
    assert json.loads(out.text) == {
        "a": f'say "{INJECTION.upper()}"',
        "b": ["x", "y"],
        "c": "x,y",
    }


def test_json_values_that_are_not_json_render_null_or_text():
    out = compile_text('{"a": {{ n }}, "b": "{{ n }}"}', TextMode.JSON).render({"n": float("nan")})
    assert json.loads(out.text) == {"a": None, "b": "nan"}


@pytest.mark.parametrize(
    ("channel", "fields", "expected"),
    [
        (
            Channel.EMAIL,
            {"subject": "Hi {{ n }}", "html_body": "<p>{{ n }}</p>"},
            {"subject": "Hi <b>", "html_body": "<p>&lt;b&gt;</p>"},
        ),
        (
            Channel.WEBHOOK,
            {"url": "https://h.example/{{ n }}", "body": '{"n": "{{ n }}"}'},
            {"url": "https://h.example/<b>", "body": '{"n": "<b>"}'},
        ),
    ],
)
def test_compiled_content_uses_each_fields_mode(
    channel: Channel, fields: dict[str, str], expected: dict[str, str]
):
    content = CompiledContent.of(ChannelContent(channel=channel, **fields))
    rendered, missing = content.render({"n": "<b>"})
    assert rendered == expected
    assert not missing


@pytest.mark.parametrize(
    "value", ["plain", "a<b", "a>b", "Tom & Jerry", 'say "hi"', "it's", 42, 2.5, True, ["<x>"]]
)
def test_html_fast_path_equals_the_sandbox_for_every_kind_of_value(value: Any):
    both_paths("<p>{{ v }}</p>", TextMode.HTML, {"v": value})
