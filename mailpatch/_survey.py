"""Whole-text passes at C speed, made once per email and shared by the locator and the verifier.

Each pass is a pure function of the text: a superset of where something *may* be (a block's
start tag, a Handlebars expression), which the locator then reads exactly and the verifier
checks against libxml2. Reading an email costs a few such passes; running each once instead of
once per reader is most of what separates mailpatch from a plain parse.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import cached_property


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
# of the text when it is never closed.
MUSTACHE = re.compile(r"\{\{.*?(?:\}\}|\Z)", re.S)


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
    def mustaches(self) -> tuple[tuple[int, int], ...]:
        """(start, end) of every Handlebars expression, closed or not, in order."""
        return tuple([m.span() for m in MUSTACHE.finditer(self.text)])

    def expressions(self) -> set[str]:
        """The text of every closed expression ('{{…}}')."""
        text = self.text
        return {text[lo:hi] for lo, hi in self.mustaches if text.endswith("}}", lo + 2, hi)}


def survey_of(text: str, known: Survey | None) -> Survey:
    """``known`` when it surveyed this very text, else a new survey."""
    return known if known is not None and known.text is text else Survey(text)
