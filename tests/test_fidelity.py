"""Fidelity: what a careful person would patch, patched so that browsers read it as written.

The checker is html5lib (the HTML5 tree-construction algorithm browsers follow): the patched
Button's content must parse to the elements its markup spells, in the nesting it spells.
"""

from __future__ import annotations

import re

import pytest

from mailpatch._errors import Refusal
from mailpatch._patch import EventRef, PatchOptions, patch
from mailpatch._verify import verify

from html_readings import button_contents, parsed, spelled
from pathological_inputs import IMG, ONE_EVENT, qr

NEWER = (
    '<div data-editorblocktype="Button" align="center">'
    '<div class="buttonWrapper" style="padding:12px 0"><a class="buttonClass" href="#" '
    'style="display:inline-block">Add to calendar</a></div></div>\n'
)
INLINE = (
    '<div data-editorblocktype="Button" align="center" class="buttonWrapper">'
    '<a class="buttonClass" href="#"><span>Add to calendar</span></a></div>\n'
)
CLASSIC = (
    '<div data-editorblocktype="Button" align="center">\n'
    '<!--[if mso]><v:roundrect href="#" style="height:40px"><center>Add</center>'
    "</v:roundrect><![endif]-->\n"
    '<!--[if !mso]><!-- --><table role="presentation"><tbody><tr><td>'
    '<a class="buttonClass" href="#">Add to calendar</a></td></tr></tbody></table>'
    "<!--<![endif]-->\n"
    "</div>\n"
)


def patched(email: str) -> str:
    result = patch(email, ONE_EVENT)
    verify(email, result, ONE_EVENT)
    return result.text


# --- 1. the QR image inside a <p>, block content in the Button ----------------------------------

IMAGE_PLACES = [
    pytest.param(f"<p>{IMG}</p>", id="img-in-p"),
    pytest.param(f'<p style="text-align:center">\n{IMG}\n</p>', id="img-alone-in-styled-p"),
    pytest.param(f"<p><span>{IMG}</span></p>", id="img-in-span-in-p"),
    pytest.param(f'<a href="{{{{this.msevtmgt_qrcode}}}}">{IMG}</a>', id="img-in-a-link"),
    pytest.param(f'<p><a href="{{{{this.msevtmgt_qrcode}}}}">{IMG}</a></p>', id="link-in-p"),
    pytest.param(IMG, id="img-bare"),
]


@pytest.mark.parametrize("button", [NEWER, INLINE, CLASSIC], ids=["newer", "inline", "classic"])
@pytest.mark.parametrize("place", IMAGE_PLACES)
def test_the_button_parses_as_it_is_written(place: str, button: str) -> None:
    email = qr(img=place) + button
    out = patched(email)
    (content,) = button_contents(out)
    assert parsed(content) == spelled(content)
    assert "msevtmgt_qrcode" not in out  # the image and any link around it are gone
    assert out.count("calendar/personal/ics") == button.count('href="#"')


def test_a_block_button_next_to_text_in_the_image_s_paragraph_is_refused() -> None:
    email = qr(img=f"<p>Your code: {IMG}</p>") + NEWER
    with pytest.raises(Refusal, match=r"the QR image sits inside a <p> with other content"):
        patch(email, ONE_EVENT)


def test_an_inline_button_next_to_text_takes_the_image_s_place_only() -> None:
    email = qr(img=f"<p>Your code: {IMG}</p>") + INLINE
    (content,) = button_contents(patched(email))
    assert "<p>Your code: <a class" in content
    assert parsed(content) == spelled(content)


# --- 2. only the loop moves ---------------------------------------------------------------------

DESK = "<p>Show this code at the registration desk</p>\n"


def _with_outside(before: str, after: str) -> str:
    block = qr()
    inner = block.index("\n") + 1
    end = block.rindex("</div>")
    return block[:inner] + before + block[inner:end] + after + block[end:]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(DESK, "", id="text-before-the-loop"),
        pytest.param("", DESK, id="text-after-the-loop"),
        pytest.param("<h3>Your code</h3>\n<p>&nbsp;</p>\n", DESK, id="both-sides"),
    ],
)
def test_text_outside_the_loop_goes_with_the_qr_block(before: str, after: str) -> None:
    email = _with_outside(before, after) + INLINE
    result = patch(email, ONE_EVENT)
    verify(email, result, ONE_EVENT)
    (content,) = button_contents(result.text)
    assert "registration desk" not in result.text and "Your code" not in result.text
    assert content.lstrip().startswith("<!--{{#each")
    assert [t for _, t in result.left_behind] == [
        t for t in ("Your code", "Show this code at the registration desk") if t in email
    ]


@pytest.mark.parametrize(
    "outside",
    [
        pytest.param("<p>Hello {{contact.firstname}}</p>\n", id="handlebars"),
        pytest.param('<p><a href="https://contoso.com/agenda">Agenda</a></p>\n', id="link"),
    ],
)
def test_handlebars_or_a_link_outside_the_loop_is_refused_by_name(outside: str) -> None:
    with pytest.raises(Refusal, match=r"outside its \{\{#each\}\} loop"):
        patch(_with_outside(outside, "") + INLINE, ONE_EVENT)


def test_verbose_output_lists_what_was_removed(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from mailpatch._cli import main

    path = tmp_path / "a.html"
    path.write_text(_with_outside(DESK, "") + INLINE, "utf-8")
    args = ["patch", "-v", "--endpoint", "contoso.svc.dynamics.com", "--event-id", "X"]
    assert main([*args, str(path)]) == 0
    assert "removed with the QR block: 'Show this code at the registration desk'" in (
        capsys.readouterr().err
    )


# --- 4. a marker comment ended by '--!>' ------------------------------------------------------


def test_a_marker_comment_ended_by_bang_is_refused() -> None:
    email = qr().replace("<!--{{/if}}-->", "<!--{{/if}}--!>") + INLINE
    with pytest.raises(Refusal, match="ends with '--!>'"):
        patch(email, ONE_EVENT)


def test_the_verifier_refuses_a_block_put_into_a_paragraph() -> None:
    """What mailpatch wrote before (the image alone replaced, its <p> kept) is caught by the
    verifier: the button's <div> does not sit where it is written."""
    import dataclasses

    from mailpatch._verify import VerifyError, _verify_fast, verify_full

    email = qr(img=f"<p>{IMG}</p>") + NEWER
    result = patch(email, ONE_EVENT)
    (edit,) = [e for e in result.edits if e.what == "button"]
    a, b = edit.inserted  # type: ignore[misc]
    old_style = edit.replacement[:a] + "<p>" + edit.replacement[a:b] + "</p>" + edit.replacement[b:]
    damaged = dataclasses.replace(edit, replacement=old_style, inserted=(a + 3, b + 3))
    edits = tuple(damaged if e is edit else e for e in result.edits)
    from mailpatch._patch import apply

    forged = dataclasses.replace(result, text=apply(email, list(edits)), edits=edits)
    for check in (_verify_fast, verify_full):
        with pytest.raises(VerifyError, match="does not sit where it is written"):
            check(email, forged, ONE_EVENT)
    assert parsed(old_style) != spelled(old_style)  # and html5lib agrees it would break


def test_a_button_s_label_is_its_text_not_an_attribute() -> None:
    """Messages name a Button by its text; an attribute value holding '>' is not text."""
    first = (
        '<div data-editorblocktype="Button"><a href="#" title="a > b">Add to calendar</a></div>\n'
    )
    email = qr() + first + first.replace("Add to calendar", "Register a colleague")
    with pytest.raises(Refusal) as refused:
        patch(email, ONE_EVENT)
    message = str(refused.value)
    assert "'Add to calendar'" in message and "'Register a colleague'" in message
    assert "> b" not in message


# --- what an adversarial review of the above found: each now refused by name, or patched ------

G1, G2 = "a1b2c3d4-1111-1111-1111-111111111111", "e5f6a7b8-2222-2222-2222-222222222222"
TWO = PatchOptions(
    endpoint="org.crm.dynamics.com", events={G1: EventRef("EV1"), G2: EventRef("EV2")}
)


def loop(guid: str, inner: str = IMG, *, each_else: str = "", if_else: str = "") -> str:
    """A QR block whose content is the loop around ``inner`` (markers in comments)."""
    return (
        '<div data-editorblocktype="ERQRCode">\n'
        "<!--{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}-->\n"
        f"<!--{{{{#if (eq this.msevtmgt_eventid '{guid}')}}}}-->\n{inner}\n{if_else}"
        f"<!--{{{{/if}}}}-->\n{each_else}<!--{{{{/each}}}}-->\n</div>\n"
    )


REVIEW_REFUSED = [
    pytest.param(
        loop(G1, "See you there<!--{{else if (eq this.msevtmgt_eventid '" + G2 + "')}}-->" + IMG)
        + INLINE,
        "unbalanced loop markers",
        id="else-if-chain",  # the button went into the G2 branch with EV1's link
    ),
    pytest.param(
        loop(G1, "See you<!--{{^}}-->" + IMG) + INLINE,
        "no QR <img> inside the",
        id="caret-else",  # '{{^}}' is '{{else}}': the image is in the else branch
    ),
    pytest.param(
        loop(G1, "{{#unless x}}" + IMG + "{{/unless}}") + INLINE,
        "unbalanced loop markers",
        id="other-block-helper",
    ),
    pytest.param(
        '<div data-editorblocktype="ERQRCode"><table><tbody><tr><td>'
        "<!--{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}-->"
        f"</td></tr><tr><td><!--{{{{#if (eq this.msevtmgt_eventid '{G1}')}}}}-->{IMG}"
        "<!--{{/if}}--></td></tr><tr><td><!--{{/each}}--></td></tr></tbody></table></div>\n"
        + INLINE,
        "not whole markup",
        id="markers-in-table-rows",  # </td></tr> fragments moved without their table
    ),
    pytest.param(
        loop(G1, if_else='<!--{{else}}--><a href="https://contoso.com/register">Register</a>\n')
        + INLINE,
        "holds a link",
        id="link-in-the-else-branch",
    ),
    pytest.param(
        loop(G1, IMG + '<br><a href="https://maps.example.com/">Directions</a>') + INLINE,
        "holds a link",
        id="link-beside-the-image",
    ),
    pytest.param(
        loop(G1, f'<a href="{{{{this.msevtmgt_qrcode}}}}"><span>{IMG}</span></a>') + INLINE,
        "holds a link",
        id="image-in-a-span-in-a-link",
    ),
    pytest.param(
        loop(G1)
        .replace(f"{IMG}\n", f"{IMG}\n</div>\n", 1)
        .replace("<!--{{#each", "<div class=c>\n<!--{{#each", 1)
        + INLINE,
        "not whole markup",  # its </div> closes what the loop did not open
        id="div-around-half-the-loop",
    ),
    pytest.param(
        loop(G1) + loop(G1.upper()) + INLINE,
        "spelt differently",
        id="one-guid-two-spellings",
    ),
    pytest.param(
        loop(G1)
        + INLINE
        + loop(G1).replace(
            "<!--{{/each}}-->\n",
            '<!--{{/each}}-->\n<p><a href="https://maps.example.com/">'
            "Directions</a> {{contact.firstname}}</p>\n",
        ),
        "outside its {{#each}} loop",
        id="second-block-of-an-event-checked-too",
    ),
]


@pytest.mark.parametrize(("email", "fragment"), REVIEW_REFUSED)
def test_review_cases_are_refused_by_name(email: str, fragment: str) -> None:
    with pytest.raises(Refusal, match=re.escape(fragment)):
        patch(email, TWO)


def test_two_events_with_one_readable_id_keep_a_button_each() -> None:
    """Grouped by GUID, not by readable id: G2's loop is not lost into G1's Button."""
    same = PatchOptions(
        endpoint="org.crm.dynamics.com", events={G1: EventRef("EV"), G2: EventRef("EV")}
    )
    with pytest.raises(Refusal, match="no Button block for every event"):
        patch(loop(G1) + loop(G2) + INLINE, same)
    email = loop(G1) + INLINE + loop(G2) + INLINE.replace("Add to calendar", "Add the labs")
    result = patch(email, same)
    verify(email, result, same)
    assert {p.guid for p in result.pairings} == {G1, G2}


def test_two_markers_in_one_paragraph_move_with_their_paragraph() -> None:
    """'<p>{{#each}}{{#if}}</p>' (the designer's text editor) moves whole: no stray </p>."""
    email = (
        '<div data-editorblocktype="ERQRCode">\n'
        "<p>{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid}}"
        f"{{{{#if (eq this.msevtmgt_eventid '{G1}')}}}}</p>\n<p>{IMG}</p>\n"
        "<p>{{/if}}{{/each}}</p>\n</div>\n" + INLINE
    )
    out = patched_with(email, TWO)
    (content,) = button_contents(out)
    assert parsed(content) == spelled(content)
    assert content.count("<p>") == content.count("</p>")


def test_a_short_handlebars_comment_outside_the_loop_goes_with_the_block() -> None:
    email = loop(G1).replace("<!--{{#each", "{{! the desk scans this }}\n<!--{{#each", 1) + INLINE
    out = patched_with(email, TWO)
    assert "desk scans" not in out


def test_a_calendar_path_on_another_host_is_no_candidate() -> None:
    """A Button linking to '…/calendar/personal/ics' on a look-alike host links elsewhere."""
    evil = INLINE.replace(
        'href="#"',
        'href="https://evil.example/EvtMgmt/api/v2.0/calendar/personal/ics?api-version='
        '2016-06-30&amp;data=[{%22readableEventId%22:%22EV1%22,%22data%22:{}}]"',
    )
    with pytest.raises(Refusal, match="no Button block to pair"):
        patch(loop(G1) + evil, TWO)


def patched_with(email: str, options: PatchOptions) -> str:
    result = patch(email, options)
    verify(email, result, options)
    assert not patch(result.text, options).changed
    return result.text
