"""Launch check: every content text renders with a sample profile (docs/lifecycle.md).

A text can parse and still fail every time it is rendered: `{{ 1/0 }}`, a call the sandbox
refuses, an expression past the render budget. Such a campaign used to pass its launch checks
and fail at send time, for every recipient. Here each text of each arm (its own content or the
creative service's template it names) is rendered once with a sample profile: the contact's own
fields with plausible values, and every other variable the text uses. A profile field's type is
not known here (`{{ 100 / count }}` needs a number, `{{ name.upper() }}` a string,
`{{ user.name }}` an object), so the other variables are tried as a number, as a text, absent
(rendered empty, as a missing field is at send time), and last as AnyValue, which passes for
any JSON value; the launch is refused only when the text fails with all of them, naming the
first error. What depends on one recipient's data (a count of 0) is left to send time, where it
fails that recipient's message alone.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from domain.audience.contacts import UNSUBSCRIBE_URL, UNSUBSCRIBE_URL_PLACEHOLDER
from domain.campaigns.campaign import Campaign
from domain.campaigns.profile_fields import placed_contents
from domain.campaigns.rendering import (
    TEMPLATE_GLOBALS,
    TemplateRenderError,
    TemplateSyntaxProblem,
    compile_text,
)
from domain.campaigns.rules import TEXT_FIELDS, content_block
from domain.campaigns.templates import Template
from domain.kernel.errors import CampaignIncompleteError, PreconditionViolation

TEMPLATE_RENDER = "TEMPLATE_RENDER"

# The contact's own fields (domain.audience.contacts.Contact.profile), as a real one has them.
SAMPLE_CONTACT: Mapping[str, Any] = {
    "user_id": "sample-user-1",
    "email": "ada@example.com",
    "phone": "+14155550100",
    "timezone": "Europe/Oslo",
    "locale": "en-US",
    UNSUBSCRIBE_URL: UNSUBSCRIBE_URL_PLACEHOLDER,
}


class AnyValue(str):
    """A sample that behaves as any JSON value would: text ("Sample"), a number in arithmetic
    and comparisons, an object with any attribute or key, a list of one such value. Names the
    sandbox and Jinja probe for (`unsafe_callable`, `_...`) are absent, so a sample is never
    mistaken for something unsafe, nor lets something unsafe through: its own attributes are
    str's, which the sandbox checks as it would a real value's."""

    __slots__ = ()
    _PROBES = frozenset({"unsafe_callable", "alters_data", "jinja_pass_arg"})

    def __new__(cls) -> AnyValue:
        return super().__new__(cls, "Sample")

    def __getattr__(self, name: str) -> AnyValue:
        if name.startswith("_") or name in AnyValue._PROBES:
            raise AttributeError(name)
        return AnyValue()

    def __getitem__(self, key: object) -> Any:
        return AnyValue()

    def __iter__(self) -> Iterator[str]:
        return iter((AnyValue(),))

    def __call__(self, *args: object, **kwargs: object) -> AnyValue:
        return AnyValue()

    def _any(self, *_ignored: object) -> AnyValue:
        return AnyValue()

    __neg__ = __pos__ = __abs__ = __round__ = _any

    def _false(self, other: object) -> bool:
        return False

    __lt__ = __le__ = __gt__ = __ge__ = _false

    def __int__(self) -> int:
        return 1

    def __float__(self) -> float:
        return 1.0

    def __index__(self) -> int:
        return 1


def _as_one(operation: Callable[[Any, Any], Any], *, reflected: bool = False) -> Any:
    """An arithmetic operator of AnyValue: computed as if the sample were the number 1 when the
    other side is a number (so `{{ count / 0 }}` still fails), and an AnyValue again."""

    def method(self: AnyValue, other: object) -> AnyValue:
        if isinstance(other, int | float) and not isinstance(other, AnyValue):
            operation(other, 1) if reflected else operation(1, other)
        return AnyValue()

    return method


for _name, _operation in (
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("mod", operator.mod),
    ("pow", operator.pow),
):
    setattr(AnyValue, f"__{_name}__", _as_one(_operation))
    setattr(AnyValue, f"__r{_name}__", _as_one(_operation, reflected=True))


# What every other variable is tried as, in order (then absent, then AnyValue).
SAMPLE_VALUES: tuple[object, ...] = (1, "Sample")


def ensure_content_renders(campaign: Campaign, templates: Mapping[str, Template]) -> None:
    """Raises CampaignIncompleteError with one TEMPLATE_RENDER violation per text that fails to
    render with every sample profile, in the order the content is declared."""
    problems = list(_render_problems(campaign, templates))
    if problems:
        raise CampaignIncompleteError(
            "the content fails to render with a sample profile: "
            + "; ".join(f"{p.subject}: {p.description}" for p in problems),
            violations=problems,
        )


def sample_profiles(variables: frozenset[str]) -> Iterator[dict[str, Any]]:
    """The profiles a text is tried with, for the variables it uses."""
    others = sorted(variables - TEMPLATE_GLOBALS - SAMPLE_CONTACT.keys())
    for value in SAMPLE_VALUES:
        yield {**dict.fromkeys(others, value), **SAMPLE_CONTACT}
    yield dict(SAMPLE_CONTACT)
    yield {**{name: AnyValue() for name in others}, **SAMPLE_CONTACT}


def render_error(text: str) -> str | None:
    """Why `text` fails with every sample profile (the first profile's error), or None if it
    renders with one of them. Syntax errors are the syntax checks' to report."""
    try:
        compiled = compile_text(text)
    except TemplateSyntaxProblem:
        return None
    first: str | None = None
    for profile in sample_profiles(compiled.variables):
        try:
            compiled.render(profile)
        except TemplateRenderError as exc:
            first = first or str(exc) or type(exc.__cause__).__name__
            continue
        return None
    return first


def _render_problems(
    campaign: Campaign, templates: Mapping[str, Template]
) -> Iterator[PreconditionViolation]:
    for where, content, template_id in placed_contents(campaign, templates):
        origin = f" (template {template_id!r})" if template_id else ""
        for name in TEXT_FIELDS:
            text = getattr(content, name)
            if not text:
                continue
            error = render_error(text)
            if error is not None:
                yield PreconditionViolation(
                    TEMPLATE_RENDER,
                    f"{where}.{content_block(content.channel)}.{name}",
                    f"fails to render{origin}: {error}",
                )
