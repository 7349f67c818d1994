"""A lossless HTML tokenizer: the concatenation of the tokens is exactly the input.

Like tokenize-rt for Python source, it exists so that decisions are taken on a parsed view and
edits are applied to the original text. It follows the WHATWG tokenizer where email HTML
needs it: comments end at the first ``-->`` or ``--!>`` (``<!-->`` is an empty comment), any
other ``<!``/``<?``/``</`` + non-letter is a bogus comment up to ``>`` (so ``<![endif]-->`` is
one token), attribute values may hold ``>``, attributes may follow a quoted value without a
space, and ``<style>``/``<script>``/``<title>``/``<textarea>`` content is raw text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cached_property


class Kind(Enum):
    TEXT = "text"
    START = "start"
    END = "end"
    COMMENT = "comment"
    OTHER = "other"  # doctype, bogus comments such as <![endif]-->, processing instructions


# A quoted value runs to its closing quote, across '>' and lines, or to the end of the input
# (WHATWG: the tag is then cut off by the end and dropped); an unquoted value never starts
# with a quote.
_ATTR_SRC = r"""[^\s/>][^\s/>=]*(?:\s*=\s*(?:"[^"]*(?:"|\Z)|'[^']*(?:'|\Z)|[^\s>"'][^\s>]*))?"""
_MARKUP = re.compile(
    r"<(?:"
    r"(?P<comment>!--(?:>|->|.*?(?:--!?>|\Z)))"
    # Atomic attribute groups and `\Z` as an alternative end: a tag always matches in one
    # forward pass, so unterminated tags cost linear time, not quadratic or exponential.
    r"|(?P<start>[A-Za-z][^\s/>]*)(?:[\s/]*(?>" + _ATTR_SRC + r"))*[\s/]*(?:(?P<gt>>)|\Z)"
    r"|/(?P<end>[A-Za-z][^\s/>]*)[^>]*(?:>|\Z)"
    r"|(?P<other>[!?/][^>]*(?:>|\Z))"
    r")",
    re.S,
)
_ATTR = re.compile(
    r"""(?P<name>[^\s/>][^\s/>=]*)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\s>]*)))?"""
)
_RAW_TEXT = frozenset({"style", "script", "title", "textarea", "xmp", "iframe", "noembed"})
RAW_TEXT = _RAW_TEXT  # elements whose content is text up to their own end tag
_RAW_END: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"</{name}[\s/>]", re.I) for name in _RAW_TEXT
}
VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)


@dataclass(frozen=True, slots=True)
class Attr:
    name: str  # lower case
    value: str | None  # raw (entities not decoded); None when the attribute has no value
    start: int  # absolute offset of the attribute name
    value_start: int  # absolute offset of the value (inside quotes), or end of name
    value_end: int
    quote: str  # '"', "'" or '' (unquoted / no value)


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    start: int
    end: int
    name: str = ""  # lower-case tag name for START/END

    def text(self, source: str) -> str:
        return source[self.start : self.end]


@dataclass(frozen=True)
class StartTag:
    """A start tag with its attributes parsed (lazily, only for tags someone looks at)."""

    source: str
    token: Token

    @cached_property
    def attrs(self) -> tuple[Attr, ...]:
        src, tok = self.source, self.token
        pos = tok.start + 1 + len(tok.name)
        end = tok.end - 1
        out: list[Attr] = []
        seen: set[str] = set()
        while True:
            m = _ATTR.search(src, pos, end)
            if m is None:
                break
            pos = m.end()
            name = m.group("name").lower()
            if name in seen:  # the HTML parser ignores a repeated attribute
                continue
            seen.add(name)
            for group, quote in (("dq", '"'), ("sq", "'"), ("uq", "")):
                if m.group(group) is not None:
                    out.append(
                        Attr(name, m.group(group), m.start(), m.start(group), m.end(group), quote)
                    )
                    break
            else:
                out.append(Attr(name, None, m.start(), m.end(), m.end(), ""))
        return tuple(out)

    def get(self, name: str) -> Attr | None:
        for attr in self.attrs:
            if attr.name == name:
                return attr
        return None

    @property
    def self_closing(self) -> bool:
        return self.source[self.token.end - 2] == "/"


def tokenize(source: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Tokens covering ``source[start:end]`` exactly, in order."""
    stop = len(source) if end is None else end
    tokens: list[Token] = []
    append = tokens.append
    search = _MARKUP.search
    pos = start
    while pos < stop:
        m = search(source, pos, stop)
        if m is None:
            append(Token(Kind.TEXT, pos, stop))
            break
        if m.start() > pos:
            append(Token(Kind.TEXT, pos, m.start()))
        name = m.group("start")
        if name is not None:  # a start tag is whole only if its own '>' closed it
            cut = m.group("gt") is None
        else:
            cut = m.end() == stop and source[stop - 1] != ">" and m.group("comment") is None
        if cut:
            # a tag cut off by the end of input: the HTML parser drops it, so do we
            append(Token(Kind.OTHER, m.start(), m.end()))
            break
        if name is not None:
            lname = name.lower()
            append(Token(Kind.START, m.start(), m.end(), lname))
            pos = m.end()
            if lname in _RAW_TEXT:
                close = _RAW_END[lname].search(source, pos, stop)
                raw_end = stop if close is None else close.start()
                if raw_end > pos:
                    append(Token(Kind.TEXT, pos, raw_end))
                pos = raw_end
            continue
        name = m.group("end")
        if name is not None:
            append(Token(Kind.END, m.start(), m.end(), name.lower()))
        elif m.group("comment") is not None:
            append(Token(Kind.COMMENT, m.start(), m.end()))
        else:
            append(Token(Kind.OTHER, m.start(), m.end()))
        pos = m.end()
    return tokens


def comment_body(source: str, token: Token) -> tuple[int, int]:
    """The span of a comment's content between ``<!--`` and its closing ``-->``/``--!>``."""
    text = token.text(source)
    body_start = token.start + 4
    for closer in ("--!>", "-->"):
        if text.endswith(closer) and len(text) >= 4 + len(closer) - 1:
            return body_start, max(body_start, token.end - len(closer))
    return body_start, token.end  # unterminated: runs to the end of input


def cut_off(source: str, token: Token) -> bool:
    """A comment or tag that the end of the input cut off (``<!-- …``, ``<p class="x``).

    Harmless where it is; moved before other text, it would swallow that text.
    """
    text = token.text(source)
    if token.kind is Kind.COMMENT:
        if text in ("<!-->", "<!--->"):  # empty comments, closed by their own '>'
            return False
        return not (
            (text.endswith("-->") and len(text) >= 7) or (text.endswith("--!>") and len(text) >= 8)
        )
    return token.kind is Kind.OTHER and not text.endswith(">")


class LineIndex:
    """Offsets to 1-based ``line:col`` (CRLF and CR count as one break, like an editor)."""

    _BREAK = re.compile(r"\r\n|\r|\n")

    def __init__(self, source: str) -> None:
        self._starts = [0] + [m.end() for m in self._BREAK.finditer(source)]

    def position(self, offset: int) -> tuple[int, int]:
        import bisect

        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def label(self, offset: int) -> str:
        line, col = self.position(offset)
        return f"{line}:{col}"
