"""The calendar link: one Events API call, built and decoded.

The href carries JSON inside a query string inside an HTML attribute, and the platform fills
handlebars placeholders in it at send time. Every layer is encoded on purpose:

* static text (ids, keys, the text around placeholders) is JSON-escaped, then percent-encoded
  outside RFC 3986 unreserved characters -- ``{`` and ``}`` included, so user text can never
  form a ``{{...}}`` expression, close the attribute or start a new query parameter;
* JSON structure ``[ ] { } : ,`` stays literal and quotes are ``%22`` (the only form shown working);
* placeholders (plain paths such as ``{{contact.firstname}}``) stay literal for the platform;
* ``&`` between query parameters is written ``&amp;`` in the attribute.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

API_ROOT = "/EvtMgmt/api/v2.0/"
ICS_PATH = API_ROOT + "calendar/personal/ics"
DEFAULT_API_VERSION = "2016-06-30"
RESERVED_FIELD = "msevtmgt_checkin_url"
DEFAULT_FIELDS: tuple[tuple[str, str], ...] = (
    ("registrationId", "{{this.msevtmgt_name}}"),
    ("firstname", "{{contact.firstname}}"),
)
REQUIRED_FIELD = "registrationId"

_UNRESERVED = "-._~"  # with ASCII letters and digits, which quote() never encodes
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
# A placeholder the platform can fill: a plain dotted path, nothing else (no helpers,
# no triple-stash, not the `else` keyword).
PLACEHOLDER = re.compile(
    r"\{\{\s*(?!else\s*\}\})([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}"
)
_API_VERSION = re.compile(r"[0-9A-Za-z.\-]{1,32}\Z")


class LinkError(ValueError):
    """A value that cannot go into a calendar link (a usage error, not a file problem)."""


def normalize_endpoint(value: str) -> str:
    """Return the Events API host from what a user typed, or raise LinkError.

    Accepted: ``host``, ``https://host``, a trailing slash, and ``/EvtMgmt/api/v2.0/`` on it.
    Refused: another scheme, a port, credentials, a query, any other path, non-host characters.
    """
    raw = value.strip()
    rest = raw
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme.lower() != "https":
            raise LinkError(f"endpoint {value!r}: only https:// is allowed, not {scheme}://")
    host, slash, path = rest.partition("/")
    if slash and path.rstrip("/").lower() not in ("", API_ROOT.strip("/").lower()):
        raise LinkError(
            f"endpoint {value!r}: unexpected path /{path}; give the host, optionally with "
            f"{API_ROOT}"
        )
    host = host.lower().rstrip(".")
    if "@" in host:
        raise LinkError(f"endpoint {value!r}: credentials are not allowed")
    if re.fullmatch(r"[^:]+:\d*", host):
        raise LinkError(f"endpoint {value!r}: a port is not allowed")
    labels = host.split(".")
    if not host or len(host) > 253 or len(labels) < 2 or not all(map(_LABEL.match, labels)):
        raise LinkError(f"endpoint {value!r}: {host!r} is not a host name")
    return host


_SLASHLESS = re.compile(r"https:(?!/)([^/?#\s]+)/", re.I)


def slashless_host(url: str) -> str | None:
    """HOST when ``url`` is ``https:HOST/…`` without ``//`` and HOST is a host name, else None.

    Microsoft's sample anchor is written ``https:{endpoint}/…``, so hand-made links copy the
    missing ``//``. Only when what follows is a valid host is inserting ``//`` certainly the fix.
    """
    m = _SLASHLESS.match(url)
    if m is None:
        return None
    try:
        return normalize_endpoint(m.group(1))
    except LinkError:
        return None


def _pct(text: str) -> str:
    return urllib.parse.quote(text, safe=_UNRESERVED)


def _json_chars(text: str) -> str:
    """The characters of ``text`` inside a JSON string literal, without the quotes."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def encode_static(text: str) -> str:
    """Static text as it appears inside a quoted JSON string in the query."""
    return _pct(_json_chars(text))


def encode_value(text: str) -> str:
    """A field value: placeholders kept literal, every other character encoded."""
    out: list[str] = []
    pos = 0
    for m in PLACEHOLDER.finditer(text):
        out.append(encode_static(text[pos : m.start()]))
        out.append("{{" + m.group(1) + "}}")
        pos = m.end()
    out.append(encode_static(text[pos:]))
    return "".join(out)


def _string(encoded: str) -> str:
    return f"%22{encoded}%22"


def validate_field_key(key: str) -> None:
    if not key:
        raise LinkError("a field key cannot be empty")
    if key.lower() == RESERVED_FIELD:  # whatever the case: never send the check-in url
        raise LinkError(
            f"{RESERVED_FIELD} is reserved: the platform fills it, it must never be passed in data"
        )


@dataclass(frozen=True)
class CalendarLink:
    """The API call for one event, as the button's href."""

    host: str
    readable_event_id: str
    fields: tuple[tuple[str, str], ...] = DEFAULT_FIELDS
    session_id: str | None = None
    api_version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        if not self.readable_event_id:
            raise LinkError("the readable event id cannot be empty")
        if self.session_id == "":
            raise LinkError("the session id cannot be empty")
        if not _API_VERSION.match(self.api_version):
            raise LinkError(f"api-version {self.api_version!r} is not a version string")
        for key, _ in self.fields:
            validate_field_key(key)

    def data_param(self) -> str:
        parts = [f"{_string('readableEventId')}:{_string(encode_static(self.readable_event_id))}"]
        if self.session_id is not None:
            parts.append(f"{_string('sessionId')}:{_string(encode_static(self.session_id))}")
        items = ",".join(
            f"{_string(encode_static(k))}:{_string(encode_value(v))}" for k, v in self.fields
        )
        parts.append(f"{_string('data')}:{{{items}}}")
        return "[{" + ",".join(parts) + "}]"

    def url(self) -> str:
        """The URL a browser requests (before the platform fills placeholders)."""
        return (
            f"https://{self.host}{ICS_PATH}?api-version={_pct(self.api_version)}"
            f"&data={self.data_param()}"
        )

    def href(self) -> str:
        """The URL as an HTML attribute value: safe inside either quote character."""
        return self.url().replace("&", "&amp;")

    def intended(self) -> list[dict[str, Any]]:
        """The object the API must receive, placeholders still unfilled."""
        entry: dict[str, Any] = {"readableEventId": self.readable_event_id}
        if self.session_id is not None:
            entry["sessionId"] = self.session_id
        entry["data"] = {k: canonical_value(v) for k, v in self.fields}
        return [entry]


def canonical_value(value: str) -> str:
    """A field value as the API sees it before filling: placeholders written ``{{a.b}}``."""
    return PLACEHOLDER.sub(lambda m: "{{" + m.group(1) + "}}", value)


@dataclass(frozen=True)
class DecodedLink:
    """A calendar URL read back as the browser and then the API would read it."""

    host: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    data: Any = None


class DecodeError(ValueError):
    pass


def is_calendar_url(url: str) -> bool:
    return "/calendar/personal/ics" in url.lower()


def decode_calendar_url(url: str) -> DecodedLink:
    """Decode a calendar URL (already HTML-unescaped, e.g. from an HTML parser).

    Splits the query on ``&``, percent-decodes each value (``+`` is never emitted, so form
    and plain decoding agree) and ``json.loads`` the ``data`` parameter.
    """
    parts = urllib.parse.urlsplit(url)
    params: dict[str, str] = {}
    for pair in parts.query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        params[urllib.parse.unquote(key)] = urllib.parse.unquote(value, errors="strict")
    data: Any = None
    if "data" in params:
        try:
            data = json.loads(params["data"])
        except json.JSONDecodeError as exc:
            raise DecodeError(f"data is not JSON: {exc}") from exc
    return DecodedLink(host=parts.hostname or "", path=parts.path, params=params, data=data)


def build_fields(
    overrides: Iterable[tuple[str, str]] = (), drop: Iterable[str] = ()
) -> tuple[tuple[str, str], ...]:
    """Default fields, then ``overrides`` (add or replace, in order), minus ``drop``."""
    result: dict[str, str] = dict(DEFAULT_FIELDS)
    for key, value in overrides:
        validate_field_key(key)
        result[key] = value
    for key in drop:
        if key == REQUIRED_FIELD:
            raise LinkError(f"{REQUIRED_FIELD} cannot be dropped: the API needs it")
        if key not in result:
            raise LinkError(f"cannot drop field {key!r}: it is not set")
        del result[key]
    return tuple(result.items())
