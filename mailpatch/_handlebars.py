"""Handlebars, as the platform reads the email: expressions, comments, the loop's block markers
and the event GUIDs they test. One home for these rules, read by the locator (_blocks), the
survey, the mover, lint and the patcher; the verifier keeps its own reading of the markers
beside this one (tests/test_handlebars_rules.py checks that the two agree).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum
from typing import NamedTuple

from mailpatch._regex import lazy

# A Handlebars expression as Handlebars lexes it: from '{{' to the first '}}', or to the end
# of the text when it is never closed; a long comment '{{!-- … --}}' runs to its '--}}' (the
# '{{…}}' inside are its text), or to the end when it has none (Handlebars cannot lex that).
MUSTACHE = lazy(r"\{\{~?!--.*?(?:--~?\}\}|\Z)|\{\{.*?(?:\}\}|\Z)", re.S)
HB_COMMENT = lazy(r"\{\{~?!--.*?--~?\}\}", re.S)  # a long handlebars comment, whole
SHORT_COMMENT = lazy(r"\{\{~?!.*?\}\}", re.S)
# a run of text that is nothing but loop markers ('{{#each …}}{{#if …}}' in one <p>)
MARKERS_ONLY = lazy(r"\s*(?:\{\{~?[#/]?\s*(?:each|if|else)\b[^{}]*\}\}\s*)+")

# an expression's inside (group 1); a long comment '{{!-- … --}}' as a whole, no group
EXPRESSION = lazy(r"\{\{~?!--.*?--~?\}\}|\{\{\{?(.*?)\}?\}\}", re.S)
_EACH = lazy(r"#\s*each\s")
_IF = lazy(r"#\s*if\s")
# the event test, in the forms that render alike: (eq this.msevtmgt_eventid 'GUID') as the
# designer writes it, the operands the other way round, or the field without 'this.' (inside
# the {{#each}} the registration is the context)
_EVENT_IF = lazy(
    r"#\s*if\s+\(\s*eq\s+(?:"
    r"(?:this\.)?msevtmgt_eventid\s+(?P<q>['\"])(?P<guid>[^'\"]*)(?P=q)"
    r"|(?P<q2>['\"])(?P<guid2>[^'\"]*)(?P=q2)\s+(?:this\.)?msevtmgt_eventid"
    r")\s*\)\s*\Z"
)
_CLOSE_IF = lazy(r"/\s*if\s*\Z")
_CLOSE_EACH = lazy(r"/\s*each\s*\Z")
GUID = lazy(r"\{?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\}?\Z", re.I)
# what a GUID may look like where a readable event id is wanted: braced, bare 32 hex digits,
# or a urn:uuid: (none of them is a readable id)
GUID_LIKE = lazy(r"(?:urn:uuid:)?\{?[0-9a-f]{8}-?(?:[0-9a-f]{4}-?){3}[0-9a-f]{12}\}?\Z", re.I)


def normal_guid(guid: str) -> str:
    """A GUID as compared everywhere: no braces or spaces around it, lower case."""
    return guid.strip().strip("{}").lower()


class MarkerKind(Enum):
    EACH = "{{#each}}"
    IF_EVENT = "{{#if (eq this.msevtmgt_eventid …)}}"
    IF_OTHER = "{{#if}}"
    ELSE = "{{else}}"
    ELSE_CHAIN = "{{else if …}}"  # a chained branch: not the loop's form, refused
    END_IF = "{{/if}}"
    END_EACH = "{{/each}}"
    OTHER_BLOCK = "{{#…}}/{{^…}}/{{/…}}"  # another block helper: not the loop's, refused


# The loop as Microsoft's procedure writes it, optionally with an {{else}} inside the {{#if}}
# and one on the {{#each}} (shown to a contact with no registration at all).
_E, _I, _L, _F, _N = (
    MarkerKind.EACH,
    MarkerKind.IF_EVENT,
    MarkerKind.ELSE,
    MarkerKind.END_IF,
    MarkerKind.END_EACH,
)
WHOLE_LOOPS = (
    [_E, _I, _F, _N],
    [_E, _I, _L, _F, _N],
    [_E, _I, _F, _L, _N],
    [_E, _I, _L, _F, _L, _N],
)


# records built per block: a NamedTuple costs an eighth of a dataclass to define (start-up,
# benchmarks/bench.py), and nothing replaces or extends them
class Marker(NamedTuple):
    kind: MarkerKind
    start: int
    end: int
    guid: str = ""


def classify(expr: str) -> tuple[MarkerKind, str] | None:
    """The block marker an expression is, following Handlebars' own lexer.

    Handlebars rejects ``{{ #if}}``, ``{{ /if}}`` and ``{{#if(eq``: only forms it parses count,
    so a near miss ends as a refusal ("no {{#if ...") rather than a broken email.
    """
    if "{{" in expr:  # an expression run into the next one: Handlebars cannot parse it
        return None
    body = expr[1:] if expr.startswith("~") else expr
    body = body[:-1] if body.endswith("~") else body
    if _EACH.match(body):
        return MarkerKind.EACH, ""
    if _IF.match(body):
        m = _EVENT_IF.match(body)
        if m is None:
            return MarkerKind.IF_OTHER, ""
        return MarkerKind.IF_EVENT, m.group("guid") if m.group("q") else m.group("guid2")
    if body.strip() in ("else", "^"):  # '{{^}}' is '{{else}}' to Handlebars
        return MarkerKind.ELSE, ""
    if re.match(r"\s*else\s", body):  # '{{else if …}}' opens another branch
        return MarkerKind.ELSE_CHAIN, ""
    if _CLOSE_IF.match(body):
        return MarkerKind.END_IF, ""
    if _CLOSE_EACH.match(body):
        return MarkerKind.END_EACH, ""
    if body[:1] in ("#", "^", "/"):  # {{#unless}}, {{^inverse}}, {{/with}}, …
        return MarkerKind.OTHER_BLOCK, ""
    return None


def closed_expressions(text: str, lo: int = 0, hi: int | None = None) -> Iterator[str]:
    r"""What ``re.finditer(r"\{\{.*?\}\}", text[lo:hi], re.S)`` yields, in linear time.

    That regular expression tries every '{{' after the last '}}' again to the end of the
    text: quadratic on an email full of unclosed '{{'. Once a '{{' has no '}}' after it, no
    later one has either, so the search stops there.
    """
    end = len(text) if hi is None else hi
    find = text.find
    at = find("{{", lo, end)
    while at >= 0:
        if text.startswith("!--", at + 2) or text.startswith("~!--", at + 2):
            comment = HB_COMMENT.match(text, at, end)  # '{{!-- {{x}} --}}' is one
            if comment is None:
                return
            close = comment.end() - 2
        else:
            close = find("}}", at + 2, end)
            if close < 0:
                return
        yield text[at : close + 2]
        at = find("{{", close + 2, end)


def closing_bound(text: str, lo: int, hi: int) -> int:
    r"""An end for a search, at most ``hi``, past which no '{{…}}' (closed by '}}' or '}}}')
    in ``text[lo:hi]`` reaches: two past its last '}}', or ``lo`` when it has none.

    A lazy expression such as ``\{\{(.*?)\}\}`` run up to it finds exactly what it finds up
    to ``hi``, without reading from each unclosed '{{' after the last '}}' to ``hi`` again
    (quadratic on a text full of them).
    """
    last = text.rfind("}}", lo, hi)
    return lo if last < 0 else min(hi, last + 2)
