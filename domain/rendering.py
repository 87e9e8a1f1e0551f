"""Personalized content (BR-CAM-008.3): Jinja2's sandbox, compiled once per template text.

A sandboxed render costs ~45 us, which is most of the CPU of a million-recipient run when done
per recipient, while most marketing copy is plain `{{ first_name }}` substitution. Such texts take
a fast path (string splicing, same output as Jinja2 with autoescape off); anything else — filters,
conditionals, loops — goes through the sandbox, so templates can never reach Python internals.
A variable the profile lacks renders empty and is reported, never an error (DESIGN.md).
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


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CompiledText:
    """One template text, ready to render many times."""

    source: str
    variables: frozenset[str]
    _render: Callable[[Mapping[str, Any]], Rendered] = field(repr=False, compare=False)

    def render(self, profile: Mapping[str, Any]) -> Rendered:
        return self._render(profile)


class TemplateSyntaxProblem(ValueError):
    """The text is not a valid template; raised at validation time, never at send time."""


@lru_cache(maxsize=4096)
def compile_text(source: str) -> CompiledText:
    try:
        parsed = _CHECK_ENV.parse(source)
    except TemplateError as exc:
        raise TemplateSyntaxProblem(str(exc)) from exc
    variables = frozenset(meta.find_undeclared_variables(parsed))
    if not _ANY_TAG.search(_PLAIN_VAR.sub("", source)):
        return CompiledText(source, variables, _splicer(source))
    template = _ENV.from_string(source)

    def render(profile: Mapping[str, Any]) -> Rendered:
        missing: set[str] = set()
        _MissingRecorder.missing = missing
        try:
            text = template.render(profile)
        finally:
            _MissingRecorder.missing = None
        return Rendered(text, frozenset(missing))

    return CompiledText(source, variables, render)


def _splicer(source: str) -> Callable[[Mapping[str, Any]], Rendered]:
    parts = _PLAIN_VAR.split(source)  # literal, name, literal, name, ..., literal
    literals, names = parts[0::2], parts[1::2]
    if not names:
        constant = Rendered(source)
        return lambda _profile: constant

    def render(profile: Mapping[str, Any]) -> Rendered:
        out = [literals[0]]
        missing: list[str] = []
        for name, literal in zip(names, literals[1:], strict=True):
            value = profile.get(name)
            if value is None:
                missing.append(name)
            else:
                out.append(str(value))
            out.append(literal)
        return Rendered("".join(out), frozenset(missing))

    return render
