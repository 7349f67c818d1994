"""Comments and the move: text put into a new place must not break a comment there, nor carry
a comment (or tag) that would swallow what follows it in the new place."""

from __future__ import annotations

import pytest

from mailpatch._errors import Refusal
from mailpatch._patch import patch
from mailpatch._verify import verify

from pathological_inputs import BUTTON, IMG, ONE_EVENT, qr

QR = qr()
CLASSIC = (
    '<div data-editorblocktype="Button">'
    '<!--[if mso]><v:roundrect href="#" style="height:40px"><w:anchorlock/><center>Add</center>'
    "</v:roundrect><![endif]-->"
    '<!--[if !mso]><!-- --><a class="buttonClass" href="#">Add</a><!--<![endif]-->'
    "</div>\n"
)
END_MARKERS = "<!--{{/if}}-->\n<!--{{/each}}-->\n</div>\n"

REFUSED = [
    pytest.param(
        BUTTON + QR.replace("-->\n" + IMG + "\n<!--", "\n" + IMG + "\n"),
        "would break the comment",
        id="img-in-the-markers-comment",
    ),
    pytest.param(
        BUTTON + QR.replace(IMG, "<!--[if mso]>" + IMG + "<![endif]-->"),
        "would break the comment",
        id="img-in-mso-only-conditional",
    ),
    pytest.param(
        BUTTON + "<p>after</p>\n" + QR.replace(END_MARKERS, "<!--{{/if}}-->\n<!--{{/each}}"),
        "ends in a comment that is never closed",
        id="last-marker-comment-unclosed",
    ),
    pytest.param(
        BUTTON + QR.replace(END_MARKERS, "<!--{{/if}}{{/each}} -- >"),
        "ends in a comment that is never closed",
        id="closing-markers-comment-unclosed",
    ),
    pytest.param(
        BUTTON + QR.replace(END_MARKERS, "{{/if}}{{/each}}<!--!>"),
        "ends in a comment that is never closed",
        id="bang-gt-does-not-close",
    ),
    pytest.param(
        BUTTON + QR.replace(END_MARKERS, '{{/if}}{{/each}}<p class="x'),
        "ends in a tag that is never closed",
        id="cut-in-a-tag",
    ),
    pytest.param(
        BUTTON + QR.replace(END_MARKERS, "{{/if}}{{/each}}<style>p { color: red }"),
        "ends in a <style> element that is never closed",
        id="qr-ends-in-an-unclosed-style",  # found by the atheris target
    ),
    pytest.param(
        QR + BUTTON.replace("</div>\n", "<title>"),
        "the Button block ends in a <title> element that is never closed",
        id="button-ends-in-an-unclosed-title",
    ),
    pytest.param(
        QR + "<p>between</p>\n" + BUTTON.replace("</div>\n", "<!-- a note to the end"),
        "the Button block ends in a comment that is never closed",
        id="button-ends-in-an-unclosed-comment",  # it would swallow the loop's {{/if}}
    ),
    pytest.param(
        QR + BUTTON.replace("</a></div>\n", '</a><!--[if mso]><v:rect href="#">'),
        "the Button block ends in a comment that is never closed",
        id="button-ends-in-an-unclosed-mso-conditional",  # found by the atheris target
    ),
    pytest.param(
        CLASSIC + QR.replace(IMG, "<!--[if !mso]><!-- -->" + IMG + "<!--<![endif]-->"),
        "they cannot nest",  # Outlook would skip to the VML's own <![endif]: no button at all
        id="img-in-revealed-conditional-classic-button",
    ),
    pytest.param(
        BUTTON + QR.replace("<!--{{/if}}-->", "<!--{{/if}}--!>"),
        "ends with '--!>'",
        id="bang-gt-closes",  # a marker in such a comment is refused by name
    ),
    pytest.param(
        BUTTON + QR.replace("<!--{{/if}}-->", "<!--{{/if}}--!>-->"),
        "ends with '--!>'",
        id="bang-gt-then-a-visible-end",  # browsers show that '-->' in the button
    ),
]


@pytest.mark.parametrize(("text", "fragment"), REFUSED)
def test_refused(text: str, fragment: str) -> None:
    with pytest.raises(Refusal, match=fragment):
        patch(text, ONE_EVENT)


PATCHED = [
    pytest.param(
        BUTTON + QR.replace(IMG, "<!--[if !mso]><!-- -->" + IMG + "<!--<![endif]-->"),
        id="img-in-revealed-conditional",  # real markup: every client but Outlook shows it
    ),
    pytest.param(BUTTON + QR.replace("<!--{{/if}}-->", "<!--{{/if}}--->"), id="three-dashes"),
    pytest.param(BUTTON + QR.replace(END_MARKERS, "{{/if}}{{/each}}<!---->"), id="empty-comment"),
    pytest.param(BUTTON + QR.replace(END_MARKERS, "{{/if}}{{/each}}<!-->"), id="abrupt-comment"),
    pytest.param(BUTTON + QR.replace(END_MARKERS, "{{/if}}{{/each}}"), id="qr-unclosed-div"),
    pytest.param(
        QR + BUTTON.replace("Add to calendar", "Add --&gt; <!-- x --> --> to calendar"),
        id="arrows-in-the-label",
    ),
]


@pytest.mark.parametrize("text", PATCHED)
def test_patched_and_verified(text: str) -> None:
    result = patch(text, ONE_EVENT)
    assert result.changed
    verify(text, result, ONE_EVENT)


def test_an_upper_case_conditional_is_read_as_one() -> None:
    """'<!--[IF mso]>' is an Outlook conditional too: its VML link is rewritten like the <a>."""
    from mailpatch._patch import patch
    from mailpatch._verify import verify

    from pathological_inputs import ONE_EVENT, qr

    button = (
        '<div data-editorblocktype="Button"><!--[IF mso]><v:roundrect href="#"><center>Add'
        '</center></v:roundrect><![endif]--><a href="#">Add</a></div>\n'
    )
    before = qr() + button
    result = patch(before, ONE_EVENT)
    verify(before, result, ONE_EVENT)
    assert result.text.count("calendar/personal/ics") == 2
