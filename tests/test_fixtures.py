"""The fixture pairs, byte for byte, plus idempotence, confinement and refusals over all of them."""

from __future__ import annotations

import re

import pytest

from mailpatch import decode
from mailpatch._blocks import BUTTON_TYPE, QR_TYPE, scan
from mailpatch._errors import Refusal
from mailpatch._html import LineIndex
from mailpatch._patch import PatchResult, patch

from fixturecases import Case, cases

PATCH = cases("patch")
UNCHANGED = cases("unchanged")
REFUSE = cases("refuse")
_HANDLEBARS = re.compile(r"\{\{~?!--.*?--~?\}\}|\{\{.*?\}\}", re.S)  # a long comment whole


def ids(items: list[Case]) -> list[str]:
    return [c.name for c in items]


def run(case: Case) -> tuple[bytes, PatchResult]:
    email = decode(case.input.read_bytes())
    result = patch(email.text, case.options)
    return email.encode(result.text), result


def test_every_variation_has_a_fixture() -> None:
    assert len(PATCH) >= 25 and len(REFUSE) >= 12 and len(UNCHANGED) >= 3


@pytest.mark.parametrize("case", PATCH, ids=ids(PATCH))
def test_patch_matches_expected_bytes(case: Case) -> None:
    out, result = run(case)
    assert result.changed
    assert out == case.expected.read_bytes()


@pytest.mark.parametrize("case", PATCH, ids=ids(PATCH))
def test_patch_is_idempotent(case: Case) -> None:
    email = decode(case.expected.read_bytes())
    assert patch(email.text, case.options).text == email.text
    assert not patch(email.text, case.options).changed


@pytest.mark.parametrize("case", PATCH, ids=ids(PATCH))
def test_edits_are_confined_to_the_two_blocks(case: Case) -> None:
    """Every byte outside the QR blocks and the paired Buttons' content is the input's."""
    email = decode(case.input.read_bytes())
    result = patch(email.text, case.options)
    doc = scan(email.text)
    qr_spans = {(b.start, b.end) for b in doc.blocks_of(QR_TYPE)}
    button_spans = {(b.content_start, b.content_end) for b in doc.blocks_of(BUTTON_TYPE)}
    kept: list[str] = []
    pos = 0
    for edit in result.edits:
        span = (edit.start, edit.end)
        if edit.what == "scheme":  # the "//" inserted into a link inside a Button
            assert any(lo <= edit.start < hi for lo, hi in button_spans), edit
        else:
            assert span in (qr_spans if edit.what == "qr" else button_spans), edit
        kept.append(email.text[pos : edit.start])
        pos = edit.end
    kept.append(email.text[pos:])
    # the kept pieces appear, in order, around the replacements in the output
    out = result.text
    cursor = 0
    for piece, edit in zip(kept, [*result.edits, None], strict=True):
        assert out.startswith(piece, cursor)
        cursor += len(piece)
        if edit is not None:
            assert out.startswith(edit.replacement, cursor)
            cursor += len(edit.replacement)
    assert cursor == len(out)


@pytest.mark.parametrize("case", PATCH, ids=ids(PATCH))
def test_handlebars_conserved(case: Case) -> None:
    """Output expressions: the input's, plus the link's placeholders, minus the QR img's."""
    email = decode(case.input.read_bytes())
    result = patch(email.text, case.options)
    before = set(_HANDLEBARS.findall(email.text))
    after = set(_HANDLEBARS.findall(result.text))
    added = {
        p
        for pairing in result.pairings
        if pairing.link
        for p in re.findall(r"\{\{[\w.]+\}\}", pairing.link.href())
    }
    assert after - before <= added
    # the QR image's own, and handlebars comments outside a loop (they go with the QR block)
    gone = before - after
    assert {e for e in gone if not e.startswith("{{!")} <= {"{{this.msevtmgt_qrcode}}"}


@pytest.mark.parametrize("case", PATCH, ids=ids(PATCH))
def test_qr_block_removed_unless_kept(case: Case) -> None:
    _, result = run(case)
    left = scan(result.text).blocks_of(QR_TYPE)
    assert len(left) == (
        len(scan(decode(case.input.read_bytes()).text).blocks_of(QR_TYPE))
        if case.options.keep_qr
        else 0
    )


@pytest.mark.parametrize("case", UNCHANGED, ids=ids(UNCHANGED))
def test_unchanged(case: Case) -> None:
    email = decode(case.input.read_bytes())
    result = patch(email.text, case.options)
    assert not result.changed
    assert result.text is email.text or result.text == email.text


@pytest.mark.parametrize("case", REFUSE, ids=ids(REFUSE))
def test_refused_with_message_and_position(case: Case) -> None:
    fragment, position = case.error
    email = decode(case.input.read_bytes())
    with pytest.raises(Refusal) as info:
        patch(email.text, case.options)
    assert fragment in info.value.reason
    assert LineIndex(email.text).label(info.value.offset) == position
