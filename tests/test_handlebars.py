"""Render patched emails with the real Handlebars and check what a recipient's button links to.

The unit tests check the text mailpatch writes; these check what that text *does* once a
Handlebars engine fills it, which is what Dynamics 365 Marketing does at send time:

* a registered contact gets, in every paired Button (the ``<a>`` and Outlook's VML link), a
  calendar link that decodes to the right readable event id, session and registration;
* a contact without a registration gets no calendar link (and no QR image);
* no ``{{...}}`` survives rendering.

``tests/handlebars/render.js`` runs the real ``handlebars`` npm package in compat mode (recursive
lookup, the way the platform resolves ``contact.*`` inside ``#each``) with the ``eq`` helper the
platform provides. All templates are rendered in one node process per module.

Set up with ``npm ci --prefix tests/handlebars``. Without node or that install the module is
skipped locally and fails when ``CI`` is set: a silently skipped harness hides regressions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from lxml import etree

from mailpatch._link import decode_calendar_url

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "handlebars"
RENDER_JS = HARNESS / "render.js"
PATCH_FIXTURES = ROOT / "fixtures" / "patch"

ICS_MARKER = "/calendar/personal/ics"
ICS_PATH = "/EvtMgmt/api/v2.0/calendar/personal/ics"
DEFAULT_API_VERSION = "2016-06-30"
REGISTRATIONS = "msevtmgt_eventregistration_contact_msevtmgt_contactid"
FIRSTNAME = "Zoë"
QR_SRC = "data:image/png;base64,AAAA"
RESERVED_FIELD = "msevtmgt_checkin_url"
# Written out here rather than imported, so the expectation does not share a bug with the tool.
DEFAULT_FIELDS: tuple[tuple[str, str], ...] = (
    ("registrationId", "{{this.msevtmgt_name}}"),
    ("firstname", "{{contact.firstname}}"),
)

# The event GUID in a loop marker: either quote, any case, any spacing.
GUID_MARKER = re.compile(
    r"\{\{~?\s*#if\s*\(\s*eq\s+(?:(?:this\.)?msevtmgt_eventid\s+)?(['\"])"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\1"
    r"\s*(?:(?:this\.)?msevtmgt_eventid\s*)?\)\s*~?\}\}",
    re.IGNORECASE,
)
# A plain-path placeholder, the only kind the tool leaves unencoded in a field value.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")
# A downlevel-hidden conditional comment that Outlook (mso) renders: `[if mso]>…<![endif]`,
# `[if gte mso 9]>…`; `[if !mso]>` branches are for the other clients, not Outlook.
MSO_BRANCH = re.compile(r"\A\s*\[if\s+(?!!)[^\]]*\]>(?P<body>.*)<!\[endif\]\s*\Z", re.DOTALL)


# --------------------------------------------------------------------------- the sample

GUID_A = "6c6e9d1b-0c3f-4a47-9f2a-1d2e3f4a5b6c"
GUID_B = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"
HREF_A = (
    "https://org1a2b.svc.dynamics.com/EvtMgmt/api/v2.0/calendar/personal/ics"
    "?api-version=2016-06-30&amp;data=[{%22readableEventId%22:%22SpringSummit2025%22,"
    "%22data%22:{%22registrationId%22:%22{{this.msevtmgt_name}}%22,"
    "%22firstname%22:%22{{contact.firstname}}%22,%22lang%22:%22{{contact.x_lang}}-fixed%22}}]"
)
# Readable id `Ünï {{x}} "q" & <b>`: static text must reach the API intact and never form a
# Handlebars expression, which only the real engine can prove.
HREF_B = (
    "https://org1a2b.svc.dynamics.com/EvtMgmt/api/v2.0/calendar/personal/ics"
    "?api-version=2016-06-30&amp;data=[{%22readableEventId%22:"
    "%22%C3%9Cn%C3%AF%20%7B%7Bx%7D%7D%20%5C%22q%5C%22%20%26%20%3Cb%3E%22,"
    "%22sessionId%22:%22S-1%22,%22data%22:{%22registrationId%22:%22{{this.msevtmgt_name}}%22,"
    "%22firstname%22:%22{{contact.firstname}}%22,%22lang%22:%22{{contact.x_lang}}-fixed%22}}]"
)
# Hand-written (synthesised) patched email: a classic Button (VML + <a>, markers in bare
# comments, single quotes, lower-case GUID) and a newer-editor Button (markers in <p> wrappers
# with empty paragraphs, double quotes, upper-case GUID, a session and an extra field), plus
# an unrelated Button and a greeting placeholder that must be left alone.
SAMPLE_PATCHED = f"""\
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" \
xmlns:o="urn:schemas-microsoft-com:office:office">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta type="xrm/designer/setting" name="type" value="marketing-designer-content-editor-document">
<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/><o:PixelsPerInch>96\
</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
<title>Your registration</title>
</head>
<body>
<div class="wrapperContainer" data-container="true">
<div data-editorblocktype="Text"><p>Hello {{{{contact.firstname}}}}&nbsp;&#128197; \
&copy; 2025</p></div>
<div data-editorblocktype="Button" align="center" class="buttonWrapper">
<!--{{{{#each contact.{REGISTRATIONS} }}}}-->
<!--{{{{#if (eq this.msevtmgt_eventid '{GUID_A}')}}}}-->
<!--[if mso]>
<v:rect xmlns:v="urn:schemas-microsoft-com:vml" xmlns:w="urn:schemas-microsoft-com:office:word" \
href="{HREF_A}" style="height:40px;v-text-anchor:middle;width:200px;" stroke="f" \
fillcolor="#0078d4" data-msdyn-tracking-id="b1f3">
<w:anchorlock/>
<center style="color:#ffffff;font-family:sans-serif;font-size:16px;">Add to calendar</center>
</v:rect>
<![endif]-->
<!--[if !mso]><!-- -->
<a class="buttonClass" href="{HREF_A}" style="background-color:#0078d4;color:#ffffff;\
mso-hide: none !important;" data-msdyn-tracking-id="b1f3">Add to calendar</a>
<!--<![endif]-->
<!--{{{{/if}}}}-->
<!--{{{{/each}}}}-->
</div>
<div data-editorblocktype="Button" align="center" class="buttonWrapper" style="padding:10px">
<p><!-- {{{{#each contact.{REGISTRATIONS}}}}} --></p>
<p>&nbsp;</p>
<p><!--{{{{#if (eq this.msevtmgt_eventid "{GUID_B}")}}}}--></p>
<a class="buttonClass" href="{HREF_B}" style="mso-hide: none !important;"><span>Add the \
workshop 📅</span></a>
<p><!--{{{{/if}}}}  --></p>
<p></p>
<p><!--{{{{/each}}}}--></p>
</div>
<div data-editorblocktype="Button" align="center"><a class="buttonClass" \
href="https://example.com/agenda?a=1&amp;b=2"><span>Agenda</span></a></div>
</div>
</body>
</html>
"""
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

# A QR block left behind (as if the tool had not removed it).
_QR_BLOCK = f"""\
<div data-editorblocktype="ERQRCode">
<!--{{{{#each contact.{REGISTRATIONS} }}}}-->
<!--{{{{#if (eq this.msevtmgt_eventid '{GUID_A}')}}}}-->
<img id="base64image" src="{{{{this.msevtmgt_qrcode}}}}" alt="Event registration QR code">
<!--{{{{/if}}}}-->
<!--{{{{/each}}}}-->
</div>
"""


def _mutate(old: str, new: str, count: int = 1) -> str:
    # Fail loudly if the sample changes and a mutant stops being the defect it claims to be.
    assert SAMPLE_PATCHED.count(old) == count, old
    return SAMPLE_PATCHED.replace(old, new)


_EACH_A = f"<!--{{{{#each contact.{REGISTRATIONS} }}}}-->\n"
_IF_A = f"<!--{{{{#if (eq this.msevtmgt_eventid '{GUID_A}')}}}}-->\n"
_END_A = "<!--{{/if}}-->\n<!--{{/each}}-->\n"
# Broken patches the checks must reject; each is (template, contact the defect shows for).
MUTANTS: dict[str, tuple[str, str]] = {
    # The link outside the loop: everyone gets it, with an empty registrationId.
    "link-outside-loop": (
        _mutate(_EACH_A, "").replace(_IF_A, "").replace(_END_A, ""),
        "unregistered",
    ),
    # Outlook renders the VML link: left as '#', Outlook users get a dead button.
    "dead-outlook-button": (
        _mutate(f'href="{HREF_A}" style="height', 'href="#" style="height'),
        "registered",
    ),
    # Without the #if the button repeats for every registration, other events' included.
    "loop-without-if": (
        _mutate(_IF_A, "").replace("<!--{{/if}}-->\n<!--{{/each}}", "<!--{{/each}}"),
        "registered",
    ),
    # The QR block must be gone unless --keep-qr.
    "qr-block-left": (_mutate("</body>", _QR_BLOCK + "</body>"), "registered"),
    # A placeholder that reaches the recipient unfilled (here Handlebars' escaped mustache).
    "unfilled-placeholder": (
        _mutate("Hello {{contact.firstname}}", "Hello \\{{contact.firstname}}"),
        "registered",
    ),
}


# --------------------------------------------------------------------------- the harness


class RenderError(RuntimeError):
    """render.js reported a problem (bad input, Handlebars parse or runtime error)."""


@dataclass(frozen=True)
class Renderer:
    node: str

    def __call__(
        self, templates: Sequence[str], contexts: Sequence[Mapping[str, Any]]
    ) -> list[list[str]]:
        request = json.dumps({"templates": list(templates), "contexts": list(contexts)})
        proc = subprocess.run(
            [self.node, str(RENDER_JS)],
            input=request.encode("utf-8"),
            capture_output=True,
            cwd=HARNESS,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip()
            raise RenderError(message or f"render.js exited with {proc.returncode}")
        rendered = json.loads(proc.stdout.decode("utf-8"))["rendered"]
        # Guard the protocol itself: a short answer would silently drop cases.
        assert len(rendered) == len(templates)
        assert all(len(row) == len(contexts) for row in rendered)
        return rendered


class LineRenderer:
    """One node process (render.js --lines) for a whole module: a batch in, its results out,
    a line each; for the differential tests, which render thousands of small batches.

    Each result is per template and per context: the string Handlebars.js printed, or
    ``{"error": message}`` where it threw (a template it cannot parse throws for every
    context)."""

    def __init__(self, node: str) -> None:
        self.process = subprocess.Popen(
            [node, str(RENDER_JS), "--lines"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # what {{log}} and denied property lookups log
            cwd=HARNESS,
            text=True,
            encoding="utf-8",
        )

    def __call__(
        self, templates: Sequence[str], contexts: Sequence[Mapping[str, Any]]
    ) -> list[list[str | dict[str, str]]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        request = json.dumps({"templates": list(templates), "contexts": list(contexts)})
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        assert "failure" not in answer, answer
        results: list[list[str | dict[str, str]]] = answer["results"]
        # Guard the protocol itself: a short answer would silently drop cases.
        assert len(results) == len(templates)
        assert all(len(row) == len(contexts) for row in results)
        return results

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _harness_problems() -> list[str]:
    problems: list[str] = []
    if shutil.which("node") is None:
        problems.append("`node` is not on PATH")
    installed = HARNESS / "node_modules" / "handlebars" / "package.json"
    if not installed.is_file():
        problems.append(f"{installed.parent} is missing (run `npm ci` in {HARNESS})")
    else:
        # A stale install would test another engine than the one package.json pins.
        pinned = json.loads((HARNESS / "package.json").read_text("utf-8"))["dependencies"]
        version = json.loads(installed.read_text("utf-8"))["version"]
        if version != pinned["handlebars"]:
            problems.append(
                f"handlebars {version} is installed but {pinned['handlebars']} is pinned "
                f"(run `npm ci` in {HARNESS})"
            )
    return problems


@pytest.fixture(scope="session")
def handlebars() -> Renderer:
    problems = _harness_problems()
    if problems:
        reason = "Handlebars harness unavailable: " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(reason + " -- CI is set, and a skipped harness would hide regressions")
        pytest.skip(reason)
    node = shutil.which("node")
    assert node is not None
    return Renderer(node)


@pytest.fixture(scope="session")
def handlebars_lines(handlebars: Renderer) -> Iterator[LineRenderer]:
    """render.js in one process for the session, a batch per line (LineRenderer)."""
    renderer = LineRenderer(handlebars.node)
    yield renderer
    renderer.close()


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


def event_guids(html: str) -> list[str]:
    """The GUIDs of every loop marker, as written, first occurrence first."""
    return list(dict.fromkeys(m.group(2) for m in GUID_MARKER.finditer(html)))


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


@dataclass(frozen=True)
class Href:
    url: str  # as a browser reads it: HTML-unescaped
    where: str  # the element, "mso:" prefixed when from Outlook's conditional branch
    button: int | None  # index of the enclosing Button block, in document order

    @property
    def is_calendar(self) -> bool:
        return ICS_MARKER in self.url.lower()


def parse_html(html: str) -> Any:
    # Bytes with an explicit encoding: lxml refuses str input that has an XML declaration.
    parser = lxml.html.HTMLParser(encoding="utf-8")
    return lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)


def _is_button(el: Any) -> bool:
    return isinstance(el.tag, str) and el.get("data-editorblocktype", "").lower() == "button"


def collect_hrefs(html: str) -> list[Href]:
    """Every href a client can follow: elements, and Outlook's `<!--[if mso]>` VML branches."""
    doc = parse_html(html)
    buttons = {el: i for i, el in enumerate(el for el in doc.iter() if _is_button(el))}

    def button_of(node: Any) -> int | None:
        for el in (node, *node.iterancestors()):
            if el in buttons:
                return buttons[el]
        return None

    found: list[Href] = []
    for node in doc.iter():
        if node.tag is etree.Comment:
            m = MSO_BRANCH.match(node.text or "")
            if m is None or not m.group("body").strip():
                continue
            # Outlook parses the comment body as markup; so do we.
            branch = lxml.html.fragment_fromstring(m.group("body"), create_parent="div")
            found.extend(
                Href(el.get("href"), f"mso:{el.tag}", button_of(node))
                for el in branch.iter()
                if isinstance(el.tag, str) and el.get("href") is not None
            )
        elif isinstance(node.tag, str) and node.get("href") is not None:
            found.append(Href(node.get("href"), node.tag, button_of(node)))
    return found


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
