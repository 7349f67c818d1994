"""Text that refers to the removed QR code (mailpatch._qr_text)."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from mailpatch._qr_text import NEAR, _input_offset, mentions_left, qr_mentions


@pytest.mark.parametrize(
    ("html_", "named"),
    [
        pytest.param(
            "<p>Show this code at the registration desk.</p>",
            ["Show this code at the registration desk."],
            id="this-code",
        ),
        pytest.param("<td>Your QR\n   code is below</td>", ["Your QR code is below"], id="qr"),
        pytest.param("<p>Scan it at the door</p>", ["Scan it at the door"], id="scan-it"),
        pytest.param("<p>Your check-in code:</p>", ["Your check-in code:"], id="check-in-code"),
        pytest.param("<p>Use promo code SAVE10</p>", [], id="promo-code"),
        pytest.param("<p>Enter discount code X</p>", [], id="discount-code"),
        pytest.param("<style>.qr-code{}</style><p>x</p>", [], id="style"),
        pytest.param('<img alt="QR code" src="x">', [], id="attribute"),
        pytest.param("<!-- the QR code went here -->", [], id="comment"),
        pytest.param("<title>QR</title>", [], id="title"),
        pytest.param("<p>Read the code of conduct</p>", [], id="code-of-conduct"),
    ],
)
def test_visible_text_about_the_code(html_: str, named: list[str]) -> None:
    assert [m.text for m in qr_mentions(html_)] == named


def test_the_offset_is_where_the_words_start_and_at_most_five_are_named() -> None:
    html_ = "<p>\n  Show this code</p>"
    [mention] = qr_mentions(html_)
    assert html_[mention.offset :].startswith("Show this code")
    assert len(qr_mentions("<p>this code</p>" * 9)) == 5


class _Edit(NamedTuple):
    start: int
    end: int
    replacement: str
    what: str = "button"


@pytest.mark.parametrize(
    ("in_input", "placed"),
    [
        pytest.param(False, [("2:4", "Show this code")], id="in-the-result"),
        pytest.param(True, [("3:4", "Show this code")], id="in-the-input"),
    ],
)
def test_mentions_are_placed_in_the_file_the_person_opens(
    in_input: bool, placed: list[tuple[str, str]]
) -> None:
    """The QR block (two lines) became one line: the words move up a line in the result."""
    before = "<div>QR\ncode</div>\n<p>Show this code</p>"
    after = "<b></b>\n<p>Show this code</p>"
    edits = [_Edit(0, len("<div>QR\ncode</div>"), "<b></b>", "qr")]
    assert mentions_left(before, after, edits, in_input) == tuple(placed)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        pytest.param(0, 0, id="before-every-edit"),
        pytest.param(12, 10, id="inside-a-replacement-is-its-edit"),
        pytest.param(20, 15, id="after-a-longer-replacement"),
        pytest.param(40, 42, id="after-a-shorter-one-too"),
    ],
)
def test_offsets_of_the_result_map_back_to_the_input(offset: int, expected: int) -> None:
    # input [10, 15) became 10 characters; input [30, 40) became 3
    edits = [_Edit(10, 15, "x" * 10), _Edit(30, 40, "yyy")]
    assert _input_offset(offset, edits) == expected


def test_only_text_near_a_removed_block_is_named() -> None:
    """Within NEAR characters either side of where a QR block was, each window from a tag to
    a tag; a sentence further off is not read (the cost of the words pattern)."""
    filler = "<p>" + "y" * (NEAR + 10) + "</p>\n"
    qr = "<div>the QR code</div>"
    before = (
        "<p>Scan it far above</p>" + filler + "<p>Show this code above</p>" + qr
        + "<p>Your QR code was below</p>" + filler + "<p>Scan it far below</p>"
    )  # fmt: skip
    after = before.replace(qr, "")
    edits = [_Edit(before.index(qr), before.index(qr) + len(qr), "", "qr")]
    assert [text for _, text in mentions_left(before, after, edits, False)] == [
        "Show this code above",
        "Your QR code was below",
    ]
    # with the block at the very start, the window starts at the text's start
    first = "Show this code first<p>x</p>"
    assert mentions_left(qr + first, first, [_Edit(0, len(qr), "", "qr")], False) == (
        ("1:1", "Show this code first"),
    )


@pytest.mark.parametrize(
    "html_",
    [
        "<p>\u017fcan it at the door</p>",  # the long s: re.I matches it as "s"
        "<p>SHOW THIS CODE</p>",
        "<p>Your Qr is below</p>",
        "<p>nothing here</p>",
        "<p>the codex</p>",
    ],
)
def test_the_fast_gate_lets_through_whatever_the_words_pattern_finds(html_: str) -> None:
    from mailpatch._qr_text import _GATE, _WORDS

    folded = html_.casefold()
    assert any(w in folded for w in _GATE) or not _WORDS.search(html_)
    assert bool(qr_mentions(html_)) == bool(_WORDS.search(html_))
