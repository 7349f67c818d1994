"""Safe mode: the verifier passes every real patch and catches each kind of damage."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from mailpatch import Unverifiable, VerifyError, decode, verify
from mailpatch._errors import Refusal
from mailpatch._patch import Edit, EditKind, EventRef, PatchOptions, PatchResult, apply, patch
from mailpatch._run import Mode, Status, process
from mailpatch._verify import _verify_fast, verify_full

import pathological_inputs
from fixturecases import Case, cases

PATCH = cases("patch")


def _result(case: Case) -> tuple[str, PatchResult]:
    email = decode(case.input.read_bytes())
    return email.text, patch(email.text, case.options)


@pytest.mark.parametrize("case", PATCH, ids=[c.name for c in PATCH])
def test_every_fixture_patch_verifies(case: Case) -> None:
    before, result = _result(case)
    verify(before, result, case.options)


def _retext(before: str, result: PatchResult, edits: list[Edit]) -> PatchResult:
    edits = sorted(edits, key=lambda e: e.start)
    return dataclasses.replace(result, text=apply(before, edits), edits=tuple(edits))


def _on_button(fn: Callable[[str], str]) -> Callable[[str, PatchResult], PatchResult]:
    def tamper(before: str, result: PatchResult) -> PatchResult:
        edits = [
            # (where the button went is no longer known in the damaged text)
            dataclasses.replace(e, replacement=fn(e.replacement), inserted=None)
            if e.what == "button"
            else e
            for e in result.edits
        ]
        return _retext(before, result, edits)

    return tamper


def _keep_qr(before: str, result: PatchResult) -> PatchResult:
    return _retext(before, result, [e for e in result.edits if e.what != "qr"])


def _outside(before: str, result: PatchResult) -> PatchResult:
    at = before.index("<div")  # a byte before every block
    return _retext(before, result, [*result.edits, Edit(at, at, "<p>oops</p>", EditKind.BUTTON)])


def _text_only(before: str, result: PatchResult) -> PatchResult:
    return dataclasses.replace(result, text=result.text.replace("</body>", "</body> "))


TAMPERS = [
    pytest.param(_text_only, "recorded edits", id="splice-mismatch"),
    pytest.param(_outside, "outside the ERQRCode and Button", id="change-outside-blocks"),
    pytest.param(_keep_qr, "left in the output", id="qr-left"),
    pytest.param(_on_button(lambda s: s.replace("{{/if}}", "", 1)), "unbalanced", id="no-end-if"),
    pytest.param(
        _on_button(
            lambda s: re.sub(
                r"\{\{/if\}\}(.*?)\{\{/each\}\}", r"{{/each}}\1{{/if}}", s, count=1, flags=re.S
            )
        ),
        "out of order",
        id="swapped-closers",
    ),
    pytest.param(
        _on_button(lambda s: s.replace("readableEventId%22:%22", "readableEventId%22:%22X", 1)),
        "decodes to",
        id="wrong-event-id",
    ),
    pytest.param(
        _on_button(lambda s: s.replace("%22data%22:{", "%22data%22:{{", 1)),
        "does not decode",
        id="broken-json",
    ),
    pytest.param(_on_button(lambda s: s + "{{contact.secret}}"), "appeared", id="expression-added"),
    pytest.param(
        _on_button(lambda s: s.replace("{{#each", "{{#if x}}{{#each", 1)),
        "unbalanced",
        id="extra-if",
    ),
]


@pytest.mark.parametrize(("tamper", "fragment"), TAMPERS)
@pytest.mark.parametrize("name", ["classic-vml-button", "newer-editor-button", "markers-in-p"])
def test_verifier_catches_damage(name: str, tamper, fragment: str) -> None:
    case = next(c for c in PATCH if c.name == name)
    before, result = _result(case)
    with pytest.raises(VerifyError, match=fragment):
        verify(before, tamper(before, result), case.options)


def test_link_outside_the_if_branch_is_caught() -> None:
    case = next(c for c in PATCH if c.name == "newer-editor-button")
    before, result = _result(case)

    def move(s: str) -> str:  # put a copy of the link after {{/each}}
        link = re.search(r"<a [^>]*>", s)
        assert link
        return s + link.group(0) + "</a>"

    with pytest.raises(VerifyError, match="outside the loop"):
        verify(before, _on_button(move)(before, result), case.options)


def test_a_button_broken_elsewhere_is_not_an_internal_error() -> None:
    """A Button the user broke by hand is refused by name, never reported as mailpatch's bug."""
    case = next(c for c in PATCH if c.name == "newer-editor-button")
    broken = (
        '<div data-editorblocktype="Button"><!--{{#each contact.x}}-->'
        "<!--{{#if (eq this.msevtmgt_eventid '11111111-2222-3333-4444-555555555555')}}-->"
        '<a href="https://example.com/">Elsewhere</a><!--{{/each}}--></div>\n'
    )
    email = decode(case.input.read_bytes())
    before = email.text.replace("</body>", broken + "</body>")
    assert before != email.text
    with pytest.raises(Refusal, match="not a whole one"):
        patch(before, case.options)


def _one_event(text: str) -> tuple[str, PatchResult, PatchOptions]:
    options = PatchOptions(endpoint="contoso.svc.dynamics.com", event=EventRef("ev-1"))
    return text, patch(text, options), options


_QR = (
    '<div data-editorblocktype="ERQRCode">\n'
    "<!--{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}-->\n"
    "<!--{{#if (eq this.msevtmgt_eventid 'e4b81d2f-0a6c-ee11-9079-6045bd8e1f20')}}-->\n"
    '<img id="base64image" src="{{this.msevtmgt_qrcode}}" alt="QR">\n'
    "<!--{{/if}}-->\n<!--{{/each}}-->\n</div>\n"
)
_BUTTON = '<div data-editorblocktype="Button"><a class="buttonClass" href="#">Add</a></div>\n'


def _button(depth: int) -> str:
    return (
        '<div data-editorblocktype="Button">'
        + "<div>" * depth
        + '<a class="buttonClass" href="#">Add</a>'
        + "</div>" * depth
        + "</div>\n"
    )


VERIFIES = [
    pytest.param(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + decode(next(c for c in PATCH if c.name == "classic-vml-button").input.read_bytes()).text,
        id="xhtml-xml-prolog",  # lxml refuses str input that declares an encoding
    ),
    pytest.param(_QR + _BUTTON, id="fragment-opening-with-the-qr-block"),
    pytest.param("<div>" * 1000 + _QR + _BUTTON + "</div>" * 1000, id="nesting-1000"),
    pytest.param(_QR + _button(2000), id="nesting-2000-in-button"),
    pytest.param("<!--" + "c" * 11_000_000 + "-->\n" + _QR + _BUTTON, id="11mb-comment"),
]


@pytest.mark.parametrize("text", VERIFIES)
def test_verifier_reads_the_whole_email(text: str) -> None:
    """Each of these once failed as an INTERNAL ERROR: libxml2 read less than the email."""
    verify(*_one_event(text))


UNVERIFIABLE = [
    pytest.param("<div>" * 100_000 + _QR + _BUTTON, id="nesting-100k-around"),
    pytest.param(_QR + _button(100_000), id="nesting-100k-in-button"),
]


@pytest.mark.slow
@pytest.mark.parametrize("text", UNVERIFIABLE)
def test_past_libxml2_limits_is_unverifiable_not_an_internal_error(text: str) -> None:
    with pytest.raises(Unverifiable, match="Excessive depth"):
        verify(*_one_event(text))


def test_unverifiable_email_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "deep.html"
    path.write_text("<div>" * 100_000 + _QR + _BUTTON, "utf-8")
    before = path.read_bytes()
    options = PatchOptions(endpoint="contoso.svc.dynamics.com", event=EventRef("ev-1"))
    outcome = process(str(path), options, Mode())
    assert outcome.status is Status.REFUSED
    assert outcome.message.startswith("the patch cannot be verified (libxml2 cannot read it whole")
    assert path.read_bytes() == before


def test_only_patch_own_results_skip_the_splice_comparison() -> None:
    """The fast check compares text with input + edits unless patch() built that very text
    from that very input and those very edits; a result rebuilt in any part is compared."""
    case = next(c for c in PATCH if c.name == "newer-editor-button")
    before, result = _result(case)
    assert result._spliced_from(before)
    assert not result._spliced_from("".join([before[:1], before[1:]]))  # equal, not the same
    retexted = dataclasses.replace(result, text="".join([result.text[:1], result.text[1:]]))
    assert not retexted._spliced_from(before)
    reedited = dataclasses.replace(result, edits=tuple(list(result.edits)))
    assert not reedited._spliced_from(before)
    assert not PatchResult(result.text, result.edits)._spliced_from(before)
    # and a rebuilt text that differs is caught, even with the same length
    swapped = result.text.replace("</body>", "</BODY>")
    with pytest.raises(VerifyError, match="recorded edits"):
        verify(before, dataclasses.replace(result, text=swapped), case.options)


def test_a_vml_link_left_pointing_elsewhere_is_caught() -> None:
    """Outlook's button is the VML shape in the conditional comment: libxml2 reads that
    comment's markup too, and a shape still linking elsewhere is no calendar button."""
    case = next(c for c in PATCH if c.name == "classic-vml-button")
    before, result = _result(case)

    def relink_vml(s: str) -> str:
        shape = re.search(r"<v:roundrect[^>]*>", s)
        assert shape
        tag = re.sub(r'href="[^"]*"', 'href="https://elsewhere.example/"', shape.group(0))
        return s.replace(shape.group(0), tag)

    with pytest.raises(VerifyError, match="not the calendar link"):
        verify(before, _on_button(relink_vml)(before, result), case.options)


# -- found in review of the fast verifier's shortcuts -------------------------------------------
def _disguised(value: str) -> str:
    """A Button holding a block whose type libxml2 decodes to ERQRCode (the locator, which does
    not decode entities in block types, sees none)."""
    return (
        '<div data-editorblocktype="Button"><a href="#">Add</a>'
        f'<span data-editorblocktype="{value}">x</span></div>\n'
    )


@pytest.mark.parametrize("value", ["ERQRCode&#32;", "&#101;rqrcode"])
def test_a_qr_block_disguised_in_the_button_content_is_caught(value: str) -> None:
    """The Button's old content moves into its new one, so what the survey saw there stays."""
    before = "<html><body>" + pathological_inputs.qr() + _disguised(value) + "</body></html>"
    result = patch(before, pathological_inputs.ONE_EVENT)
    with pytest.raises(VerifyError, match="ERQRCode block"):
        verify_full(before, result, pathological_inputs.ONE_EVENT)
    with pytest.raises(VerifyError, match="ERQRCode block"):
        verify(before, result, pathological_inputs.ONE_EVENT)


def test_a_qr_block_disguised_in_the_moved_loop_is_caught_in_the_new_button() -> None:
    """The fast check reads the new Button content with libxml2: a block it takes for an
    ERQRCode one, moved in with the loop, is a QR block left in the output."""
    qr = pathological_inputs.qr().replace(
        "<img", '<span data-editorblocktype="&#101;rqrcode">x</span><img', 1
    )
    before = "<html><body>" + qr + pathological_inputs.BUTTON + "</body></html>"
    result = patch(before, pathological_inputs.ONE_EVENT)
    with pytest.raises(VerifyError, match="in a Button block"):
        _verify_fast(before, result, pathological_inputs.ONE_EVENT)


def test_a_button_nested_in_the_chosen_one_gets_no_edit_of_its_own() -> None:
    """Its links are rewritten with the outer Button's content; a "//" fix of its own would
    overlap that edit (and the fast check must still see the overlap: it checks the edits'
    order even for a text patch() built)."""
    inner = (
        '<div data-editorblocktype="Button"><a href="https:contoso.svc.dynamics.com/EvtMgmt/api/'
        'v2.0/calendar/personal/ics?x=1">In</a></div>'
    )
    outer = '<div data-editorblocktype="Button"><a href="#">Out</a>' + inner + "</div>\n"
    before = "<html><body>\n" + pathological_inputs.qr() + outer + "</body></html>"
    line = before[: before.index(outer)].count("\n") + 1
    options = dataclasses.replace(pathological_inputs.ONE_EVENT, buttons=((line, 1),))
    result = patch(before, options)
    assert [e.what for e in result.edits] == ["qr", "button"]
    verify(before, result, options)
    overlapping = (
        *result.edits,
        Edit(result.edits[-1].start + 5, result.edits[-1].start + 5, "//", "scheme"),
    )
    with pytest.raises(VerifyError, match="overlap"):
        _verify_fast(before, dataclasses.replace(result, edits=overlapping), options)


def test_links_libxml2_cannot_see_in_a_conditional_make_the_patch_unverifiable() -> None:
    """A '<plaintext>' in Outlook's conditional hides the VML link from libxml2 (everything
    after it is text), while the locator relinks it: no proof either way, so no write."""
    button = pathological_inputs.BUTTON.replace(
        "<a ",
        '<!--[if mso]><plaintext><v:roundrect href="#"></v:roundrect><![endif]--><a ',
        1,
    )
    before = pathological_inputs.qr() + button
    result = patch(before, pathological_inputs.ONE_EVENT)
    with pytest.raises(Unverifiable, match="Outlook conditional"):
        verify(before, result, pathological_inputs.ONE_EVENT)


def _splice_head(data: bytes) -> bytes:
    return data[:5780] + data[123:333] + data[5780:]  # '<m' left open before the '<a …>'


def _cut_a(data: bytes) -> bytes:
    return data[:5782] + data[5784:]  # '<a class=…' loses its 'a ': '<class="buttonClass" …>'


def _double_a(data: bytes) -> bytes:
    return data[:5782] + data[5782:5783] + data[5782:]  # '<aa class="buttonClass" …>'


@pytest.mark.parametrize("damage", [_splice_head, _cut_a, _double_a])
def test_an_href_on_a_tag_that_is_no_link_is_no_link(damage: Callable[[bytes], bytes]) -> None:
    """The Button's '<a' damaged into '<m <a …>', '<class="…" …>' or '<aa …>': browsers (and
    the locator) see no link there, and neither does the verifier, which reads only <a>
    elements' hrefs outside Outlook conditionals (these were INTERNAL ERRORs: it read any
    element's href; found by the long profile on the about-blank fixture, damaged)."""
    case = next(c for c in PATCH if c.name == "about-blank")
    before = decode(damage(case.input.read_bytes())).text
    result = patch(before, case.options)
    assert result.changed
    verify(before, result, case.options)


# --- stale links written anew ("link" edits) ----------------------------------------------------


def _stale(name: str) -> tuple[str, PatchResult, PatchOptions]:
    """A patched fixture whose settings then changed: its update, as patch() made it."""
    case = next(c for c in PATCH if c.name == name)
    patched = patch(decode(case.input.read_bytes()).text, case.options).text
    moved = dataclasses.replace(case.options, endpoint="moved.svc-tip.dynamics.com")
    result = patch(patched, moved)
    assert result.updates and {e.what for e in result.edits} <= {"link", "qr"}
    return patched, result, moved


def _on_links(fn: Callable[[Edit], Edit]) -> Callable[[str, PatchResult], PatchResult]:
    def tamper(before: str, result: PatchResult) -> PatchResult:
        return _retext(before, result, [fn(e) if e.what == "link" else e for e in result.edits])

    return tamper


LINK_TAMPERS = [
    pytest.param(
        _on_links(
            lambda e: dataclasses.replace(e, replacement=e.replacement.replace("moved", "x"))
        ),
        "not the one built",
        id="other-host",
    ),
    pytest.param(
        _on_links(
            lambda e: dataclasses.replace(
                e,
                replacement=e.replacement.replace(
                    "readableEventId%22:%22", "readableEventId%22:%22X"
                ),
            )
        ),
        "decodes to",
        id="wrong-event-id",
    ),
    pytest.param(
        _on_links(lambda e: dataclasses.replace(e, replacement=e.replacement + '" onclick="x')),
        "outside the ERQRCode and Button",
        id="attribute-smuggled",
    ),
    pytest.param(
        _on_links(lambda e: dataclasses.replace(e, start=e.start - 1)),
        "not a whole href value",
        id="span-takes-the-quote",
    ),
    pytest.param(
        _on_links(lambda e: dataclasses.replace(e, end=e.end - 5)),
        "not a whole href value",
        id="span-short",
    ),
]


@pytest.mark.parametrize(("tamper", "fragment"), LINK_TAMPERS)
@pytest.mark.parametrize("name", ["classic-vml-button", "newer-editor-button", "keep-qr"])
def test_verifier_catches_a_damaged_update(name: str, tamper, fragment: str) -> None:
    before, result, options = _stale(name)
    verify(before, result, options)  # the real one passes
    damaged = tamper(before, result)
    with pytest.raises(VerifyError, match=fragment):
        _verify_fast(before, damaged, options)
    with pytest.raises(VerifyError):  # and the whole reading, the fallback, refuses it too
        verify_full(before, damaged, options)


def test_an_update_outside_any_button_is_caught() -> None:
    """A 'link' edit aimed at a link outside every Button (the footer's) is refused."""
    before, result, options = _stale("newer-editor-button")
    footer = '<a href="https://example.com/x">x</a>'
    at = before.index("</body>")
    before = before[:at] + footer + before[at:]
    start = before.index("https://example.com/x")
    edit = next(e for e in result.edits if e.what == "link")
    moved = Edit(start, start + len("https://example.com/x"), edit.replacement, "link")
    forged = dataclasses.replace(result, text=apply(before, [moved]), edits=(moved,))
    with pytest.raises(VerifyError, match="outside a Button block"):
        _verify_fast(before, forged, options)
    with pytest.raises(VerifyError):
        verify(before, forged, options)


def test_an_edit_kind_is_one_of_those_the_verifier_knows() -> None:
    """Edit kinds are an Enum: a kind given by its value is that member, any other refused."""
    assert Edit(0, 0, "", "qr").what is EditKind.QR
    with pytest.raises(ValueError, match="not a valid EditKind"):
        Edit(0, 0, "<p>oops</p>", "x")
