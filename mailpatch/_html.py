"""A lossless HTML tokenizer: the concatenation of the tokens is exactly the input.

Like tokenize-rt for Python source, it exists so that decisions are taken on a parsed view and
edits are applied to the original text. It follows the WHATWG tokenizer where email HTML
needs it: comments end at the first ``-->`` or ``--!>`` (``<!-->`` is an empty comment), any
other ``<!``/``<?``/``</`` + non-letter is a bogus comment up to ``>`` (so ``<![endif]-->`` is
one token), attribute values may hold ``>``, attributes may follow a quoted value without a
space, and ``<style>``/``<script>``/``<title>``/``<textarea>`` content is raw text.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from functools import cached_property, partial
from itertools import chain
from typing import NamedTuple, overload

from mailpatch._regex import lazy


class Kind(Enum):
    TEXT = "text"
    START = "start"
    END = "end"
    COMMENT = "comment"
    OTHER = "other"  # doctype, bogus comments such as <![endif]-->, processing instructions


HTML_SPACE = "\t\n\f\r "  # what HTML takes for white space in markup (CR: before it folds)
TAG_NAME_ENDS = HTML_SPACE + "/>"  # what ends a tag or attribute name


def _html_space(pattern: str) -> str:
    r"""``pattern`` with ``\s`` as HTML's whitespace (tab, LF, FF, CR, space), not Python's,
    which also takes \v, \x1c-\x1f and Unicode spaces: '<div\x1ddata-editorblocktype=…>'
    holds no block for browsers or libxml2 ('\x1ddata-…' is one attribute name)."""
    return (
        pattern.replace("[^\\s", "[^" + HTML_SPACE)
        .replace("[\\s", "[" + HTML_SPACE)
        .replace("\\s", f"[{HTML_SPACE}]")
    )


# A quoted value runs to its closing quote, across '>' and lines, or to the end of the input
# (WHATWG: the tag is then cut off by the end and dropped); an unquoted value never starts
# with a quote.
_ATTR_SRC = r"""[^\s/>][^\s/>=]*(?:\s*=\s*(?:"[^"]*(?:"|\Z)|'[^']*(?:'|\Z)|[^\s>"'][^\s>]*))?"""
_MARKUP = lazy(
    _html_space(
        r"<(?:"
        r"(?P<comment>!--(?:>|->|.*?(?:--!?>|\Z)))"
        # Atomic attribute groups and `\Z` as an alternative end: a tag always matches in one
        # forward pass, so unterminated tags cost linear time, not quadratic or exponential.
        r"|(?P<start>[A-Za-z][^\s/>]*)(?:[\s/]*(?>" + _ATTR_SRC + r"))*[\s/]*(?:>|\Z)"
        r"|/(?P<end>[A-Za-z][^\s/>]*)[^>]*(?:>|\Z)"
        r"|(?P<other>[!?/][^>]*(?:>|\Z))"
        r")"
    ),
    re.S,
)
_ATTR = lazy(
    _html_space(
        r"""(?P<name>[^\s/>][^\s/>=]*)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\s>]*)))?"""
    )
)
_RAW_TEXT = frozenset({"style", "script", "title", "textarea", "xmp", "iframe", "noembed"})
RAW_TEXT = _RAW_TEXT  # elements whose content is text up to their own end tag
# A raw-text element ends at its own end tag: the name in ASCII case only (WHATWG; Python's
# re.I alone would also take a long s, U+017F, for the s of '</style>'), then HTML whitespace,
# '/' or '>'.
_RAW_END_AFTER = f"[{TAG_NAME_ENDS}]"
_RAW_END: dict[str, re.Pattern[str]] = {
    name: lazy(rf"</{name}{_RAW_END_AFTER}", re.I | re.A) for name in _RAW_TEXT
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


class Attr:
    """One attribute of a start tag, by its offsets in the text; immutable. Written out rather
    than a dataclass: made for every attribute read (lint holds one per link, thousands of
    them), and a frozen dataclass costs a millisecond to define at every start-up."""

    __slots__ = ("bare", "name", "quote", "source", "start", "value_end", "value_start")

    def __init__(
        self,
        name: str,  # lower case
        start: int,  # absolute offset of the attribute name
        value_start: int,  # absolute offset of the value (inside quotes), or end of name
        value_end: int,
        quote: str,  # '"', "'" or '' (unquoted / no value)
        source: str,  # compared: equal offsets in another text are not equal
        bare: bool = False,  # no value at all ('<input disabled>')
    ) -> None:
        self.name = name
        self.start = start
        self.value_start = value_start
        self.value_end = value_end
        self.quote = quote
        self.source = source
        self.bare = bare

    def _fields(self) -> tuple[object, ...]:
        return (self.name, self.start, self.value_start, self.value_end, self.quote,
                self.source, self.bare)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Attr:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Attr(name={self.name!r}, start={self.start!r}, value_start={self.value_start!r}, "
            f"value_end={self.value_end!r}, quote={self.quote!r}, bare={self.bare!r})"
        )

    @property
    def value(self) -> str | None:
        """The raw value (entities not decoded), or None when the attribute has none. Sliced
        when read: a link-dense email held every href twice over as values kept."""
        return None if self.bare else self.source[self.value_start : self.value_end]


class Token(NamedTuple):  # a tuple: built by the thousand, three times faster than a dataclass
    kind: Kind
    start: int
    end: int
    name: str = ""  # lower-case tag name for START/END

    def text(self, source: str) -> str:
        return source[self.start : self.end]


_KINDS = tuple(Kind)
_make_token = partial(tuple.__new__, Token)  # a Token from a 4-tuple, without Python's __new__
_CHUNK = 4096  # tokens made from one copy of the arrays' slices
_KIND_CODES = {kind: code for code, kind in enumerate(_KINDS)}


class Tokens(Sequence[Token]):
    """Tokens in document order, stored as machine integers: a kind byte, start and end, and
    the tag name's number in a table of the names seen. A whole email is tokenized for lint,
    and a Token tuple with its two ints and its name costs some 200 bytes: a tag-dense email
    (a token per four bytes) held 50 times its size. Here a token costs 11 bytes (19 past
    2 GB); ``Token`` tuples are made again as they are read, for the reader's time only.
    Tokens are added a list at a time (``extend``: a third faster than one at a time); fewer
    than a batch wait as that list, which ``as_list`` hands over."""

    __slots__ = ("_batch", "_ends", "_kinds", "_name_ids", "_name_list", "_names", "_starts")
    BATCH = 512  # some 100 KB of tuples at most

    def __init__(self, tokens: Iterable[Token] = (), size: int = 0) -> None:
        wide = "q" if size >= 2**31 else "i"  # ``size``: the source's length, or more
        self._kinds = bytearray()
        self._starts = array(wide)
        self._ends = array(wide)
        self._names = array("I")  # index into _name_list
        self._name_list = [""]
        self._name_ids = {"": 0}
        self._batch: list[Token] = []
        self.extend(list(tokens))

    def extend(self, batch: list[Token]) -> None:
        """Add ``batch`` (in order, after those added so far): it waits with them while they
        make less than a batch (``as_list`` then hands them over with no copy)."""
        if not self._kinds and len(self._batch) + len(batch) < self.BATCH:
            self._batch += batch
            return
        self._store()
        self._store(batch)

    def _store(self, batch: list[Token] | None = None) -> None:
        batch = self._batch if batch is None else batch
        if not batch:
            return
        codes = _KIND_CODES
        self._kinds.extend([codes[t[0]] for t in batch])
        self._starts.extend([t[1] for t in batch])
        self._ends.extend([t[2] for t in batch])
        ids, names = self._name_ids, self._name_list
        for name in {t[3] for t in batch} - ids.keys():
            ids[name] = len(names)
            names.append(name)
        self._names.extend([ids[t[3]] for t in batch])
        self._batch.clear()

    @property
    def starts(self) -> array[int]:
        """Every token's start, in order: bisect them."""
        self._store()
        return self._starts

    def end_of(self, index: int) -> int:
        """Where token ``index`` ends."""
        self._store()
        return self._ends[index]

    def __len__(self) -> int:
        return len(self._kinds) + len(self._batch)

    @overload
    def __getitem__(self, index: int) -> Token: ...
    @overload
    def __getitem__(self, index: slice) -> list[Token]: ...
    def __getitem__(self, index: int | slice) -> Token | list[Token]:
        self._store()
        if isinstance(index, slice):
            picked = range(*index.indices(len(self)))
            if picked.step == 1:
                return list(self.between(picked.start, picked.stop))
            return [self[i] for i in picked]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("token index out of range")
        return next(self.between(index, index + 1))

    def __iter__(self) -> Iterator[Token]:
        return self.between(0, len(self))

    def between(self, lo: int, hi: int) -> Iterator[Token]:
        """Tokens ``lo`` to ``hi`` (indexes), made one at a time: a chunk of the arrays is
        copied at a time (memory stays bounded) and each Token is made in C (a Python loop
        made a block of 100,000 tokens, read again and again, cost seconds)."""
        self._store()
        kinds, starts, ends, names = self._kinds, self._starts, self._ends, self._names
        kind_of, name_of = _KINDS.__getitem__, self._name_list.__getitem__

        def chunk(at: int) -> Iterator[Token]:
            to = min(at + _CHUNK, hi)
            return map(
                _make_token,
                zip(
                    map(kind_of, kinds[at:to]),
                    starts[at:to],
                    ends[at:to],
                    map(name_of, names[at:to]),
                    strict=True,
                ),
            )

        return chain.from_iterable(map(chunk, range(lo, hi, _CHUNK)))

    @property
    def end(self) -> int:
        """Where the last token ends (0 when there is none)."""
        if self._batch:
            return self._batch[-1].end
        return self._ends[-1] if self._ends else 0

    def as_list(self) -> list[Token]:
        """The tokens as a list: the waiting batch itself, no copy, when none were stored yet
        (a few hundred tokens: the blocks of most emails)."""
        if not self._kinds:
            return self._batch
        return list(self)


def attributes_over(source: str, token: Token, limit: int) -> bool:
    """Whether the start tag ``token`` has more than ``limit`` attributes (repeats counted:
    libxml2 compares each with all before it). A tag shorter than two characters an
    attribute cannot have that many, and is not read."""
    if token.end - token.start <= 2 * limit:
        return False
    found = _ATTR.finditer(source, token.start + 1 + len(token.name), token.end - 1)
    return any(i >= limit for i, _ in enumerate(found))


class StartTag:
    """A start tag with its attributes parsed (lazily, only for tags someone looks at); equal
    to another of the same text and token. Written out rather than a dataclass: one is made
    for each block and link (thousands of them), and see Attr."""

    __slots__ = ("_attrs", "_got", "source", "token")

    def __init__(self, source: str, token: Token) -> None:
        self.source = source
        self.token = token
        # memos: every attribute once asked for all, or each one asked for by name
        self._attrs: tuple[Attr, ...] | None = None
        # (name, Attr or None) pairs, flat: a tag is asked for a few names, and a dict per tag
        # (some 230 bytes) was most of what a block cost
        self._got: list[str | Attr | None] | None = None

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not StartTag:
            return NotImplemented
        return (self.source, self.token) == (other.source, other.token)

    def __hash__(self) -> int:
        return hash((self.source, self.token))

    def __repr__(self) -> str:
        return f"StartTag(source={self.source!r}, token={self.token!r})"

    def _matches(self) -> Iterator[re.Match[str]]:
        tok = self.token
        return _ATTR.finditer(self.source, tok.start + 1 + len(tok.name), tok.end - 1)

    def _scan(self) -> Iterator[Attr]:
        seen: set[str] = set()
        for m in self._matches():
            name = m.group("name").lower()
            if name in seen:  # the HTML parser ignores a repeated attribute
                continue
            seen.add(name)
            yield _attr(name, m)

    @property
    def attrs(self) -> tuple[Attr, ...]:
        if self._attrs is None:
            self._attrs = tuple(self._scan())
        assert self._attrs is not None
        return self._attrs

    def get(self, name: str) -> Attr | None:
        """The attribute ``name`` (lower case); the first one wins, so reading stops there."""
        attrs = self._attrs
        if attrs is None:
            # block readers ask a tag the same thing again
            got = self._got
            if got is None:
                got = self._got = []
            else:
                for i in range(0, len(got), 2):
                    if got[i] == name:
                        asked = got[i + 1]
                        assert not isinstance(asked, str)
                        return asked
            found = None
            tok = self.token
            if name in self.source[tok.start : tok.end].lower():  # most tags: no parse
                for m in self._matches():  # the first of that name wins; no other Attr made
                    if m.group("name").lower() == name:
                        found = _attr(name, m)
                        break
            got += (name, found)
            return found
        for attr in attrs:
            if attr.name == name:
                return attr
        return None


def _attr(name: str, m: re.Match[str]) -> Attr:
    source = m.string
    for group, quote in _VALUE_GROUPS:
        lo = m.start(group)
        if lo >= 0:
            return Attr(name, m.start(), lo, m.end(group), quote, source)
    return Attr(name, m.start(), m.end(), m.end(), "", source, bare=True)


_VALUE_GROUPS = (("dq", '"'), ("sq", "'"), ("uq", ""))


# Tag names as read -> in lower case, one string for each: a token per tag holds its name, and
# a string of its own for every tag (some 50 bytes) was a third of what a token cost. Bounded:
# a batch of emails with endless invented names must not grow it.
_NAMES: dict[str, str] = {}
_NAMES_KEPT = 4096
_NAME_KEPT_UP_TO = 32  # characters


def _name(raw: str) -> str:
    name = raw.lower()
    if len(raw) <= _NAME_KEPT_UP_TO and len(_NAMES) < _NAMES_KEPT:  # a name can run for MBs
        _NAMES[raw] = name
    return name


def tokenize(source: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Tokens covering ``source[start:end]`` exactly, in order."""
    return list(iter_tokens(source, start, end))


def iter_tokens(source: str, start: int = 0, end: int | None = None) -> Iterator[Token]:
    """``tokenize`` one token at a time, for callers that stop early (a block's end)."""
    stop = len(source) if end is None else end
    search = _MARKUP.search
    new = tuple.__new__  # a third faster than Token(...), which runs a Python __new__
    names = _NAMES
    pos = start
    while pos < stop:
        m = search(source, pos, stop)
        if m is None:
            yield new(Token, (Kind.TEXT, pos, stop, ""))
            break
        if m.start() > pos:
            yield new(Token, (Kind.TEXT, pos, m.start(), ""))
        kind = m.lastgroup  # the one named group of the alternative that matched
        begin, pos = m.span()
        if pos == stop and kind != "comment" and _cut_at_end(source, begin, stop, kind):
            # a tag cut off by the end of input: the HTML parser drops it, so do we
            yield new(Token, (Kind.OTHER, begin, pos, ""))
            break
        if kind == "start":
            raw = m.group("start")
            lname = names.get(raw) or _name(raw)
            yield new(Token, (Kind.START, begin, pos, lname))
            if lname in _RAW_TEXT:
                close = _RAW_END[lname].search(source, pos, stop)
                raw_end = stop if close is None else close.start()
                if raw_end > pos:
                    yield new(Token, (Kind.TEXT, pos, raw_end, ""))
                pos = raw_end
        elif kind == "end":
            raw = m.group("end")
            yield new(Token, (Kind.END, begin, pos, names.get(raw) or _name(raw)))
        elif kind == "comment":
            yield new(Token, (Kind.COMMENT, begin, pos, ""))
        else:
            yield new(Token, (Kind.OTHER, begin, pos, ""))


# The tokenizer's grammar again, as one regular expression that consumes whole tokens in C:
# text, comments, end tags, bogus comments, start tags, and raw-text elements up to their end
# tag. Every alternative needs its terminator ('>', '-->', the raw end tag) *before* the limit
# it is run with, so a token that reaches the limit -- the one holding the offset we ask
# about -- stops the loop at its first character, and the caller reads it exactly.
# a raw-text name as its first letter (either case) and the rest, for the skip's quick test
_RAW_FIRSTS = "".join(sorted({c for name in _RAW_TEXT for c in (name[0], name[0].upper())}))
_RAW_RESTS = "|".join(sorted(name[1:] for name in _RAW_TEXT))
# As _ATTR_SRC, except that a value's closing quote must come before the limit: the tokenizer
# reads a value whose quote closes further on as quoted, where a regex that cannot see that
# far would fall back to reading it unquoted (or as another attribute), ending the tag early.
_SKIP_ATTR = r"""[^\s/>][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|(?!["'])[^\s>]*+)|(?!\s*+=))"""
# Each repeated group of the skip opens with _REPEAT, not '(?:'. CPython 3.11.0 to 3.11.4
# (Debian 12's 3.11.2 among them) resume a possessive repeat of a group, after its last pass
# fails, from wherever that pass stopped rather than where it began (gh-106052, fixed in 3.11.5;
# the probe: '(?:ab?c)*+' takes 'aca' whole): the skip ended inside the first <title>, and every
# block after it went unseen. A pass that is an atomic group puts the position back itself, so
# there each group is one: the same matches (tests/test_platform.py), the skip some 6% slower,
# which interpreters without the bug do not pay.
_PROBE = re.match("(?:ab?c)*+", "aca")
_REPEAT = "(?:" if _PROBE is not None and _PROBE.end() == 2 else "(?>"


def _skip_pattern(group: str, eager: bool = True) -> re.Pattern[str]:
    """The skip's regular expression, each repeated group opened with ``group`` (compiled
    when first used unless ``eager``)."""
    g = group
    return (re.compile if eager else lazy)(
        _html_space(
            rf"{g}[^<]++"
            r"|<(?:"
            # start tags first, the commonest token; raw-text ones need their own alternative
            # (the raw-name test looks past the first letter only for the five such names
            # start with; a name it takes for raw by mistake, '<sitle>', stops the skip early,
            # which is safe)
            rf"(?![{_RAW_FIRSTS}](?ai:{_RAW_RESTS})(?:[\s/>]|\Z))"
            rf"[A-Za-z][^\s/>]*+{g}[\s/]*+(?>{_SKIP_ATTR}))*+[\s/]*+>"
            r"|/[A-Za-z][^>]*+>"
            # str.lower() decides a raw-text start tag (ASCII case); re.I finds its end, as above
            + "".join(
                rf"|(?ai:{raw})(?=[\s/>]){g}[\s/]*+(?>{_SKIP_ATTR}))*+[\s/]*+>"
                rf"{g}[^<]++|<(?!/(?ai:{raw}){_RAW_END_AFTER}))*+(?=</(?ai:{raw}){_RAW_END_AFTER})"
                for raw in sorted(_RAW_TEXT)
            )
            + rf"|!--(?:>|->|{g}[^-]++|-(?!-!?>))*+--!?>)"
            r"|(?=[^A-Za-z!?/])"  # a '<' that starts no markup is text
            r"|(?!!--|/[A-Za-z])[!?/][^>]*+>"  # never an unclosed comment or end tag read short
            r"))*+"
        ),
        re.S,
    )


_SKIP = _skip_pattern(_REPEAT, eager=False)


_MARKUP_IN_TAG = lazy(r"<[A-Za-z!/?]")  # a '<' that starts markup
_PLAIN_NAME = lazy(r"[A-Za-z][A-Za-z0-9:._-]*\Z")
_PLAIN_ATTRIBUTE = lazy(r"[A-Za-z_:@][A-Za-z0-9_:.@-]*\Z")


def malformed(source: str, token: Token) -> str:
    """What is wrong with a start tag that HTML5 reads with a parse error libxml2 recovers
    from differently, or "" for none of those: a '<' that starts markup inside it ('<p
    class=\'x' with its quote left open runs over the tags that follow; '<m <a href=…>' lost
    a '>'), a tag name that is not a plain name ('<class="x" …>' lost the 'a '), an
    attribute name that is not one ('#0f6cbd"', 'da--{{'), an unquoted value holding a
    quote, '<', '=' or a backtick, or a quoted value with no space after it (a quote too
    many, or lost)."""
    inner = _MARKUP_IN_TAG.search(source, token.start + 1, token.end)
    if inner is not None:
        return f"holds markup ({source[inner.start() : inner.start() + 24]!r}…)"
    if not _PLAIN_NAME.match(token.name):
        return f"is named {token.name[:24]!r}"
    for attr in StartTag(source, token).attrs:
        if not _PLAIN_ATTRIBUTE.match(attr.name):
            return f"has an attribute named {attr.name[:24]!r}"
        if not attr.quote and attr.value and any(c in attr.value for c in "\"'<=`"):
            return f"has an unquoted {attr.name[:24]} value {attr.value[:24]!r}"
        after = source[attr.value_end + 1 : attr.value_end + 2] if attr.quote else " "
        if not after or after not in TAG_NAME_ENDS:  # '"…"qqq': no space after a quoted value
            return f"has no space after its {attr.name[:24]} value"
    return ""


def skip(source: str, pos: int, limit: int) -> int:
    """Where tokenizing ``source`` from ``pos`` stops being certain before ``limit``.

    ``pos`` must be where a token starts. The result is ``limit`` when ``limit`` falls in
    text, else the start of a token that starts at or before ``limit``: the one that reaches
    it, or (rarely: a raw-text element, a name like '<sitle>') an earlier one. Read it exactly
    with ``iter_tokens`` and go on from its end. Everything skipped is tokens nobody needs to
    see -- at C speed.
    """
    m = _SKIP.match(source, pos, limit)
    assert m is not None  # every alternative may match nothing
    return m.end()


# A start tag closed by its own '>' (a '>' inside a quoted value that runs to the end of the
# input does not count: WHATWG drops such a tag).
_WHOLE_START = lazy(_html_space(r"<[A-Za-z][^\s/>]*(?:[\s/]*(?>" + _ATTR_SRC + r"))*[\s/]*>"))


def _cut_at_end(source: str, begin: int, stop: int, kind: str | None) -> bool:
    """Whether the tag from ``begin`` that reaches the end of input is cut off by it."""
    if kind == "start":
        return _WHOLE_START.fullmatch(source, begin, stop) is None
    return source[stop - 1] != ">"


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


def unescape(text: str) -> str:
    """``html.unescape``, with html and its table of 2,000 entities imported only for a text
    that holds an '&' (start-up: most hrefs are '#')."""
    if "&" not in text:
        return text
    import html

    return html.unescape(text)


class LineIndex:
    """Offsets to 1-based ``line:col`` (CRLF and CR count as one break, like an editor)."""

    _BREAK = lazy(r"\r\n|\r|\n")

    def __init__(self, source: str) -> None:
        self._source = source

    @cached_property
    def _starts(self) -> list[int]:  # built on first use: most patches never report a position
        return [0, *(m.end() for m in self._BREAK.finditer(self._source))]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def label(self, offset: int) -> str:
        line, col = self.position(offset)
        return f"{line}:{col}"
