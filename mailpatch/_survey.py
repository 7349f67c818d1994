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
from itertools import islice
from typing import overload

from mailpatch._handlebars import MUSTACHE
from mailpatch._regex import lazy


class HitKind(Enum):
    LOCKED = "locked"  # a data-locked attribute: only the whole document knows the ancestors
    QR = "erqrcode"  # data-editorblocktype = erqrcode (any case, quotes and spaces)
    BUTTON = "button"
    ENTITY = "entity"  # a block type holding a '&': libxml2 decodes it, may read erqrcode


# ``data-locked``, or ``data-editorblocktype`` (any case) with a block type someone reads:
# ERQRCode and Button blocks, or a type libxml2 may decode to one. Other block types (Text,
# Image, Divider: ten times as many in a newsletter) are no hit. Found from its '-', a
# literal the search runs on, with the look-behind after it: ten times faster than a
# case-insensitive literal. A type that is none of these fails the match where it starts,
# so no hit swallows the next ('data-editorblocktype=data-editorblocktype=erqrcode' is one
# hit, the second).
_HIT = lazy(
    r"-(?<=[dD][aA][tT][aA]-)(?i:(?P<locked>locked)|editorblocktype"
    r"\s*=\s*[\"']?\s*(?:(?P<erqrcode>erqrcode)|(?P<button>button)|(?P<entity>[^\s\"'>&-]*&)))"
)
_KINDS = {
    "locked": HitKind.LOCKED,
    "erqrcode": HitKind.QR,
    "button": HitKind.BUTTON,
    "entity": HitKind.ENTITY,
}


class Spans:
    """``(start, end)`` spans in order and apart, stored as two machine-integer arrays: an email
    dense in ``{{…}}`` holds one per five bytes, where a tuple of two ints each would cost some
    120 bytes (25 times the text). Reads as a sequence of ``(start, end)`` tuples.

    Made from matches as they are asked for: ``around`` reads only as far as its offset (the
    blocks a patch edits are mostly near the top), anything else reads them all."""

    __slots__ = ("_matches", "ends", "starts")
    _CHUNK = 4096  # matches read at a time, their spans stored at C speed

    def __init__(self, matches: Iterator[re.Match[str]], wide: bool = False) -> None:
        self.starts = array("q" if wide else "i")  # sorted: bisect them (``around``)
        self.ends = array("q" if wide else "i")
        self._matches: Iterator[re.Match[str]] | None = matches

    def _read(self, upto: int | None = None) -> None:
        """Read matches until one starts at or after ``upto`` (None: all of them)."""
        while self._matches is not None and (
            upto is None or not self.starts or self.starts[-1] < upto
        ):
            chunk = list(islice(self._matches, self._CHUNK if upto is None else 64))
            if len(chunk) < (self._CHUNK if upto is None else 64):
                self._matches = None
            self.starts.extend(map(re.Match.start, chunk))
            self.ends.extend(map(re.Match.end, chunk))

    def __len__(self) -> int:
        self._read()
        return len(self.starts)

    def __getitem__(self, i: int) -> tuple[int, int]:
        self._read()
        return self.starts[i], self.ends[i]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        self._read()
        return zip(self.starts, self.ends, strict=True)

    def around(self, at: int) -> int:
        """The index of the span that offset ``at`` lies strictly inside, or -1."""
        self._read(at)
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
            kinds.append(codes[m.lastgroup or ""])  # (every hit has its group)

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
        # 8 bytes a span, not some 120
        return Spans(MUSTACHE.finditer(self.text), wide=len(self.text) >= 2**31)

    def expressions(self) -> set[str]:
        """The text of every closed expression ('{{…}}')."""
        text = self.text
        return {text[lo:hi] for lo, hi in self.mustaches if text.endswith("}}", lo + 2, hi)}


def survey_of(text: str, known: Survey | None) -> Survey:
    """``known`` when it surveyed this very text, else a new survey."""
    return known if known is not None and known.text is text else Survey(text)
