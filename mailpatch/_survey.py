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
from collections.abc import Iterator, Sequence
from enum import Enum
from functools import cached_property
from itertools import chain
from typing import overload

from mailpatch._handlebars import MUSTACHE


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


Hit = tuple[int, HitKind]  # (offset of the '-' in 'data-', kind)
_HIT_KINDS = tuple(HitKind)
_HIT_CODES = {group: _HIT_KINDS.index(kind) for group, kind in _KINDS.items()}


class Hits(Sequence[Hit]):
    """The hits in order, stored as an offset array and a kind byte each: an email of
    thousands of blocks has a hit per block, and a tuple per hit cost some 100 bytes (three
    times a 35-byte block). Reads as a sequence of ``(offset, kind)`` tuples."""

    __slots__ = ("_kinds", "_starts")

    def __init__(self, text: str) -> None:
        codes = _HIT_CODES
        starts = self._starts = array("i" if len(text) < 2**31 else "q")
        kinds = self._kinds = bytearray()
        for m in _HIT.finditer(text):  # no tuple a hit, even for a moment
            starts.append(m.start())
            kinds.append(codes[m.lastgroup])

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, i: int) -> Hit: ...
    @overload
    def __getitem__(self, i: slice) -> list[Hit]: ...
    def __getitem__(self, i: int | slice) -> Hit | list[Hit]:
        if isinstance(i, slice):
            return list(
                zip(self._starts[i], map(_HIT_KINDS.__getitem__, self._kinds[i]), strict=True)
            )
        return self._starts[i], _HIT_KINDS[self._kinds[i]]

    def __iter__(self) -> Iterator[Hit]:
        return zip(self._starts, map(_HIT_KINDS.__getitem__, self._kinds), strict=True)


class Survey:
    """The whole-text passes over one email, each made when first asked for."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def hits(self) -> Hits:
        return Hits(self.text)

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
