"""Safe mode: the verifier passes every real patch and catches each kind of damage."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest

from mailpatch._files import decode
from mailpatch._patch import Edit, PatchResult, apply, patch
from mailpatch._verify import VerifyError, verify

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
            dataclasses.replace(e, replacement=fn(e.replacement)) if e.what == "button" else e
            for e in result.edits
        ]
        return _retext(before, result, edits)

    return tamper


def _keep_qr(before: str, result: PatchResult) -> PatchResult:
    return _retext(before, result, [e for e in result.edits if e.what != "qr"])


def _outside(before: str, result: PatchResult) -> PatchResult:
    at = before.index("<div")  # a byte before every block
    return _retext(before, result, [*result.edits, Edit(at, at, "<p>oops</p>", "x")])


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
    """Safe mode judges the Buttons this patch changed, not one the user broke by hand."""
    case = next(c for c in PATCH if c.name == "newer-editor-button")
    broken = (
        '<div data-editorblocktype="Button"><!--{{#each contact.x}}-->'
        "<!--{{#if (eq this.msevtmgt_eventid '11111111-2222-3333-4444-555555555555')}}-->"
        '<a href="https://example.com/">Elsewhere</a><!--{{/each}}--></div>\n'
    )
    email = decode(case.input.read_bytes())
    before = email.text.replace("</body>", broken + "</body>")
    assert before != email.text
    result = patch(before, case.options)
    assert result.changed
    verify(before, result, case.options)
