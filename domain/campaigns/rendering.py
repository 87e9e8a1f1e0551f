"""Personalized content (BR-CAM-008.3): Jinja2's sandbox, compiled once per template text.

A sandboxed render per recipient would dominate a big run's CPU (docs/performance.md), while
most marketing copy is plain `{{ first_name }}` substitution. Such texts take a fast path
(string splicing, same output as the sandbox); anything else — filters, conditionals, loops —
goes through the sandbox (domain.campaigns.template_sandbox), so templates can never reach
Python internals, and every render there runs within a `RenderBudget`.
A variable the profile lacks renders empty and is reported, never an error (docs/rendering.md).

What a value may do to the message depends on where it goes (`TextMode`): an email's HTML body
escapes it, a webhook's JSON body encodes it as JSON, every other text takes it as is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, Undefined, meta
from markupsafe import escape

from domain.campaigns.template_budget import (
    BudgetExceeded,
    RenderBudget,
    metered,
    record_missing,
)
from domain.campaigns.template_json import (
    encode_json_outputs,
    json_in_string,
    json_string_state,
    json_value,
)
from domain.campaigns.template_sandbox import BudgetedSandbox, check_constants, count_loops
from domain.kernel.channels import Channel

__all__ = [
    "TEMPLATE_GLOBALS",
    "CompiledText",
    "RenderBudget",
    "Rendered",
    "TemplateRenderError",
    "TemplateSyntaxProblem",
    "TextMode",
    "compile_text",
    "configure_budget",
    "current_budget",
    "text_mode",
]

_PLAIN_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ANY_TAG = re.compile(r"\{[{%#]")


class TextMode(Enum):
    """How a substituted value is written into a text."""

    TEXT = "text"  # as is: subjects, plain-text bodies, SMS, in-app, URLs
    HTML = "html"  # HTML-escaped (autoescape): an email's html_body
    JSON = "json"  # JSON-encoded: a webhook's body


def text_mode(channel: Channel, field_name: str) -> TextMode:
    if field_name == "html_body":
        return TextMode.HTML
    if channel is Channel.WEBHOOK and field_name == "body":
        return TextMode.JSON
    return TextMode.TEXT


class TemplateRenderError(ValueError):
    """A template failed while rendering for one recipient (an error in the template, a
    sandbox violation or an exhausted budget); that recipient's message fails with the reason."""


class TemplateSyntaxProblem(ValueError):
    """The text is not a valid template (or no render could afford it); raised at validation
    time, never at send time."""


class _MissingRecorder(Undefined):
    """Renders as "" and records its name as missing in the current render."""

    def __str__(self) -> str:
        if self._undefined_name:
            record_missing(self._undefined_name)
        return ""


_ENVS = {
    TextMode.TEXT: BudgetedSandbox(undefined=_MissingRecorder, autoescape=False),
    TextMode.HTML: BudgetedSandbox(undefined=_MissingRecorder, autoescape=True),
    TextMode.JSON: BudgetedSandbox(undefined=_MissingRecorder, autoescape=False),
}
# Names every template may use without a profile field behind them (range, dict, lipsum, ...).
TEMPLATE_GLOBALS = frozenset(_ENVS[TextMode.TEXT].globals)


class _Budget:
    """What every render may spend: one per process, set from the server's settings."""

    current = RenderBudget()


def configure_budget(budget: RenderBudget) -> None:
    """Sets what every render may spend (the server's settings, at start-up)."""
    _Budget.current = budget


def current_budget() -> RenderBudget:
    return _Budget.current


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: frozenset[str] = frozenset()


# render_into(profile, missing): the text, with the names the profile lacks added to `missing`.
RenderInto = Callable[[Mapping[str, Any], set[str]], str]


@dataclass(frozen=True, slots=True)
class CompiledText:
    """One template text, ready to render many times. `render` raises TemplateRenderError when
    the template fails for this profile (an error, a sandbox violation, the budget)."""

    source: str
    variables: frozenset[str]
    _render: Callable[[Mapping[str, Any]], Rendered] = field(repr=False, compare=False)
    _render_into: RenderInto | None = field(default=None, repr=False, compare=False)
    mode: TextMode = TextMode.TEXT

    def render(self, profile: Mapping[str, Any]) -> Rendered:
        return self._render(profile)

    def render_into(self, profile: Mapping[str, Any], missing: set[str]) -> str:
        """`render(profile).text`, adding the missing names to `missing`: the per-recipient
        loop's form, which builds no Rendered and no frozenset per text."""
        if self._render_into is not None:
            return self._render_into(profile, missing)
        rendered = self._render(profile)
        missing |= rendered.missing
        return rendered.text

    @property
    def sandboxed(self) -> bool:
        return self._render_into is None

    def budget_problem(self) -> str | None:
        """Why this text cannot render within the budget even for an empty profile, if so: a
        trial render at validation, so such a template is refused before any run."""
        if not self.sandboxed:
            return None
        try:
            self._render({})
        except TemplateRenderError as exc:
            if isinstance(exc.__cause__, BudgetExceeded):
                return str(exc)
        return None


def is_plain(source: str) -> bool:
    """A text whose only template syntax is `{{ name }}` substitutions: compiled without Jinja,
    rendered without the sandbox, so checking it costs microseconds (see compile_text)."""
    return not _ANY_TAG.search(_PLAIN_VAR.sub("", source))


@lru_cache(maxsize=4096)
def compile_text(source: str, mode: TextMode = TextMode.TEXT) -> CompiledText:
    """Raises TemplateSyntaxProblem for a text that is not a template, or that computes a
    constant no render could afford (`{{ 9**(9**9) }}`, `{{ 'x' * 50000000 }}`)."""
    env = _ENVS[mode]
    try:
        parsed = env.parse(source)
        variables = frozenset(meta.find_undeclared_variables(parsed))
        check_constants(parsed, _Budget.current)
        if is_plain(source):
            render_into = _splicer(source, mode)
            return CompiledText(source, variables, _rendered(render_into), render_into, mode)
        count_loops(parsed)
        if mode is TextMode.JSON:
            encode_json_outputs(parsed)
        template = env.from_string(parsed)
    except TemplateError as exc:
        raise TemplateSyntaxProblem(str(exc)) from exc
    except BudgetExceeded as exc:
        raise TemplateSyntaxProblem(f"no render can afford it: {exc}") from exc
    except (RecursionError, MemoryError, SyntaxError) as exc:
        raise TemplateSyntaxProblem("the template is nested too deeply") from exc

    def render(profile: Mapping[str, Any]) -> Rendered:
        budget = _Budget.current
        limit = budget.max_output_chars
        missing: set[str] = set()
        out: list[str] = []
        size = 0
        try:
            with metered(budget, missing):
                for chunk in template.generate(profile):
                    size += len(chunk)
                    if size > limit:
                        raise BudgetExceeded(f"the output is longer than {limit} characters")
                    out.append(chunk)
        except BudgetExceeded as exc:
            raise TemplateRenderError(str(exc)) from exc
        except RecursionError as exc:
            raise TemplateRenderError("the template recurses too deeply") from exc
        except Exception as exc:  # any error in the template fails this render, with its reason
            raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
        return Rendered("".join(out), frozenset(missing))

    return CompiledText(source, variables, render, None, mode)


def _splicer(source: str, mode: TextMode) -> RenderInto:
    """The fast path: literal text and plain variables, written as the sandbox would write them
    in this mode."""
    parts = _PLAIN_VAR.split(source)  # literal, name, literal, name, ..., literal
    head, names = parts[0], parts[1::2]
    pairs = tuple(zip(names, parts[2::2], strict=True))
    if not names:
        return lambda _profile, _missing: source
    if mode is TextMode.HTML:
        return _html_splicer(head, pairs)
    if mode is TextMode.JSON:
        return _json_splicer(head, pairs)

    def render_into(profile: Mapping[str, Any], missing: set[str]) -> str:
        out = [head]
        for name, literal in pairs:
            value = profile.get(name)
            if value is None:
                missing.add(name)
            else:
                out.append(str(value))
            out.append(literal)
        return "".join(out)

    return render_into


_HTML_SPECIAL = re.compile(r"[<>&\"']")


def _html_splicer(head: str, pairs: tuple[tuple[str, str], ...]) -> RenderInto:
    # markupsafe.escape costs ~1 us a value (it builds a Markup); most values have nothing to
    # escape, and a regex search saying so costs a tenth of that (docs/performance.md).
    special = _HTML_SPECIAL.search

    def render_into(profile: Mapping[str, Any], missing: set[str]) -> str:
        out = [head]
        for name, literal in pairs:
            value = profile.get(name)
            if value is None:
                missing.add(name)
            else:
                text = value if type(value) is str else str(value)
                out.append(str(escape(text)) if special(text) else text)
            out.append(literal)
        return "".join(out)

    return render_into


def _json_splicer(head: str, pairs: tuple[tuple[str, str], ...]) -> RenderInto:
    inside = json_string_state(head, False)
    encoders: list[tuple[str, Callable[[Any], str], str]] = []
    for name, literal in pairs:
        encoders.append((name, json_in_string if inside else json_value, literal))
        inside = json_string_state(literal, inside)

    def render_into(profile: Mapping[str, Any], missing: set[str]) -> str:
        out = [head]
        for name, encode, literal in encoders:
            value = profile.get(name)
            if value is None:
                missing.add(name)
            out.append(encode(value))
            out.append(literal)
        return "".join(out)

    return render_into


def _rendered(render_into: RenderInto) -> Callable[[Mapping[str, Any]], Rendered]:
    def render(profile: Mapping[str, Any]) -> Rendered:
        missing: set[str] = set()
        text = render_into(profile, missing)
        return Rendered(text, frozenset(missing))

    return render
