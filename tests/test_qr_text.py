"""Text that refers to the removed QR code (mailpatch._qr_text)."""

from __future__ import annotations

import pytest

from mailpatch._qr_text import qr_mentions


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
