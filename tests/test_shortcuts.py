"""The speed shortcuts against the exact readings they stand in for.

Each shortcut answers a question about the whole email from a few bytes (a look back from a
block, a window around an edit). Here each is compared, on emails assembled from pieces that
stress it, with the answer read the slow, certain way.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailpatch._blocks import QR_TYPE, locate, read_qr_block, scan
from mailpatch._patch import _last_tag, _open_paragraphs
from mailpatch._survey import HitKind, Survey, survey_of

from pathological_inputs import qr

QR = qr()

# pieces around QR blocks that a paragraph look back must see through (or not be fooled by)
_PARAGRAPH_PIECES = [
    "<p>",
    "<P>",
    "<p class='x'>",
    "<P\tstyle=x>",
    "<p/>",
    "</p>",
    "</P>",
    "</p >",
    "<pre>",
    "</pre>",
    "<param>",
    "<!-- <p> -->",
    "<!-- </p> -->",
    "text",
    "<div>",
    "</div>",
    QR,
]


_P_OPEN = re.compile(r"<p[\t\n\f\r />]", re.I)
_P_CLOSE = re.compile(r"</p[\t\n\f\r />]", re.I)


def _needs_scan(text: str, starts: list[int]) -> bool:
    """The look back as a whole-text regular expression (the code before the shortcut): some
    QR block has a '<p' after the last '</p' before it."""
    opens = [m.start() for m in _P_OPEN.finditer(text)]
    closes = [m.start() for m in _P_CLOSE.finditer(text)]
    return any(
        max((o for o in opens if o < s), default=-1) > max((c for c in closes if c < s), default=-1)
        for s in starts
    )


@pytest.mark.slow
@given(st.lists(st.sampled_from(_PARAGRAPH_PIECES), max_size=14))
def test_open_paragraphs_look_back_as_the_whole_text_pattern(pieces: list[str]) -> None:
    """Where a '<p' lies after the last '</p' the whole document is scanned; elsewhere the
    located blocks' own answer stands."""
    text = "".join(pieces)
    doc = locate(text)
    qrs = [read_qr_block(doc, el) for el in doc.blocks_of(QR_TYPE)]
    starts = [q.element.start for q in qrs]
    if _needs_scan(text, starts):
        expected = {e.start: e.open_paragraph for e in scan(text).blocks_of(QR_TYPE)}
    else:
        expected = {q.element.start: q.element.open_paragraph for q in qrs}
    assert _open_paragraphs(text, qrs) == expected


@pytest.mark.parametrize(
    ("text", "opener", "found"),
    [
        pytest.param("<p>a", "<p", 0, id="lower"),
        pytest.param("x<P class=a>", "<p", 1, id="upper-with-attributes"),
        pytest.param("<pre><param>", "<p", -1, id="longer-names-are-not-p"),
        pytest.param("<p><pre>", "<p", 0, id="p-before-a-longer-name"),
        pytest.param("<P><p>", "<p", 3, id="the-last-of-either-case"),
        pytest.param("<p><P>", "<p", 3, id="the-last-of-either-case-upper"),
        pytest.param("</P\n>", "</p", 0, id="end-tag-upper"),
        pytest.param("</pre>", "</p", -1, id="end-tag-longer-name"),
        pytest.param("<p", "<p", -1, id="cut-off-at-the-window-end"),
    ],
)
def test_last_tag(text: str, opener: str, found: int) -> None:
    assert _last_tag(text, 0, len(text), opener) == found


def test_last_tag_stays_in_its_window() -> None:
    text = "<p>abc<p>"
    assert _last_tag(text, 1, len(text), "<p") == 6
    assert _last_tag(text, 1, 6, "<p") == -1


# -- the survey: one pass each, standing in for the separate passes it replaced ---------------
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)  # the verifier's own reading, before the survey
_PATCH_HIT = re.compile(
    r"-(?<=[dD][aA][tT][aA]-)(?i:(?P<locked>locked)|editorblocktype\s*=\s*[\"']?\s*(?:erqrcode|button))"
)
_MAY_BE_QR = re.compile(
    r"-(?<=[dD][aA][tT][aA]-)(?i:editorblocktype)\s*=\s*[\"']?\s*"
    r"(?:(?P<qr>(?i:erqrcode))|[^\s\"'>&-]*&)"
)

# attributes as an export (or a hand) writes them, glued together at random
_ATTRIBUTE = st.tuples(
    st.sampled_from(["data-", "DATA-", "Data-", "x-", ""]),
    st.sampled_from(["editorblocktype", "EditorBlockType", "locked", "editor"]),
    st.sampled_from(["", "=", " = ", "=\n"]),
    st.sampled_from(["", '"', "'"]),
    st.sampled_from(["", " "]),
    st.sampled_from(
        ["erqrcode", "ERQRCode", "button", "Button", "&#101;rqrcode", "x&", "-&", "text"]
    ),
    st.sampled_from(["", " ", ">", '"', "data-", "-"]),
).map("".join)


@pytest.mark.slow
@given(st.lists(_ATTRIBUTE, max_size=8))
def test_survey_hits_are_the_hits_of_each_former_pass(pieces: list[str]) -> None:
    text = "".join(pieces)
    hits = Survey(text).hits
    kinds = dict(hits)
    assert [at for at, _ in hits] == sorted(kinds)
    # the locator's: blocks it reads, and data-locked
    patch_hits = [m.start() for m in _PATCH_HIT.finditer(text)]
    wanted = (HitKind.QR, HitKind.BUTTON, HitKind.LOCKED)
    assert [at for at, kind in hits if kind in wanted] == patch_hits
    # and no others: a block of another type is read by no one
    entity_hits = [m.start() for m in _MAY_BE_QR.finditer(text) if not m.group("qr")]
    assert sorted({*patch_hits, *entity_hits}) == [at for at, _ in hits]
    # the verifier's: where libxml2 or the locator may see an ERQRCode block
    qr_hits = {m.start(): bool(m.group("qr")) for m in _MAY_BE_QR.finditer(text)}
    survey_qr = {
        at: kind is HitKind.QR for at, kind in hits if kind in (HitKind.QR, HitKind.ENTITY)
    }
    assert set(qr_hits) - set(survey_qr) == set()  # the survey misses none
    assert {at for at, qr in qr_hits.items() if qr} == {at for at, qr in survey_qr.items() if qr}


@given(
    st.lists(st.sampled_from(["{{", "}}", "{", "}", "a", "{{{", "}}}", "\n", "{{~"]), max_size=14)
)
def test_survey_expressions_are_the_verifiers(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert Survey(text).expressions() == set(_EXPRESSION.findall(text))


def test_a_survey_serves_only_its_own_text() -> None:
    text = "".join(["{{a}}", "b"])  # built at run time: a distinct object from its copy below
    copy = "".join(["{{a}}", "b"])
    assert copy == text and copy is not text
    known = Survey(text)
    assert survey_of(text, known) is known
    assert survey_of(copy, known) is not known
    assert survey_of(text, None).text is text
