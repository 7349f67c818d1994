"""Telling a real-time journeys email (or an outbound one imported into it) from an outbound
email without an ERQRCode block (mailpatch._journeys)."""

from __future__ import annotations

import pytest

from mailpatch._journeys import journeys_look

from fixturecases import FIXTURES

RTJ = FIXTURES / "unchanged" / "real-time-journeys-email" / "input.html"
OUTBOUND = FIXTURES / "unchanged" / "no-qr-block" / "input.html"


@pytest.mark.parametrize(
    ("html_", "signs"),
    [
        pytest.param(
            "<p>Dear {{FirstName}},</p>{{CompanyAddress}}",
            ["{{FirstName}}", "{{CompanyAddress}}"],
            id="label-beside-a-token",
        ),
        pytest.param(
            '<a href="{{PreferenceCenter}}">x</a> {{ CompanyAddress }}',
            ["{{PreferenceCenter}}", "{{ CompanyAddress }}"],
            id="compliance-tokens",
        ),
        pytest.param(
            '<div data-layout-version="v2"><!-- {{#if placeholderName}} --><p>x</p>'
            "<!-- {{/if}} -->",
            ["data-layout-version (inferred)", "{{#if placeholderName}}"],
            id="inline-condition",
        ),
        pytest.param(
            "<!-- {{#each Products}} -->{{PreferenceCenter}}",
            ["{{#each Products}}", "{{PreferenceCenter}}"],
            id="list",
        ),
        pytest.param(
            '<div data-layout="true" data-layout-version="v2">',
            ["data-layout-version (inferred)"],
            id="layout-inferred",
        ),
        pytest.param(
            '<span class="msdynmkt_personalization">x</span>',
            ['class="msdynmkt_personalization (inferred)'],
            id="personalization-span-inferred",
        ),
    ],
)
def test_signs_of_real_time_journeys(html_: str, signs: list[str]) -> None:
    look = journeys_look(html_)
    assert look is not None
    assert [s.text + ("" if s.documented else " (inferred)") for s in look.signs] == signs


@pytest.mark.parametrize(
    "html_",
    [
        pytest.param("<p>No personalization at all.</p>", id="plain"),
        # labels alone: the event's Calendar content beside the emails, a hand-written page
        pytest.param("<p>Dear {{FirstName}},</p>", id="a-label-alone"),
        pytest.param("<p>Hello {{name}}</p>", id="a-bare-name"),
        pytest.param(
            "<p>{{firstname}}, your code {{registrationId}}: {{msevtmgt_checkin_url}}</p>",
            id="calendar-content",
        ),
        pytest.param("<p>Hi {{contact.firstname}}</p>{{PreferenceCenter}}", id="entity-path"),
        pytest.param("{{#if (eq contact.address1_country 'Denmark')}}x{{/if}}", id="helper"),
        pytest.param("{{msdyncrm_contentsettings.msdyncrm_subscriptioncenter}}", id="settings"),
        pytest.param(
            "{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}"
            "{{this.msevtmgt_name}}{{else}}none{{/each}}",
            id="outbound-loop-without-qr",
        ),
        pytest.param("{{{contact.firstname}}} {{FirstName}}", id="triple-stash-entity"),
    ],
)
def test_outbound_and_plain_emails_are_not_taken_for_real_time_ones(html_: str) -> None:
    assert journeys_look(html_) is None


def test_the_fixtures() -> None:
    look = journeys_look(RTJ.read_text("utf-8"))
    assert look is not None and look.summary() == (
        "{{FirstName}}, {{CompanyAddress}}, {{PreferenceCenter}}"
    )
    assert journeys_look(OUTBOUND.read_text("utf-8")) is None


MARKUP_ONLY = [
    '<span class="msdynmkt_personalization">x</span>',
    "<SPAN CLASS=MSDYNMKT_PERSONALIZATION>x</SPAN>",
    '<div data-layout="true" data-layout-version="v2">',
    '<DIV Data-Layout-Version="v2">',
    '<meta name="x" value="marketing-designer-layout-editable">',
    "<META VALUE='MARKETING-DESIGNER-LAYOUT-EDITABLE'>",
]


@pytest.mark.parametrize(
    "html_", [*MARKUP_ONLY, RTJ.read_text("utf-8"), OUTBOUND.read_text("utf-8"), "<p>plain</p>"]
)
def test_the_markup_gate_lets_through_whatever_the_markup_pattern_finds(html_: str) -> None:
    """The words looked for first (a fast gate) are in every text _MARKUP matches, in any
    case; markup alone, in any case, is still found."""
    from mailpatch._journeys import _MARKUP, _has_markup_words

    assert _has_markup_words(html_) or not _MARKUP.search(html_)
    if html_ in MARKUP_ONLY:
        look = journeys_look(html_)
        assert look is not None and [s.documented for s in look.signs] == [False]
