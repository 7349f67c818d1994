"""Locating designer blocks, their loops and their links in the token stream."""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from enum import Enum
from functools import cached_property
from typing import NamedTuple, TypeVar, overload

from mailpatch._errors import Refusal
from mailpatch._handlebars import (
    EXPRESSION,
    GUID,
    HB_COMMENT,
    MUSTACHE,
    WHOLE_LOOPS,
    Marker,
    MarkerKind,
    classify,
    closing_bound,
    normal_guid,
)
from mailpatch._html import (
    _RAW_END,
    _RAW_TEXT,
    RAW_TEXT,
    VOID,
    Kind,
    StartTag,
    Token,
    Tokens,
    comment_body,
    cut_off,
    iter_tokens,
    skip,
    tokenize,
    unescape,
)
from mailpatch._link import is_calendar_url
from mailpatch._regex import lazy
from mailpatch._survey import HitKind, Survey, survey_of

BLOCK_ATTR = "data-editorblocktype"
QR_TYPE = "erqrcode"
BUTTON_TYPE = "button"
PLACEHOLDER_HREFS = frozenset({"", "#", "about:blank"})

_INTERESTING = lazy(r"data-(?:editorblocktype|locked|protected)", re.I)
# An Outlook conditional comment's text: '[if mso]>…', '[IF (gte mso 9)|(IE)]>…'; Outlook reads
# the markup inside as HTML, so its VML links are links (anything else in a comment is not)
CONDITIONAL = lazy(r"\[if\b", re.I)

T = TypeVar("T")
_S = TypeVar("_S")


class Ancestors(Sequence[StartTag]):
    """The designer-relevant start tags (a block type, a lock, a protection) open around an
    element, outermost first, as a tuple would hold them.

    A view of one node of the chains in a ``BlockStore``, which every element opened inside
    shares: a tuple for each element would cost depth x elements, quadratic in memory and time
    on thousands of nested (or never closed) blocks. What the checks ask of every block -- is
    it inside an ERQRCode or Button block, is an ancestor locked -- is kept in each node, so it
    costs no walk either (``outermost_*``).
    """

    __slots__ = ("_node", "_store")

    def __init__(self, store: BlockStore, node: int) -> None:  # node -1: none
        self._store = store
        self._node = node

    def __len__(self) -> int:
        return 0 if self._node < 0 else self._store.depth[self._node]

    def _tags(self) -> list[StartTag]:  # innermost first
        store, node = self._store, self._node
        out: list[StartTag] = []
        while node >= 0:
            out.append(store.tag(node))
            node = store.parent[node]
        return out

    def __iter__(self) -> Iterator[StartTag]:
        return reversed(self._tags())

    def __reversed__(self) -> Iterator[StartTag]:
        return iter(self._tags())

    @overload
    def __getitem__(self, i: int) -> StartTag: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[StartTag, ...]: ...
    def __getitem__(self, i: int | slice) -> StartTag | tuple[StartTag, ...]:
        return tuple(self)[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ancestors):
            same = self._store is other._store and self._node == other._node
            return same or tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))

    def _outermost(self, which: str) -> StartTag | None:
        store, node = self._store, self._node
        if node < 0:
            return None
        found = getattr(store, which)[node]
        return None if found < 0 else store.tag(found)

    @property
    def outermost_qr(self) -> StartTag | None:
        """The outermost ancestor that is an ERQRCode block, or None."""
        return self._outermost("qr")

    @property
    def outermost_qr_or_button(self) -> StartTag | None:
        """The outermost ancestor that is an ERQRCode or a Button block, or None."""
        return self._outermost("block")

    @property
    def outermost_locked(self) -> StartTag | None:
        """The outermost ancestor with a ``data-locked`` attribute, or None."""
        return self._outermost("locked")


class BlockStore:
    """An email's designer blocks and the designer-relevant start tags around them, stored as
    machine integers, like ``Tokens``: an email of thousands of 35-byte blocks held some 1.2 KB
    of Python objects a block (its tag, attribute, node, element and record), 35 times its
    size. Here a block costs a few dozen bytes; ``Element`` and ``Ancestors`` are views made
    as they are read.

    A *node* is a designer-relevant start tag (a block type, a lock, a protection) with the
    node it was opened inside, and the outermost ERQRCode / ERQRCode-or-Button / locked tag
    of its chain (itself included), or -1. A *row* is a block: its node, where its content and
    it end, the start of a ``<p>`` its tag closes (or -1), and its type.
    """

    __slots__ = (
        "_name_ids", "_type_ids", "block", "content_end", "depth", "end", "locked", "names",
        "node", "open_paragraph", "parent", "qr", "source", "tag_end", "tag_name", "tag_start",
        "type_id", "types",
    )  # fmt: skip

    def __init__(self, source: str) -> None:
        wide = "q" if len(source) >= 2**31 else "i"
        self.source = source
        self.tag_start, self.tag_end, self.tag_name = array(wide), array(wide), array("I")
        self.parent, self.depth = array(wide), array(wide)
        self.qr, self.block, self.locked = array(wide), array(wide), array(wide)
        self.names: list[str] = []
        self._name_ids: dict[str, int] = {}
        self.node, self.content_end, self.end = array(wide), array(wide), array(wide)
        self.open_paragraph, self.type_id = array(wide), array("I")
        self.types: list[str] = []
        self._type_ids: dict[str, int] = {}

    def add_node(self, tok: Token, parent: int, kind: str | None, locked: bool) -> int:
        """A node for start tag ``tok`` opened inside node ``parent`` (-1: none), of block
        type ``kind`` (None: not a block); its index."""
        node = len(self.tag_start)
        self.tag_start.append(tok.start)
        self.tag_end.append(tok.end)
        name_id = self._name_ids.get(tok.name)
        if name_id is None:
            name_id = self._name_ids[tok.name] = len(self.names)
            self.names.append(tok.name)
        self.tag_name.append(name_id)
        self.parent.append(parent)
        if parent < 0:
            depth, qr, block, lock = 1, -1, -1, -1
        else:
            depth = self.depth[parent] + 1
            qr, block, lock = self.qr[parent], self.block[parent], self.locked[parent]
        self.depth.append(depth)
        self.qr.append(node if qr < 0 and kind == QR_TYPE else qr)
        self.block.append(node if block < 0 and kind in (QR_TYPE, BUTTON_TYPE) else block)
        self.locked.append(node if lock < 0 and locked else lock)
        return node

    def add_block(self, node: int, open_paragraph: int, kind: str) -> int:
        """A row for the block whose start tag is ``node``; its ends come with ``close``."""
        row = len(self.node)
        self.node.append(node)
        self.content_end.append(-1)
        self.end.append(-1)
        self.open_paragraph.append(open_paragraph)
        type_id = self._type_ids.get(kind)
        if type_id is None:
            type_id = self._type_ids[kind] = len(self.types)
            self.types.append(kind)
        self.type_id.append(type_id)
        return row

    def close(self, row: int, content_end: int, end: int) -> None:
        self.content_end[row] = content_end
        self.end[row] = end

    def tag(self, node: int) -> StartTag:
        token = Token(
            Kind.START, self.tag_start[node], self.tag_end[node], self.names[self.tag_name[node]]
        )
        return StartTag(self.source, token)

    def elements(self) -> list[Element]:
        """A view of each block, in document order."""
        return [Element(self, row) for row in range(len(self.node))]

    def rows_of(self, kind: str) -> list[int]:
        """The rows of the blocks of type ``kind``, in document order."""
        type_id = self._type_ids.get(kind)
        if type_id is None:
            return []
        return [row for row, t in enumerate(self.type_id) if t == type_id]


class Element:
    """A located block, a view of its row in a ``BlockStore``: ``source[start:end]`` is all of
    it, ``source[content_start:content_end]`` what its tags hold."""

    __slots__ = ("_row", "_store", "_tag")

    def __init__(self, store: BlockStore, row: int) -> None:
        self._store = store
        self._row = row
        self._tag: StartTag | None = None  # made once asked: readers ask it the same again

    @property
    def tag(self) -> StartTag:
        if self._tag is None:
            self._tag = self._store.tag(self._store.node[self._row])
        return self._tag

    @property
    def start(self) -> int:
        return self._store.tag_start[self._store.node[self._row]]

    @property
    def content_start(self) -> int:
        return self._store.tag_end[self._store.node[self._row]]

    @property
    def content_end(self) -> int:
        return self._store.content_end[self._row]

    @property
    def end(self) -> int:
        return self._store.end[self._row]

    @property
    def ancestors(self) -> Ancestors:
        """The designer-relevant start tags around it, outermost first, like a tuple."""
        store = self._store
        return Ancestors(store, store.parent[store.node[self._row]])

    @property
    def open_paragraph(self) -> int:
        """The start of a <p> left open before it, which its tag closes, or -1."""
        return self._store.open_paragraph[self._row]

    @property
    def block_type(self) -> str:
        """data-editorblocktype, stripped and in lower case."""
        return self._store.types[self._store.type_id[self._row]]

    def attr(self, name: str) -> str | None:
        a = self.tag.get(name)
        return None if a is None else (a.value or "")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Element):
            return NotImplemented
        if self._store is other._store:
            return self._row == other._row
        return self._fields() == other._fields()

    def _fields(self) -> tuple[object, ...]:  # what the element was as a dataclass
        return (
            self.tag,
            self.content_end,
            self.end,
            tuple(self.ancestors),
            self.open_paragraph,
            self.block_type,
        )

    def __hash__(self) -> int:
        return hash((self.start, self.content_end, self.end))

    def __repr__(self) -> str:
        return (
            f"Element({self.block_type!r}, start={self.start}, "
            f"content={self.content_start}:{self.content_end}, end={self.end})"
        )


def _blank(text: str) -> bool:
    """Whether ``text`` shows no word: empty or white space only, as str.split() reads it."""
    return not text or text.isspace()


class Document:
    """A located email: its designer blocks, and the tokens the block readers look at.

    ``scan`` tokenizes everything; ``locate`` only the ERQRCode and Button blocks, so
    ``tokens`` and ``blocks`` hold what a patch reads.
    """

    def __init__(self, source: str, tokens: Tokens | list[Token], blocks: BlockStore) -> None:
        self.source = source
        # in document order, not overlapping: the whole email's as Tokens (scan: memory), the
        # blocks' as a list (locate: a few, read again and again, sliced at C speed)
        self.tokens = tokens
        self._store = blocks
        self._token_starts: Sequence[int] = (
            tokens.starts if isinstance(tokens, Tokens) else [t.start for t in tokens]
        )
        self._loop_words: list[int] | None = None
        # False when ``locate`` left Button blocks unread past a horizon (see there)
        self.every_button = True
        self._of_kind: dict[str, list[Element]] = {}
        self._markers: MarkerIndex | None = None
        self._starts_of: dict[str, list[int]] = {}
        self._link_index: LinkIndex | None = None
        self._texts: tuple[list[int], list[int]] | None = None

    def links_in(self, start: int, end: int) -> Links:
        """The links of the tokens starting in ``source[start:end]``: every ``<a>`` (its href,
        or "" for none) and every href in an Outlook conditional comment, in order; a view of
        the document's ``LinkIndex``, so that thousands of nested Buttons do not each hold the
        links of all inside them."""
        index = self.link_index()
        starts = index.token_starts
        return Links(index, bisect.bisect_left(starts, start), bisect.bisect_left(starts, end))

    def link_index(self) -> LinkIndex:
        """The links of the tokens inside some Button's content (made when first asked for)."""
        if self._link_index is None:
            # only what a Button holds: a link elsewhere is asked for by no one
            spans: list[list[int]] = []
            for el in self.blocks_of(BUTTON_TYPE):
                lo, hi = el.content_start, el.content_end
                if spans and lo <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], hi)
                else:
                    spans.append([lo, hi])
            tokens: list[Token] = []
            for lo, hi in spans:
                tokens += (
                    t
                    for t in self.iter_tokens_in(lo, hi)
                    if lo <= t.start < hi
                    and ((t.kind is Kind.START and t.name == "a") or t.kind is Kind.COMMENT)
                )
            self._link_index = LinkIndex(self.source, tokens)
        return self._link_index

    def text_index(self) -> tuple[list[int], list[int]]:
        """Where each text token read that shows a word starts and ends (made when first
        asked for: a Button's label, in a message, is made of them)."""
        if self._texts is None:
            source = self.source
            shown = [
                t
                for t in self.tokens
                # (not .split(): a list of every word, 18x a text of 10,000 words)
                if t.kind is Kind.TEXT and not _blank(unescape(source[t.start : t.end]))
            ]
            self._texts = ([t.start for t in shown], [t.end for t in shown])
        return self._texts

    def marker_index(self) -> MarkerIndex:
        """Every marker of the tokens read (made when first asked for)."""
        if self._markers is None:
            self._markers = MarkerIndex(self.source, self.tokens)
        return self._markers

    def aligned(self, at: int) -> bool:
        """Whether no token read starts before ``at`` and ends after it."""
        starts = self._token_starts
        i = bisect.bisect_right(starts, at) - 1
        return i < 0 or starts[i] == at or self._token_end(i) <= at

    def _token_end(self, i: int) -> int:
        tokens = self.tokens
        return tokens[i].end if isinstance(tokens, list) else tokens.end_of(i)

    def may_hold_loop(self, start: int, end: int) -> bool:
        """Whether ``source[start:end]`` holds "msevtmgt_eventid" (an event loop needs it),
        found by bisection over where the source holds it."""
        if self._loop_words is None:
            found: list[int] = []
            at = self.source.find(_LOOP_WORD)
            while at >= 0:
                found.append(at)
                at = self.source.find(_LOOP_WORD, at + 1)
            self._loop_words = found
        i = bisect.bisect_left(self._loop_words, start)
        return i < len(self._loop_words) and self._loop_words[i] + len(_LOOP_WORD) <= end

    @cached_property
    def blocks(self) -> list[Element]:
        """The blocks in document order, made when first read: every reader then gets the
        same ones, and their tags' attribute memos. (Here, not in the store, which the views
        point to: a cycle would wait for the garbage collector, file after file.)"""
        return self._store.elements()

    def blocks_of(self, kind: str) -> list[Element]:
        """The blocks of type ``kind`` in document order (the same list each time: a reader
        of every Button asks for the Buttons again)."""
        known = self._of_kind.get(kind)
        if known is None:
            blocks = self.blocks
            known = self._of_kind[kind] = [blocks[row] for row in self._store.rows_of(kind)]
        return known

    def starts_of(self, kind: str) -> list[int]:
        """Where each block of type ``kind`` starts, in order (made once)."""
        known = self._starts_of.get(kind)
        if known is None:
            known = self._starts_of[kind] = [el.start for el in self.blocks_of(kind)]
        return known

    def tokens_in(self, start: int, end: int) -> list[Token]:
        """The tokens overlapping ``source[start:end]``, in order, found by bisection.

        Reading each block looks only at its own tokens, so an email with thousands of blocks
        costs time linear in its size, not in (blocks x tokens).
        """
        tokens = self.tokens
        if not isinstance(tokens, list):
            return list(self.iter_tokens_in(start, end))  # made in C: no generator between
        lo, hi = self._index_span(start, end)
        found = tokens[lo:hi]
        if found and found[0].end <= start:  # only the first can end before ``start``
            found = found[1:]
        return found

    def last_tokens_in(self, start: int, end: int, count: int) -> list[Token]:
        """The last ``count`` of ``tokens_in(start, end)`` (or fewer), without the others: a
        block's content can hold most of the email."""
        lo, hi = self._index_span(start, end)
        if lo < hi and self._token_end(lo) <= start:  # only the first can end before ``start``
            lo += 1
        tokens = self.tokens
        first = max(lo, hi - count)
        if isinstance(tokens, list):
            return tokens[first:hi]
        return list(tokens.between(first, hi))

    def iter_tokens_in(self, start: int, end: int) -> Iterator[Token]:
        """``tokens_in``, made one at a time: a reader of the whole email holds one token,
        not a list of them all (lint's marker pass)."""
        tokens = self.tokens
        if isinstance(tokens, list):
            return iter(self.tokens_in(start, end))
        lo, hi = self._index_span(start, end)
        if lo < hi and tokens.end_of(lo) <= start:  # only the first can end before ``start``
            lo += 1
        return tokens.between(lo, hi)

    def _index_span(self, start: int, end: int) -> tuple[int, int]:
        starts = self._token_starts
        return max(bisect.bisect_right(starts, start) - 1, 0), bisect.bisect_left(starts, end)


# HTML5 "has an element in scope": an end tag looks down the open elements no further than
# these; past one, it closes nothing and is ignored ('</div>' inside a <td> of a table that
# sits in the div). Table-part end tags look through cells, up to a table.
_SCOPE = frozenset(
    {"applet", "caption", "html", "marquee", "object", "table", "td", "template", "th"}
)
_TABLE_SCOPE = frozenset({"html", "table", "template"})
_DOCUMENT_PARTS = frozenset({"head", "body", "html"})
_TABLE_PARTS = frozenset({"caption", "table", "tbody", "td", "tfoot", "th", "thead", "tr"})


def scan(source: str) -> Document:
    """Tokenize once and match the designer blocks with their end tags.

    End tags are matched with a stack of open elements, as the HTML tree builder does: an end
    tag closes everything opened after its match; one with no match in scope is ignored.
    Each end tag costs O(1) plus the elements it closes (per-name and per-boundary depth
    lists), so thousands of stray end tags in deep nesting stay linear.
    """
    tokens = Tokens(size=len(source))
    blocks = BlockStore(source)
    matched = _match_blocks(source, iter_tokens(source), True, blocks, tokens)
    assert matched
    return Document(source, tokens, blocks)


def _match_blocks(
    source: str,
    tokens: Iterable[Token],
    outer: bool,
    store: BlockStore,
    seen: Tokens,
) -> bool:
    """Add to ``store`` every block whose start tag is in ``tokens``, ends matched with a
    stack.

    With ``outer=False`` the tokens start at a block's start tag and stop when it closes; an
    end tag that matches nothing inside would close an ancestor, which only the whole
    document knows: False then (``store`` is to be dropped). ``seen`` collects the tokens
    read.
    """
    # The stack of open elements, as parallel lists (made for every block read: arrays cost
    # more to make than they save): each one's name, and its row in ``store`` (a block), or
    # _NODE (a designer-relevant tag, no block) or _PLAIN.
    names: list[str] = []
    rows: list[int] = []
    top = -1  # the innermost open designer-relevant tag's node
    parent = store.parent
    depths: dict[str, list[int]] = {}  # tag name -> stack depths where one is open
    scopes: list[int] = []  # depths of open _SCOPE elements
    table_scopes: list[int] = []  # depths of open _TABLE_SCOPE elements
    paragraphs: list[int] = []  # start offsets of the open <p> elements, as depths["p"]

    def close(content_end: int, end: int) -> None:
        nonlocal top
        name, row = names.pop(), rows.pop()
        if row != _PLAIN:
            top = parent[top]
        depths[name].pop()
        if name == "p":
            paragraphs.pop()
        if name in _SCOPE:
            scopes.pop()
        if name in _TABLE_SCOPE:
            table_scopes.pop()
        if row >= 0:
            store.close(row, content_end, end)

    # the tokens read, in a list (appended at C speed), stored in ``seen`` a batch at a time
    read: list[Token] = []
    for tok in tokens:
        read.append(tok)
        if len(read) >= Tokens.BATCH:
            seen.extend(read)
            read.clear()
        if tok.kind is Kind.START:
            if tok.name in VOID:
                continue
            depth = len(names)
            row = _PLAIN
            if _INTERESTING.search(source, tok.start, tok.end):
                tag = StartTag(source, tok)  # read here, then dropped: the store keeps numbers
                block = tag.get(BLOCK_ATTR)
                kind = None if block is None else (block.value or "").strip().lower()
                top = store.add_node(tok, top, kind, tag.get("data-locked") is not None)
                row = _NODE
                if kind is not None:
                    # HTML5: a block-level start tag closes a <p> open in scope
                    p_open = depths.get("p")
                    in_scope = p_open and (not scopes or scopes[-1] < p_open[-1])
                    row = store.add_block(top, paragraphs[-1] if in_scope else -1, kind)
            depths.setdefault(tok.name, []).append(depth)
            if tok.name == "p":
                paragraphs.append(tok.start)
            if tok.name in _SCOPE:
                scopes.append(depth)
            if tok.name in _TABLE_SCOPE:
                table_scopes.append(depth)
            names.append(tok.name)
            rows.append(row)
        elif tok.kind is Kind.END:
            if tok.name in _DOCUMENT_PARTS:
                continue  # in a body, HTML5 ignores '</head>' and pops nothing for the others
            open_at = depths.get(tok.name)
            if not open_at:
                if not outer:
                    return False  # it may close an ancestor: only the whole document knows
                continue  # a stray end tag
            depth = open_at[-1]
            bounds = table_scopes if tok.name in _TABLE_PARTS else scopes
            if bounds and bounds[-1] > depth:
                continue  # not in scope: a boundary was opened after it
            while len(names) > depth + 1:
                close(tok.start, tok.start)
            close(tok.start, tok.end)
            if not outer and not names:
                break
    while names:
        close(len(source), len(source))
    seen.extend(read)
    return True


_PLAIN, _NODE = -2, -1  # a stack entry's row when it is no block: a plain tag, a node's


# no hit: no ERQRCode block (a superset of what scan() and locate() accept)
QR_HIT = lazy(r"-(?<=[dD][aA][tT][aA]-)(?i:editorblocktype)\s*=\s*[\"']?\s*(?i:erqrcode)")


def _token_at(source: str, pos: int, hit: int) -> tuple[Token | None, int]:
    """The token holding offset ``hit`` (a survey hit: 'data' stands before it), reading from
    ``pos``, a token boundary or a point in text; None when ``hit`` is in text.

    Returns the token and where reading may resume after it (past a raw-text element's text
    when the hit is in that text).
    """
    while True:
        at = skip(source, pos, hit)
        if at == hit:
            # in text (no token starts at a hit: 'data' ends none): where that text ends is
            # not looked for, since thousands of hits in one run of text each read the rest
            # of it, quadratic (the locator goes on from the hit)
            return None, hit
        tok = next(iter_tokens(source, at))
        resume = tok.end
        if tok.kind is Kind.START and tok.name in _RAW_TEXT:  # its text is not markup
            close = _RAW_END[tok.name].search(source, tok.end)
            resume = len(source) if close is None else close.start()
            if tok.end <= hit < resume:
                return Token(Kind.TEXT, tok.end, resume), resume
        if resume <= hit:  # skip() stopped early (see there): go on from this token's end
            pos = resume
            continue
        return tok, (hit if tok.kind is Kind.TEXT else resume)


def _block_type(source: str, tok: Token) -> str | None:
    if tok.kind is not Kind.START or tok.name in VOID:
        return None
    attr = StartTag(source, tok).get(BLOCK_ATTR)
    return None if attr is None else (attr.value or "").strip().lower()


def locate(source: str, survey: Survey | None = None, horizon: int | None = None) -> Document:
    """The ERQRCode and Button blocks, exactly as ``scan`` finds them, reading only those.

    The survey's hits say where such a block may start; ``skip`` walks the tokens before
    each hit in C; a real block is tokenized from its start tag to its matching end tag. What
    needs the whole document -- a lock on some ancestor, an end tag that closes one -- falls
    back to ``scan``.

    With a ``horizon`` (``button_horizon``), the Button blocks that start at or after it are
    left unread, unless a block read holds them (``Document.every_button`` says so).
    """
    hits = survey_of(source, survey).hits
    tokens = Tokens(size=len(source))
    blocks = BlockStore(source)
    pos = 0
    unread = 0
    for at, kind in hits:
        if kind is not HitKind.QR and kind is not HitKind.BUTTON:
            if kind is HitKind.LOCKED:  # only the whole document knows the ancestors
                return scan(source)
            continue
        if at < pos:
            continue  # inside a block already read, or a comment already passed
        if horizon is not None and at >= horizon and kind is HitKind.BUTTON:
            unread += 1
            continue
        tok, pos = _token_at(source, pos, at)
        if tok is None or _block_type(source, tok) not in (QR_TYPE, BUTTON_TYPE):
            continue
        if not _match_blocks(source, iter_tokens(source, tok.start), False, blocks, tokens):
            return scan(source)
        pos = tokens.end
    # a block's tokens are read again and again: a list slices at C speed, and most emails
    # hold a few hundred; where a list would cost more than twice the email (some 130 bytes
    # a token), they stay compact
    listed = len(tokens) <= max(Tokens.BATCH, len(source) // 64)
    doc = Document(source, tokens.as_list() if listed else tokens, blocks)
    doc.every_button = not unread
    return doc


# An <a> start tag as most are written: plain attributes, all double-quoted, none of them an
# href, then an href to http(s):// with no entity, quote, '<', '>' or space in it. Its href is
# the tag's first (what StartTag.get reads), as written, and no placeholder: a link
# elsewhere, unless it is a calendar link (checked on the value).
_SPACE = "[\t\n\f\r ]"
_PLAIN_ATTRS = (
    _SPACE
    + r"+(?:(?![hH][rR][eE][fF][\t\n\f\r =])[A-Za-z][A-Za-z0-9:_-]*=\"[^\"<>&]*\""
    + _SPACE
    + r"+)*[hH][rR][eE][fF]=\""
)
_PLAIN_LINK = lazy(
    r"<[aA]" + _PLAIN_ATTRS + r"(?P<url>[hH][tT][tT][pP][sS]?://[^\"<>&\t\n\f\r ]*)\""
)
# the same link, written in ASCII, its url holding no calendar path (is_calendar_url): one
# that certainly leads elsewhere, known without leaving the regular expression engine
_ELSEWHERE = (
    _PLAIN_ATTRS + r"[hH][tT][tT][pP][sS]?://"
    r"(?:(?!/[cC][aA][lL][eE][nN][dD][aA][rR]/[pP][eE][rR][sS][oO][nN][aA][lL]/[iI][cC][sS])"
    r"[!#-%'-;=?-~])*\""
)
_IF_REST = r"!--\[(?i:if)\b"  # an Outlook conditional comment after its '<' (see CONDITIONAL)
_IF = "<" + _IF_REST
_HREF = "[hH][rR][eE][fF]"  # (no character outside ASCII lowers to one of these letters)
# a conditional comment's text up to its first '-->', 'href' or '<!--[if', a run of ordinary
# characters at a time, in an atomic group (no possessive repeat of a group, which CPython
# 3.11.0-3.11.4 get wrong: see _html._REPEAT)
_IF_TEXT = rf"(?>[^-hH<]*(?:(?:-(?!->)|[hH](?![rR][eE][fF])|<(?!{_IF_REST}))[^-hH<]*)*)"
# Where a link that may matter may start, found in C (most of an email's links lead
# elsewhere, and most of its conditional comments are Outlook's ghost tables, holding none):
# each '<a' that reads as an <a> start tag, unless it reads as a link elsewhere (_ELSEWHERE);
# each '<!--[if' whose text says 'href' before its first '-->' ('href' group), or meets
# another '<!--[if' first ('chain' group: then it says 'href' if that one does). Each scan
# stops at the next '<!--[if', so that together they read the email once.
_LINK_PLACE = lazy(
    rf"<(?:[aA](?=[\t\n\f\r />])(?!{_ELSEWHERE})"
    rf"|{_IF_REST}(?={_IF_TEXT}(?:(?P<href>{_HREF})|(?P<chain>{_IF}))))"
)


def horizon_bounds(source: str, survey: Survey | None = None) -> tuple[int, int] | None:
    """Where the horizon can start -- past the last ERQRCode hit and the last loop word --
    and the last Button hit; None when no Button comes after that start, or when a lock makes
    the locator read the whole document anyway."""
    last_qr = last_button = -1
    for at, kind in survey_of(source, survey).hits:
        if kind is HitKind.LOCKED:
            return None
        if kind is HitKind.QR:
            last_qr = at
        elif kind is HitKind.BUTTON:
            last_button = at
    start = max(last_qr + 1, source.rfind(_LOOP_WORD) + 1)
    return None if last_button < start else (start, last_button)


def button_horizon(source: str, survey: Survey | None = None) -> int | None:
    """An offset from which no Button block can matter to a patch, or None when every
    Button block starts before it anyway (or when a lock makes the locator read it all).

    A Button block matters to a patch through its links and its loop: one whose links are
    placeholders or calendar links may be paired, updated or given its "//", one with an
    event loop counts as patched. Past the last ERQRCode hit, the last loop word and the last
    place that may hold such a link -- each '<a' read as the start tag it would be, and each
    Outlook conditional comment with an href -- a Button block has nothing but links
    elsewhere (or none), like the Buttons of a newsletter's other sections: read, it would
    change nothing but the list of Buttons a refusal names (``patch_read`` reads everything
    again then). Where such a place is no start of a tag or comment at all, reading it as one
    can only find a link that is none, which moves the horizon on: never too early.

    The places are read from the last, each only as far as the next: a tag or comment that
    runs past it (hostile: thousands of comments left open, each running to the end) sets
    the horizon there unread, which is never too early either, since every place after it
    was read."""
    bounds = horizon_bounds(source, survey)
    if bounds is None:
        return None
    horizon, last_button = bounds
    # each place as (where, the '<!--[if' its text meets first or -1, whether it says 'href')
    places = array("q")
    for m in _LINK_PLACE.finditer(source, horizon):
        places += array("q", (m.start(), m.start("chain"), m.start("href") >= 0))
    bound = len(source)  # the place read before this one
    said = (-1, False)  # the last conditional comment met: where, whether it says 'href'
    for i in range(len(places) - 3, -1, -3):  # the last one that may matter sets it
        place, chain, href = places[i], places[i + 1], places[i + 2]
        read_to, bound = bound, place
        if source[place + 1] != "!":
            plain = _PLAIN_LINK.match(source, place)  # (stops at the next '<')
            if plain is not None and not is_calendar_url(plain["url"]):
                continue  # a link elsewhere, outside ASCII
            tok = next(iter_tokens(source, place, read_to))
            if tok.kind is not Kind.START:  # runs past the next place: unread
                return place + 1 if place < last_button else None
        else:
            said = (place, bool(href) or (chain >= 0 and said == (chain, True)))
            if not said[1]:
                continue  # no link in it
            if source.find("-->", place + 4, read_to) < 0:  # runs past the next place
                return place + 1 if place < last_button else None
            tok = _comment_at(source, place)
        if any(link.kind is not LinkKind.REAL for link in _token_links(source, tok)):
            horizon = place + 1
            break
    return horizon if horizon <= last_button else None


def _comment_at(source: str, start: int) -> Token:
    """The comment token that starts at ``start`` ('<!--' and at least one more character):
    up to its first '-->' or '--!>', or to the end (as the tokenizer reads it)."""
    plain = source.find("-->", start + 4)
    limit = len(source) if plain < 0 else plain + 1  # (a '--!>' further on is not looked for)
    bang = source.find("--!>", start + 4, limit + 3)
    if bang >= 0 and (plain < 0 or bang < plain):
        return Token(Kind.COMMENT, start, bang + 4)
    return Token(Kind.COMMENT, start, len(source) if plain < 0 else plain + 3)


def markers(doc: Document, start: int, end: int) -> list[Marker]:
    """Handlebars block markers in text and comments between two offsets, in order."""
    if doc.aligned(start) and doc.aligned(end):  # whole tokens (a block's content): indexed
        index = doc.marker_index()
        lo, hi = bisect.bisect_left(index.starts, start), bisect.bisect_left(index.starts, end)
        return index.markers[lo:hi]
    out: list[Marker] = []
    for tok in doc.iter_tokens_in(start, end):
        out += _token_markers(doc.source, tok, start, end)
    return out


def markers_at_most(doc: Document, start: int, end: int, most: int) -> list[Marker] | None:
    """``markers(doc, start, end)``, or None when there are more than ``most``: counted by
    bisection where the range is whole tokens, so that a block holding thousands (Buttons
    left open each hold all after them) is not listed to learn it."""
    if doc.aligned(start) and doc.aligned(end):
        index = doc.marker_index()
        lo, hi = bisect.bisect_left(index.starts, start), bisect.bisect_left(index.starts, end)
        return index.markers[lo:hi] if hi - lo <= most else None
    found = markers(doc, start, end)
    return found if len(found) <= most else None


def _token_markers(source: str, tok: Token, start: int, end: int) -> list[Marker]:
    """The markers of one text or comment token, within ``source[start:end]``."""
    if tok.kind is Kind.TEXT:
        lo, hi = tok.start, tok.end
    elif tok.kind is Kind.COMMENT:
        lo, hi = comment_body(source, tok)
    else:
        return []
    lo, hi = max(lo, start), min(hi, end)
    out: list[Marker] = []
    # up to the last '}}' only: from each unclosed '{{' after it the search would read to
    # ``hi`` again (quadratic); it finds the same expressions
    for m in EXPRESSION.finditer(source, lo, closing_bound(source, lo, hi)):
        if m.group(1) is None:
            continue  # a handlebars comment: text, whatever it holds
        kind = classify(m.group(1))
        if kind is not None:
            out.append(Marker(kind[0], m.start(), m.end(), kind[1]))
    return out


class MarkerIndex:
    """Every marker of every token read, in order, made once: a block's markers are then a
    slice of it (a block nested in thousands, or left open before them, holds most of the
    email, and each was read again for each block: quadratic). The event tests' GUIDs are
    kept beside, with where the next different one is, so that a range's GUIDs are known in
    one step when it tests one event, as a Button does."""

    __slots__ = (
        "_mins",
        "_scanned",
        "_where",
        "guids",
        "markers",
        "next_other",
        "starts",
        "test_starts",
    )

    def __init__(self, source: str, tokens: Iterable[Token]) -> None:
        self.markers: list[Marker] = []
        for tok in tokens:
            if tok.kind is Kind.TEXT or tok.kind is Kind.COMMENT:
                self.markers += _token_markers(source, tok, tok.start, tok.end)
        self.starts = [m.start for m in self.markers]
        tests = [m for m in self.markers if m.kind is MarkerKind.IF_EVENT]
        self.test_starts = [m.start for m in tests]
        self.guids = [normal_guid(m.guid) for m in tests]
        # next_other[i]: the first test after i whose GUID differs from test i's
        self.next_other = [len(tests)] * len(tests)
        for i in range(len(tests) - 2, -1, -1):
            same = self.guids[i + 1] == self.guids[i]
            self.next_other[i] = self.next_other[i + 1] if same else i + 1
        self._where: dict[str, list[int]] | None = None  # GUID -> its tests (made when asked)
        self._mins: list[list[str]] | None = None  # a sparse table of the GUIDs' minima
        self._scanned = 0  # tests read by least() before it makes the table

    def guids_between(self, start: int, end: int) -> Guids:
        """The GUIDs the event tests that start in ``source[start:end]`` name, normalised."""
        i = bisect.bisect_left(self.test_starts, start)
        j = bisect.bisect_left(self.test_starts, end)
        return _NO_GUIDS if i == j else Guids(frozenset(), self, i, j)

    def tests_of(self, guid: str) -> list[int]:
        """The indices of the tests of ``guid``, in order."""
        if self._where is None:
            self._where = {}
            for i, g in enumerate(self.guids):
                self._where.setdefault(g, []).append(i)
        return self._where.get(guid, [])

    def least(self, i: int, j: int) -> str:
        """min(self.guids[i:j]): at once where they are one GUID; read where the questions so
        far have read less than a few times the tests; else in two steps from a sparse table
        (Buttons left open, each holding the tests of all after it, ask it of every range)."""
        if self.next_other[i] >= j:
            return self.guids[i]
        if self._mins is None and self._scanned + (j - i) <= 4 * len(self.guids):
            self._scanned += j - i
            return min(self.guids[i:j])
        if self._mins is None:
            self._mins = [self.guids]
            width = 1
            while 2 * width <= len(self.guids):
                row = self._mins[-1]
                self._mins.append([min(row[k], row[k + width]) for k in range(len(row) - width)])
                width *= 2
        level = (j - i).bit_length() - 1
        row = self._mins[level]
        return min(row[i], row[j - (1 << level)])


class Guids(AbstractSet[str]):
    """The GUIDs a Button's event loops test: read from the marker index's tests ``lo:hi``,
    not copied out of it. A Button left open before thousands of others holds the tests of
    all after it, and a set apiece held them all again for each (2,000 such Buttons, 230 KB:
    136 MB; 12,000: 4 GB). Whether it tests exactly one event, and which is least, are known
    in a step or two; the GUIDs of many Buttons together are read once (``union_of``). Where
    the Button's content is not whole tokens, the GUIDs are a set made from its markers."""

    __slots__ = ("_hi", "_index", "_lo", "_set")

    def __init__(
        self, given: frozenset[str], index: MarkerIndex | None = None, lo: int = 0, hi: int = 0
    ) -> None:
        self._set: frozenset[str] | None = None if index is not None else given
        self._index, self._lo, self._hi = index, lo, hi

    def _whole(self) -> frozenset[str]:
        if self._set is None:
            assert self._index is not None
            self._set = frozenset(self._index.guids[self._lo : self._hi])
        return self._set

    @property
    def single(self) -> bool:
        """Exactly one GUID (a Button whose loop tests one event, as mailpatch writes it)."""
        index = self._index
        if index is None or self._set is not None:
            return len(self._whole()) == 1
        return self._lo < self._hi and index.next_other[self._lo] >= self._hi

    def least(self) -> str:
        """min(self), without reading them all."""
        index = self._index
        if index is None or self._set is not None:
            return min(self._whole())
        return index.least(self._lo, self._hi)

    def __bool__(self) -> bool:
        return bool(self._set) if self._index is None else self._lo < self._hi

    def __len__(self) -> int:
        return 1 if self._set is None and self.single else len(self._whole())

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __contains__(self, guid: object) -> bool:
        index = self._index
        if index is None or self._set is not None:
            return guid in self._whole()
        if not isinstance(guid, str):
            return False
        tests = index.tests_of(guid)
        k = bisect.bisect_left(tests, self._lo)
        return k < len(tests) and tests[k] < self._hi

    def __hash__(self) -> int:
        return hash(self._whole())

    @classmethod
    def _from_iterable(cls, it: Iterable[_S]) -> AbstractSet[_S]:
        """What ``a | b``, ``a & b`` and ``a - b`` make: a plain frozenset."""
        return frozenset(it)

    def __repr__(self) -> str:
        return f"Guids({sorted(self._whole())!r})"


def union_of(guids: Iterable[Guids]) -> frozenset[str]:
    """Every GUID of ``guids``: the index's ranges merged first, so that each test is read
    once however many Buttons hold it."""
    found: set[str] = set()
    spans: list[tuple[int, int]] = []
    index: MarkerIndex | None = None
    for g in guids:
        if g._index is None or (index is not None and g._index is not index):
            found.update(g)
        else:
            index = g._index
            spans.append((g._lo, g._hi))
    reached = 0
    for lo, hi in sorted(spans):
        if hi > reached:
            assert index is not None
            found.update(index.guids[max(lo, reached) : hi])
            reached = hi
    return frozenset(found)


def first_holders(holders: Iterable[tuple[Guids, T]]) -> dict[str, T]:
    """Each GUID with the first of ``holders`` (in document order) whose GUIDs hold it: each
    test read once, where Buttons nested or left open hold the same tests."""
    first: dict[str, T] = {}
    reached = 0  # the tests before it are held by a holder already read (ranges start in order)
    for guids, holder in holders:
        if guids._index is None or guids._set is not None:
            new: Iterable[str] = guids
        else:
            new = guids._index.guids[max(guids._lo, reached) : guids._hi]
            reached = max(reached, guids._hi)
        for guid in new:
            first.setdefault(guid, holder)
    return first


class QrBlock(NamedTuple):
    element: Element
    each: Marker
    event_if: Marker
    img: Token
    end_each: Marker

    @property
    def guid(self) -> str:
        return self.event_if.guid


def check_not_cut_off(doc: Document, element: Element, name: str, moved: str) -> None:
    """Refuse a block whose content ends in a comment or tag that the end of the file cut off:
    moved before other text, that comment or tag would swallow it."""
    content = doc.last_tokens_in(element.content_start, element.content_end, 2)
    if not content or content[-1].end != len(doc.source):
        return
    last, what = content[-1], ""
    if cut_off(doc.source, last):
        what = "comment" if last.kind is Kind.COMMENT else "tag"
    elif len(content) >= 2 and last.kind is Kind.TEXT:  # the text of a <style> never closed?
        last = content[-2]
    if not what and last.kind is Kind.START and last.name in RAW_TEXT:
        what = f"<{last.name}> element"
    if what:
        raise Refusal(
            f"the {name} block ends in a {what} that is never closed (it runs to the end of "
            f"the file); {moved} it would swallow what follows",
            last.start,
        )


def check_own_end_tag(doc: Document, element: Element, name: str) -> None:
    """Refuse a block closed by an ancestor's end tag rather than its own: parsers disagree on
    where such a block ends (a '</div>' inside a <table> closes nothing for HTML5 and
    libxml2), so what is moved or removed is not certain. Closed by the end of the file is
    fine: everything up to it."""
    if element.end == element.content_end and element.end < len(doc.source):
        closer = doc.source[element.end : doc.source.find(">", element.end) + 1 or None]
        raise Refusal(
            f"the {name} block (<{element.tag.token.name}>) has no end tag of its own; "
            f"{closer[:40]!r} closes it, and parsers disagree on where it ends",
            element.start,
        )


def check_expressions_closed(doc: Document, element: Element, name: str) -> None:
    """Refuse a block holding a '{{' that Handlebars would run into the next expression:
    HTML comments mean nothing to Handlebars, so '<!--{{#each a-->…{{#if …}}' is one broken
    expression to it, whatever the comments say to the locator."""
    source = doc.source
    for m in MUSTACHE.finditer(source, element.content_start, element.content_end):
        text = m.group(0)
        if HB_COMMENT.fullmatch(text):
            continue  # '{{!-- … --}}' holds what it likes: Handlebars skips it whole
        if not text.endswith("}}") or "{{" in text[2:]:
            raise Refusal(
                f"the handlebars expression {text[:40]!r}… in the {name} block is never "
                "closed before the next '{{' (Handlebars cannot read it)",
                m.start(),
            )


def read_qr_block(doc: Document, element: Element) -> QrBlock:
    """The loop and the QR ``<img>`` of an ERQRCode block, or a Refusal saying what is wrong."""
    check_own_end_tag(doc, element, "ERQRCode")
    check_expressions_closed(doc, element, "ERQRCode")
    check_not_cut_off(doc, element, "ERQRCode", "moved into the Button block")
    found = markers(doc, element.content_start, element.content_end)
    kinds = [m.kind for m in found]
    where = element.start
    if MarkerKind.EACH not in kinds:
        raise Refusal("no {{#each …}} loop marker in the ERQRCode block", where)
    if MarkerKind.IF_EVENT not in kinds:
        other = next((m for m in found if m.kind is MarkerKind.IF_OTHER), None)
        hint = "" if other is None else f" (found {doc.source[other.start : other.end]!r})"
        raise Refusal(
            "no {{#if (eq this.msevtmgt_eventid 'GUID')}} marker in the ERQRCode block" + hint,
            where,
        )
    if kinds not in WHOLE_LOOPS:
        shown = ", ".join(k.value for k in kinds)
        raise Refusal(
            f"unbalanced loop markers in the ERQRCode block: found {shown}; expected "
            "{{#each}}, {{#if (eq this.msevtmgt_eventid …)}}, [{{else}}], {{/if}}, {{/each}}",
            where,
        )
    each, event_if, end_each = found[0], found[1], found[-1]
    branch_end = found[2].start  # {{else}} or {{/if}}
    if not GUID.match(event_if.guid.strip()):
        raise Refusal(f"{event_if.guid!r} in the {{{{#if (eq …)}}}} marker is not a GUID", where)
    imgs = [
        t
        for t in doc.tokens_in(event_if.end, branch_end)
        if t.kind is Kind.START and t.name == "img" and event_if.end <= t.start < branch_end
    ]
    if len(imgs) == 1:
        return QrBlock(element, each, event_if, imgs[0], end_each)
    if len(imgs) > 1:
        qr = [t for t in imgs if "msevtmgt_qrcode" in t.text(doc.source)]
        if len(qr) == 1:
            return QrBlock(element, each, event_if, qr[0], end_each)
        raise Refusal(f"{len(imgs)} <img> elements inside the loop; which is the QR code?", where)
    for tok in doc.tokens_in(element.content_start, element.content_end):
        if (
            tok.kind is Kind.COMMENT
            and element.content_start <= tok.start < element.content_end
            and "<img" in tok.text(doc.source).lower()
        ):
            raise Refusal(
                "the QR <img> is inside an HTML comment with the loop markers; putting the button "
                "there would break the comment (its '-->' would end it early)",
                where,
            )
    raise Refusal("no QR <img> inside the {{#if}} of the ERQRCode block", where)


class LinkKind(Enum):
    PLACEHOLDER = "placeholder"
    CALENDAR = "calendar"
    REAL = "real"


class ButtonLink:
    """An ``href`` in a Button block: the ``<a>``, or a VML shape in an MSO conditional;
    immutable, equal to another of the same tag and url (written out rather than a dataclass:
    see _html.Attr)."""

    __slots__ = ("_kind", "tag", "url")

    def __init__(self, tag: StartTag, url: str) -> None:
        self.tag = tag
        self.url = url  # HTML-unescaped
        self._kind: LinkKind | None = None

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not ButtonLink:
            return NotImplemented
        return (self.tag, self.url) == (other.tag, other.url)

    def __hash__(self) -> int:
        return hash((self.tag, self.url))

    def __repr__(self) -> str:
        return f"ButtonLink(tag={self.tag!r}, url={self.url!r})"

    @property  # one link is read by every Button around it (nested ones): judged once
    def kind(self) -> LinkKind:
        if self._kind is None:
            if self.url.strip().lower() in PLACEHOLDER_HREFS:
                self._kind = LinkKind.PLACEHOLDER
            else:
                self._kind = LinkKind.CALENDAR if is_calendar_url(self.url) else LinkKind.REAL
        return self._kind


class LinkIndex:
    """Every link inside the Buttons, in order, each made once, with what readers of every
    Button ask of a Button's links counted in prefix sums, so that a Button's answers cost
    the same however many links it holds (nested Buttons each hold all inside them)."""

    def __init__(self, source: str, tokens: Iterable[Token]) -> None:
        self.links: list[ButtonLink] = []
        self.token_starts: list[int] = []  # each link's token's start: bisect them
        for tok in tokens:
            found = _token_links(source, tok)
            self.links += found
            self.token_starts += [tok.start] * len(found)
        self._others = _prefix(link.kind is not LinkKind.CALENDAR for link in self.links)
        self._served: dict[str | None, _Served] = {}  # by Events API host
        self._written: dict[object, tuple[list[str | None], list[int]]] = {}
        self._slashless: list[int] | None = None

    def others(self, lo: int, hi: int) -> int:
        """How many links of ``lo:hi`` are no calendar link."""
        return self._others[hi] - self._others[lo]

    def served(
        self, lo: int, hi: int, host: str | None, linked: Callable[[ButtonLink], str | None]
    ) -> frozenset[str] | None:
        """What ``_patch._served_events`` says of the links ``lo:hi`` (see there), with
        ``linked`` the readable id a calendar link carries for ``host``."""
        served = self._served.get(host)
        if served is None:
            served = self._served[host] = _Served(self.links, linked)
        return served.of(lo, hi)

    def all_written(
        self, lo: int, hi: int, key: object, written: Callable[[ButtonLink], str | None], value: str
    ) -> bool:
        """Whether every calendar link of ``lo:hi`` gives ``value`` by ``written`` (made once
        for each ``key``)."""
        known = self._written.get(key)
        if known is None:
            values = [
                written(link) if link.kind is LinkKind.CALENDAR else None for link in self.links
            ]
            known = self._written[key] = (values, _next_other(values, skip=None))
        values, next_other = known
        i = lo
        while i < hi and values[i] is None:  # (a link that is no calendar link: skipped)
            i = next_other[i]
        while i < hi:
            if values[i] != value:
                return False
            i = next_other[i]
        return True

    def slashless(
        self, lo: int, hi: int, calendar: Callable[[ButtonLink], bool]
    ) -> list[ButtonLink]:
        """The links of ``lo:hi`` that ``calendar`` picks (calendar links without their "//"),
        found among those the whole email has: few."""
        if self._slashless is None:
            self._slashless = [i for i, link in enumerate(self.links) if calendar(link)]
        picked = self._slashless
        return [
            self.links[i]
            for i in picked[bisect.bisect_left(picked, lo) : bisect.bisect_left(picked, hi)]
        ]


def _prefix(flags: Iterable[bool]) -> list[int]:
    out = [0]
    for flag in flags:
        out.append(out[-1] + flag)
    return out


def _next_other(values: Sequence[object], skip: object) -> list[int]:
    """For each index, the next index whose value differs from its own (and is not ``skip``),
    or len(values)."""
    out = [len(values)] * len(values)
    nxt = len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = nxt
        if values[i] is not skip:
            # the next one after i-1 with another value: i itself, unless equal to i-1's
            nxt = i
    # out[i] so far: the next index after i that is not ``skip``; move past equal values
    for i in range(len(values) - 1, -1, -1):
        j = out[i]
        if j < len(values) and values[j] == values[i]:
            out[i] = out[j]
    return out


class _Served:
    """``_served_events`` over ranges of links: a link elsewhere, or a calendar link to no
    event of this host, serves nothing; the calendar links' readable ids must be one."""

    def __init__(self, links: list[ButtonLink], linked: Callable[[ButtonLink], str | None]) -> None:
        ids: list[str | None] = []
        bad: list[bool] = []
        for link in links:
            kind = link.kind
            readable = linked(link) if kind is LinkKind.CALENDAR else None
            bad.append(kind is LinkKind.REAL or (kind is LinkKind.CALENDAR and readable is None))
            ids.append(readable)
        self._bad = _prefix(bad)
        self._ids = ids
        self._next = _next_other(ids, skip=None)

    def of(self, lo: int, hi: int) -> frozenset[str] | None:
        if lo == hi or self._bad[hi] - self._bad[lo]:
            return None
        ids, nxt = self._ids, self._next
        i = lo if ids[lo] is not None else nxt[lo]
        if i >= hi:
            return frozenset()  # placeholders only: any event
        readable = ids[i]
        assert readable is not None
        return frozenset((readable,)) if nxt[i] >= hi else None


class Links(Sequence["ButtonLink"]):
    """A Button's links: a range of its document's ``LinkIndex``; reads as a tuple would."""

    __slots__ = ("_hi", "_lo", "links_of")

    def __init__(self, index: LinkIndex, lo: int, hi: int) -> None:
        self.links_of = index  # (not "index": a Sequence has an index method)
        self._lo = lo
        self._hi = hi

    @property
    def span(self) -> tuple[int, int]:
        return self._lo, self._hi

    def __len__(self) -> int:
        return self._hi - self._lo

    @overload
    def __getitem__(self, i: int) -> ButtonLink: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[ButtonLink, ...]: ...
    def __getitem__(self, i: int | slice) -> ButtonLink | tuple[ButtonLink, ...]:
        if isinstance(i, slice):
            return tuple(self.links_of.links[self._lo : self._hi])[i]
        size = self._hi - self._lo
        if not -size <= i < size:
            raise IndexError("link index out of range")
        return self.links_of.links[self._lo + (i if i >= 0 else size + i)]

    def __iter__(self) -> Iterator[ButtonLink]:
        return iter(self.links_of.links[self._lo : self._hi])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Links | tuple):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


class ButtonBlock(NamedTuple):
    element: Element
    links: Sequence[ButtonLink]
    loop_guids: Guids  # lower-case GUIDs of event loops already inside

    @property
    def label(self) -> str:
        return button_label(self)


_LOOP_WORD = "msevtmgt_eventid"
_NO_GUIDS = Guids(frozenset())  # shared: each frozenset() is a new 200-byte object


def _token_links(source: str, tok: Token) -> tuple[ButtonLink, ...]:
    """The links one token holds: an ``<a>`` is one, a conditional comment its hrefs."""
    if tok.kind is Kind.START:
        tag = StartTag(source, tok)
        href = tag.get("href")
        return (ButtonLink(tag, unescape(href.value or "") if href else ""),)
    lo, hi = comment_body(source, tok)
    if not CONDITIONAL.match(source, lo, hi) or "href" not in source[lo:hi].lower():
        return ()  # ('<!--[if !mso]><!-- -->' and the like hold no link)
    links: list[ButtonLink] = []
    for inner in tokenize(source, lo, hi):
        if inner.kind is Kind.START:
            tag = StartTag(source, inner)
            href = tag.get("href")
            if href is not None:
                links.append(ButtonLink(tag, unescape(href.value or "")))
    return tuple(links)


def read_button_block(doc: Document, element: Element) -> ButtonBlock:
    links = doc.links_in(element.content_start, element.content_end)
    guids = _NO_GUIDS
    lo, hi = element.content_start, element.content_end
    if doc.may_hold_loop(lo, hi):  # an event loop needs that word: most Buttons skip this
        if doc.aligned(lo) and doc.aligned(hi):
            guids = doc.marker_index().guids_between(lo, hi)
        else:
            guids = Guids(
                frozenset(
                    normal_guid(m.guid)
                    for m in markers(doc, lo, hi)
                    if m.kind is MarkerKind.IF_EVENT
                )
            )
    return ButtonBlock(element, links, guids)


_LABEL_LENGTH = 40  # characters of a Button's text shown in messages


def button_label(button: ButtonBlock) -> str:
    """The visible text of a Button block, for messages: its text tokens, as the tokenizer
    reads tags to their real end (an attribute value holding '>' is no text)."""
    el = button.element
    source = el.tag.source
    return _label(
        source[t.start : t.end]
        for t in iter_tokens(source, el.content_start, el.content_end)
        if t.kind is Kind.TEXT
    )


def label_of(doc: Document, element: Element) -> str:
    """``button_label`` of a Button block of ``doc``, from the document's tokens: a Button
    left open before thousands of others holds all their text, and each, listed among the
    candidates, was read to its end. Its words come from the text tokens that show any
    (indexed once), as many as the label needs."""
    lo, hi = element.content_start, element.content_end
    if not (doc.aligned(lo) and doc.aligned(hi)):  # not whole tokens: tokenized again
        return button_label(ButtonBlock(element, (), _NO_GUIDS))
    starts, ends = doc.text_index()
    source = doc.source
    i = bisect.bisect_left(starts, lo)
    j = bisect.bisect_left(starts, hi)
    return _label(source[starts[k] : ends[k]] for k in range(i, j))


def _label(texts: Iterable[str]) -> str:
    """The label of the text tokens ``texts``: their words, unescaped, one space between, the
    first 40 characters. Each token is unescaped on its own (a space joined them: no entity
    spans two) and only until the label is known to run past 40."""
    words: list[str] = []
    length = -1
    for text in texts:
        # at most the first _LABEL_LENGTH words apart (then the rest, unread): a Button of
        # 10,000 words made a list of them all, 18x the email
        for word in unescape(text).split(None, _LABEL_LENGTH):
            words.append(word)
            length += len(word) + 1
        if length > _LABEL_LENGTH:
            break
    text = " ".join(words)
    return text[:_LABEL_LENGTH] + ("…" if len(text) > _LABEL_LENGTH else "")
