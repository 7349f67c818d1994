"""Which Button a QR block is paired with: candidates by their links, nearest in document order."""

from __future__ import annotations

import pytest

from mailpatch._errors import Cause, Refusal
from mailpatch._link import CalendarLink
from mailpatch._patch import EventRef, PatchOptions, patch

from pathological_inputs import ENDPOINT, TEXT, guid, qr

OPTIONS = PatchOptions(endpoint=ENDPOINT, event=EventRef("ev-1"))
SAME = CalendarLink(ENDPOINT, "ev-1").href()
OTHER = CalendarLink(ENDPOINT, "ev-2").href()
BROKEN = "https://contoso.svc.dynamics.com/EvtMgmt/api/v2.0/calendar/personal/ics?data=[{"
# one link for two events: the API's reading of it is not one event's (read_calendar_link),
# so it is no link to this event, as preview, serve and ics read it too
SAME_AND_OTHER = SAME.removesuffix("]") + ",{%22readableEventId%22:%22ev-2%22}]"
SESSION_NOT_TEXT = SAME.replace("[{", "[{%22sessionId%22:1,", 1)


def button(label: str, *hrefs: str) -> str:
    links = "".join(f'<a class="buttonClass" href="{h}">{label}</a>' for h in hrefs)
    return f'<div data-editorblocktype="Button">{links}</div>\n'


PAIRED = [
    pytest.param([button("A", "#")], "A", id="placeholder"),
    pytest.param([button("A", SAME)], "A", id="calendar-link-same-event"),
    pytest.param([button("A", "#", SAME)], "A", id="placeholder-and-same-event"),
    pytest.param([button("A", OTHER), button("B", "#")], "B", id="other-event-skipped"),
    pytest.param([button("A", BROKEN), button("B", "about:blank")], "B", id="broken-link-skipped"),
    pytest.param([button("A", SAME, OTHER), button("B", "")], "B", id="two-events-skipped"),
    pytest.param(
        [button("A", SAME_AND_OTHER), button("B", "#")], "B", id="one-link-two-events-skipped"
    ),
    pytest.param(
        [button("A", SESSION_NOT_TEXT), button("B", "#")], "B", id="session-not-text-skipped"
    ),
    pytest.param(
        [button("A", "https://example.com/"), button("B", "#")], "B", id="real-link-skipped"
    ),
]


@pytest.mark.parametrize(("after", "label"), PAIRED)
def test_pairs_with(after: list[str], label: str) -> None:
    text = qr() + "".join(after)
    (pairing,) = patch(text, OPTIONS).pairings
    assert text[text.index("</a>", pairing.button_offset) - 1] == label


TWO_EVENTS = PatchOptions(
    endpoint=ENDPOINT,
    events={guid(0): EventRef("ev-1"), guid(1): EventRef("ev-2")},
)
NEAREST = [
    pytest.param(
        [button("A", "#"), "QR", TEXT, TEXT, "QR", button("B", "#")],
        OPTIONS,
        ["A", "B"],
        id="each-to-its-nearest",
    ),
    pytest.param(
        [button("A", "#"), "QR", TEXT, button("B", "#"), "QR"],
        OPTIONS,
        ["A", "B"],
        id="nearer-before-then-after",
    ),
    pytest.param(
        [button("A", OTHER), TEXT, "QR0", "QR1", TEXT, button("B", SAME)],
        TWO_EVENTS,
        ["B", "A"],
        id="calendar-links-by-event-not-distance",
    ),
]


def email(blocks: list[str]) -> str:
    qrs = {"QR": qr(), "QR0": qr(guid(0)), "QR1": qr(guid(1))}
    return "".join(qrs.get(b, b) for b in blocks)


@pytest.mark.parametrize(("blocks", "options", "labels"), NEAREST)
def test_nearest_candidate(blocks: list[str], options: PatchOptions, labels: list[str]) -> None:
    text = email(blocks)
    paired = [text[text.index("</a>", p.button_offset) - 1] for p in patch(text, options).pairings]
    assert paired == labels


IN_ORDER = [  # one pairing in document order exists: it is taken (docs/reference.md, "Pairing")
    pytest.param(
        [button("A", "#"), "QR", button("B", "#"), TEXT, "QR"], ["A", "B"], id="was-a-tie"
    ),
    pytest.param(
        ["QR", button("A", "#"), "QR", TEXT, button("B", "#")], ["A", "B"], id="nearest-taken"
    ),
    pytest.param(
        ["QR0", button("A", "#"), "QR1", button("B", "#")], ["A", "B"], id="qr-button-qr-button"
    ),
    pytest.param(
        [button("A", "#"), "QR0", button("B", "#"), "QR1"], ["A", "B"], id="button-qr-button-qr"
    ),
    pytest.param(
        ["QR0", TEXT, button("A", "#"), TEXT, "QR1", TEXT, button("B", "#")],
        ["A", "B"],
        id="a-section-per-event",
    ),
    pytest.param(
        ["QR0", TEXT, TEXT, TEXT, button("A", "#"), "QR1", button("B", "#")],
        ["A", "B"],
        id="text-between-qr-and-button",
    ),
]


@pytest.mark.parametrize(("blocks", "labels"), IN_ORDER)
def test_paired_in_document_order(blocks: list[str], labels: list[str]) -> None:
    text = email(blocks)
    result = patch(text, TWO_EVENTS if "QR0" in blocks else OPTIONS)
    paired = [text[text.index("</a>", p.button_offset) - 1] for p in result.pairings]
    assert paired == labels
    assert 'data-editorblocktype="ERQRCode"' not in result.text


@pytest.mark.parametrize(
    "blocks",
    [
        pytest.param(["QR", TEXT, button("A", "#"), TEXT, "QR"], id="code-at-top-and-bottom"),
        pytest.param(["QR", "QR", button("A", "#")], id="two-codes-then-button"),
        pytest.param(
            ["QR0", "QR0", button("A", "#"), "QR1", button("B", "#")], id="two-of-one-event"
        ),
    ],
)
def test_qr_blocks_of_one_event_share_one_button(blocks: list[str]) -> None:
    """A code at the top and at the bottom, one Button: it is patched once, both codes go."""
    text = email(blocks)
    result = patch(text, TWO_EVENTS if "QR0" in blocks else OPTIONS)
    assert len(result.pairings) == len({b for b in blocks if b.startswith("QR")})
    assert 'data-editorblocktype="ERQRCode"' not in result.text
    assert result.text.count("{{#each") == len(result.pairings)
    assert not patch(result.text, TWO_EVENTS if "QR0" in blocks else OPTIONS).changed


def test_an_explicit_button_serves_every_qr_block_of_its_event() -> None:
    blocks = ["QR", TEXT, button("A", "#"), button("B", "#"), button("C", "#"), TEXT, "QR"]
    text = email(blocks)
    with pytest.raises(Refusal, match="more than one way"):
        patch(text, OPTIONS)
    b_line = text[: text.index('href="#">B')].count("\n") + 1
    chosen = PatchOptions(endpoint=ENDPOINT, event=EventRef("ev-1"), buttons=((b_line, None),))
    result = patch(text, chosen)
    assert [text[text.index("</a>", p.button_offset) - 1] for p in result.pairings] == ["B"]
    assert 'data-editorblocktype="ERQRCode"' not in result.text


REFUSED = [
    pytest.param(["QR", button("A", OTHER)], "no Button block to pair", id="only-other-event"),
    pytest.param(["QR", button("A", "#"), button("B", SAME)], "ambiguous: 1", id="two-for-one"),
    pytest.param(
        [button("A", "#"), "QR", button("B", "#")], "more than one way", id="one-qr-between-two"
    ),
    pytest.param(
        ["QR", button("A", "#"), button("B", "#"), button("C", "#"), "QR"],
        "more than one way",
        id="two-codes-three-buttons",
    ),
]


@pytest.mark.parametrize(("blocks", "fragment"), REFUSED)
def test_refused(blocks: list[str], fragment: str) -> None:
    with pytest.raises(Refusal, match=fragment):
        patch(email(blocks), OPTIONS)


def _labels(text: str, refusal: Refusal) -> list[tuple[str, bool]]:
    """The Buttons a refusal offers, as (label, links elsewhere), each checked to start at
    its offset."""
    for choice in refusal.buttons:
        assert text.startswith('<div data-editorblocktype="Button"', choice.offset)
    return [(choice.label, choice.links_elsewhere) for choice in refusal.buttons]


REAL = "https://example.com/join"
STRUCTURED = [
    pytest.param(
        ["QR", button("A", "#"), button("B", "#")],
        OPTIONS,
        Cause.AMBIGUOUS,
        [("A", False), ("B", False)],
        id="ambiguous",
    ),
    pytest.param(
        ["QR", button("Join", REAL), TEXT, button("Web", REAL)],
        OPTIONS,
        Cause.NO_BUTTON,
        [("Join", True), ("Web", True)],
        id="no-button-only-real-links",
    ),
    pytest.param(["QR", TEXT], OPTIONS, Cause.NO_BUTTON, [], id="no-button-at-all"),
    pytest.param(
        [qr(guid(0)), qr(guid(1)), button("A", "#"), button("Join", REAL)],
        TWO_EVENTS,
        Cause.TOO_FEW,
        [("A", False), ("Join", True)],
        id="too-few-for-two-events",
    ),
    pytest.param(
        ["QR", button("A", "#"), button("Join", REAL)],
        PatchOptions(endpoint=ENDPOINT, event=EventRef("ev-1"), buttons=((999, None),)),
        Cause.CHOICE,
        [("A", False), ("Join", True)],
        id="choice-that-names-no-button",
    ),
    pytest.param(
        ["QR", '<div data-editorblocktype="Button" data-protected="true">'
         '<a class="buttonClass" href="#">Locked</a></div>\n'],
        OPTIONS,
        Cause.LOCKED,
        [("Locked", False)],
        id="protected-button-named",
    ),
    pytest.param(
        ['<div data-locked="hard">' + qr() + "</div>", button("A", "#")],
        OPTIONS,
        Cause.LOCKED,
        [],
        id="locked-qr-block",
    ),
    pytest.param(["QR", button("A", "#")], PatchOptions(endpoint=ENDPOINT), None, [],
                 id="unmapped-event-is-other"),
]  # fmt: skip


@pytest.mark.parametrize(("blocks", "options", "cause", "offered"), STRUCTURED)
def test_refusals_say_their_cause_and_the_buttons_to_choose_from(
    blocks: list[str],
    options: PatchOptions,
    cause: Cause | None,
    offered: list[tuple[str, bool]],
) -> None:
    """What the page of `mailpatch serve` answers with a choice, read from the refusal
    itself, never from its message."""
    text = email(blocks)
    with pytest.raises(Refusal) as info:
        patch(text, options)
    assert info.value.cause is (cause or Cause.OTHER)
    assert _labels(text, info.value) == offered


def test_the_button_chosen_from_a_refusal_settles_it() -> None:
    text = email(["QR", button("A", "#"), TEXT, button("B", "#")])
    with pytest.raises(Refusal) as info:
        patch(text, OPTIONS)
    second = info.value.buttons[1]
    line = text[: second.offset].count("\n") + 1
    column = second.offset - (text.rfind("\n", 0, second.offset) + 1) + 1
    chosen = PatchOptions(endpoint=ENDPOINT, event=EventRef("ev-1"), buttons=((line, column),))
    (pairing,) = patch(text, chosen).pairings
    assert pairing.button_offset == second.offset


@pytest.mark.parametrize(("count", "named"), [(30, 30), (31, 30), (40, 30)])
def test_a_refusal_names_thirty_buttons_and_counts_the_rest(count: int, named: int) -> None:
    """The message names the first thirty candidates and says how many more (thousands made
    a message of 300 KB); the choices behind it hold them all."""
    text = email(["QR", *(button(f"B{i}", "#") for i in range(count))])
    with pytest.raises(Refusal) as caught:
        patch(text, OPTIONS)
    message = str(caught.value)
    assert [f"'B{i}'" in message for i in range(count)] == [i < named for i in range(count)]
    assert ("; and 10 more" in message) == (count == 40)
    assert (" more)" in message) == (count > named)
    assert len(caught.value.buttons) == count


def test_a_loop_refusal_names_six_events_and_markers_and_counts_the_rest() -> None:
    """Buttons left open, each testing its own event: the first holds all ten tests, and
    its refusal names six events and six markers, then how many more (2,000 made 152 KB)."""
    from pathological_inputs import MANY_EVENTS, buttons_testing_events

    with pytest.raises(Refusal) as caught:
        patch(buttons_testing_events(10), MANY_EVENTS)
    message = str(caught.value)
    assert [guid(i) in message for i in range(10)] == [i < 6 for i in range(10)]
    assert f"{guid(5)}, and 4 more but not a whole one" in message
    assert message.count("{{#if (eq this.msevtmgt_eventid …)}}") == 6
    assert message.endswith(", and 4 more)")
