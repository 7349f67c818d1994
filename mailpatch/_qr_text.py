"""Text left in an email that refers to the QR code patch removed.

Microsoft's procedure deletes the ERQRCode block; a Text block beside it that says "Show this
code at the registration desk" stays, with nothing to show. Rewriting it is the person's call
(the text is theirs, outside the two blocks mailpatch may edit), so it is named, not changed.

The words are a heuristic, kept narrow so that an email's other codes (a promotion code, a
discount code) are not named: "QR", "scan it/this/the …", and "code" after "this", "the",
"your", "below", "above", or after "check-in", "registration", "event", "entry", "ticket".
Only visible text counts: not markup, comments, style sheets or scripts; and after a patch,
only the text within NEAR characters of a removed block (see there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from mailpatch._html import Kind, LineIndex, iter_tokens

_WORDS = re.compile(
    r"\bQR\b|\bscan\s+(?:it|this|the|your)\b|"
    r"\b(?:this|the|your|below|above|check-in|checkin|registration|event|entry|ticket)"
    r"\s+code\b(?!\s+of\b)",  # not 'the code of conduct'
    re.I,
)
# Every match of _WORDS holds one of these words, case folded (re.I matches a long s as 's'):
# looked for first, since the case-insensitive alternation is slow (about 45 ms a million
# characters) and folding and three finds are not.
_GATE = ("qr", "scan", "code")
_INVISIBLE = frozenset({"style", "script", "title", "head", "xml", "template"})
_MOST = 5  # named at most: an email that talks of its code all through needs reading anyway


class Mention(NamedTuple):
    offset: int  # where the sentence (or the text run) starts
    text: str  # the text run holding the words, white space folded, at most 80 characters


def qr_mentions(text: str, start: int = 0, end: int | None = None) -> list[Mention]:
    """Visible text in ``text[start:end]`` (an email whose QR blocks are gone; ``start`` where
    a token starts) that refers to a QR code or 'this code', in document order, at most five."""
    stop = len(text) if end is None else end
    folded = text[start:stop].casefold()
    if not any(word in folded for word in _GATE) or not _WORDS.search(text, start, stop):
        return []  # the usual case: passes at C speed, no tokens
    found: list[Mention] = []
    hidden = 0  # inside how many elements whose text is not shown
    for token in iter_tokens(text, start, end):
        if token.kind is Kind.START and token.name in _INVISIBLE:
            hidden += not text.startswith("/>", token.end - 2)
        elif token.kind is Kind.END and token.name in _INVISIBLE:
            hidden = max(0, hidden - 1)
        elif token.kind is Kind.TEXT and not hidden:
            run = text[token.start : token.end]
            if _WORDS.search(run):
                shown = " ".join(run.split())
                lead = len(run) - len(run.lstrip())
                found.append(
                    Mention(token.start + lead, shown if len(shown) <= 80 else shown[:79] + "…")
                )
                if len(found) == _MOST:
                    break
    return found


class Removed(Protocol):
    """One edit of a patch (mailpatch._patch.Edit), as the mapping back to the input needs it:
    ``before[start:end]`` became ``replacement``."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def replacement(self) -> str: ...
    @property
    def what(self) -> str: ...  # "qr": an ERQRCode block removed


# How far from a removed QR block its text is looked for, each way. The whole email would
# catch a sentence further off, but on benchmarks/corpus.py reading all of every patched email
# took 200 ms, against 330 ms for patch() itself; these windows take 12 ms. "Show this code at
# the registration desk" stands beside the block, in its column or section, within a few
# thousand characters of markup.
NEAR = 4_000


def mentions_left(
    before: str, after: str, edits: Sequence[Removed], in_input: bool
) -> tuple[tuple[str, str], ...]:
    """(line:col, text) of what ``after`` (``before`` patched by ``edits``, its QR blocks
    gone) still says about a QR code; placed in ``after``, the file as written, or in
    ``before`` when nothing is written (--check, --diff): the file the person opens."""
    ordered = sorted(edits, key=lambda e: e.start)
    found: dict[int, Mention] = {}
    for lo, hi in _near_removed_blocks(after, ordered):
        for mention in qr_mentions(after, lo, hi):
            found.setdefault(mention.offset, mention)
    if not found:
        return ()
    text = before if in_input else after
    lines = LineIndex(text)
    return tuple(
        (lines.label(_input_offset(m.offset, ordered) if in_input else m.offset), m.text)
        for _, m in sorted(found.items())[:_MOST]
    )


def _near_removed_blocks(after: str, edits: Sequence[Removed]) -> list[tuple[int, int]]:
    """The spans of ``after`` within NEAR characters of where a QR block was removed, merged;
    each from the start of a tag to the start of a tag, so that tokens are read whole."""
    spans: list[tuple[int, int]] = []
    shift = 0
    for edit in edits:  # in input order
        at = edit.start + shift  # where the edit's replacement starts in ``after``
        if edit.what == "qr":
            lo = after.find("<", at - NEAR) if at > NEAR else 0
            hi = after.find("<", min(len(after), at + len(edit.replacement) + NEAR))
            lo, hi = (at if lo == -1 else min(lo, at)), (len(after) if hi == -1 else hi)
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(hi, spans[-1][1]))
            else:
                spans.append((lo, hi))
        shift += len(edit.replacement) - (edit.end - edit.start)
    return spans


def _input_offset(offset: int, edits: Sequence[Removed]) -> int:
    """Where an offset of the patched text was in the input: the text outside the edits is
    the input's own, shifted by what the edits before it added or took away."""
    shift = 0
    for edit in edits:
        start = edit.start + shift  # where the edit's replacement starts in the patched text
        if offset < start:
            break
        if offset < start + len(edit.replacement):
            return edit.start  # inside what an edit wrote: where that edit was
        shift += len(edit.replacement) - (edit.end - edit.start)
    return offset - shift
