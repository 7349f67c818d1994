"""The preview page: what each sample registrant gets, before and after the patch.

One self-contained HTML page (inline CSS, no script, no network): for each sample contact the
original and the patched email as Dynamics would fill them (``_render``), each calendar link
in the patched render decoded as the Events API reads it, with the problems lint finds in it,
the .ics it would return when the event is known, and the diff of the patch.

The page is built with jinja2 (autoescaping on) from ``templates/preview.html.j2``; each
filled email goes into an ``<iframe sandbox srcdoc="…">`` as escaped text, so nothing in an
email or a contact field can run or leave its frame, and a Content-Security-Policy keeps the
frames from loading remote images (tracking pixels included).
"""

from __future__ import annotations

import base64
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mailpatch._blocks import markers, scan
from mailpatch._errors import Refusal
from mailpatch._handlebars import GUID, MarkerKind, normal_guid
from mailpatch._ics import EventDetails
from mailpatch._link import DecodeError, decode_calendar_url
from mailpatch._lint import RULES, CalendarContent, check_link, links
from mailpatch._patch import PatchOptions, patch
from mailpatch._run import unified_diff, verify_problem
from mailpatch.page._render import RenderError, Template, parse, render
from mailpatch.page._templates import environment

# what Dynamics loops over: a contact's event registrations
REGISTRATIONS = "msevtmgt_eventregistration_contact_msevtmgt_contactid"
# a stand-in for the QR code the platform fills in (an inline image: the page loads nothing)
QR_IMAGE = "data:image/svg+xml;base64," + base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 12 12">'
    b'<rect width="12" height="12" fill="#fff"/><path d="M1 1h4v4H1zM7 1h4v4H7zM1 7h4v4H1z'
    b'M8 8h1v1H8zM10 10h1v1h-1zM7 10h1v1H7zM10 7h1v1h-1z" fill="#000"/></svg>'
).decode("ascii")
# values Dynamics fills from the content settings, so footers do not render empty
CONTENT_SETTINGS = {
    "msdyncrm_addressmain": "Contoso Events, 1 Sample Street, Lisbon",
    "msdyncrm_subscriptioncenter": "#subscription-center",
    "msdyncrm_forwardtoafriend": "#forward-to-a-friend",
}
SAMPLE_FIELDS: Mapping[str, str] = {
    "firstname": "Zoë",
    "lastname": "Ng",
    "emailaddress1": "zoe.ng@example.com",
}
# an event the email is not for: a registration for it must not show the button
OTHER_EVENT = "00000000-0000-4000-8000-00000000e7e7"


@dataclass(frozen=True)
class Registration:
    event_id: str  # the event's GUID, compared as written with the loop's (eq … 'GUID')
    fields: Mapping[str, str] = field(default_factory=dict)  # msevtmgt_name, …


@dataclass(frozen=True)
class Contact:
    """A sample recipient: contact fields (``{{contact.KEY}}``) and event registrations."""

    label: str
    fields: Mapping[str, str] = field(default_factory=dict)
    registrations: tuple[Registration, ...] = ()

    def spelt_as(self, guids: Sequence[str]) -> Contact:
        """This contact with each registration's event GUID written as the email writes it
        (the platform's ``eq`` compares exactly; a contacts file may brace or capitalise)."""
        written = {normal_guid(g): g for g in guids}
        regs = tuple(
            replace(r, event_id=written.get(normal_guid(r.event_id), r.event_id))
            for r in self.registrations
        )
        return replace(self, registrations=regs)

    def context(self) -> dict[str, Any]:
        """The data Dynamics fills the email from, for this contact."""
        regs = [
            {
                "msevtmgt_eventid": r.event_id,
                "msevtmgt_name": f"REG-{n:04d}",
                "msevtmgt_qrcode": QR_IMAGE,
                **r.fields,
            }
            for n, r in enumerate(self.registrations, 1)
        ]
        return {
            "contact": {**self.fields, REGISTRATIONS: regs},
            "msdyncrm_contentsettings": dict(CONTENT_SETTINGS),
        }


class ContactsError(ValueError):
    """A contacts file that cannot be read (a usage error)."""


CONTACTS_MAX_SIZE = 1024 * 1024  # a few sample recipients, not a mailing list
MAX_CONTACTS = 50  # each adds two renders of the email to the page
MAX_REGISTRATIONS = 50  # each fills the email's loop once more for its contact


_CONTACT_KEYS = ("label", "fields", "registrations")
_CONTACTS_EXAMPLE = (
    '[[contacts]]\nlabel = "Zoë, registered"\nfields = { firstname = "Zoë" }\n'
    'registrations = ["GUID", { event = "GUID", msevtmgt_name = "REG-0042" }]'
)


def load_contacts(path: Path) -> list[Contact]:
    """Sample contacts from a TOML or JSON file (by its suffix; ``.json`` is JSON).

    TOML: ``[[contacts]]`` tables; JSON: ``{"contacts": [...]}`` or the list itself. Each
    contact has a ``label``, ``fields`` (string values) and ``registrations``: event GUIDs,
    or tables with ``event`` and registration fields such as ``msevtmgt_name``.
    """
    from mailpatch._files import FileProblem, read_bytes

    try:  # a regular file of bounded size: a FIFO or /dev/zero would be read for ever
        text = read_bytes(path, CONTACTS_MAX_SIZE).decode("utf-8")
    except FileProblem as exc:
        raise ContactsError(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ContactsError(f"{path}: cannot be read ({exc})") from None
    try:
        raw: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise ContactsError(f"{path}: not valid JSON ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ContactsError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ContactsError(f"{path}: nested too deep to be a contacts file") from None
    try:  # JSON may write half a character ("\ud800"): no page can hold it
        json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ContactsError(
            f"{path}: {json.dumps(exc.object[exc.start])} is half a character (a lone "
            "surrogate), not text"
        ) from None
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - {"contacts"})
        if unknown:
            raise ContactsError(f"{path}: unknown key(s) {', '.join(unknown)}; known: contacts")
        raw = raw.get("contacts", [])
    if not isinstance(raw, list) or not raw:
        raise ContactsError(f"{path}: no contacts; expected, e.g.:\n{_CONTACTS_EXAMPLE}")
    if len(raw) > MAX_CONTACTS:
        raise ContactsError(
            f"{path}: {len(raw)} contacts; the page shows at most {MAX_CONTACTS} (each adds "
            "two renders of the email)"
        )
    return [_contact(item, f"{path}: contact {n}") for n, item in enumerate(raw, 1)]


def _contact(item: Any, where: str) -> Contact:
    if not isinstance(item, dict):
        raise ContactsError(f"{where} is not a table/object")
    unknown = sorted(set(item) - set(_CONTACT_KEYS))
    if unknown:
        raise ContactsError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(_CONTACT_KEYS)}"
        )
    label = item.get("label", where.rsplit(": ", 1)[-1])
    if not isinstance(label, str) or not label.strip():
        raise ContactsError(f"{where}: label must be a non-empty string")
    fields = _strings(item.get("fields", {}), f"{where}: fields")
    regs = item.get("registrations", [])
    if not isinstance(regs, list):
        raise ContactsError(f"{where}: registrations must be a list")
    if len(regs) > MAX_REGISTRATIONS:
        raise ContactsError(
            f"{where}: {len(regs)} registrations; at most {MAX_REGISTRATIONS} a contact"
        )
    return Contact(label, fields, tuple(_registration(r, f"{where}: registration") for r in regs))


def _registration(item: Any, where: str) -> Registration:
    if isinstance(item, str):
        item = {"event": item}
    if not isinstance(item, dict) or not isinstance(item.get("event"), str):
        raise ContactsError(f'{where}: expected an event GUID, or a table with "event"')
    event = item["event"].strip()
    if not GUID.match(event):
        raise ContactsError(f"{where}: {event!r} is not an event GUID")
    rest = _strings({k: v for k, v in item.items() if k != "event"}, where)
    if "msevtmgt_eventid" in rest:
        raise ContactsError(f'{where}: the event is given as "event", not msevtmgt_eventid')
    return Registration(event, rest)


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ContactsError(f"{where} must be a table/object of strings")
    bad = [k for k, v in value.items() if not isinstance(v, str)]
    if bad:
        raise ContactsError(f"{where}: {', '.join(map(repr, bad))} must be a string")
    return dict(value)


# --- the sample contacts ----------------------------------------------------------------------


def email_events(text: str) -> list[str]:
    """Event GUIDs the email's loops test, as written (first occurrence first)."""
    found = (m.guid for m in markers(scan(text), 0, len(text)) if m.kind is MarkerKind.IF_EVENT)
    return list(dict.fromkeys(g for g in found if g))


def sample_contacts(guids: Sequence[str], options: PatchOptions) -> list[Contact]:
    """No registration; registered for each of the email's events; registered for two."""

    def name(guid: str) -> str:
        ref = options.events.get(normal_guid(guid)) or options.event
        return f"{ref.readable_id} ({guid})" if ref else guid

    out = [Contact("No registration", SAMPLE_FIELDS)]
    out += [Contact(f"Registered for {name(g)}", SAMPLE_FIELDS, (Registration(g),)) for g in guids]
    if guids:
        two = list(guids[:2]) if len(guids) > 1 else [guids[0], OTHER_EVENT]
        label = "Registered for two events" + ("" if len(guids) > 1 else " (this one and another)")
        out.append(Contact(label, SAMPLE_FIELDS, tuple(Registration(g) for g in two)))
    return out


# --- what each contact gets -------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    key: str
    placeholder: str | None  # as the patched email writes it; None when not known
    value: Any  # what the API receives for this contact


@dataclass(frozen=True)
class Invitation:
    filename: str
    text: str
    data_url: str
    missing: tuple[str, ...]  # wildcards of the Calendar content nobody gave a value
    error: str | None = None  # the event cannot be written as an .ics


@dataclass(frozen=True)
class ButtonLink:
    """One calendar link in a contact's render (the <a> and Outlook's VML share one)."""

    url: str
    where: tuple[str, ...]  # "<a>", "Outlook (VML)"
    host: str = ""
    readable_event_id: Any = None
    session_id: Any = None
    fields: tuple[Field, ...] = ()
    error: str | None = None  # why the link cannot be decoded
    problems: tuple[tuple[str, str, str], ...] = ()  # (code, severity, message)
    invitation: Invitation | None = None


@dataclass(frozen=True)
class Render:
    contact: Contact
    original: str
    patched: str
    buttons: tuple[ButtonLink, ...]
    error: str | None = None  # the email is not a template Handlebars can fill


def _entries(url: str) -> list[dict[str, Any]]:
    data = decode_calendar_url(url).data
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def _templates(patched: str) -> dict[tuple[Any, Any], dict[str, Any]]:
    """The data (placeholders unfilled) of each calendar link the patched email writes, by
    (readable event id, session id)."""
    out: dict[tuple[Any, Any], dict[str, Any]] = {}
    for link in links(scan(patched)):
        if not link.calendar:
            continue
        try:
            entries = _entries(link.url)
        except (DecodeError, ValueError):
            continue
        for e in entries:
            key = _event_key(e)
            if key is not None and isinstance(e.get("data"), dict):
                out.setdefault(key, e["data"])
    return out


def _event_key(entry: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(readable event id, session id) of one entry of a link's data, or None when they are
    not text (a link may carry anything: ``"readableEventId":[1]``)."""
    readable, session = entry.get("readableEventId"), entry.get("sessionId")
    if not isinstance(readable, str) or not (session is None or isinstance(session, str)):
        return None
    return readable, session


def _buttons(
    rendered: str,
    templates: Mapping[tuple[Any, Any], Mapping[str, Any]],
    content: CalendarContent | None,
    event: EventDetails | None,
    label: str,
) -> tuple[ButtonLink, ...]:
    found = [link for link in links(scan(rendered)) if link.calendar]
    where: dict[str, list[str]] = {}
    first: dict[str, Any] = {}
    for link in found:
        where.setdefault(link.url, []).append(
            "Outlook (VML)" if link.in_mso else f"<{link.tag.token.name}>"
        )
        first.setdefault(link.url, link)
    out = []
    for n, (url, places) in enumerate(where.items(), 1):
        problems = tuple(
            (p.code, RULES[p.code].severity.value, p.message)
            for p in check_link(first[url], content)
        )
        base = ButtonLink(url, tuple(places), problems=problems)
        try:
            entries = _entries(url)
            host = decode_calendar_url(url).host
        except (DecodeError, ValueError) as exc:
            out.append(replace(base, error=f"the API cannot read this link: {exc}"))
            continue
        if len(entries) != 1 or not isinstance(entries[0].get("data"), dict):
            out.append(replace(base, host=host, error="data is not one event with a data object"))
            continue
        entry = entries[0]
        key = _event_key(entry)
        if key is None:
            error = "readableEventId or sessionId is not text: the API cannot read this link"
            out.append(replace(base, host=host, error=error))
            continue
        data: dict[str, Any] = entry["data"]
        written = templates.get(key, {})
        fields = tuple(Field(k, written.get(k), v) for k, v in data.items())
        invitation = None
        if event is not None and all(isinstance(v, str) for v in data.values()):
            invitation = _invitation(event, data, f"{_slug(label)}-{n}.ics")
        out.append(
            replace(
                base,
                host=host,
                readable_event_id=entry.get("readableEventId"),
                session_id=entry.get("sessionId"),
                fields=fields,
                invitation=invitation,
            )
        )
    return tuple(out)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "event"


def _invitation(event: EventDetails, values: Mapping[str, str], filename: str) -> Invitation:
    from mailpatch._ics import build_ics

    try:
        # DTSTAMP is the event's start: the same page every run (the API would stamp "now")
        ics, missing = build_ics(event, values, dtstamp=event.start)
    except (OverflowError, ValueError) as exc:  # year 9999: its time zone rules end there
        return Invitation(filename, "", "", (), f"the .ics cannot be written: {exc}")
    text = ics.decode("utf-8")
    url = "data:text/calendar;charset=utf-8;base64," + base64.b64encode(ics).decode("ascii")
    return Invitation(filename, text, url, tuple(missing))


def _parsed(text: str) -> Template | str:
    """The email read as a Handlebars template (once for every contact), or why not."""
    try:
        return parse(text)
    except RenderError as exc:
        return str(exc)


def _render(
    contact: Contact,
    source: Template | str,
    patched: Template | str,
    templates: Mapping[tuple[Any, Any], Mapping[str, Any]],
    content: CalendarContent | None,
    event: EventDetails | None,
) -> Render:
    if isinstance(source, str) or isinstance(patched, str):  # not a template: said for each
        return Render(contact, "", "", (), source if isinstance(source, str) else str(patched))
    context = contact.context()
    try:
        original = render(source, context)
        after = render(patched, context)
    except RenderError as exc:
        return Render(contact, "", "", (), str(exc))
    return Render(
        contact, original, after, _buttons(after, templates, content, event, contact.label)
    )


# --- the page ---------------------------------------------------------------------------------


def _verified(source: str, options: PatchOptions) -> str:
    """The text ``patch`` would write, or Refusal as ``mailpatch patch`` would refuse."""
    result = patch(source, options)
    if not result.changed:
        return source
    problem = verify_problem(source, result, options)  # judged as `mailpatch patch` judges it
    if problem is not None:
        raise Refusal(problem[1], 0)
    return result.text


@dataclass(frozen=True)
class Preview:
    """What the preview shows for one email: each sample contact's render, and the patch."""

    guids: list[str]  # the events the email's loops test, as written
    renders: list[Render]
    patched: str  # the text patch made (the diff is made from it where it is shown)
    changed: bool
    calendar_content: CalendarContent | None


def preview(
    source: str,
    options: PatchOptions,
    *,
    contacts: Sequence[Contact] = (),
    event: EventDetails | None = None,
    calendar_content: CalendarContent | None = None,
    patched: str | None = None,
) -> Preview:
    """The preview of one email (``source``, decoded text): see preview_page."""
    if patched is None:
        patched = _verified(source, options)
    if calendar_content is None and event is not None:
        calendar_content = CalendarContent.parse("the Calendar content", event.content)
    guids = email_events(source) or email_events(patched)
    everyone = [*sample_contacts(guids, options), *(c.spelt_as(guids) for c in contacts)]
    templates = _templates(patched)
    read = _parsed(source), _parsed(patched)
    renders = [_render(c, *read, templates, calendar_content, event) for c in everyone]
    del read  # (a few times the email's size: not kept while the page is made)
    return Preview(guids, renders, patched, patched != source, calendar_content)


def preview_page(
    source: str,
    options: PatchOptions,
    *,
    name: str = "email.html",
    contacts: Sequence[Contact] = (),
    event: EventDetails | None = None,
    calendar_content: CalendarContent | None = None,
    patched: str | None = None,
) -> str:
    """The whole self-contained HTML page for one email (``source``, decoded text).

    ``patched`` is the text ``patch`` made of ``source`` with ``options``, already verified
    (the CLI and serve have it from their run); without it the email is patched and verified
    here, and Refusal or MissingOption raised as ``patch`` does. Without ``calendar_content``,
    the event's own Calendar content (``event.content``) is what the links are checked
    against.
    """
    shown = preview(
        source,
        options,
        contacts=contacts,
        event=event,
        calendar_content=calendar_content,
        patched=patched,
    )
    return str(
        environment()
        .get_template("preview.html.j2")
        .render(
            name=name,
            options=options,
            guids=shown.guids,
            renders=shown.renders,
            diff_lines=unified_diff(name, source, shown.patched).splitlines(),
            changed=shown.changed,
            event=event,
            calendar_content=shown.calendar_content,
        )
    )
