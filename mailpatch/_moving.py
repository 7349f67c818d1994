"""What moves from an ERQRCode block into the Button block, and where the button goes in it.

Microsoft's procedure moves the loop, and puts the button's link where the QR image was. Two
things decide the bytes, both read from the locator's tokens of the QR block:

* the **loop span**: from the construct holding ``{{#each}}`` (its comment, or a ``<p>``
  holding only that) to the one holding ``{{/each}}``. White space around it moves along (the
  output of the common layouts stays what it always was); anything else outside it (a "show
  this code at the desk" line) is about a code that no longer exists and stays behind with the
  QR block, named in the result; handlebars or a link out there is refused by name;
* the **image's place**: the ``<img>``, or the link around it (an ``<a>`` around the QR image
  is the QR image too), or -- when the Button's content holds block elements (a ``<div>``, a
  ``<table>``) -- the ``<p>`` (or other phrasing element) holding nothing but that image: a
  block inside a ``<p>`` makes browsers close the paragraph early and add an empty one after.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from mailpatch._blocks import Document, Element, QrBlock
from mailpatch._errors import Refusal
from mailpatch._handlebars import HB_COMMENT, MARKERS_ONLY, SHORT_COMMENT
from mailpatch._html import VOID, Kind, Token, unescape
from mailpatch._regex import lazy

# Start tags that close an open <p> in HTML5's tree construction ("in body" insertion mode).
CLOSES_P = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir",
        "div", "dl", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hgroup", "hr", "listing", "main", "menu", "nav", "ol",
        "p", "plaintext", "pre", "search", "section", "summary", "table", "ul", "xmp",
    }
)  # fmt: skip
# Elements that hold phrasing content only: a block start tag inside them is misplaced.
PHRASING_ONLY = frozenset(
    {
        "p", "a", "span", "b", "i", "u", "em", "strong", "small", "font", "label", "sub",
        "sup", "code", "h1", "h2", "h3", "h4", "h5", "h6", "big", "s", "strike", "tt",
    }
)  # fmt: skip


class Moved(NamedTuple):
    """The part of a QR block's content that moves, and what stays behind with the block."""

    start: int
    end: int
    left: tuple[str, ...] = ()  # visible text outside the loop, removed with the QR block


def own_tokens(doc: Document, el: Element) -> list[Token]:
    """The tokens that start inside an element's content."""
    lo, hi = el.content_start, el.content_end
    return [t for t in doc.tokens_in(lo, hi) if lo <= t.start < hi]


def loop_span(doc: Document, qr: QrBlock) -> Moved:
    """The loop and the white space around it; see the module docstring."""
    el = qr.element
    tokens = own_tokens(doc, el)
    first = _construct(doc, tokens, qr.each.start, qr.each.end, backwards=True)
    last = _construct(doc, tokens, qr.end_each.start, qr.end_each.end, backwards=False)
    source = doc.source
    left: list[str] = []
    start, end = first, last
    for lo, hi, outer in ((el.content_start, first, True), (last, el.content_end, False)):
        part = source[lo:hi]
        if not part.strip():
            if outer:
                start = lo  # white space moves along, as it always did
            else:
                end = hi
            continue
        # a handlebars comment, long or short, renders nothing: it may go with the block
        bare = SHORT_COMMENT.sub("", HB_COMMENT.sub("", part))
        if "{{" in bare or re.search(r"<a\b|\bhref\s*=", bare, re.I):
            shown = _shown(part) or " ".join(part.split())[:60]
            raise Refusal(
                "the ERQRCode block holds handlebars or a link outside its {{#each}} loop "
                f"({shown!r}); only the loop moves into the Button, and this cannot go with "
                "the QR block unseen: move it out of the block, or delete it",
                lo + len(part) - len(part.lstrip()),
            )
        text = _shown(bare)
        if text:
            left.append(text)
        # the white space next to the loop moves with it (the Button keeps its line breaks)
        if outer:
            start = lo + len(part.rstrip())
        else:
            end = lo + len(part) - len(part.lstrip())
    return Moved(start, end, tuple(left))


def _construct(doc: Document, tokens: list[Token], lo: int, hi: int, backwards: bool) -> int:
    """Where the construct holding the marker at ``lo:hi`` begins (or ends): the comment it
    is written in, widened to each element that holds nothing else (``<p><!--{{…}}--></p>``)."""
    first = last = _index_at(tokens, lo)
    span = (tokens[first].start, tokens[first].end)
    if tokens[first].kind is not Kind.COMMENT:
        tok = tokens[first]
        if MARKERS_ONLY.fullmatch(doc.source, tok.start, tok.end) is None:
            return lo if backwards else hi  # a marker inside a run of text: itself only
    first, last = _widened(doc, tokens, first, last, lambda name: name not in VOID)
    if tokens[first].kind is Kind.START:
        span = (tokens[first].start, tokens[last].end)
    return span[0] if backwards else span[1]


def _widened(
    doc: Document, tokens: list[Token], first: int, last: int, takes: Callable[[str], bool]
) -> tuple[int, int]:
    """Token indices widened over each element (its name taken by ``takes``) that holds
    nothing but tokens ``first`` to ``last`` and white space."""
    while True:
        before, after = _neighbour(doc, tokens, first, -1), _neighbour(doc, tokens, last, +1)
        if before is None or after is None:
            return first, last
        open_, close = tokens[before], tokens[after]
        if not (
            open_.kind is Kind.START
            and close.kind is Kind.END
            and open_.name == close.name
            and takes(open_.name)
        ):
            return first, last
        first, last = before, after


def _index_at(tokens: list[Token], offset: int) -> int:
    for k, t in enumerate(tokens):
        if t.start <= offset < t.end:
            return k
    return len(tokens) - 1


def _neighbour(doc: Document, tokens: list[Token], i: int, step: int) -> int | None:
    """The index of the nearest token before (-1) or after (+1) ``i`` that is not white
    space in text."""
    k = i + step
    while 0 <= k < len(tokens):
        t = tokens[k]
        if not (t.kind is Kind.TEXT and not doc.source[t.start : t.end].strip()):
            return k
        k += step
    return None


def _shown(part: str) -> str:
    """Visible text of a bit of markup, for a message."""
    text = re.sub(r"<!--.*?-->|<[^>]*>", " ", part, flags=re.S)
    text = " ".join(unescape(text).split())
    return text if len(text) <= 80 else text[:77] + "…"


def image_place(doc: Document, qr: QrBlock, content_tokens: list[Token]) -> tuple[int, int]:
    """The span of the QR block the button's content replaces; see the module docstring.

    ``content_tokens`` are the Button content's tokens: whether they hold a block element
    decides how far out the button goes."""
    el = qr.element
    tokens = own_tokens(doc, el)
    i = next(k for k, t in enumerate(tokens) if t.start == qr.img.start)
    blocks = any(t.kind is Kind.START and t.name in CLOSES_P for t in content_tokens)
    lo, hi = _widened(
        doc, tokens, i, i, lambda name: name == "a" or (blocks and name in PHRASING_ONLY)
    )
    if blocks:
        held = _open_phrasing(doc, tokens[:lo])
        if held is not None:
            raise Refusal(
                f"the QR image sits inside a <{held.name}> with other content, and the "
                "Button's content holds block elements: a block inside it would break the "
                "paragraph apart in every browser; give the image a line of its own",
                held.start,
            )
    return tokens[lo].start, tokens[hi].end


def _open_phrasing(doc: Document, tokens: list[Token]) -> Token | None:
    """The innermost phrasing-only element still open after ``tokens``, if any."""
    stack: list[Token] = []
    for t in tokens:
        if t.kind is Kind.START and t.name not in VOID:
            if doc.source[t.end - 2 : t.end] == "/>":
                continue
            if t.name in CLOSES_P:  # as browsers do: a block start tag closes an open <p>
                while stack and stack[-1].name == "p":
                    stack.pop()
            stack.append(t)
        elif t.kind is Kind.END:
            for k in range(len(stack) - 1, -1, -1):
                if stack[k].name == t.name:
                    del stack[k:]
                    break
    return next((t for t in reversed(stack) if t.name in PHRASING_ONLY), None)


def closed_by_bang(doc: Document, lo: int, hi: int) -> Token | None:
    """A comment between ``lo`` and ``hi`` ended by '--!>': browsers end it there and show
    the '-->' another reader takes for its end, so a marker written in it is refused."""
    for t in doc.tokens_in(lo, hi):
        bang = doc.source[t.end - 4 : t.end] == "--!>"
        if t.kind is Kind.COMMENT and lo <= t.start < hi and bang:
            return t
    return None


# Elements whose end tag may be left out: one left open in the moved loop closes harmlessly.
_OPTIONAL_END = frozenset(
    {"p", "li", "dt", "dd", "td", "th", "tr", "tbody", "thead", "tfoot", "option", "colgroup"}
)
_NEEDS_TABLE = frozenset(
    {"tr", "td", "th", "tbody", "thead", "tfoot", "caption", "col", "colgroup"}
)
_REVEALED_OPENER = lazy(r"<!--\s*\[if\b[^\]]*\]>\s*<!--\s*-?-?>\Z", re.I)
_REVEALED_CLOSER = lazy(r"<!--\s*<!\[endif\]\s*-->\Z", re.I)


def check_movable(
    doc: Document, qr: QrBlock, moved: Moved, place: tuple[int, int], content: list[Token]
) -> None:
    """Refuse a loop that cannot move whole: what moves around the button (the loop, the
    image's place taken out) must be balanced markup -- an end tag closing something outside
    it (a '</td></tr>' after a marker in a table cell) breaks the page around the Button --
    and hold no link (it would become part of the calendar button, or a link in a link);
    nor may the button land inside an Outlook conditional when it holds one of its own."""
    el = qr.element
    tokens = [
        t
        for t in doc.tokens_in(moved.start, moved.end)
        if moved.start <= t.start < moved.end and not place[0] <= t.start < place[1]
    ]
    stack: list[Token] = []
    revealed = 0  # Outlook conditionals ('<!--[if !mso]><!-- -->') open at the image's place
    for t in tokens:
        if t.kind is Kind.START and t.name == "a":
            raise Refusal(
                "the ERQRCode block's loop holds a link "
                f"({doc.source[t.start : t.end][:60]!r}) besides the QR image: moved into the "
                "Button it would be part of the calendar button (or a link inside a link); "
                "take it out of the loop",
                t.start,
            )
        if (
            t.kind is Kind.START
            and t.name in _NEEDS_TABLE
            and not any(o.name == "table" for o in stack)
        ):
            raise Refusal(
                f"the ERQRCode block's loop is not whole markup: its <{t.name}> belongs to a "
                "table outside the loop (markers in table cells?); moved into the Button, "
                "browsers would drop it: give each marker a line or paragraph of its own",
                t.start,
            )
        if t.kind is Kind.START and t.name not in VOID:
            if not doc.source.endswith("/>", t.start, t.end):
                stack.append(t)
        elif t.kind is Kind.END:
            at = next((k for k in range(len(stack) - 1, -1, -1) if stack[k].name == t.name), -1)
            if at < 0 or any(o.name not in _OPTIONAL_END for o in stack[at + 1 :]):
                raise Refusal(
                    f"the ERQRCode block's loop is not whole markup: its </{t.name}> closes an "
                    "element the loop did not open (a marker inside a table cell or a "
                    "paragraph with other content?); moved into the Button it would break the "
                    "page around it: give each marker a line or paragraph of its own",
                    t.start,
                )
            del stack[at:]
        elif t.kind is Kind.COMMENT and t.start < place[0]:
            text = doc.source[t.start : t.end]
            revealed += bool(_REVEALED_OPENER.search(text)) - bool(_REVEALED_CLOSER.search(text))
    left_open = [o for o in stack if o.name not in _OPTIONAL_END]
    if left_open:
        o = left_open[-1]
        raise Refusal(
            f"the ERQRCode block's loop is not whole markup: the <{o.name}> it opens is "
            "closed outside it; moved into the Button it would swallow what follows",
            o.start,
        )
    conditional = any(
        t.kind is Kind.COMMENT and "[if" in doc.source[t.start : t.end].lower() for t in content
    )
    if revealed > 0 and conditional:
        raise Refusal(
            "the QR image sits inside an Outlook conditional ('<!--[if !mso]><!-- -->'), and "
            "the Button holds Outlook conditionals of its own: they cannot nest",
            el.start,
        )
