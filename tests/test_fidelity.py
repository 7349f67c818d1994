"""Fidelity: what a careful person would patch, patched so that browsers read it as written.

The checker is html5lib (the HTML5 tree-construction algorithm browsers follow): the patched
Button's content must parse to the elements its markup spells, in the nesting it spells.
"""

from __future__ import annotations

import html5lib
import pytest

from mailpatch._errors import Refusal
from mailpatch._html import VOID, Kind, tokenize
from mailpatch._patch import patch
from mailpatch._verify import verify

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


def spelled(markup: str) -> list[tuple[int, str]]:
    """(depth, tag) of every element, as the markup spells it (each end tag closes its own)."""
    out: list[tuple[int, str]] = []
    stack: list[str] = []
    for tok in tokenize(markup):
        if tok.kind is Kind.START:
            out.append((len(stack), tok.name))
            if tok.name not in VOID and not markup[tok.start : tok.end].endswith("/>"):
                stack.append(tok.name)
        elif tok.kind is Kind.END and tok.name in stack:
            while stack.pop() != tok.name:
                pass
    return out


def parsed(markup: str) -> list[tuple[int, str]]:
    """(depth, tag) of every element as an HTML5 parser builds it, inside a <div>."""
    root = html5lib.parseFragment(markup, container="div", namespaceHTMLElements=False)
    out: list[tuple[int, str]] = []

    def walk(el: object, depth: int) -> None:
        for child in el:  # type: ignore[attr-defined]
            if isinstance(child.tag, str):
                out.append((depth, child.tag))
                walk(child, depth + 1)

    walk(root, 0)
    return out


def button_contents(text: str) -> list[str]:
    """The content of each Button block of ``text`` (as the locator reads them)."""
    from mailpatch._blocks import BUTTON_TYPE, locate

    doc = locate(text)
    return [text[el.content_start : el.content_end] for el in doc.blocks_of(BUTTON_TYPE)]


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

    forged = dataclasses.replace(
        result, text=apply(email, list(edits)), edits=edits, survey=None, origin=None
    )
    for check in (_verify_fast, verify_full):
        with pytest.raises(VerifyError, match="does not sit where it is written"):
            check(email, forged, ONE_EVENT)
    assert parsed(old_style) != spelled(old_style)  # and html5lib agrees it would break


def test_a_button_s_label_is_its_text_not_an_attribute() -> None:
    """Messages name a Button by its text; an attribute value holding '>' is not text."""
    first = (
        '<div data-editorblocktype="Button"><a href="#" title="a > b">Add to calendar</a>'
        "</div>\n"
    )
    email = qr() + first + first.replace("Add to calendar", "Register a colleague")
    with pytest.raises(Refusal) as refused:
        patch(email, ONE_EVENT)
    message = str(refused.value)
    assert "'Add to calendar'" in message and "'Register a colleague'" in message
    assert "> b" not in message
