"""Handlebars in Python, as Dynamics 365 Marketing fills an email for one contact at send time.

The engine is pybars3 (Handlebars.js' grammar: ``#each``/``#if``/``else``, ``{{!-- --}}``,
subexpressions such as ``(eq this.msevtmgt_eventid 'GUID')``). Made to behave as
Handlebars.js 4 does, checked against it on the fixture corpus (tests/test_render.py):

* HTML escaping: Handlebars.js also escapes ``=`` (as ``&#x3D;``), pybars does not; and
  arrays print as ``a,b``, objects as ``[object Object]``.
* Long comments: ``{{!-- … --}}`` may hold ``}}``, which ends it early in pybars.
* Never closed: a block, comment or expression left open is an error, as in Handlebars.js
  (pybars renders it as if closed at the end).
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
from typing import Any, NamedTuple

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

_BLOCK_TAG = re.compile(r"\{\{~?\s*([#^/])\s*([^\s}~()]+)")
_LONG_CLOSE = re.compile(r"--~?\}\}\Z")
_ELSE_IF = re.compile(r"\s*else\s+if\b")
# Literal text between expressions is the template's own output, whatever the contact: pybars
# parses it a character at a time (some 20 s and 1 GB a megabyte: an inline base64 image),
# so each long run of it is compiled as a short stand-in and put back after the render.
_KEEP = 64  # characters kept as they are next to an expression, and at least a whole word
_PIECE = "\ue000{}\ue001"
_PIECES = re.compile("\ue000(\\d+)\ue001")


class _Prepared(NamedTuple):
    source: str  # what pybars compiles
    pieces: list[str]  # the literal text each stand-in holds, by number


def _line_of(source: str, at: int) -> int:
    return source.count("\n", 0, at) + 1


def _stand_in(text: str, pieces: list[str]) -> str:
    """``text`` (literal, no expression in it) with its middle as a stand-in. The middle
    starts and ends on a character that is not white space, and a whole kept part stands
    between it and each expression: whitespace control ('~') and standalone lines, which
    look at the white space next to an expression, see the same text either way."""
    if len(text) <= 4 * _KEEP:
        return text
    lo = next((i for i in range(_KEEP, len(text)) if not text[i].isspace()), len(text))
    hi = next((i + 1 for i in range(len(text) - _KEEP, lo, -1) if not text[i].isspace()), lo)
    if hi - lo <= _KEEP:
        return text
    pieces.append(text[lo:hi])
    return text[:lo] + _PIECE.format(len(pieces) - 1) + text[hi:]


def _prepare_source(source: str) -> _Prepared:
    """The template as pybars compiles it, or a RenderError where Handlebars.js refuses it.

    One pass over the expressions (linear: an unclosed '{{' or '{{!--' ends the pass, as it
    ends Handlebars.js' lexer): a comment or expression never closed, and a block never
    closed, are errors, as they are on the platform (pybars renders them as if closed at the
    end); pybars ends every comment at its first '}}', so a long comment ('{{!-- … --}}',
    which may hold '}}') becomes a short empty one, which renders (and strips a standalone
    line) the same way.
    """
    from mailpatch._handlebars import MUSTACHE

    collapse = "\ue000" not in source and "\ue001" not in source
    out: list[str] = []
    pieces: list[str] = []
    opened: list[tuple[str, str, int]] = []  # (sigil, name, offset) of the open blocks
    balanced = True  # False after a stray or crossed end tag: pybars' parser says where
    pos = 0
    for m in MUSTACHE.finditer(source):
        text = source[pos : m.start()]
        out.append(_stand_in(text, pieces) if collapse else text)
        pos = m.end()
        expr = m.group(0)
        body = expr[3:] if expr.startswith("{{~") else expr[2:]
        if body.startswith("!--"):
            if not _LONG_CLOSE.search(expr):
                line = _line_of(source, m.start())
                raise RenderError(
                    "not a Handlebars template Dynamics can fill: the {{!-- comment on line "
                    f"{line} is never closed"
                )
            close = "~" if expr.endswith("~}}") else ""
            out.append("{{" + ("~" if expr.startswith("{{~") else "") + "! " + close + "}}")
            continue
        if not expr.endswith("}}"):
            what = "comment" if body.startswith("!") else "expression"
            raise RenderError(
                f"not a Handlebars template Dynamics can fill: the {what} opened on line "
                f"{_line_of(source, m.start())} is never closed"
            )
        out.append(expr)
        if body.startswith("!"):
            continue
        if _ELSE_IF.match(body):
            raise RenderError(
                "the preview cannot render {{else if …}} (Handlebars 4's chained branch, on "
                f"line {_line_of(source, m.start())}): check this email with a test send"
            )
        tag = _BLOCK_TAG.match(expr)
        if tag is None or not balanced:
            continue
        if tag.group(1) != "/":
            opened.append((tag.group(1), tag.group(2), m.start()))
        elif opened and opened[-1][1] == tag.group(2):
            opened.pop()
        else:
            balanced = False
    text = source[pos:]
    out.append(_stand_in(text, pieces) if collapse and pos < len(source) else text)
    if opened and balanced:
        sigil, name, at = opened[-1]
        raise RenderError(
            f"not a Handlebars template Dynamics can fill: {{{{{sigil}{name}}}}} "
            f"on line {_line_of(source, at)} is never closed"
        )
    return _Prepared("".join(out), pieces)


class _Template(NamedTuple):
    fill: Any  # the compiled pybars template
    pieces: list[str]


@lru_cache(maxsize=32)
def _compiled(source: str) -> _Template:
    import pybars

    prepared = _prepare_source(source)
    with _COMPILING:
        try:
            template = pybars.Compiler().compile(prepared.source)
        except RecursionError:
            raise RenderError(
                "the preview cannot render this email: its Handlebars blocks are nested too "
                "deep for it"
            ) from None
        except Exception as exc:  # pybars raises PybarsError or its parser's own errors
            raise RenderError(f"not a Handlebars template Dynamics can fill: {exc}") from None
    module = template.__globals__
    module["prepare"] = _prepare  # this template's module only: pybars itself is untouched
    sys.modules.pop(module["__name__"], None)  # pybars registers every template: unbounded
    return _Template(template, prepared.pieces)


def render(source: str, data: Mapping[str, Any] | Entity) -> str:
    """``source`` filled for one context, as Dynamics would send it."""
    template = _compiled(source)
    context = data if isinstance(data, Entity) else context_of(data)
    try:
        filled = str(template.fill(context, helpers=HELPERS))
    except RenderError:
        raise
    except RecursionError:
        raise RenderError(
            "the preview cannot render this email: its Handlebars blocks are nested too deep "
            "for it"
        ) from None
    except Exception as exc:  # an unknown helper, a helper given the wrong arguments
        raise RenderError(f"Handlebars could not fill the template: {exc}") from None
    pieces = template.pieces
    return _PIECES.sub(lambda m: pieces[int(m.group(1))], filled) if pieces else filled
