"""Whole-text passes at C speed, made once per email and shared by the locator and the verifier.

Each pass is a pure function of the text: a superset of where something *may* be (a block's
start tag, a Handlebars expression), which the locator then reads exactly and the verifier
checks against libxml2. Reading an email costs a few such passes; running each once instead of
once per reader is most of what separates mailpatch from a plain parse.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from enum import Enum
from functools import cached_property
from itertools import chain


class HitKind(Enum):
    LOCKED = "locked"  # a data-locked attribute: only the whole document knows the ancestors
    QR = "erqrcode"  # data-editorblocktype = erqrcode (any case, quotes and spaces)
    BUTTON = "button"
    ENTITY = "entity"  # a block type holding a '&': libxml2 decodes it, may read erqrcode
    OTHER = "other"  # any other block type, or none


# ``data-locked`` or ``data-editorblocktype`` (any case), and which block type follows. Found
# from its '-', a literal the search runs on, with the look-behind after it: ten times faster
# than a case-insensitive literal. The type group is optional, so a hit never swallows the
# next one ('data-editorblocktype=data-editorblocktype=erqrcode' is two hits).
_HIT = re.compile(
    r"-(?<=[dD][aA][tT][aA]-)(?i:(?P<locked>locked)|editorblocktype"
    r"(?:\s*=\s*[\"']?\s*(?:(?P<erqrcode>erqrcode)|(?P<button>button)|(?P<entity>[^\s\"'>&-]*&)))?)"
)
_KINDS = {
    "locked": HitKind.LOCKED,
    "erqrcode": HitKind.QR,
    "button": HitKind.BUTTON,
    "entity": HitKind.ENTITY,
    None: HitKind.OTHER,
}

# A Handlebars expression as Handlebars lexes it: from '{{' to the first '}}', or to the end
# of the text when it is never closed; a long comment '{{!-- … --}}' runs to its '--}}' (the
# '{{…}}' inside are its text), or to the end when it has none (Handlebars cannot lex that).
MUSTACHE = re.compile(r"\{\{~?!--.*?(?:--~?\}\}|\Z)|\{\{.*?(?:\}\}|\Z)", re.S)
HB_COMMENT = re.compile(r"\{\{~?!--.*?--~?\}\}", re.S)  # a long handlebars comment, whole


class Spans:
    """``(start, end)`` spans in order and apart, stored as two machine-integer arrays: an email
    dense in ``{{…}}`` holds one per five bytes, where a tuple of two ints each would cost some
    120 bytes (25 times the text). Reads as a sequence of ``(start, end)`` tuples."""

    __slots__ = ("ends", "starts")

    def __init__(self, flat: array[int]) -> None:  # start, end, start, end, …
        self.starts = flat[0::2]  # sorted: bisect them (``around``)
        self.ends = flat[1::2]

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> tuple[int, int]:
        return self.starts[i], self.ends[i]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self.starts, self.ends, strict=True)

    def around(self, at: int) -> int:
        """The index of the span that offset ``at`` lies strictly inside, or -1."""
        i = bisect_left(self.starts, at) - 1
        return i if i >= 0 and self.starts[i] < at < self.ends[i] else -1


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


Hit = tuple[int, HitKind]  # (offset of the '-' in 'data-', kind); plain tuples: built by the
# thousand, where a NamedTuple or dataclass per hit would cost a third of the pass again


class Survey:
    """The whole-text passes over one email, each made when first asked for."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def hits(self) -> tuple[Hit, ...]:
        kinds = _KINDS
        return tuple([(m.start(), kinds[m.lastgroup]) for m in _HIT.finditer(self.text)])

    @cached_property
    def mustaches(self) -> Spans:
        """(start, end) of every Handlebars expression, closed or not, in order."""
        code = "i" if len(self.text) < 2**31 else "q"  # 8 bytes a span, not some 120
        spans = map(re.Match.span, MUSTACHE.finditer(self.text))
        return Spans(array(code, chain.from_iterable(spans)))

    def expressions(self) -> set[str]:
        """The text of every closed expression ('{{…}}')."""
        text = self.text
        return {text[lo:hi] for lo, hi in self.mustaches if text.endswith("}}", lo + 2, hi)}


def survey_of(text: str, known: Survey | None) -> Survey:
    """``known`` when it surveyed this very text, else a new survey."""
    return known if known is not None and known.text is text else Survey(text)
