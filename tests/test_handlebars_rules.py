"""The Handlebars rules have one home (mailpatch/_handlebars.py); the verifier keeps its own
reading of the loop markers (mailpatch/_verify.py), so that a mistake in the shared one cannot
vouch for itself. Here the two readings must agree: on every fixture, and on generated
marker soup."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailpatch._handlebars import EXPRESSION, HB_COMMENT, MarkerKind, classify, normal_guid
from mailpatch._verify import _EVENT_IF, _MARKER

FIXTURES = Path(__file__).parent.parent / "fixtures"
# the verifier's names for the shared kinds ({{else if …}} is an {{else}} to it: refused
# either way, as a sequence that is no whole loop)
_NAMES = {
    MarkerKind.EACH: "each",
    MarkerKind.IF_EVENT: "if",
    MarkerKind.IF_OTHER: "if",
    MarkerKind.ELSE: "else",
    MarkerKind.ELSE_CHAIN: "else",
    MarkerKind.END_IF: "endif",
    MarkerKind.END_EACH: "endeach",
    MarkerKind.OTHER_BLOCK: "other",
}


def shared(text: str) -> list[tuple[str, str]]:
    out = []
    for m in EXPRESSION.finditer(text):
        if m.group(1) is None:
            continue  # a long comment
        found = classify(m.group(1))
        if found is not None:
            kind, guid = found
            out.append((_NAMES[kind], normal_guid(guid) if kind is MarkerKind.IF_EVENT else ""))
    return out


def verifier(text: str) -> list[tuple[str, str]]:
    """As _verify._loop_sequence reads the text of a Button."""
    out = []
    text = HB_COMMENT.sub("", text)
    for m in _MARKER.finditer(text):
        name, guid = m.lastgroup or "", ""
        if name == "if":
            ev = _EVENT_IF.match(text, m.start())
            guid = normal_guid(ev.group(1) or ev.group(2)) if ev else ""
        out.append((name, guid))
    return out


@pytest.mark.parametrize(
    "path",
    sorted(FIXTURES.rglob("*.html")),
    ids=lambda p: str(p.relative_to(FIXTURES)),
)
def test_both_readings_agree_on_every_fixture(path: Path) -> None:
    text = path.read_text("utf-8-sig")
    assert shared(text) == verifier(text)


_PARTS = [
    "{{#each contact.msevtmgt_contact_msevtmgt_registration}}",
    "{{#if (eq this.msevtmgt_eventid 'E4B81D2F-0A6C-EE11-9079-6045BD8E1F20')}}",
    "{{#if (eq msevtmgt_eventid \"{e4b81d2f-0a6c-ee11-9079-6045bd8e1f20}\")}}",
    "{{#if (eq 'e4b81d2f-0a6c-ee11-9079-6045bd8e1f20' this.msevtmgt_eventid)}}",
    "{{#if x}}",
    "{{~#each a~}}",
    "{{else}}",
    "{{^}}",
    "{{/if}}",
    "{{/each}}",
    "{{~/if~}}",
    "{{#unless x}}",
    "{{^x}}",
    "{{else if y}}",
    "{{ #if x}}",  # not a marker to Handlebars: neither reading takes it
    "{{/unless}}",
    "{{!-- {{/if}} --}}",
    "{{contact.firstname}}",
    "<p>",
    " ",
    "\n",
]


@given(st.lists(st.sampled_from(_PARTS), max_size=12))
def test_both_readings_agree_on_well_formed_marker_soup(parts: list[str]) -> None:
    text = "".join(parts)
    assert shared(text) == verifier(text)
