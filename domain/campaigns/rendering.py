"""Personalized content (BR-CAM-008.3): Jinja2's sandbox, compiled once per template text.

A sandboxed render per recipient would dominate a big run's CPU (docs/performance.md), while
most marketing copy is plain `{{ first_name }}` substitution. Such texts take a fast path
(string splicing, same output as Jinja2 with autoescape off); anything else — filters,
conditionals, loops — goes through the sandbox, so templates can never reach Python internals.
A variable the profile lacks renders empty and is reported, never an error (docs/rendering.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, meta
from jinja2.sandbox import SandboxedEnvironment

_PLAIN_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ANY_TAG = re.compile(r"\{[{%#]")


class _MissingRecorder(Undefined):
    """Renders as "" and remembers the names that were missing."""

    missing: set[str] | None = None

    def __str__(self) -> str:
        if _MissingRecorder.missing is not None and self._undefined_name:
            _MissingRecorder.missing.add(self._undefined_name)
        return ""


_ENV = SandboxedEnvironment(undefined=_MissingRecorder, autoescape=False)
_CHECK_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
# Names every template may use without a profile field behind them (range, dict, lipsum, ...).
TEMPLATE_GLOBALS = frozenset(_ENV.globals)


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: frozenset[str] = frozenset()


# render_into(profile, missing): the text, with the names the profile lacks added to `missing`.
RenderInto = Callable[[Mapping[str, Any], set[str]], str]


@dataclass(frozen=True, slots=True)
class CompiledText:
    """One template text, ready to render many times."""

    source: str
    variables: frozenset[str]
    _render: Callable[[Mapping[str, Any]], Rendered] = field(repr=False, compare=False)
    _render_into: RenderInto | None = field(default=None, repr=False, compare=False)

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


class TemplateSyntaxProblem(ValueError):
    """The text is not a valid template; raised at validation time, never at send time."""


class TemplateRenderError(ValueError):
    """A template failed while rendering for one recipient (an error in the template, a
    sandbox violation or an exhausted budget); that recipient's message fails with the reason."""


@lru_cache(maxsize=4096)
def compile_text(source: str) -> CompiledText:
    try:
        parsed = _CHECK_ENV.parse(source)
    except TemplateError as exc:
        raise TemplateSyntaxProblem(str(exc)) from exc
    variables = frozenset(meta.find_undeclared_variables(parsed))
    if not _ANY_TAG.search(_PLAIN_VAR.sub("", source)):
        render_into = _splicer(source)
        return CompiledText(source, variables, _rendered(render_into), render_into)
    template = _ENV.from_string(source)

    def render(profile: Mapping[str, Any]) -> Rendered:
        missing: set[str] = set()
        _MissingRecorder.missing = missing
        try:
            text = template.render(profile)
        except Exception as exc:
            raise TemplateRenderError(str(exc)) from exc
        finally:
            _MissingRecorder.missing = None
        return Rendered(text, frozenset(missing))

    return CompiledText(source, variables, render)


def _splicer(source: str) -> RenderInto:
    parts = _PLAIN_VAR.split(source)  # literal, name, literal, name, ..., literal
    head, names = parts[0], parts[1::2]
    pairs = tuple(zip(names, parts[2::2], strict=True))
    if not names:
        return lambda _profile, _missing: source

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


def _rendered(render_into: RenderInto) -> Callable[[Mapping[str, Any]], Rendered]:
    def render(profile: Mapping[str, Any]) -> Rendered:
        missing: set[str] = set()
        text = render_into(profile, missing)
        return Rendered(text, frozenset(missing))

    return render
