"""JSON bodies (a webhook's payload): every substituted value is written as JSON, so contact
data can only ever be a JSON value, never add a key (docs/rendering.md#escaping).

Between the template writer's quotes a value is the escaped content of that string; elsewhere
it is one whole JSON value. Which applies is read from the body's literal text before each
`{{ }}`, in source order, both on the fast path and in the sandbox (an AST pass wraps each
written expression in one of two filters).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, cast

from jinja2 import nodes, pass_context
from jinja2.runtime import Context, Undefined

_JSON_QUOTE_OR_ESCAPE = re.compile(r'\\.|"', re.DOTALL)


def json_string_state(text: str, inside: bool) -> bool:
    """Whether, after `text`, a JSON document is inside a string literal (given `inside` before)."""
    for match in _JSON_QUOTE_OR_ESCAPE.finditer(text):
        if match.group() == '"':
            inside = not inside
    return inside


def json_value(value: Any) -> str:
    """A substituted value outside quotes: one JSON value (a string is quoted, null if missing)."""
    if isinstance(value, Undefined):
        str(value)  # records the missing name
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if isinstance(value, (str, int, float, bool, list, tuple, dict)) or value is None:
        try:
            return json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
        except ValueError:
            return json.dumps(str(value), ensure_ascii=False)
    return json.dumps(str(value), ensure_ascii=False)


def json_in_string(value: Any) -> str:
    """A substituted value between the template writer's quotes: the string's escaped content,
    so it can never close the string."""
    if value is None:
        return ""
    return json.dumps(str(value), ensure_ascii=False)[1:-1]


@pass_context
def json_value_filter(context: Context, value: Any) -> str:
    return json_value(value)


@pass_context
def json_string_filter(context: Context, value: Any) -> str:
    return json_in_string(value)


JSON_VALUE_FILTER, JSON_STRING_FILTER = "json_value_", "json_string_"


_BUFFERED = (nodes.AssignBlock, nodes.FilterBlock, nodes.Macro, nodes.CallBlock)


def encode_json_outputs(template: nodes.Template) -> None:
    """In a JSON body, each `{{ }}` written directly into the document becomes a JSON value:
    between the writer's quotes the escaped content of a string, elsewhere a whole JSON value.
    Which one is decided by the body's own text before it, in source order."""
    inside = False

    def visit(node: nodes.Node) -> None:
        nonlocal inside
        if isinstance(node, _BUFFERED):
            return  # its text is encoded where it is finally written
        if isinstance(node, nodes.Output):
            for i, child in enumerate(node.nodes):
                if isinstance(child, nodes.TemplateData):
                    inside = json_string_state(child.data, inside)
                else:
                    name = JSON_STRING_FILTER if inside else JSON_VALUE_FILTER
                    wrapped = nodes.Filter(child, name, [], [], None, None, lineno=child.lineno)
                    node.nodes[i] = cast(nodes.Expr, wrapped)
            return
        for sub in node.iter_child_nodes():
            visit(sub)

    visit(template)
