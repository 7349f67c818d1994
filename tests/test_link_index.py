"""A Button's links are a range of its document's LinkIndex, and what patch asks of them is
answered for the range (_blocks.Links): each answer is the one the links, read one by one as
a tuple, give. So are its label (from the document's text index) and the problems lint finds
in its links (by jumps). Nested and unclosed Buttons, which hold all the links and text after
them, are where the two ways part in cost and must not part in result."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailpatch._blocks import (
    BUTTON_TYPE,
    ButtonBlock,
    Element,
    Links,
    button_label,
    label_of,
    locate,
    markers,
    markers_at_most,
    read_button_block,
    scan,
)
from mailpatch._errors import Refusal
from mailpatch._html import Kind, LineIndex, tokenize, unescape
from mailpatch._lint import Problem, _check_buttons, _dead_link, links
from mailpatch._patch import (
    EventRef,
    PatchOptions,
    _links_in_branch,
    _not_all_calendar,
    _served_events,
    _up_to_date,
    buttons_in,
    patch,
    scheme_fixes,
)

from pathological_inputs import qr

HOST = "contoso.svc.dynamics.com"


def calendar(readable: str, host: str = HOST, scheme: str = "https://") -> str:
    return (
        f"{scheme}{host}/EvtMgmt/api/v2.0/calendar/personal/ics?api-version=2016-06-30&amp;"
        f"data=[{{%22readableEventId%22:%22{readable}%22}}]"
    )


PIECES = [
    '<div data-editorblocktype="Button">',
    "</div>",
    '<a href="#">x</a>',
    "<a>x</a>",
    '<a href="">x</a>',
    '<a href="https://contoso.com">x</a>',
    f'<a href="{calendar("ev-1")}">x</a>',
    f'<a href="{calendar("ev-2")}">x</a>',
    f'<a href="{calendar("ev-1", "other.example.com")}">x</a>',
    f'<a href="{calendar("ev-1", scheme="https:")}">x</a>',
    '<!--[if mso]><v:rect href="#"><![endif]-->',
    f'<!--[if mso]><v:rect href="{calendar("ev-1")}"><![endif]-->',
    "<!-- a comment -->",
    "<p>text</p>",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=24).map("".join), st.booleans())
def test_answers_for_a_range_are_the_answers_link_by_link(text: str, whole: bool) -> None:
    doc = scan(text) if whole else locate(text)
    for element in doc.blocks_of(BUTTON_TYPE):
        button = read_button_block(doc, element)
        assert isinstance(button.links, Links)
        listed = ButtonBlock(element, tuple(button.links), button.loop_guids)
        assert button.links == listed.links and len(button.links) == len(listed.links)
        for host in (HOST, None, "other.example.com"):
            assert _served_events(button, host) == _served_events(listed, host)
        for readable in ("ev-1", "ev-2"):
            href = calendar(readable)
            assert _up_to_date(button.links, href) == _up_to_date(listed.links, href)
        assert _not_all_calendar(button.links) == _not_all_calendar(listed.links)
        assert scheme_fixes(doc, [button]) == scheme_fixes(doc, [listed])
        if button.links:
            ends = (button.links[0].tag.token.start, button.links[-1].tag.token.start + 1)
            for a in (ends[0] - 1, ends[0], ends[0] + 1):
                for b in (ends[1] - 1, ends[1], ends[1] + 1):
                    found = [None, _Mark(a, a), _Mark(b, b)]
                    assert _links_in_branch(found, button) == _links_in_branch(found, listed)  # type: ignore[arg-type]


class _Mark:
    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end


LABEL_PIECES = [
    '<div data-editorblocktype="Button">',
    "</div>",
    '<a href="#">',
    "</a>",
    "Register now",
    " ",
    "\n\t ",
    "&nbsp;",
    "&amp",
    "&#65",
    "x&lt;y",
    "a-very-long-word-that-fills-most-of-the-forty-characters",
    "<script>var a = '<div>';</script>",
    "<style>p { }</style>",
    "<!-- hidden text -->",
    '<img alt="not text" src="x">',
    '<p title="a > b">in the paragraph</p>',
    "<b",
    "<",
    "&",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(LABEL_PIECES), max_size=30).map("".join), st.booleans())
def test_a_label_from_the_text_index_is_the_label_tokenized_again(
    text: str, whole: bool
) -> None:
    doc = scan(text) if whole else locate(text)
    for element in doc.blocks_of(BUTTON_TYPE):
        assert label_of(doc, element) == _label_as_it_was(ButtonBlock(element, (), frozenset()))
        assert button_label(ButtonBlock(element, (), frozenset())) == label_of(doc, element)


def _label_as_it_was(button: ButtonBlock) -> str:
    """The label as read before the index: every text token of the content, joined."""
    el = button.element
    source = el.tag.source
    parts = [
        source[t.start : t.end]
        for t in tokenize(source, el.content_start, el.content_end)
        if t.kind is Kind.TEXT
    ]
    text = " ".join(unescape(" ".join(parts)).split())
    return text[:40] + ("…" if len(text) > 40 else "")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=24).map("".join))
def test_lint_finds_by_jumps_the_button_problems_found_link_by_link(text: str) -> None:
    doc = scan(text)
    found = links(doc)
    lines = LineIndex(text)
    patched: dict[str, Element] = {}
    as_they_were: dict[str, Element] = {}
    assert list(_check_buttons(doc, found, lines, patched)) == list(
        _button_problems_as_they_were(doc, found, lines, as_they_were)
    )
    assert patched == as_they_were


def _button_problems_as_they_were(doc, found, lines, patched):  # type: ignore[no-untyped-def]
    """MP205 and MP206 as lint found them before the jumps: every link of every Button (and
    the Buttons carrying each event's loop)."""
    for element in doc.blocks_of(BUTTON_TYPE):
        lo, hi = element.content_start, element.content_end
        inside = [link for link in found if lo <= link.tag.token.start < hi]
        calendar = [link for link in inside if link.calendar]
        if not calendar:
            continue
        for guid in read_button_block(doc, element).loop_guids:
            patched.setdefault(guid, element)
        first = calendar[0]
        for link in inside:
            if not link.calendar:
                yield Problem("MP205", link.offset, _dead_link(link, first, lines))
            elif link is not first and link.url != first.url:
                yield Problem(
                    "MP206",
                    link.offset,
                    f"this calendar link differs from the one at {lines.label(first.offset)}",
                )


# --- labels in a refusal's choices and in the Button summaries --------------------------------

OPEN_BUTTON = '<div data-editorblocktype="Button">'


@pytest.mark.parametrize(
    "text",
    [
        qr() + (OPEN_BUTTON + "<p>Add &amp; go</p>") * 3 + '<a href="#">x</a>',  # ambiguous
        qr() + (OPEN_BUTTON + '<a href="#">Add</a></div>') * 2,
        qr() + OPEN_BUTTON + '<a href="https://contoso.com">Read</a><b' + "</div>",  # none
        qr() + (OPEN_BUTTON + "<style>p { }</style>word ") * 40 + '<a href="#">x</a>',
    ],
)
def test_buttons_are_named_by_the_labels_their_text_gives(text: str) -> None:
    """A refusal names its choices, and buttons_in its Buttons, by the label the Button's
    own text tokenized gives (read from the document's text index: Buttons left open each
    hold all the text after them, and each was tokenized to its end)."""
    doc = locate(text)
    labels = [
        button_label(read_button_block(doc, el)) for el in doc.blocks_of(BUTTON_TYPE)
    ]
    assert [s.label for s in buttons_in(text)] == labels
    with pytest.raises(Refusal) as refused:
        patch(text, PatchOptions(endpoint=HOST, event=EventRef("ev-1")))
    starts = [el.start for el in doc.blocks_of(BUTTON_TYPE)]
    assert refused.value.buttons
    assert [c.label for c in refused.value.buttons] == [
        labels[starts.index(c.offset)] for c in refused.value.buttons
    ]


MARKER_PIECES = [
    OPEN_BUTTON,
    "</div>",
    "<!--{{#each x}}-->",
    "{{#if (eq this.msevtmgt_eventid 'e4b81d2f-0a6c-ee11-9079-6045bd8e1f20')}}",
    "{{else}}",
    "<!--{{/if}}-->",
    "{{/each}}",
    "{{x}}",
    '<a href="#">x</a>',
    "<p>",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(MARKER_PIECES), max_size=24).map("".join),
    st.booleans(),
    st.integers(0, 7),
    st.data(),
)
def test_markers_at_most_are_the_markers_listed_and_counted(
    text: str, whole: bool, most: int, data: st.DataObject
) -> None:
    doc = scan(text) if whole else locate(text)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    listed = markers(doc, start, end)
    assert markers_at_most(doc, start, end, most) == (listed if len(listed) <= most else None)
