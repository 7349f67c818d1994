"""Button blocks left unread past the horizon (``_blocks.button_horizon``) change nothing.

``patch`` leaves unread the Buttons from which none can matter: past the last ERQRCode block,
the last loop word and the last place that may hold a placeholder or calendar link. Whatever
the email, the result (or the refusal, word for word) is the one a reading of every Button
gives. Each test compares the two.
"""

from __future__ import annotations

import random
import re
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


# --- the places read in C, against reading every place in Python ---------------------------


def horizon_reading_every_place(source: str) -> int | None:
    """``button_horizon`` as it was before its places were found in C: every '<a' and every
    '<!--[if' after the pair read in Python, each comment to its '-->' (quadratic when
    thousands are left open). The reference for the one it became."""
    from mailpatch._blocks import (
        _PLAIN_LINK,
        LinkKind,
        _comment_at,
        _token_links,
        horizon_bounds,
        is_calendar_url,
    )
    from mailpatch._html import iter_tokens

    bounds = horizon_bounds(source)  # (shared: the places after it are what changed)
    if bounds is None:
        return None
    horizon, last_button = bounds
    places = [m.start() for m in re.finditer(r"<(?:[aA](?=[\t\n\f\r />])|!--\[(?i:if)\b)",
                                             source[horizon:])]  # fmt: skip
    for place in reversed([horizon + p for p in places]):
        if source[place + 1] != "!":
            plain = _PLAIN_LINK.match(source, place)
            if plain is not None and not is_calendar_url(plain["url"]):
                continue
            tok = next(iter_tokens(source, place))
        else:
            end = source.find("-->", place + 4)
            if "href" not in source[place + 4 : None if end < 0 else end].lower():
                continue
            tok = _comment_at(source, place)
        if any(link.kind is not LinkKind.REAL for link in _token_links(source, tok)):
            horizon = place + 1
            break
    return horizon if horizon <= last_button else None


def never_too_early(text: str) -> int | None:
    """The horizon, checked against the reference: the same, or (where a tag or comment
    runs past the next place, and is left unread) later, or none: never earlier."""
    fast, reference = button_horizon(text), horizon_reading_every_place(text)
    assert fast is None or (reference is not None and fast >= reference), (fast, reference)
    return fast


@pytest.mark.parametrize("seed", range(40))
def test_the_places_found_in_c_give_the_same_horizon_on_the_corpus(seed: int) -> None:
    rng = random.Random(seed)
    email = corpus.make_email(rng, "e.html", rng.randint(2_000, 60_000), rng.choice([0, 1, 2]))
    assert button_horizon(email.text) == horizon_reading_every_place(email.text)


@pytest.mark.parametrize(
    "late",
    [
        pytest.param('<a href="https://contoso.com/x">x</a>', id="elsewhere"),
        pytest.param('<a href="https://contoso.com/CALENDAR/Personal/ICS">x</a>', id="calendar"),
        pytest.param('<a href="https://contoso.com/caf\u00e9">x</a>', id="outside-ascii"),
        pytest.param('<a href="https://x" href="#">x</a>', id="first-href-elsewhere"),
        pytest.param('<a title="x" HREF="#">x</a>', id="placeholder"),
        pytest.param("<!--[if mso]><table><![endif]-->", id="ghost-table"),
        pytest.param('<!--[if mso]><v:rect href="#"><![endif]-->', id="vml-placeholder"),
        pytest.param('<!--[if mso]><v:rect HREF="https://x"><![endif]-->', id="vml-elsewhere"),
        pytest.param('<!--[if mso]>x<!--[if mso]><v:rect href="#"><![endif]-->', id="chained"),
        pytest.param("<!--[if mso]>x<!--[if mso]>y<![endif]-->", id="chained-no-href"),
        pytest.param('<!--[if mso]><a href="#">x</a><![endif]-->', id="a-inside"),
    ],
)
def test_the_places_found_in_c_give_the_same_horizon(late: str) -> None:
    text = "<html><body>\n" + QR + PLACEHOLDER + TEXT + late + TEXT + REAL + "</body></html>\n"
    assert button_horizon(text) == horizon_reading_every_place(text)
    same(text)


_PLACE_PIECES = st.sampled_from(
    [QR, PLACEHOLDER, REAL, CALENDAR, TEXT, "<!--[if mso]>", "<!--[IF mso]>", "<![endif]-->",
     "-->", "--!>", "<!--", '<v:rect href="#">', '<v:rect href="https://x">', "href", "HrEf",
     '<a href="#">', '<a href="https://x">', "<a ", '<a title="', '"', ">", "</a>",
     '<a href="https://x/calendar/personal/ics">', "\u00e9", "<style>", "</style>"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PLACE_PIECES, max_size=16).map("".join))
def test_the_places_found_in_c_are_never_too_early(text: str) -> None:
    never_too_early(text)
    same(text)
