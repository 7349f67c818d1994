"""Each email here is one that tests/test_properties.py found mishandled, shrunk by hypothesis
(and tidied); the id says what was wrong. Before the fix each ended as an INTERNAL ERROR (the
verifier disagreed with the locator) or a crash; now each is verified or cleanly refused."""

from __future__ import annotations

import pytest

from mailpatch._errors import Refusal
from mailpatch._patch import patch

from pathological_inputs import BUTTON, ONE_EVENT, qr

QR = qr()

NOT_SEEN = [
    pytest.param(BUTTON + "<p class='x\n" + QR.replace("'", '"'), id="stray-quote-before-the-qr"),
]


@pytest.mark.parametrize("text", NOT_SEEN)
def test_blocks_inside_a_tag_cut_off_by_the_end_are_not_blocks(text: str) -> None:
    """A quote never closed runs to the end of the file: browsers drop the tag and all after."""
    result = patch(text, ONE_EVENT)
    assert not result.changed and result.qr_blocks == 0


REFUSED = [
    pytest.param(
        QR + "<p class='x\n" + BUTTON, "no Button block to pair", id="stray-quote-before-the-button"
    ),
    pytest.param(
        BUTTON.replace("</div>\n", "") + QR + "</div>",
        "inside the Button block",
        id="button-missing-its-end-tag-holds-the-qr-block",
    ),
    pytest.param(
        QR.replace("</div>\n", "") + BUTTON + "</div>",
        "inside the ERQRCode block",
        id="qr-block-missing-its-end-tag-holds-the-button",
    ),
    pytest.param(
        QR + "{{\n" + BUTTON,
        "handlebars expression opened at 8:1",
        id="stray-mustache-before-button",
    ),
    pytest.param(
        "{{!-- " + QR + " --}}" + BUTTON,
        "handlebars expression opened at 1:1",
        id="qr-block-in-a-handlebars-comment",
    ),
]


@pytest.mark.parametrize(("text", "fragment"), REFUSED)
def test_refused(text: str, fragment: str) -> None:
    with pytest.raises(Refusal, match=fragment):
        patch(text, ONE_EVENT)
