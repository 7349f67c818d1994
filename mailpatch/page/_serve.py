"""``mailpatch serve``: a local page that converts one email, with the CLI's own code path.

The routes are pure functions of a ``Request`` (``handle``), so they are tested without a
socket; ``mailpatch.page._server`` puts them on 127.0.0.1, each conversion in a worker process
with a time and memory bound. Nothing is written to disk: the email travels in the form (a
file upload, a pasted text, or the exact bytes of the previous submit as base64), and every
answer is built from it and the settings alone.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.message import Message
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from mailpatch import __version__
from mailpatch._config import guid_as_id_problem
from mailpatch._errors import MissingOption, Refusal
from mailpatch._files import DEFAULT_MAX_SIZE, FileProblem, decode
from mailpatch._handlebars import GUID, normal_guid
from mailpatch._journeys import ADD_TO_CALENDAR_URL
from mailpatch._link import (
    DEFAULT_FIELDS,
    REQUIRED_FIELD,
    LinkError,
    endpoint_problems,
    validate_field_key,
    validate_field_value,
)
from mailpatch._options import OptionsProblem, build_options
from mailpatch._patch import PatchOptions
from mailpatch._run import Mode, Outcome, Status, process, unified_diff
from mailpatch._status import status_line
from mailpatch.page._serve_view import (
    NEXT_STEPS,
    EventRow,
    Inspection,
    Plain,
    command_line,
    inspect_email,
    plain_changes,
    plain_outcome,
    plain_refusal,
    plain_unreadable,
)
from mailpatch.page._templates import environment

if TYPE_CHECKING:
    from mailpatch.page._preview import Preview

HOST = "127.0.0.1"
DEFAULT_NAME = "email.html"
# what a browser sends besides the email: the other form fields, and the email a second time
# (the previous submit's bytes as base64) when a new file replaces it
_FORM_ROOM = 1024 * 1024


def body_limit(max_size: int) -> int:
    """Largest request body read: an upload, a paste and the carried base64 copy of one email."""
    return 3 * max_size + _FORM_ROOM


# ---------------------------------------------------------------- requests and responses


_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII digits: "²".isdigit() holds, int("²") fails


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case; a repeated Host is refused before this
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


# srcdoc frames inherit this policy: the email's own scripts, remote images, fonts and
# stylesheets are blocked (nothing leaves the machine), and no other site may frame the page;
# the one script that runs is the page's own, from this server (/page.js), which may speak to
# this server alone (the frames are sandboxed without scripts besides)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
_COMMON_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),  # "no-referrer" makes a POST's Origin "null"
    ("Cache-Control", "no-store"),
)


@dataclass(frozen=True)
class Site:
    """One running server: where it listens, its form token, its size limit."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    max_size: int = DEFAULT_MAX_SIZE

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def hosts(self) -> frozenset[str]:
        names = {f"{HOST}:{self.port}", f"localhost:{self.port}"}
        if self.port == 80:  # browsers leave the default port out of Host and Origin
            names |= {HOST, "localhost"}
        return frozenset(names)

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{h}" for h in self.hosts)


# ---------------------------------------------------------------- templates


def _html(template: str, status: int = 200, **values: Any) -> Response:
    page = environment().get_template(template).render(version=__version__, **values)
    return Response(status, page.encode("utf-8"), headers=_COMMON_HEADERS)


def message_page(status: int, title: str, text: str, back: bool = True) -> Response:
    return _html("serve-message.html.j2", status, title=title, text=text, back=back)


# ---------------------------------------------------------------- the guards


def refuse_host(site: Site, host: str | None) -> Response | None:
    """DNS rebinding: a page from another site whose name now points at 127.0.0.1 still sends
    its own name as Host; only this server's own address is answered."""
    if host is not None and host.strip().lower() in site.hosts:
        return None
    return message_page(
        HTTPStatus.MISDIRECTED_REQUEST,
        "Wrong address",
        f"This server answers only at {site.url} (or http://localhost:{site.port}/).",
        back=False,
    )


def refuse_length(site: Site, length: str | None, chunked: bool) -> Response | None:
    """A POST must say its size, and stay within the limit (checked before reading it)."""
    if chunked or length is None or not _DIGITS.fullmatch(length.strip()):
        return message_page(
            HTTPStatus.LENGTH_REQUIRED, "Length required", "The form must be sent with its size."
        )
    if int(length) > body_limit(site.max_size):
        return _too_large(site, f"The form is {int(length):,} bytes")
    return None


def _too_large(site: Site, what: str) -> Response:
    return message_page(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "Too large",
        f"{what}: an email may have at most {site.max_size:,} bytes here (start mailpatch "
        "serve with a larger --max-size for a larger one).",
    )


def refuse_forgery(site: Site, request: Request, token: str) -> Response | None:
    """Cross-site form posts: the token is only in this server's own page (which another site
    cannot read), and a browser that says where the form came from must say 'here'."""
    origin = request.header("origin")
    fetch_site = request.header("sec-fetch-site")
    foreign = (origin is not None and origin.lower() not in site.origins) or (
        fetch_site is not None and fetch_site.lower() not in ("same-origin", "none")
    )
    if foreign or not hmac.compare_digest(token.encode(), site.token.encode()):
        return message_page(
            HTTPStatus.FORBIDDEN,
            "Form refused",
            "This form does not come from this run of mailpatch serve (it was restarted, or "
            f"another page sent it). Open {site.url} and submit again.",
        )
    return None


# ---------------------------------------------------------------- the form


class FormError(ValueError):
    pass


@dataclass(frozen=True)
class Form:
    values: Mapping[str, str] = field(default_factory=dict)  # last value of each name
    files: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)  # name -> file
    raw: Mapping[str, bytes] = field(default_factory=dict)  # text values as sent (paste)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z*]+)="([^"]*)"')
# the page sends a dozen fields and two per event of the email; a part's headers are a name,
# a file name and a type (beyond these, 60 MB of tiny fields cost seconds and gigabytes)
MAX_FIELDS = 10_000
_PART_HEAD_LIMIT = 16 * 1024


def parse_form(content_type: str | None, body: bytes) -> Form:
    """A form as the page sends it (multipart, for the upload) or URL-encoded. Parts are cut
    from the body as bytes: an uploaded email keeps every byte, CR included."""
    header = Message()
    header["content-type"] = content_type or ""
    kind = header.get_content_type()
    if kind == "application/x-www-form-urlencoded":
        if body.count(b"&") >= MAX_FIELDS:
            raise FormError(f"the form has more than {MAX_FIELDS:,} fields")
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise FormError("the form is not URL-encoded UTF-8") from None
        return Form(dict(pairs), {}, {k: v.encode() for k, v in pairs})
    if kind != "multipart/form-data":
        raise FormError(f"unexpected form type {kind!r}")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise FormError("the form has no boundary")
    values: dict[str, str] = {}
    raw: dict[str, bytes] = {}
    files: dict[str, tuple[str, bytes]] = {}
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    if body.count(delimiter) > MAX_FIELDS:  # each part's end (the first has no CRLF before)
        raise FormError(f"the form has more than {MAX_FIELDS:,} fields")
    segments = (b"\r\n" + body).split(delimiter)
    if len(segments) < 2 or not segments[-1].startswith(b"--"):
        raise FormError("the form is cut off")
    for segment in segments[1:-1]:
        head, sep, content = segment.partition(b"\r\n\r\n")
        if not sep:
            raise FormError("a form part has no headers")
        if len(head) > _PART_HEAD_LIMIT:
            raise FormError("a form part's headers are too long")
        try:
            lines = head.decode("utf-8").split("\r\n")
        except UnicodeDecodeError:
            raise FormError("a form part's headers are not UTF-8") from None
        disposition = next(
            (ln.split(":", 1)[1] for ln in lines if ln.lower().startswith("content-disposition:")),
            "",
        )
        params = dict(_DISPOSITION_PARAM.findall(disposition))
        name = params.get("name")
        if name is None:
            continue
        if "filename" in params:
            if params["filename"] or content:  # an empty file input sends filename=""
                files[name] = (params["filename"], content)
            continue
        raw[name] = content
        try:
            values[name] = content.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError(f"the form field {name!r} is not UTF-8") from None
    return Form(values, files, raw)


def download_name(raw: str) -> str:
    """The name the email came with, safe to give back: no folders, no control or
    direction characters, no leading dot; 'email.html' when nothing is left."""
    # browsers send '"' and line breaks in a file name as %22, %0D, %0A
    for escape, char in (("%22", '"'), ("%0D", "\r"), ("%0A", "\n")):
        raw = raw.replace(escape, char)
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(". ")
    return name[:200] or DEFAULT_NAME


def content_disposition(name: str) -> str:
    ascii_name = re.sub(r'[^\x20-\x7e]|["\\%;]', "_", name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@dataclass(frozen=True)
class Email:
    name: str
    data: bytes
    pasted: bool = False


def email_of(form: Form) -> Email | None:
    """The email a submit is about: a new upload, else a new paste, else the one carried."""
    upload = form.files.get("email_file")
    if upload is not None and upload[1]:
        return Email(download_name(upload[0]), upload[1])
    pasted = form.raw.get("email_text", b"")
    if pasted.strip():
        return Email(download_name(form.get("email_name")), pasted, pasted=True)
    carried = form.get("email_b64")
    if carried:
        try:
            data = base64.b64decode(carried, validate=True)
        except (binascii.Error, ValueError):
            raise FormError("the carried email is damaged: upload it again") from None
        return Email(download_name(form.get("email_name")), data, form.get("pasted") == "1")
    return None


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class Problem:
    """One problem with the settings as typed, said next to its field and in the summary."""

    field: str  # the id of the input to correct ('' when none is one)
    text: str
    missing: bool = False  # a required value not given (rather than a wrong one)


_CHOICE = re.compile(r"([0-9]{1,9})(?::([0-9]{1,9}))?")


@dataclass(frozen=True)
class Settings:
    """The page's settings as typed, checked as the CLI and the configuration check them."""

    endpoint: str = ""
    ids: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # GUID -> (id, session)
    fields_text: str = ""  # KEY=VALUE lines
    drop_text: str = ""  # field keys, separated by spaces or commas
    keep_qr: bool = False
    buttons_text: str = ""  # LINE or LINE:COL choices, as --button (separated by spaces)
    force: bool = False  # as --force: patch protected or locked blocks
    chosen: Mapping[str, str] = field(default_factory=dict)  # GUID -> LINE:COL picked for it

    @property
    def fields(self) -> dict[str, str]:
        """The fields as the configuration table holds them (a repeated key: the last)."""
        out: dict[str, str] = {}
        for n, line in enumerate(self._field_lines(), 1):
            if not line.strip():
                continue
            key, eq, value = line.partition("=")
            if not eq or not key.strip():
                raise FormError(f"Data fields, line {n}: {line!r}: expected KEY=VALUE")
            out[key.strip()] = value
        return out

    def _field_lines(self) -> list[str]:
        # lines as the browser sends them (CRLF); other separators are part of a value
        return self.fields_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    @property
    def buttons(self) -> list[str]:
        """The Buttons chosen: one per event on the page, else as typed (--button)."""
        picked = [v.strip() for v in self.chosen.values() if v.strip()]
        return picked or [b for b in re.split(r"[\s,]+", self.buttons_text) if b]

    @property
    def drop_fields(self) -> list[str]:
        return list(dict.fromkeys(k for k in re.split(r"[\s,]+", self.drop_text) if k))

    def events(self, guids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """GUID -> (readable id, session) for the email's events that have an id."""
        out: dict[str, tuple[str, str | None]] = {}
        for guid in guids:
            readable, session = (v.strip() for v in self.ids.get(guid, ("", "")))
            if not readable:
                continue
            problem = guid_as_id_problem(readable)
            if problem:
                raise FormError(f"Event {guid}: {problem}")
            out[guid] = (readable, session or None)
        return out

    def problems(self, rows: Sequence[EventRow]) -> list[Problem]:
        """Every problem with these settings for an email with these events, at once: each
        endpoint problem, each event's, each data field's, each choice's."""
        out: list[Problem] = []
        endpoint = self.endpoint.strip()
        if not endpoint and any(r.needed for r in rows):
            text = "The Events API endpoint is required: the calendar links go to it."
            out.append(Problem("endpoint", text, missing=True))
        elif endpoint:
            out += [Problem("endpoint", f"Events API endpoint: {p}.") for p in
                    endpoint_problems(endpoint)]
        for row in rows:
            readable, session = (v.strip() for v in self.ids.get(row.guid, ("", "")))
            name = f"Event {row.number} ({row.where})"
            if not readable and row.needed:
                text = f"The readable event id of event {row.number} ({row.where}) is required."
                out.append(Problem(f"id-{row.guid}", text, missing=True))
            elif not readable and session:
                text = f"{name}: a session id needs the readable event id too."
                out.append(Problem(f"id-{row.guid}", text))
            elif readable and guid_as_id_problem(readable):
                text = (
                    f"{name}: this is the event's GUID (the long code in the email), not its "
                    "readable event id, which is on the event record, in the Website and form "
                    "tab."
                )
                out.append(Problem(f"id-{row.guid}", text))
        out += self._field_problems()
        out += self._choice_problems(rows)
        return out

    def _field_problems(self) -> list[Problem]:
        out = []
        keys = dict(DEFAULT_FIELDS)
        for n, line in enumerate(self._field_lines(), 1):
            if not line.strip():
                continue
            key, eq, value = line.partition("=")
            if not eq or not key.strip():
                text = f"Data fields, line {n}: {line!r}: expected KEY=VALUE."
                out.append(Problem("fields", text))
                continue
            try:
                validate_field_key(key.strip())
                validate_field_value(key.strip(), value)
            except LinkError as exc:
                out.append(Problem("fields", f"Data fields, line {n}: {exc}."))
            keys[key.strip()] = value
        for key in self.drop_fields:
            if key == REQUIRED_FIELD:
                text = f"{REQUIRED_FIELD} cannot be left out: the Events API needs it"
            elif key not in keys:
                text = f"{key!r} is not a data field here ({', '.join(keys)} are)"
            else:
                continue
            out.append(Problem("drop_fields", f"Leave out fields: {text}."))
        return out

    def _choice_problems(self, rows: Sequence[EventRow]) -> list[Problem]:
        typed = [v for v in self.chosen.values() if v.strip()] if self.chosen else self.buttons
        bad = [b for b in typed if not _CHOICE.fullmatch(b.strip())]
        if bad:
            return [Problem("", f"Button: {b!r} is not LINE or LINE:COL.") for b in bad]
        # one Button per event, given to the events in document order (as --button pairs them)
        picked = [(r, self.chosen[r.guid]) for r in rows if r.needed and self.chosen.get(r.guid)]
        values = [v for _, v in picked]
        if len(set(values)) < len(values):
            text = "Two events have the same button chosen: choose one of its own for each."
            return [Problem("", text)]
        at = [tuple(int(x) for x in v.split(":")) for v in values]
        if at != sorted(at):
            text = (
                "The buttons go to the events in the order they come in the email: choose for "
                "each event a button below the one chosen for the event before it."
            )
            return [Problem("", text)]
        return []

    def options(self, guids: Sequence[str]) -> PatchOptions:
        """PatchOptions through build_options, the CLI's path, with the events and fields as
        the configuration passes them (taken literally: an '@' is part of an id here)."""
        from mailpatch._config import ConfigEvent

        try:
            return build_options(
                endpoint=self.endpoint.strip() or None,
                drop_fields=self.drop_fields,
                keep_qr=self.keep_qr,
                buttons=self.buttons,
                force=self.force,
                config_events=[
                    ConfigEvent(g, readable, session)
                    for g, (readable, session) in self.events(guids).items()
                ],
                config_fields=list(self.fields.items()),
            )
        except OptionsProblem as exc:
            if exc.option is None:  # a combination of settings: no one field to name
                raise FormError(exc.message) from None
            raise FormError(f"{_LABELS.get(exc.option, 'Settings')}: {exc.message}") from None
        except LinkError as exc:
            raise FormError(str(exc)) from None

    def hidden(self) -> list[tuple[str, str]]:
        """The settings as hidden inputs (the download form repeats them)."""
        out = [("endpoint", self.endpoint), ("fields", self.fields_text)]
        out.append(("drop_fields", self.drop_text))
        for guid, (readable, session) in self.ids.items():
            out += [(f"id-{guid}", readable), (f"session-{guid}", session)]
        if self.keep_qr:
            out.append(("keep_qr", "on"))
        out += [(f"button-{guid}", value) for guid, value in self.chosen.items() if value]
        if self.buttons_text and not self.chosen:
            out.append(("buttons", self.buttons_text))
        if self.force:
            out.append(("force", "on"))
        return out

    def with_linked(self, inspection: Inspection, typed: set[str]) -> Settings:
        """These settings, each event that has no field in the form (``typed``: the GUIDs
        that do) given the readable id and session its own calendar links carry."""
        linked = {
            r.guid: (r.linked_id, r.linked_session)
            for r in inspection.rows
            if r.linked_id and r.guid not in typed
        }
        return replace(self, ids={**self.ids, **linked}) if linked else self


_LABELS = {
    "--endpoint": "Events API endpoint",
    "--event": "Readable event id",
    "--field": "Data fields",
    "--button": "Button",
}


def settings_of(form: Form) -> Settings:
    ids: dict[str, tuple[str, str]] = {}
    chosen: dict[str, str] = {}
    for name, value in form.values.items():
        if name.startswith("id-") and GUID.match(name[3:]):
            ids[normal_guid(name[3:])] = (value, form.get(f"session-{name[3:]}"))
        elif name.startswith("button-") and GUID.match(name[7:]):
            chosen[normal_guid(name[7:])] = value
    return Settings(
        endpoint=form.get("endpoint"),
        ids=ids,
        fields_text=form.get("fields"),
        drop_text=form.get("drop_fields"),
        keep_qr=form.get("keep_qr") in ("on", "1", "true"),
        buttons_text=form.get("buttons"),
        force=form.get("force") in ("on", "1", "true"),
        chosen=chosen,
    )


def _toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
    escapes["\r"] = "\\r"
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def toml_snippet(settings: Settings, options: PatchOptions, guids: Sequence[str]) -> str:
    """The settings as a ``[tool.mailpatch]`` table for pyproject.toml: the same PatchOptions
    when mailpatch reads it back (tested)."""
    lines = ["[tool.mailpatch]"]
    if options.endpoint:
        lines.append(f"endpoint = {_toml_string(options.endpoint)}")
    if settings.drop_fields:
        lines.append(f"drop-fields = [{', '.join(map(_toml_string, settings.drop_fields))}]")
    if settings.keep_qr:
        lines.append("keep-qr = true")
    events = settings.events(guids)
    if events:
        lines += ["", "[tool.mailpatch.events]  # GUID in the QR block -> readable event id"]
        for guid, (readable, session) in events.items():
            value = _toml_string(readable)
            if session is not None:
                value = f"{{ id = {value}, session = {_toml_string(session)} }}"
            lines.append(f'"{guid}" = {value}')
    fields = settings.fields
    if fields:
        lines += ["", "[tool.mailpatch.fields]  # data fields for the Calendar content"]
        lines += [f"{_toml_key(k)} = {_toml_string(v)}" for k, v in fields.items()]
    # a choice for one email, not a project's setting: as black's and ruff's, on the command line
    given = [f"--button {b}" for b in settings.buttons] + (["--force"] if settings.force else [])
    if given:
        lines += ["", f"# not configuration: give {' '.join(given)} to mailpatch patch"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the conversion


def _status_line(outcome: Outcome) -> str:
    # as `patch -v` prints it; the QR-text warnings are listed apart on the page
    return status_line(outcome, verbose=True, warnings=False) or outcome.status.value


Part = tuple[str, bool]  # a piece of a diff line, and whether it is a changed part


def diff_lines(diff: str) -> list[tuple[str, list[Part]]]:
    """Each line of a unified diff with its kind (file, hunk, add, del, note, ''), cut into
    pieces so that the changed part of a changed line can be marked."""
    from mailpatch._highlight import changed_spans, line_kinds

    lines = re.split(r"\r\n|\r|\n", diff.removesuffix("\n"))  # as diff splits, not splitlines
    kinds = line_kinds(lines)
    out = []
    for line, kind, spans in zip(lines, kinds, changed_spans(lines, kinds), strict=True):
        parts: list[Part] = []
        at = 0
        for lo, hi in spans:
            parts += [(line[at:lo], False), (line[lo:hi], True)]
            at = hi
        parts.append((line[at:], False))
        out.append((kind, [p for p in parts if p[0]]))
    return out


def _names(settings: Settings, rows: Sequence[EventRow]) -> dict[str, str]:
    """Each event's name on the page: its readable id when one is given."""
    return {r.guid: settings.ids.get(r.guid, ("", ""))[0].strip() for r in rows}


def inspect_route(site: Site, form: Form) -> Response:
    """The events, Buttons, endpoint and ids of the email the form carries, as JSON: what the
    page's script lists as soon as an email is chosen, pasted or dropped."""
    try:
        email = email_of(form)
    except FormError as exc:
        return _json(400, {"problem": str(exc)})
    if email is None:
        return _json(400, {"problem": "Choose the exported email file, or paste its HTML."})
    if len(email.data) > site.max_size:
        said = f"{email.name} is {len(email.data):,} bytes: at most {site.max_size:,} here."
        return _json(413, {"problem": said})
    document: dict[str, object] = {"name": email.name, "bytes": len(email.data)}
    try:
        text = decode(email.data).text
    except FileProblem as exc:
        return _json(200, {**document, "problem": plain_unreadable(email.name, str(exc)).text})
    return _json(200, {**document, **inspect_email(text).as_json(), "problem": None})


def _json(status: int, document: Mapping[str, object]) -> Response:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8", _COMMON_HEADERS)


def convert(site: Site, form: Form, download: bool = False) -> Response:
    """The form's email patched with its settings: the page (or, for a download, the file)."""
    settings = settings_of(form)
    page: dict[str, Any] = {"settings": settings}
    try:
        email = email_of(form)
    except FormError as exc:
        plain = Plain("The email did not arrive whole", str(exc), "error")
        return _page(site, 400, plain=plain, **page)
    if email is None:
        problem = Problem("email_file", "Choose the exported email file, or paste its HTML.", True)
        return _page(site, 400, problems=[problem], **page)
    if len(email.data) > site.max_size:
        return _too_large(site, f"{email.name} is {len(email.data):,} bytes")
    page["email"] = email
    try:
        text = decode(email.data).text
    except FileProblem as exc:
        line = _status_line(Outcome(email.name, Status.REFUSED, str(exc)))
        plain = plain_unreadable(email.name, str(exc))
        return _page(site, 422, plain=plain, status_line=line, **page)
    inspection = inspect_email(text)
    typed = {normal_guid(n[3:]) for n in form.values if n.startswith("id-") and GUID.match(n[3:])}
    settings = page["settings"] = settings.with_linked(inspection, typed)
    rows = inspection.rows
    page["events"] = rows
    by_place = {b.value: b.named for b in inspection.buttons}
    page["chosen_named"] = [by_place.get(v, f"line {v}") for v in settings.chosen.values() if v]
    if not settings.endpoint.strip() and inspection.endpoint:
        page["endpoint_note"] = inspection.endpoint
    problems = settings.problems(rows)
    if problems:
        status = 200 if all(p.missing for p in problems) else 422
        return _page(site, status, problems=problems, **page)
    guids = [r.guid for r in rows]
    try:
        options = settings.options(guids)
    except FormError as exc:  # what problems() does not foresee
        return _page(site, 422, problems=[Problem("", str(exc))], **page)
    names = _names(settings, rows)
    page["toml"] = toml_snippet(settings, options, guids)
    page["cli"] = command_line(
        options.endpoint,
        settings.events(guids),
        settings.fields,
        settings.drop_fields,
        settings.keep_qr,
        settings.buttons,
        settings.force,
        email.name,
    )
    try:
        mode = Mode(capture=True, max_size=site.max_size)  # as `mailpatch patch -o` runs
        outcome = process(email.name, options, mode, email.data)
    except MissingOption as exc:  # the settings were checked: not expected
        return _page(site, 422, problems=[Problem("", str(exc))], **page)
    page["status_line"] = _status_line(outcome)
    if outcome.status in (Status.REFUSED, Status.ERROR):
        refusal = _refusal(text, options) if outcome.status is Status.REFUSED else None
        plain = plain_refusal(refusal, outcome.message, text, inspection, settings.chosen, names)
        return _page(site, 422, plain=plain, **page)
    if download:
        return Response(
            200,
            outcome.output,
            "text/html; charset=utf-8",
            (("Content-Disposition", content_disposition(email.name)), *_COMMON_HEADERS),
        )
    page["plain"] = plain_outcome(outcome, names)
    if outcome.status is Status.NOT_APPLICABLE:
        return _page(site, 200, **page)
    after = decode(outcome.output).text
    changed = outcome.output != email.data
    page["changed"] = changed
    if changed:
        page["changes"] = plain_changes(outcome, inspection, after, names, settings.keep_qr)
        page["diff"] = diff_lines(unified_diff(email.name, text, after))
    # the registered first: what the conversion is for; then the one who must see no button
    renders = _preview(text, options, after).renders
    page["renders"] = sorted(renders, key=lambda r: not r.contact.registrations)
    return _page(site, 200, **page)


def _refusal(text: str, options: PatchOptions) -> Refusal | None:
    """The core's own refusal of ``text``, in structured form (the run gave its words); None
    when the patch passes and only its check refused."""
    from mailpatch._patch import patch

    try:
        patch(text, options)
    except Refusal as exc:
        return exc
    return None


def _preview(text: str, options: PatchOptions, patched: str) -> Preview:
    """The preview of ``text``, which the run patched (and verified) as ``patched``."""
    from mailpatch.page._preview import preview

    return preview(text, options, patched=patched)


def _page(site: Site, status: int, **values: Any) -> Response:
    email: Email | None = values.get("email")
    carried = base64.b64encode(email.data).decode("ascii") if email else ""
    defaults: dict[str, Any] = {
        "events": [],
        "plain": None,
        "problems": [],
        "status_line": None,
        "changes": [],
        "diff": None,
        "changed": False,
        "renders": None,
        "toml": None,
        "cli": None,
        "email": None,
        "endpoint_note": "",
        "chosen_named": [],
        "default_fields": DEFAULT_FIELDS,
        "next_steps": NEXT_STEPS,
        "add_to_calendar_url": ADD_TO_CALENDAR_URL,
    }
    merged = {**defaults, **values}
    problems: list[Problem] = merged["problems"]
    return _html(
        "serve.html.j2",
        status,
        token=site.token,
        max_size=site.max_size,
        carried=carried,
        field_problems=_by_field(problems),
        **merged,
    )


def _by_field(problems: Sequence[Problem]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for problem in problems:
        if problem.field:
            out.setdefault(problem.field, []).append(problem.text)
    return out


# ---------------------------------------------------------------- routing


@cache
def page_script() -> bytes:
    """The page's one script (CSP: script-src 'self'): it lists an email's events as soon as
    the email is chosen, and remembers the settings for the tab's next email."""
    from importlib.resources import files

    return files("mailpatch.page").joinpath("static", "page.js").read_bytes()


_ROUTES = ("/", "/download", "/inspect", "/page.js")


def handle(site: Site, request: Request) -> Response:
    """Every request, as a pure function (the socket layer checks Host and size before reading
    the body, and again here)."""
    refused = refuse_host(site, request.header("host"))
    if refused is not None:
        return refused
    path = request.path.split("?", 1)[0]
    if path not in _ROUTES:
        return message_page(HTTPStatus.NOT_FOUND, "Not found", f"There is no page {path!r}.")
    if request.method == "GET" and path == "/":
        return _page(site, 200, settings=Settings())
    if request.method == "GET" and path == "/page.js":
        return Response(200, page_script(), "text/javascript; charset=utf-8", _COMMON_HEADERS)
    if request.method != "POST" or path == "/page.js":
        return message_page(
            HTTPStatus.METHOD_NOT_ALLOWED, "Not allowed", f"{request.method} is not answered here."
        )
    chunked = "chunked" in (request.header("transfer-encoding") or "").lower()
    refused = refuse_length(site, str(len(request.body)), chunked)
    if refused is not None:
        return refused
    try:
        form = parse_form(request.header("content-type"), request.body)
    except FormError as exc:
        return message_page(HTTPStatus.BAD_REQUEST, "Bad form", str(exc))
    refused = refuse_forgery(site, request, form.get("token"))
    if refused is not None:
        return refused
    if path == "/inspect":
        return inspect_route(site, form)
    return convert(site, form, download=path == "/download")
