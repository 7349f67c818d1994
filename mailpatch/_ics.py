"""The invitation the Events API would return for one registrant, built with ``icalendar``.

Microsoft's sample response lacks PRODID, UID, DTSTAMP and ORGANIZER, never folds its long
X-ALT-DESC line and leaves ``,``/``;`` unescaped in it. This one is RFC 5545 valid: icalendar
writes CRLF, folds at 75 octets without splitting a UTF-8 sequence, and escapes TEXT -- as long
as every text value goes in as ``vText`` (an ``X-`` property otherwise goes out unescaped).

``icalendar`` is imported inside ``build_ics`` only: start-up time matters for ``patch`` and
``lint``, which never need it.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import parseaddr
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from mailpatch import __version__
from mailpatch._files import DEFAULT_MAX_SIZE, FileProblem, read_bytes
from mailpatch._link import PLACEHOLDER, RESERVED_FIELD
from mailpatch._record import record

PRODID = f"-//mailpatch//mailpatch {__version__}//EN"
FIELDS = ("name", "start", "end", "timezone", "location", "organizer", "content")
# ASCII controls other than tab and newline are not allowed in iCalendar TEXT (RFC 5545 §3.3.11)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class EventError(ValueError):
    """Event details that cannot make an invitation (a usage error)."""


@record
class EventDetails:
    """The event an .ics file describes: its name, times, place, organizer and content."""

    name: str
    start: datetime  # aware, in ``timezone``
    end: datetime
    timezone: str  # IANA name, e.g. Europe/Lisbon
    location: str
    organizer: str  # "events@contoso.com" or "Contoso Events <events@contoso.com>"
    content: str  # the Calendar content HTML, wildcards unfilled


def load_event(toml_path: Path | None, given: Mapping[str, str | None]) -> EventDetails:
    """Event details from an event.toml and/or options; options win.

    ``content`` in the toml is a path relative to the toml; ``given["content"]`` is a path as
    the user typed it.
    """
    import tomllib  # 2 ms: an event file only (preview without one never reads it)

    raw: dict[str, Any] = {}
    base = Path.cwd()
    if toml_path is not None:
        try:
            raw = tomllib.loads(_read_text(toml_path, EVENT_MAX_SIZE, f"{toml_path}:"))
        except tomllib.TOMLDecodeError as exc:
            raise EventError(f"{toml_path}: not valid TOML ({exc})") from None
        except RecursionError:
            raise EventError(f"{toml_path}: nested too deep to be an event file") from None
        unknown = sorted(set(raw) - set(FIELDS))
        if unknown:
            raise EventError(
                f"{toml_path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}"
            )
        base = toml_path.parent
    content_path: Path | None = None
    if "content" in raw:
        content_path = base / str(raw["content"])
    values = {k: v for k, v in raw.items() if k != "content"}
    for key, value in given.items():
        if value is None:
            continue
        if key == "content":
            content_path = Path(value)
        else:
            values[key] = value
    missing = [
        k
        for k in FIELDS
        if (k == "content" and content_path is None) or (k != "content" and k not in values)
    ]
    if missing:
        raise EventError(
            f"missing {', '.join(missing)}: give them in --event-file FILE or as --{missing[0]} …"
        )
    zone = _zone(str(values["timezone"]))
    start = _when(values["start"], zone, "start")
    end = _when(values["end"], zone, "end")
    if end <= start:
        raise EventError(f"end ({end.isoformat()}) is not after start ({start.isoformat()})")
    assert content_path is not None
    return EventDetails(
        name=_text(values["name"], "name"),
        start=start,
        end=end,
        timezone=str(values["timezone"]),
        location=_text(values["location"], "location"),
        organizer=_organizer(str(values["organizer"])),
        content=_read_content(content_path),
    )


def _text(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"{key} must be a string, not {value!r}")
    return value


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # 2.8 ms: a named time zone only

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise EventError(
            f"timezone {name!r} is not an IANA time zone (e.g. Europe/Lisbon)"
        ) from None


def _when(value: object, zone: Any, key: str) -> datetime:
    """A TOML datetime or an ISO 8601 string; a local time is in the event's zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise EventError(f"{key} {value!r} is not an ISO 8601 date-time") from None
    if not isinstance(value, datetime):  # a bare date: all-day events are not what the API sends
        raise EventError(f"{key} {value!r} needs a time of day, e.g. 2026-03-14T09:00")
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    try:
        return value.astimezone(zone)
    except OverflowError:  # '9999-12-31T23:00-12:00' is in year 10000 anywhere east of it
        raise EventError(
            f"{key} {value.isoformat()} is out of range in the event's time zone"
        ) from None


def _organizer(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address or any(c.isspace() for c in address):
        raise EventError(f"organizer {value!r} is not an email address")
    return value


EVENT_MAX_SIZE = 1024 * 1024  # an event.toml: a few fields


def _read_content(path: Path) -> str:
    return _read_text(path, DEFAULT_MAX_SIZE, f"content {path}:")


def _read_text(path: Path, max_size: int, where: str) -> str:
    """A regular file of at most ``max_size`` bytes, as UTF-8 (a FIFO or /dev/zero would be
    read for ever, or until memory runs out)."""
    try:
        data = read_bytes(path, max_size)
    except FileProblem as exc:
        raise EventError(f"{where} {exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EventError(f"{where} is not UTF-8; save it as UTF-8") from None


def fill(content: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """``{{key}}`` wildcards replaced by HTML-escaped values, and the keys that had none.

    One pass: a value that itself reads ``{{x}}`` stays text, as the platform would leave it.
    """
    missing: list[str] = []

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in values:
            return html.escape(values[key], quote=True)
        if key not in missing:
            missing.append(key)
        return m.group()

    return PLACEHOLDER.sub(one, content), missing


class _Text(HTMLParser):
    """HTML to plain text for DESCRIPTION: blocks become lines, links keep their URL."""

    # blocks around which a blank line reads as in the HTML; line-level breaks get one newline
    PARAGRAPH = frozenset(
        {
            "address",
            "article",
            "blockquote",
            "div",
            "dl",
            "footer",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "ul",
        }
    )
    LINE = frozenset({"br", "dd", "dt", "li", "tr"})
    HIDDEN = frozenset({"head", "script", "style", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.links: list[tuple[str, int]] = []  # (href, len(parts) at the <a>)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.PARAGRAPH:
            self.parts.append("\n\n")
        elif tag in self.LINE:
            self.parts.append("\n- " if tag == "li" else "\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.PARAGRAPH:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href, at = self.links.pop()
            label = "".join(self.parts[at:]).strip()
            if href and not href.startswith("#") and href != label:
                self.parts.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = [" ".join(line.split()) for line in "".join(self.parts).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(content: str) -> str:
    parser = _Text()
    parser.feed(content)
    parser.close()
    return parser.text()


def clean(text: str) -> str:
    """Newlines as ``\\n`` and no control characters TEXT cannot carry."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def escape_text(text: str) -> str:
    """RFC 5545 §3.3.11 TEXT escaping, backslash first so nothing is escaped twice."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def default_uid(event: EventDetails, values: Mapping[str, str]) -> str:
    """Stable per event and registrant, so a re-generated preview replaces the old one."""
    who = values.get("registrationId") or "\x1f".join(f"{k}={v}" for k, v in sorted(values.items()))
    seed = "\x1f".join([event.name, event.start.isoformat(), who])
    return f"{uuid.uuid5(uuid.NAMESPACE_URL, 'mailpatch:' + seed)}@mailpatch"


def build_ics(
    event: EventDetails,
    values: Mapping[str, str],
    *,
    checkin_url: str | None = None,
    uid: str | None = None,
    dtstamp: datetime | None = None,
) -> tuple[bytes, list[str]]:
    """The .ics bytes, and the wildcards the content uses that nobody gave a value."""
    import icalendar  # an .ics built only (preview imports this module without building one)

    data = dict(values)
    if checkin_url is not None:
        data[RESERVED_FIELD] = checkin_url
    filled, missing = fill(event.content, data)
    alt = clean(filled)
    stamp = (dtstamp or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)

    class Text(icalendar.vText):
        """vText, but a literal backslash-N stays text: icalendar's own escaping turns the
        two characters into a line break (so "C:\\New" would arrive as "C:" and "ew")."""

        def to_ical(self) -> bytes:
            return escape_text(str(self)).encode("utf-8")

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    vevent = icalendar.Event()
    vevent.add("uid", uid or default_uid(event, values))
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", event.start)
    vevent.add("dtend", event.end)
    vevent.add("summary", Text(clean(event.name)))
    vevent.add("location", Text(clean(event.location)))
    name, address = parseaddr(event.organizer)
    organizer = icalendar.vCalAddress(f"mailto:{address}")
    if name:
        organizer.params["CN"] = clean(name)
    vevent.add("organizer", organizer)
    vevent.add("description", Text(html_to_text(alt)))
    # Text explicitly: an unknown X- property would otherwise be written without escaping
    vevent.add("x-alt-desc", Text(alt), parameters={"FMTTYPE": "text/html"})
    cal.add_component(vevent)
    # VTIMEZONE for the years the event touches: enough for every client, short to read
    cal.add_missing_timezones(
        first_date=date(event.start.year, 1, 1), last_date=date(event.end.year + 1, 1, 1)
    )
    for zone in cal.walk("VTIMEZONE"):
        # icalendar notes "This timezone only works from … to …": true of the rules it wrote
        # (those years), but it reads to a person as if the invitation expired
        zone.pop("COMMENT", None)
    return cal.to_ical(), missing
