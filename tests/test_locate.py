"""The fast locator finds exactly what the full scan finds, on fixtures and on generated junk."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailpatch import decode
from mailpatch._blocks import BUTTON_TYPE, QR_TYPE, locate, scan
from mailpatch._html import _RAW_TEXT, Kind, skip, tokenize

from fixturecases import Case, cases

ALL = cases("patch") + cases("unchanged") + cases("refuse")

# Pieces that move the tokenizer between its states, in both cases and half-finished.
PIECES = [
    "<",
    ">",
    "/",
    "=",
    '"',
    "'",
    " ",
    "\n",
    "-",
    "!",
    "?",
    "x",
    "<!--",
    "-->",
    "--!>",
    "<!-->",
    "<!",
    "<?",
    "</",
    "<div",
    "<DIV",
    "</div>",
    "<p>",
    "</p>",
    "<a href=",
    "<img src=x>",
    "<style>",
    "</style>",
    "</STYLE ",
    "<script ",
    "</script>",
    "<title>",
    "</title>",
    "<textarea>",
    "<styles>",
    "<sitle>",  # taken for a raw-text name by the skip's first-letter test: it stops early
    "<TTyle x>",
    "<Xmp>",
    "</xmp>",
    "<iframe>",
    "</iframe>",
    "<noembed>",
    "</noembed>",
    "</textarea>",
    ' data-editorblocktype="Button"',
    " DATA-EDITORBLOCKTYPE=ERQRCode",
    " data-editorblocktype='Text'",
    ' title="a>b"',
    ' title="<!--"',
    "{{#each x}}",
    "{{/each}}",
    '<div data-editorblocktype="Button">',
    '<div title="a>b" data-editorblocktype="Button">',
    "<DIV DATA-EDITORBLOCKTYPE=ERQRCode>",
    "<div data-editorblocktype=' erqrcode '>",
    '<div data-editorblocktype="Text">',
    '<img data-editorblocktype="Button">',
    '<style data-editorblocktype="Button">',
    "<td>",
    "</td>",
    "</span>",
]
junk = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


def _raw_text_tokens(source: str) -> set[int]:
    tokens = tokenize(source)
    return {
        b.start
        for a, b in itertools.pairwise(tokens)
        if a.kind is Kind.START and a.name in _RAW_TEXT and b.kind is Kind.TEXT
    }


@pytest.mark.slow
@settings(max_examples=400)
@given(junk, st.data())
def test_skip_never_stops_inside_a_token_it_could_misread(source: str, data: st.DataObject) -> None:
    limit = data.draw(st.integers(0, len(source)))
    q = skip(source, 0, limit)
    assert q <= limit
    raw = _raw_text_tokens(source)
    for tok in tokenize(source):
        inside = tok.start < q < tok.end
        if inside:  # only plain text may be entered midway
            assert tok.kind is Kind.TEXT and tok.start not in raw, (tok, q)
        if tok.start == q and tok.kind is Kind.TEXT:
            assert tok.start not in raw
        # every token before q is one the tokenizer also ends before q
        if tok.end <= limit and tok.kind is not Kind.TEXT and tok.start not in raw:
            assert tok.end <= q or tok.start >= q
    # re-tokenizing from q gives the same tokens as the full run (text may start midway)
    tail = [(t.kind, t.end) for t in tokenize(source, q)]
    full = [(t.kind, t.end) for t in tokenize(source) if t.end > q]
    assert tail == full


def _same(source: str) -> None:
    full, fast = scan(source), locate(source)
    for kind in (QR_TYPE, BUTTON_TYPE):
        want = [(e.start, e.content_start, e.content_end, e.end) for e in full.blocks_of(kind)]
        got = [(e.start, e.content_start, e.content_end, e.end) for e in fast.blocks_of(kind)]
        assert got == want, kind


@pytest.mark.parametrize("case", ALL, ids=[f"{c.folder.parent.name}/{c.name}" for c in ALL])
def test_fixtures_locate_like_scan(case: Case) -> None:
    _same(decode(case.input.read_bytes()).text)


@settings(max_examples=400)
@given(junk)
def test_junk_locates_like_scan(source: str) -> None:
    _same(source)
