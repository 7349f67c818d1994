"""Handlebars in Python, as Dynamics 365 Marketing fills an email for one contact at send time.

The engine is pybars3 (Handlebars.js' grammar: ``#each``/``#if``/``else``, ``{{!-- --}}``,
subexpressions such as ``(eq this.msevtmgt_eventid 'GUID')``). Three things are made to
behave as Handlebars.js 4 does, checked against it on the fixture corpus
(tests/test_render.py):

* HTML escaping: Handlebars.js also escapes ``=`` (as ``&#x3D;``), pybars does not; and
  arrays print as ``a,b``, objects as ``[object Object]``.
* Long comments: ``{{!-- … --}}`` may hold ``}}``, which ends it early in pybars.
* Global names: Dynamics resolves entity-prefixed names (``contact.firstname``,
  ``msdyncrm_contentsettings.…``) from anywhere, so ``{{contact.firstname}}`` inside
  ``{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid}}`` is the
  contact's name (render.js gets this from Handlebars.js' compat mode). Here it comes from
  the context: every object inside a list (a registration, which ``#each`` makes the
  current context) looks a name it does not have up in the root. Unlike compat mode this
  also answers ``{{this.contact}}`` inside the loop; no email writes that.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}
_ESCAPE = re.compile("[&<>\"'`=]")


class RenderError(ValueError):
    """The text is not a template Handlebars can render (a parse error, an unknown helper)."""


def escape(text: str) -> str:
    """HTML-escape as Handlebars.js' escapeExpression does."""
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], text)


class Entity:
    """An object of the context. A name it lacks resolves from ``root`` when ``root`` is
    given (see the module docstring); a name found nowhere is None, never a dict method."""

    __slots__ = ("_fields", "_root")

    def __init__(self, fields: Mapping[str, Any], root: Entity | None = None) -> None:
        self._fields = fields
        self._root = root

    def __getitem__(self, name: str) -> Any:
        if name in self._fields:
            return self._fields[name]
        return self._root[name] if self._root is not None else None

    def get(self, name: str, default: Any = None) -> Any:
        value = self[name]
        return default if value is None else value

    def keys(self) -> Iterator[str]:  # `#each` over an object walks its keys, as in JS
        return iter(self._fields)

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __bool__(self) -> bool:  # `{{#if obj}}`: an object is truthy in JS, even empty
        return True

    def __str__(self) -> str:
        return "[object Object]"


def context_of(data: Mapping[str, Any]) -> Entity:
    """The render context for plain data (dicts, lists, strings) such as a contact's."""
    root = Entity({})
    fields = {k: _wrap(v, root, in_list=False) for k, v in data.items()}
    root._fields = fields
    return root


def _wrap(value: Any, root: Entity, in_list: bool) -> Any:
    if isinstance(value, Mapping):
        fields = {k: _wrap(v, root, in_list=False) for k, v in value.items()}
        return Entity(fields, root if in_list else None)
    if isinstance(value, list | tuple):
        return [_wrap(v, root, in_list=True) for v in value]
    return value


def _text(value: Any) -> str:
    """A value as JavaScript's String() writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _prepare(value: Any, should_escape: bool) -> Any:
    """pybars' own ``prepare`` with Handlebars.js' escaping and String()."""
    import pybars

    if type(value) is pybars.strlist:  # a block's output: already rendered
        return value
    text = _text(value)
    return escape(text) if should_escape else text


def _eq(_this: Any, a: Any = None, b: Any = None) -> bool:
    # as the platform's helper (and render.js): strict, no case folding, no coercion
    return type(a) is type(b) and a == b


HELPERS = {"eq": _eq}

# pybars' compiler keeps its state in a class-level builder: one compilation at a time
_COMPILING = threading.Lock()

# pybars ends every comment at its first "}}": a long comment ({{!-- … --}}, which may hold
# "}}") becomes a short empty one, which renders (and strips a standalone line) the same way
_LONG_COMMENT = re.compile(r"\{\{(~?)!--[\s\S]*?--(~?)\}\}")


def _short_comments(source: str) -> str:
    return _LONG_COMMENT.sub(lambda m: "{{" + m.group(1) + "! " + m.group(2) + "}}", source)


_COMMENT = re.compile(r"\{\{~?!(?:--[\s\S]*?--~?\}\}|[\s\S]*?\}\})")
_BLOCK_TAG = re.compile(r"\{\{~?\s*([#^/])\s*([^\s}~()]+)")


def _check_closed(source: str) -> None:
    """pybars renders a block left open at the end as if closed there; Handlebars.js (and so
    the platform) refuses the template."""
    text = _COMMENT.sub(lambda m: " " * len(m.group(0)), source)
    opened: list[re.Match[str]] = []
    for m in _BLOCK_TAG.finditer(text):
        if m.group(1) != "/":
            opened.append(m)
        elif opened and opened[-1].group(2) == m.group(2):
            opened.pop()
        else:
            return  # a stray or crossed end tag: pybars' parser says where
    if opened:
        m = opened[-1]
        line = source.count("\n", 0, m.start()) + 1
        raise RenderError(
            f"not a Handlebars template Dynamics can fill: {{{{{m.group(1)}{m.group(2)}}}}} "
            f"on line {line} is never closed"
        )


@lru_cache(maxsize=32)
def _compiled(source: str) -> Any:
    import pybars

    _check_closed(source)
    with _COMPILING:
        try:
            template = pybars.Compiler().compile(_short_comments(source))
        except Exception as exc:  # pybars raises PybarsError or its parser's own errors
            raise RenderError(f"not a Handlebars template Dynamics can fill: {exc}") from None
    module = template.__globals__
    module["prepare"] = _prepare  # this template's module only: pybars itself is untouched
    sys.modules.pop(module["__name__"], None)  # pybars registers every template: unbounded
    return template


def render(source: str, data: Mapping[str, Any] | Entity) -> str:
    """``source`` filled for one context, as Dynamics would send it."""
    template = _compiled(source)
    context = data if isinstance(data, Entity) else context_of(data)
    try:
        return str(template(context, helpers=HELPERS))
    except RenderError:
        raise
    except Exception as exc:  # an unknown helper, a helper given the wrong arguments
        raise RenderError(f"Handlebars could not fill the template: {exc}") from None
