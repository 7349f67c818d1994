"""The calendar link: one Events API call, built and decoded.

The href carries JSON inside a query string inside an HTML attribute, and the platform fills
handlebars placeholders in it at send time. Every layer is encoded on purpose:

* static text (ids, keys, the text around placeholders) is JSON-escaped, then percent-encoded
  outside RFC 3986 unreserved characters -- ``{`` and ``}`` included, so user text can never
  form a ``{{...}}`` expression, close the attribute or start a new query parameter;
* JSON structure ``[ ] { } : ,`` stays literal and quotes are ``%22`` (the only form shown working);
* placeholders (plain paths such as ``{{contact.firstname}}``) stay literal for the platform;
  a field value with any other ``{{`` is refused (see PLACEHOLDER);
* ``&`` between query parameters is written ``&amp;`` in the attribute.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field
from typing import Any

from mailpatch._record import record
from mailpatch._regex import lazy

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
_LABEL = lazy(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")

# --- placeholders: what Handlebars reads as a plain path to a value --------------------------
#
# The platform renders the email with Handlebars, so a `{{…}}` in a field value is whatever
# Handlebars makes of it. Accepted: `{{`, blanks, names of ASCII letters, digits and `_` (not
# starting with a digit) joined by `.`, blanks, `}}`. Refused, as Handlebars.js 4.7 shows
# (tests/test_placeholders.py checks each case against it):
# * `else` as the first name: the lexer reads `{{else` not followed by a letter, digit or `_` as
#   an inverse chain, a parse error for the whole email (`{{elsewhere}}` is an ordinary name);
# * a lone helper name (`{{if}}`, `{{lookup}}`, the platform's `{{eq}}` …): a helper call, which
#   throws or prints no value (`{{if.x}}` is a path);
# * `true`, `false`, `null`, `undefined` as any name: literals (a parse error after a dot);
# * `this` after the first name ("Invalid path"), or alone (the whole record, not a field);
# * everything else Handlebars has: `{{{x}}}`, `{{&x}}`, `{{!…}}`, `{{>…}}`, `{{#…}}`, `{{/…}}`,
#   `{{^…}}`, `{{~x~}}`, `{{x y}}`, `{{x=1}}`, `{{[x]}}`, `{{../x}}`, `{{@root.x}}`, `\{{x}}` and
#   other blanks than space, tab, CR and LF. Some of these do render a value; a plain path is all
#   a calendar link needs, so they are refused to keep the rule short.
HELPER_NAMES = frozenset(
    {"if", "unless", "each", "with", "lookup", "log", "helperMissing", "blockHelperMissing"}
)
PLATFORM_HELPERS = frozenset({"eq"})
LITERAL_NAMES = frozenset({"true", "false", "null", "undefined"})
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_BLANK = r"[ \t\r\n]*"
_HELPERS = "|".join(sorted(HELPER_NAMES | PLATFORM_HELPERS))
_LITERALS = "|".join(sorted(LITERAL_NAMES))
# A placeholder the platform can fill; group 1 is its path. The rule's one home: everything that
# asks whether a `{{…}}` is a placeholder (patch, lint, the ics wildcards) asks this pattern;
# placeholder_problems() applies it to every `{{` in a text, with a reason for each refusal.
PLACEHOLDER = lazy(
    r"\{\{"
    + _BLANK
    + rf"(?!(?:this|{_HELPERS}){_BLANK}\}}\}})"  # a lone helper name, or the whole record
    + r"(?!else\b)"  # `{{else` opens an inverse chain
    + rf"((?!(?:{_LITERALS})\b){_NAME}(?:\.(?!(?:this|{_LITERALS})\b){_NAME})*)"  # the path
    + _BLANK
    + r"\}\}"
)
# From one `{{` to the first `}}`, and a third `}` (an unclosed one runs to the end).
_EXPRESSION = lazy(r"\{\{(?:.*?\}\}\}?|.*)", re.S)
_SIGILS = {
    "{": "triple braces output the value unescaped",
    "&": "{{&…}} outputs the value unescaped",
    "!": "it is a Handlebars comment",
    ">": "it is a Handlebars partial",
    "#": "it opens a Handlebars block",
    "/": "it closes a Handlebars block",
    "^": "it opens a Handlebars inverse block",
    "*": "it is a Handlebars decorator",
    "~": "~ is Handlebars white-space control",
    "@": "@ names a Handlebars data variable",
    "[": "[…] is a Handlebars literal segment",
    ".": "it is a relative Handlebars path",
    "(": "it is a Handlebars subexpression",
    '"': "it is a Handlebars string literal",
    "'": "it is a Handlebars string literal",
}
_API_VERSION = lazy(r"[0-9A-Za-z.\-]{1,32}\Z")


class LinkError(ValueError):
    """A value that cannot go into a calendar link (a usage error, not a file problem)."""


def normalize_endpoint(value: str) -> str:
    """Return the Events API host from what a user typed, or raise LinkError.

    Accepted: ``host``, ``https://host``, a trailing slash, and ``/EvtMgmt/api/v2.0/`` on it,
    blanks around, any case (the host is returned in lower case, one trailing dot dropped).
    Refused: another scheme, a port, credentials, a query, any other path, a tab or line
    break, percent-escapes, and a host outside the allowlist (see _host_problem). Every
    problem is said at once (``http://host:8080`` has two). The command line (``--endpoint``,
    the configuration's ``endpoint``) and PatchOptions read an endpoint with this function.
    """
    problems = endpoint_problems(value)
    if problems:
        raise LinkError(f"endpoint {value!r}: " + "; ".join(problems))
    host = value.strip(_URL_BLANKS).split("://", 1)[-1].partition("/")[0]
    return host.lower().removesuffix(".")


def endpoint_problems(value: str) -> list[str]:
    """Every reason ``value`` is not an Events API endpoint (see normalize_endpoint), in the
    order a reader meets them; empty when it is one. Each part is judged on its own: the
    scheme, the path, credentials, a port, then the host that is left."""
    raw = value.strip(_URL_BLANKS)
    if any(c in raw for c in "\t\n\r"):
        return [
            "it has a tab or line break inside, which browsers drop; type the endpoint on one line"
        ]
    problems: list[str] = []
    rest = raw
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme.lower() != "https":
            problems.append(f"only https:// is allowed, not {scheme}://")
    host, slash, path = rest.partition("/")
    if slash and path.rstrip("/").lower() not in ("", API_ROOT.strip("/").lower()):
        problems.append(f"unexpected path /{path}; give the host, optionally with {API_ROOT}")
    if "@" in host:
        problems.append("credentials are not allowed")
        host = host.rpartition("@")[2]
    if host.startswith("["):
        return [*problems, f"{host!r} is an IPv6 address, not a host name"]
    if re.fullmatch(r"[^:]+:\d*", host):
        problems.append("a port is not allowed")
        host = host.partition(":")[0]
    if "%" in host:
        return [
            *problems,
            f"{host!r} is not a host name: browsers decode % escapes in a host, so type the "
            "characters themselves",
        ]
    if not host.isascii():
        return [*problems, _non_ascii_problem(host)]
    problem = _host_problem(host.lower())
    return [*problems, problem] if problem is not None else problems


# What the WHATWG URL parser strips from both ends of a URL: C0 controls and space.
_URL_BLANKS = "".join(map(chr, range(0x21)))
_LIKE = "like <org>.svc.dynamics.com"


def _host_problem(host: str) -> str | None:
    """Why ``host`` (ASCII, lower case) is not an Events API host, or None. The allowlist:

    * labels of ``a-z``, ``0-9`` and ``-``, joined by dots (one trailing dot is dropped);
    * each label 1 to 63 characters, neither starting nor ending with ``-``, and no
      international (``xn--``) label: every Events API host is plain ASCII;
    * at least two labels, at most 253 characters in all;
    * the last label starts with a letter (browsers read a host ending in a number, ``1.2.3.4``
      or ``0x7f.1``, as an IPv4 address; no top-level domain starts with a digit).
    """
    why = _why_not_host(host)
    return None if why is None else f"{host!r} is not a host name: {why}; type it {_LIKE}"


def _why_not_host(host: str) -> str | None:
    bad = next((c for c in host if not (c in ".-" or "a" <= c <= "z" or "0" <= c <= "9")), None)
    if bad is not None:
        return f"{bad!r} is not a letter, digit, hyphen or dot"
    if not host:
        return "it is empty"
    labels = host.removesuffix(".").split(".")
    if "" in labels:
        return "it has an empty label (a dot at the start or two dots together)"
    if len(host.removesuffix(".")) > 253:
        return "it is longer than 253 characters"
    for label in labels:
        if len(label) > 63:
            return f"label {label!r} is longer than 63 characters"
        if not _LABEL.match(label):
            return f"label {label!r} starts or ends with a hyphen"
        if label.startswith("xn--"):
            return f"label {label!r} is an international (xn--) label; Events API hosts are ASCII"
    if not "a" <= labels[-1][0] <= "z":
        return (
            f"its last label {labels[-1]!r} does not start with a letter, and browsers read a "
            "host that ends in a number as an IPv4 address"
        )
    if len(labels) < 2:
        return "it has one label only"
    return None


# Full stops other than ".", which browsers read as one (UTS #46 maps them to ".").
_DOTS = frozenset("\u3002\uff0e\uff61")


def _plain(c: str) -> str:
    """``c`` as the ASCII letter, digit, hyphen or dot it is another form of (compatibility
    forms and case folded, as UTS #46 maps them for browsers), else NUL (refused)."""
    if c.isascii():
        return c.lower()
    if c in _DOTS:
        return "."
    import unicodedata  # a refused host only

    m = unicodedata.normalize("NFKC", c).casefold()
    return m if len(m) == 1 and m.isascii() and (m.isalnum() or m == "-") else "\0"


def _non_ascii_problem(host: str) -> str:
    """Why a host with characters outside ASCII is refused, naming them; with the host to
    type when each is only another form of an ASCII letter, digit, hyphen or dot (a fullwidth
    ``c``, the Kelvin sign), which browsers read as that character."""
    import unicodedata  # a refused host only

    shown = ", ".join(
        f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}"
        for c in dict.fromkeys(c for c in host if not c.isascii())
    )
    problem = f"{host!r} has characters outside ASCII ({shown}): browsers change or encode them"
    plain = "".join(map(_plain, host))
    if _host_problem(plain) is None:
        return f"{problem}, and read it as {plain.removesuffix('.')!r}: type that"
    return f"{problem}; type the host in ASCII, {_LIKE}"


_SLASHLESS = lazy(r"https:(?!/)([^/?#\s]+)/", re.I)


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


def placeholder_problem(expression: str) -> str | None:
    """None if ``expression``, one whole ``{{…}}``, is a placeholder the platform can fill;
    else why not, in a few words for the user. PLACEHOLDER decides, this only explains."""
    if PLACEHOLDER.fullmatch(expression):
        return None
    if expression.startswith("\\"):
        return "a backslash before {{ makes Handlebars print it as text"
    if not expression.startswith("{{"):
        return "it does not start with {{"
    if expression.startswith("{{{"):
        return _SIGILS["{"]
    if expression.endswith("}}}"):
        return "a third } makes Handlebars read the end of triple braces"
    if len(expression) < 4 or not expression.endswith("}}"):
        return "it has no closing }}"
    body = expression[2:-2].strip(" \t\r\n")
    if not body:
        return "it is empty"
    if body[0] in _SIGILS:
        return _SIGILS[body[0]]
    if body.endswith("~"):
        return _SIGILS["~"]
    if re.match(r"else\b", body):
        return "'else' is a Handlebars keyword"
    words = re.split(r"[ \t\r\n]+", body)
    if len(words) > 1 or "=" in body:
        return f"{words[0].split('=')[0]!r} with arguments is a helper call, not a value"
    names = body.split(".")
    if not all(re.fullmatch(_NAME, name) for name in names):
        return f"{body!r} is not a plain path: ASCII letters, digits and _ joined by dots"
    literal = next((name for name in names if name in LITERAL_NAMES), None)
    if literal is not None:
        return f"{literal!r} is a Handlebars literal, not a name"
    if "this" in names[1:]:
        return "'this' can only start a path"
    if names == ["this"]:
        return "'this' alone is the whole record, not a field of it"
    if body in PLATFORM_HELPERS:
        return f"{body!r} is a helper of the platform, not a value"
    if body in HELPER_NAMES:
        return f"{body!r} is a Handlebars helper, not a value"
    return "it is not a plain path"  # not reached: the checks above follow PLACEHOLDER


def placeholder_problems(text: str) -> Iterator[tuple[str, str]]:
    """Each ``{{…}}`` in ``text`` that is not a placeholder the platform can fill, with why.

    Every ``{{`` counts, so text passes only if each one starts a placeholder: an unclosed
    ``{{``, a backslash before one and a third brace after one are part of the expression.
    """
    start = text.find("{{")
    while start != -1:
        m = _EXPRESSION.match(text, start)
        assert m is not None  # the pattern matches any text from a `{{`
        escaped = start > 0 and text[start - 1] == "\\"
        expression = text[start - escaped : m.end()]
        problem = placeholder_problem(expression)
        if problem is not None:
            yield expression, problem
        start = text.find("{{", m.end())


def placeholder_message(expression: str, problem: str) -> str:
    """What patch and lint say of an expression that placeholder_problem refused."""
    return f"{expression!r} is not a placeholder the platform can fill: {problem}"


def validate_field_value(key: str, value: str) -> None:
    """LinkError unless every ``{{`` in ``value`` starts a placeholder the platform can fill."""
    for expression, problem in placeholder_problems(value):
        raise LinkError(
            f"field {key!r}: {placeholder_message(expression, problem)}; "
            "use a plain path such as {{contact.lastname}}"
        )


def encode_value(text: str) -> str:
    """A field value: placeholders kept literal, every other character encoded.

    CalendarLink and build_fields refuse a value with any other ``{{`` (validate_field_value);
    here it is encoded as text all the same, so no ``{{…}}`` but a placeholder reaches the link.
    """
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


def is_reserved_field(key: str) -> bool:
    """The check-in url's wildcard, whatever the case: never sent in a link's data."""
    return key.lower() == RESERVED_FIELD


def validate_field_key(key: str) -> None:
    if not key:
        raise LinkError("a field key cannot be empty")
    if is_reserved_field(key):
        raise LinkError(
            f"{RESERVED_FIELD} is reserved: the platform fills it, it must never be passed in data"
        )


@record
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
        for key, value in self.fields:
            validate_field_key(key)
            validate_field_value(key, value)

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
        # built once: a batch writes and checks the same few links in every email (the
        # memo is no field: equality and hashing are the fields')
        known: str | None = self.__dict__.get("_url")
        if known is None:
            known = (
                f"https://{self.host}{ICS_PATH}?api-version={_pct(self.api_version)}"
                f"&data={self.data_param()}"
            )
            self.__dict__["_url"] = known
        return known

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


@record
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
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        params: dict[str, str] = {}
        for pair in parts.query.split("&"):
            if not pair:
                continue
            key, _, value = pair.partition("=")
            params[urllib.parse.unquote(key)] = urllib.parse.unquote(value, errors="strict")
    except ValueError as exc:  # a bad [IPv6] host, a % escape that is no UTF-8
        raise DecodeError(f"not a URL the API can read: {exc}") from None
    data: Any = None
    if "data" in params:
        try:
            data = json.loads(params["data"])
        except json.JSONDecodeError as exc:
            raise DecodeError(f"data is not JSON: {exc}") from exc
        except RecursionError:  # '[[[[…' a thousand deep: no calendar link nests like that
            raise DecodeError("data is not JSON: nested too deep") from None
    return DecodedLink(host=host, path=parts.path, params=params, data=data)


@record
class LinkEntry:
    """What a calendar link asks the Events API for: its host and the one event entry of its
    ``data`` JSON, typed. read_calendar_link() is the one reader of that JSON for patch, ics,
    and the pages (lint reads it on its own, to report every problem rather than the first)."""

    host: str
    readable_event_id: str
    session_id: str | None  # None: the entry has no sessionId
    data: Mapping[str, Any] | None  # the entry's "data" object as written; None: it has none


def read_calendar_link(url: str) -> LinkEntry:
    """The entry of a calendar URL (already HTML-unescaped), or DecodeError saying why the API
    cannot read it: ``data`` is no JSON, not an array of exactly one object, or that object's
    ``readableEventId`` is not text, its ``sessionId`` not text, or its ``data`` no object."""
    try:
        decoded = decode_calendar_url(url)
    except ValueError as exc:  # DecodeError, a % escape that is no UTF-8, a bad [IPv6] host
        raise DecodeError(str(exc)) from None
    if "data" not in decoded.params:
        raise DecodeError("no data= parameter")
    entries = decoded.data
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise DecodeError("data is not an array of one event object")
    entry = entries[0]
    readable, session = entry.get("readableEventId"), entry.get("sessionId")
    if not isinstance(readable, str):
        raise DecodeError("the event's readableEventId is missing or not text")
    if not (session is None or isinstance(session, str)):
        raise DecodeError("the event's sessionId is not text")
    data = entry.get("data")
    if not (data is None or isinstance(data, dict)):
        raise DecodeError("the event's data is not an object")
    return LinkEntry(decoded.host, readable, session, data)


def build_fields(
    overrides: Iterable[tuple[str, str]] = (), drop: Iterable[str] = ()
) -> tuple[tuple[str, str], ...]:
    """Default fields, then ``overrides`` (add or replace, in order), minus ``drop``."""
    result: dict[str, str] = dict(DEFAULT_FIELDS)
    for key, value in overrides:
        validate_field_key(key)
        validate_field_value(key, value)
        result[key] = value
    for key in drop:
        if key == REQUIRED_FIELD:
            raise LinkError(f"{REQUIRED_FIELD} cannot be dropped: the API needs it")
        if key not in result:
            raise LinkError(f"cannot drop field {key!r}: it is not set")
        del result[key]
    return tuple(result.items())


# --- what changed between two calendar links -------------------------------------------------


@record
class LinkChange:
    """One difference between two calendar links, in the terms the Events API reads them:
    ``part`` is ``endpoint``, ``api-version``, ``readableEventId``, ``sessionId``, ``data.KEY``
    (one data field), another query parameter, or ``text`` when the values are the same and
    only their writing differs (an encoded placeholder, raw quotes)."""

    part: str
    before: str | None  # None: the old link has no such part
    after: str | None  # None: the new link has no such part

    def __str__(self) -> str:
        if self.before is None:
            return f"{self.part} added: {_shown(self.after)}"
        if self.after is None:
            return f"{self.part} removed (was {_shown(self.before)})"
        return f"{self.part} {_shown(self.before)} -> {_shown(self.after)}"


def _shown(value: str | None) -> str:
    return value or '""'


def _terms(url: str) -> dict[str, str]:
    """A calendar URL (HTML-unescaped) as flat named values: its endpoint and path, each query
    parameter, and each value of its one event entry (data fields as ``data.KEY``). Not
    read_calendar_link: a stale link is described whatever it holds (unknown keys, values
    that are not text, several entries), so this reads the decoded JSON as it is."""
    host = slashless_host(url)
    if host is not None:  # 'https:HOST/…': read as the browser would once the // is there
        url = "https://" + url[len("https:") :]
    terms: dict[str, str] = {}
    try:
        decoded = decode_calendar_url(url)
    except (DecodeError, ValueError) as exc:
        return {"link": f"not readable ({exc})"}
    terms["endpoint"] = decoded.host
    if decoded.path != ICS_PATH:
        terms["path"] = decoded.path
    for key, value in decoded.params.items():
        if key != "data":
            terms[key] = value
    data = decoded.data
    entry = data[0] if isinstance(data, list) and len(data) == 1 else None
    if not isinstance(entry, dict) or not isinstance(entry.get("data", {}), dict):
        if "data" in decoded.params:
            terms["data"] = _json_text(data)
        return terms
    for key, value in entry.items():
        if key != "data":
            terms[key] = _json_text(value)
    for key, value in entry.get("data", {}).items():
        terms[f"data.{key}"] = _json_text(value)
    return terms


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def compare_links(before: str, after: str) -> tuple[LinkChange, ...]:
    """What changed from one calendar URL to another (both HTML-unescaped, as a parser
    reads an href), in decoded terms: the page, ``patch -v`` and the JSON report say these.
    Empty when the URLs are the same; one ``text`` change when only their writing differs."""
    if before == after:
        return ()
    old, new = _terms(before), _terms(after)
    changes = [
        LinkChange(part, old.get(part), new.get(part))
        for part in dict.fromkeys([*old, *new])
        if old.get(part) != new.get(part)
    ]
    if changes:
        return tuple(changes)
    from mailpatch._highlight import changed_middles  # links that differ in writing only

    was, now = changed_middles(before, after)
    return (LinkChange("text", was, now),)
