"""The fast locator finds exactly what the full scan finds, on fixtures and on generated junk."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailpatch import decode
from mailpatch._blocks import BUTTON_TYPE, QR_TYPE, _token_at, locate, scan
from mailpatch._html import _RAW_TEXT, Kind, skip, tokenize
from mailpatch._survey import Survey

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


# --- hits in text: the locator reads no further than each ---------------------------------

QR = (
    '<div data-editorblocktype="ERQRCode"><!--{{#each x}}--><!--{{#if (eq this.msevtmgt_eventid '
    "'e4b81d2f-0a6c-ee11-9079-6045bd8e1f20')}}--><img src=\"{{this.msevtmgt_qrcode}}\">"
    "<!--{{/if}}--><!--{{/each}}--></div>"
)
BUTTON = '<div data-editorblocktype="Button"><a href="#">Add</a></div>'
WORDS = "data-editorblocktype=button data-editorblocktype=ERQRCode "  # block types, as text


@pytest.mark.parametrize(
    ("source", "qrs", "buttons"),
    [
        (WORDS * 50 + QR + BUTTON, 1, 1),  # (each hit read the rest of the text: quadratic)
        (QR + WORDS * 50 + BUTTON, 1, 1),
        (QR + BUTTON + WORDS * 50, 1, 1),
        (WORDS + "a < b " + WORDS + QR + "x" + BUTTON, 1, 1),  # a '<' that starts no markup
        ("<sitle>" + WORDS + QR + BUTTON + "</sitle>", 1, 1),  # the skip stops early there
        ("<style>" + WORDS + QR + "</style>" + WORDS + BUTTON, 0, 1),  # raw text: no block
        ("<title>" + WORDS + QR + BUTTON, 0, 0),  # never closed: all of it text
        ("<p title='" + WORDS + "'>" + WORDS + "</p>" + QR + BUTTON, 1, 1),
        ("<!--" + WORDS + "-->" + WORDS + QR + BUTTON, 1, 1),
        (WORDS, 0, 0),
    ],
)
def test_hits_in_text_locate_like_scan(source: str, qrs: int, buttons: int) -> None:
    _same(source)
    doc = locate(source)
    assert (len(doc.blocks_of(QR_TYPE)), len(doc.blocks_of(BUTTON_TYPE))) == (qrs, buttons)


def _token_holding(source: str, hit: int) -> object:
    """What ``_token_at`` says of ``hit``, from a tokenization of the whole source: the token
    holding it, or None for text (the text of a raw-text element is a token)."""
    tokens = tokenize(source)
    raw = _raw_text_tokens(source)
    tok = next(t for t in tokens if t.start <= hit < t.end)
    return None if tok.kind is Kind.TEXT and tok.start not in raw else tok


@settings(max_examples=400)
@given(junk)
def test_token_at_every_hit_as_a_whole_tokenization_reads_it(source: str) -> None:
    for hit, _ in Survey(source).hits:
        assert _token_at(source, 0, hit)[0] == _token_holding(source, hit), hit
