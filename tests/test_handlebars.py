"""Render patched emails with the real Handlebars and check what a recipient's button links to.

The unit tests check the text mailpatch writes; these check what that text *does* once a
Handlebars engine fills it, which is what Dynamics 365 Marketing does at send time:

* a registered contact gets, in every paired Button (the ``<a>`` and Outlook's VML link), a
  calendar link that decodes to the right readable event id, session and registration;
* a contact without a registration gets no calendar link (and no QR image);
* no ``{{...}}`` survives rendering.

``tests/handlebars/render.js`` runs the real ``handlebars`` npm package in compat mode (recursive
lookup, the way the platform resolves ``contact.*`` inside ``#each``) with the ``eq`` helper the
platform provides (``tests/handlebars_harness.py``; the fixture ``handlebars`` in conftest.py).

Set up with ``npm ci --prefix tests/handlebars``. Without node or that install the module is
skipped locally and fails when ``CI`` is set: a silently skipped harness hides regressions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from mailpatch._link import decode_calendar_url

from handlebars_harness import (
    GUID_A,
    GUID_B,
    MUTANTS,
    PATCH_FIXTURES,
    REGISTRATIONS,
    SAMPLE_PATCHED,
    Href,
    Renderer,
    RenderError,
    collect_hrefs,
    event_guids,
    parse_html,
)

ICS_PATH = "/EvtMgmt/api/v2.0/calendar/personal/ics"
DEFAULT_API_VERSION = "2016-06-30"
FIRSTNAME = "Zoë"
QR_SRC = "data:image/png;base64,AAAA"
RESERVED_FIELD = "msevtmgt_checkin_url"
# Written out here rather than imported, so the expectation does not share a bug with the tool.
DEFAULT_FIELDS: tuple[tuple[str, str], ...] = (
    ("registrationId", "{{this.msevtmgt_name}}"),
    ("firstname", "{{contact.firstname}}"),
)

# A plain-path placeholder, the only kind the tool leaves unencoded in a field value.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


# --------------------------------------------------------------------------- the sample

SAMPLE_OPTIONS: dict[str, Any] = {
    "endpoint": "HTTPS://Org1A2B.svc.dynamics.com/EvtMgmt/api/v2.0/",
    # Mapping keys in the other case than the markers: GUIDs compare case-insensitively.
    "event": [
        f"{GUID_A.upper()}=SpringSummit2025",
        f'{GUID_B.lower()}=Ünï {{{{x}}}} "q" & <b>@S-1',
    ],
    "field": ["lang={{contact.x_lang}}-fixed"],
}
SAMPLE_ID = "sample-patched"


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Event:
    readable_id: str
    session_id: str | None


@dataclass(frozen=True)
class Expectation:
    events: Mapping[str, Event]  # by GUID as written in the markers
    fields: tuple[tuple[str, str], ...]  # field templates after --field / --drop-field
    host: str | None  # None: the options name no endpoint (then all links share one host)
    api_version: str
    keep_qr: bool


def normalise_host(endpoint: str) -> str:
    rest = endpoint.strip()
    if "://" in rest:
        rest = rest.split("://", 1)[1]
    return rest.split("/", 1)[0].lower().rstrip(".")


def _as_list(value: Any) -> list[str]:
    # Repeatable options may be written as one string in a hand-made options.json.
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def expectation(options: Mapping[str, Any], guids: Sequence[str]) -> Expectation:
    mapping: dict[str, Event] = {}
    for item in _as_list(options.get("event")):
        guid, _, target = item.partition("=")
        readable, at, session = target.partition("@")
        mapping[guid.strip().lower()] = Event(readable, session if at else None)
    default_id = options.get("event-id")
    events: dict[str, Event] = {}
    for guid in guids:
        if guid.lower() in mapping:
            events[guid] = mapping[guid.lower()]
        elif default_id:
            events[guid] = Event(default_id, None)
        else:
            pytest.fail(f"options name no readable event id for GUID {guid}")
    fields = dict(DEFAULT_FIELDS)
    for item in _as_list(options.get("field")):
        key, _, value = item.partition("=")
        fields[key] = value
    for key in _as_list(options.get("drop-field")):
        fields.pop(key, None)
    endpoint = options.get("endpoint")
    return Expectation(
        events=events,
        fields=tuple(fields.items()),
        host=normalise_host(endpoint) if endpoint else None,
        api_version=options.get("api-version", DEFAULT_API_VERSION),
        keep_qr=bool(options.get("keep-qr", False)),
    )


def _lookup(path: str, registration: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    # Compat-mode resolution: `this.x` only on the registration, a bare path on the
    # registration first, then up to the root context.
    parts = path.split(".")
    scopes: list[Any] = [registration] if parts[0] == "this" else [registration, root]
    if parts[0] == "this":
        parts = parts[1:]
    for scope in scopes:
        if not isinstance(scope, Mapping) or parts[0] not in scope:
            continue
        value: Any = scope
        for part in parts:
            value = value.get(part) if isinstance(value, Mapping) else None
        return "" if value is None else str(value)
    return ""


def expected_entry(
    event: Event,
    fields: Sequence[tuple[str, str]],
    registration: Mapping[str, Any],
    root: Mapping[str, Any],
) -> dict[str, Any]:
    """The data entry the API must receive for one registration, placeholders filled."""
    entry: dict[str, Any] = {"readableEventId": event.readable_id}
    if event.session_id is not None:
        entry["sessionId"] = event.session_id
    entry["data"] = {
        key: PLACEHOLDER.sub(lambda m: _lookup(m.group(1), registration, root), value)
        for key, value in fields
    }
    return entry


# --------------------------------------------------------------------------- reading renders


def qr_images(html: str) -> list[str]:
    """src of every QR image: the platform's data URL or the block's `base64image` id."""
    return [
        img.get("src", "")
        for img in parse_html(html).iter("img")
        if img.get("id") == "base64image" or img.get("src", "").startswith(QR_SRC)
    ]


def check_link(href: Href, exp: Expectation) -> dict[str, Any]:
    """One calendar link's invariants; returns its data entry."""
    assert href.url.startswith("https://"), href
    link = decode_calendar_url(href.url)
    assert link.path == ICS_PATH, href
    if exp.host is not None:
        assert link.host == exp.host, href
    assert link.params.get("api-version") == exp.api_version, href
    assert set(link.params) == {"api-version", "data"}, href
    assert isinstance(link.data, list) and len(link.data) == 1, href
    entry = link.data[0]
    assert isinstance(entry, dict) and isinstance(entry.get("data"), dict), href
    assert RESERVED_FIELD not in entry["data"], href
    # Unfilled placeholders are caught by comparing with the expected entry, not by looking
    # for braces: static text such as a readable id may legitimately contain `{{`.
    return entry


def check_no_leftovers(html: str, calendar: Sequence[Href]) -> None:
    # Any unrendered expression starts with `{{`. A bare `}}` is legal text, and the JSON in
    # a calendar link ends in `}}]`; every other `}}` is a leftover.
    assert "{{" not in html, html[max(0, html.find("{{") - 80) : html.find("{{") + 80]
    assert html.count("}}") == sum(h.url.count("}}") for h in calendar), "stray }} in output"


def check_registered(
    html: str, exp: Expectation, context: Mapping[str, Any], reg_of: Mapping[str, str]
) -> None:
    """A contact registered for every event: each event's link, right registration, no QR."""
    registrations = {r["msevtmgt_eventid"]: r for r in context["contact"][REGISTRATIONS]}
    hrefs = collect_hrefs(html)
    calendar = [h for h in hrefs if h.is_calendar]
    check_no_leftovers(html, calendar)
    entries = [(h, check_link(h, exp)) for h in calendar]
    if exp.host is None:
        assert len({decode_calendar_url(h.url).host for h in calendar}) <= 1, calendar
    wanted = {
        guid: expected_entry(event, exp.fields, registrations[guid], context)
        for guid, event in exp.events.items()
    }
    for guid, entry in wanted.items():
        assert any(got == entry for _, got in entries), (
            f"no calendar link for event {guid} ({exp.events[guid].readable_id}, "
            f"{reg_of[guid]}); links: {[got for _, got in entries]}"
        )
    for href, got in entries:
        # Also catches a loop rendering for another event's registration.
        assert got in wanted.values(), f"unexpected calendar link {got} at {href.where}"
        assert href.button is not None, f"calendar link outside a Button block: {href}"
        data = got["data"]
        if ("firstname", "{{contact.firstname}}") in exp.fields:
            # filled from the root context inside #each, as Dynamics resolves contact.*
            assert data["firstname"] == FIRSTNAME
        elif not any(k == "firstname" for k, _ in exp.fields):
            assert "firstname" not in data
    # One Button, one destination: the <a> and Outlook's VML link must agree.
    for button in {h.button for h in calendar}:
        in_button = {h.url for h in hrefs if h.button == button}
        assert len(in_button) == 1, f"Button {button} has differing links: {in_button}"
    qr = qr_images(html)
    if exp.keep_qr:
        assert QR_SRC in qr, "--keep-qr: the QR image is missing"
    else:
        assert not qr, f"the QR block should be gone: {qr}"


def check_unregistered(html: str, exp: Expectation) -> None:
    """A contact without a registration: no calendar link, no QR image."""
    hrefs = collect_hrefs(html)
    calendar = [h for h in hrefs if h.is_calendar]
    assert not calendar, f"unregistered contact got calendar links: {calendar}"
    check_no_leftovers(html, calendar)
    if not exp.keep_qr:
        assert not qr_images(html)


# --------------------------------------------------------------------------- cases


def _fixture_cases() -> list[str]:
    if not PATCH_FIXTURES.is_dir():
        return []
    return sorted(p.parent.name for p in PATCH_FIXTURES.glob("*/expected.html"))


CASES = [SAMPLE_ID, *_fixture_cases()]


@dataclass(frozen=True)
class Case:
    html: str
    options: Mapping[str, Any]


def load_case(name: str) -> Case:
    if name == SAMPLE_ID:
        return Case(SAMPLE_PATCHED, SAMPLE_OPTIONS)
    folder = PATCH_FIXTURES / name
    html = (folder / "expected.html").read_bytes().decode("utf-8-sig")
    options_file = folder / "options.json"
    if not options_file.is_file():
        pytest.fail(f"{options_file} is missing: the readable event ids are unknown")
    return Case(html, json.loads(options_file.read_text("utf-8")))


@dataclass(frozen=True)
class Rendered:
    registered: str
    unregistered: str


@dataclass(frozen=True)
class Batch:
    results: Mapping[str, Rendered | str]  # per template name: renders or render.js's error
    registered: Mapping[str, Any]
    unregistered: Mapping[str, Any]
    reg_of: Mapping[str, str]  # GUID -> registration name

    def get(self, name: str) -> Rendered:
        result = self.results[name]
        if isinstance(result, str):
            pytest.fail(f"Handlebars could not render {name}: {result}")
        return result


@pytest.fixture(scope="module")
def batch(handlebars: Renderer) -> Batch:
    templates: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in CASES:
        try:
            templates[name] = load_case(name).html
        except (OSError, UnicodeDecodeError) as exc:
            errors[name] = f"cannot read: {exc}"
    templates.update({f"mutant:{name}": html for name, (html, _) in MUTANTS.items()})
    # One contact registered for every event seen in any case: a patched button must render
    # only for its own event's registration, so the others double as decoys.
    guids = list(dict.fromkeys(g for html in templates.values() for g in event_guids(html)))
    reg_of = {guid: f"REG-{n}" for n, guid in enumerate(guids, 1)}
    registrations = [
        {"msevtmgt_eventid": guid, "msevtmgt_name": name, "msevtmgt_qrcode": QR_SRC}
        for guid, name in reg_of.items()
    ]
    registered = {"contact": {"firstname": FIRSTNAME, REGISTRATIONS: registrations}}
    unregistered = {"contact": {"firstname": FIRSTNAME, REGISTRATIONS: []}}
    contexts = [registered, unregistered]
    names = list(templates)
    results: dict[str, Rendered | str] = dict(errors)
    try:
        rows = handlebars([templates[n] for n in names], contexts)
    except RenderError:
        # Rerun one by one so a broken case fails alone instead of taking the module down.
        for name in names:
            try:
                (row,) = handlebars([templates[name]], contexts)
            except RenderError as exc:
                results[name] = str(exc)
            else:
                results[name] = Rendered(*row)
    else:
        results.update({n: Rendered(*row) for n, row in zip(names, rows, strict=True)})
    return Batch(results, registered, unregistered, reg_of)


def _expectation_for(name: str) -> Expectation:
    case = load_case(name)
    return expectation(case.options, event_guids(case.html))


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", CASES)
def test_registered_contact_gets_calendar_link(case: str, batch: Batch) -> None:
    exp = _expectation_for(case)
    check_registered(batch.get(case).registered, exp, batch.registered, batch.reg_of)


@pytest.mark.parametrize("case", CASES)
def test_unregistered_contact_gets_no_calendar_link(case: str, batch: Batch) -> None:
    check_unregistered(batch.get(case).unregistered, _expectation_for(case))


def test_sample_has_both_events_and_outlook_links(batch: Batch) -> None:
    # Guard the sample itself: the checks above are only as strong as what it exercises.
    exp = _expectation_for(SAMPLE_ID)
    assert set(exp.events) == {GUID_A, GUID_B}
    hrefs = [h for h in collect_hrefs(batch.get(SAMPLE_ID).registered) if h.is_calendar]
    assert {h.where for h in hrefs} == {"a", "mso:v:rect"}
    assert len(hrefs) == 3


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_checks_reject_broken_patch(mutant: str, batch: Batch) -> None:
    # The harness must be able to fail: each mutant is a patch defect the checks must catch.
    rendered = batch.get(f"mutant:{mutant}")
    exp = _expectation_for(SAMPLE_ID)
    with pytest.raises(AssertionError):
        if MUTANTS[mutant][1] == "unregistered":
            check_unregistered(rendered.unregistered, exp)
        else:
            check_registered(rendered.registered, exp, batch.registered, batch.reg_of)


def test_render_errors_are_reported(handlebars: Renderer) -> None:
    # A template Handlebars cannot parse must fail the run, never render as empty text.
    with pytest.raises(RenderError, match=r"template 1: Parse error"):
        handlebars(["ok", "<!--{{#each contact.x}}-->"], [{}])
