"""Button blocks left unread past the horizon (``_blocks.button_horizon``) change nothing.

``patch`` leaves unread the Buttons from which none can matter: past the last ERQRCode block,
the last loop word and the last place that may hold a placeholder or calendar link. Whatever
the email, the result (or the refusal, word for word) is the one a reading of every Button
gives. Each test compares the two.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailpatch import decode
from mailpatch._blocks import button_horizon, locate
from mailpatch._errors import MissingOption, Refusal
from mailpatch._options import build_options
from mailpatch._patch import PatchOptions, patch_read, read_email
from mailpatch._survey import Survey

from fixturecases import cases

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import corpus

GUID = "2c7e9a41-5f3b-ef11-a82e-000d3a4b7c91"
OPTIONS = build_options(endpoint=corpus.ENDPOINT, event_id="Summit")
MAPPED = build_options(endpoint=corpus.ENDPOINT, events=[f"{g}={r}" for g, r in corpus.EVENTS])


def outcome(text: str, options: PatchOptions, every_button: bool) -> object:
    """What patch() makes of ``text`` reading every Button, or leaving some unread."""
    try:
        result = patch_read(text, options, read_email(text, every_button=every_button))
    except (Refusal, MissingOption) as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "offset", None))
    return (result.text, result.edits, result.pairings, result.qr_blocks, result.patched_buttons,
            result.updates, result.left_behind, result.unchecked)  # fmt: skip


def same(text: str, options: PatchOptions = OPTIONS) -> None:
    assert outcome(text, options, False) == outcome(text, options, True)


QR = (
    '<div data-editorblocktype="ERQRCode"><!--{{#each contact.regs}}-->'
    f"<!--{{{{#if (eq this.msevtmgt_eventid '{GUID}')}}}}-->"
    '<img src="{{this.msevtmgt_qrcode}}"><!--{{/if}}--><!--{{/each}}--></div>\n'
)
PLACEHOLDER = '<div data-editorblocktype="Button"><a href="#">Add to calendar</a></div>\n'
REAL = '<div data-editorblocktype="Button"><a href="https://contoso.com/x">Read more</a></div>\n'
CALENDAR = (
    '<div data-editorblocktype="Button"><a href="https://contoso.svc.dynamics.com/EvtMgmt/api/'
    'v2.0/calendar/personal/ics?api-version=2016-06-30">Add</a></div>\n'
)
TEXT = "<p>Agenda, speakers, <b>venue</b>.</p>\n"

# what a Button past the pair may hold, each a reason to read it (or a disguise of one)
LATE = [
    pytest.param(REAL, id="real-link"),
    pytest.param(PLACEHOLDER, id="placeholder"),
    pytest.param(PLACEHOLDER.replace('href="#"', 'HREF="#"').replace("<a ", "<A "), id="upper"),
    pytest.param(PLACEHOLDER.replace(' href="#"', ""), id="no-href"),
    pytest.param(PLACEHOLDER.replace('"#"', '"&#35;"'), id="entity-hash"),
    pytest.param(PLACEHOLDER.replace('"#"', '""'), id="empty-href"),
    pytest.param(PLACEHOLDER.replace('"#"', "' about:blank '"), id="about-blank"),
    pytest.param(PLACEHOLDER.replace('href="#"', 'title="x" href=#'), id="unquoted"),
    pytest.param(
        PLACEHOLDER.replace('href="#"', 'title="href=\'x\'" href="#"'), id="href-in-title"
    ),
    pytest.param(PLACEHOLDER.replace('href="#"', 'href="#" href="https://x"'), id="two-hrefs"),
    pytest.param(REAL.replace('href="', 'href = "'), id="spaced-real"),
    pytest.param(CALENDAR, id="calendar"),
    pytest.param(CALENDAR.replace("https://", "https:"), id="calendar-slashless"),
    pytest.param(CALENDAR.replace("calendar", "&#99;alendar"), id="calendar-entity"),
    pytest.param(  # a link to this event's calendar written plainly: a candidate
        CALENDAR.replace("?api-version=2016-06-30", "?data=[{%22readableEventId%22:%22Summit%22}]"),
        id="calendar-of-the-event",
    ),
    pytest.param(
        '<div data-editorblocktype="Button"><!--[if mso]><v:roundrect href="#">'
        "<![endif]--></div>\n",
        id="vml-only",
    ),
    pytest.param(
        '<div data-editorblocktype="Button"><!--[if mso]><v:roundrect href="#">'
        "<![endif]--><a href=\"https://contoso.com\">x</a></div>\n",
        id="vml-placeholder",
    ),
    pytest.param(
        '<div data-editorblocktype="Button"><!--[IF mso]><v:rect HREF="">'
        "<![endif]--><a href=\"https://contoso.com\">x</a></div>\n",
        id="vml-empty-upper",
    ),
    pytest.param(
        '<div data-editorblocktype="Button"><!--[if mso]><v:rect title="a<b" href="#">'
        "<![endif]--><a href=\"https://contoso.com\">x</a></div>\n",
        id="vml-lt-in-value",
    ),
    pytest.param(
        '<div data-editorblocktype="Button">'
        f"<!--{{{{#each r}}}}--><!--{{{{#if (eq this.msevtmgt_eventid '{GUID}')}}}}-->"
        '<a href="https://x">x</a><!--{{/if}}--><!--{{/each}}--></div>\n',
        id="loop",
    ),
    pytest.param('<div data-editorblocktype="Button"><a href="https://x">x</a>\n', id="unclosed"),
    pytest.param(
        '<div data-editorblocktype="Button"><a href="https://x">x</a></td></tr></table>\n',
        id="closes-an-ancestor",
    ),
    pytest.param(PLACEHOLDER.replace('"Button"', '"Button" data-locked="1"'), id="locked"),
    pytest.param(f"<!-- {PLACEHOLDER} -->\n", id="in-a-comment"),
    pytest.param('<p title="<a href=\'#\'>"></p>' + REAL, id="lookalike-in-a-value"),
]


@pytest.mark.parametrize("late", LATE)
@pytest.mark.parametrize("button", [PLACEHOLDER, REAL], ids=["pair", "no-pair"])
def test_a_button_past_the_pair_changes_nothing(late: str, button: str) -> None:
    body = QR + TEXT + button + TEXT * 3 + late + TEXT + REAL
    text = f"<html><body>\n{body}</body></html>\n"
    same(text)
    same(text, MAPPED)
    same(text, build_options(endpoint=corpus.ENDPOINT, event_id="Summit", buttons=["4"]))


def test_a_newsletter_s_buttons_are_left_unread() -> None:
    """The point of it: the Buttons of the other sections are not read."""
    text = "<html><body>\n" + QR + TEXT + PLACEHOLDER + (TEXT + REAL) * 20 + "</body></html>\n"
    survey = Survey(text)
    horizon = button_horizon(text, survey)
    assert horizon is not None and horizon < text.index(REAL)
    doc = locate(text, survey, horizon)
    assert not doc.every_button and len(doc.blocks) == 2
    same(text)


def test_a_refusal_names_every_button() -> None:
    """No Button to pair: the message lists the Buttons that link elsewhere, all of them."""
    text = "<html><body>\n" + QR + (TEXT + REAL) * 5 + "</body></html>\n"
    lazy = outcome(text, OPTIONS, every_button=False)
    assert lazy == outcome(text, OPTIONS, every_button=True)
    assert str(lazy).count("Read more") == 5


@pytest.mark.parametrize("seed", range(40))
def test_corpus_emails(seed: int) -> None:
    rng = random.Random(seed)
    email = corpus.make_email(rng, "e.html", rng.randint(2_000, 60_000), rng.choice([0, 1, 2]))
    same(email.text, MAPPED)


@pytest.mark.parametrize("case", cases("patch") + cases("refuse") + cases("unchanged"),
                         ids=lambda c: c.name)  # fmt: skip
def test_fixtures(case: object) -> None:
    same(decode(case.input.read_bytes()).text, case.options)  # type: ignore[attr-defined]


_PIECES = st.sampled_from(
    [QR, PLACEHOLDER, REAL, CALENDAR, TEXT, "</div>", "<div>", "<!--", "-->", "<a>", "</a>",
     '<a href="#">', "<!--[if mso]>", '<v:rect href="#">', "<![endif]-->", '"', "<table><tr><td>",
     "</td></tr></table>", "<style>", "</style>", "{{", f"msevtmgt_eventid '{GUID}'"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_any_mix(text: str) -> None:
    same(text)
    same(text, MAPPED)
