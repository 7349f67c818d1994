"""The calendar link unit: endpoint normalisation, encoding, and the decode round trip."""

from __future__ import annotations

import html
import re
import urllib.parse
from html.parser import HTMLParser

import lxml.html
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mailpatch._link import (
    DEFAULT_FIELDS,
    PLACEHOLDER,
    CalendarLink,
    DecodeError,
    LinkChange,
    LinkEntry,
    LinkError,
    build_fields,
    compare_links,
    decode_calendar_url,
    encode_value,
    endpoint_problems,
    normalize_endpoint,
    placeholder_problems,
    read_calendar_link,
)

HOST = "contoso.svc.dynamics.com"


@pytest.mark.parametrize(
    ("given_", "host"),
    [
        pytest.param("contoso.svc.dynamics.com", HOST, id="bare-host"),
        pytest.param("https://contoso.svc.dynamics.com", HOST, id="https"),
        pytest.param("https://contoso.svc.dynamics.com/", HOST, id="trailing-slash"),
        pytest.param("https://contoso.svc.dynamics.com/EvtMgmt/api/v2.0/", HOST, id="api-root"),
        pytest.param("contoso.svc.dynamics.com/EvtMgmt/api/v2.0", HOST, id="api-root-no-scheme"),
        pytest.param("HTTPS://Contoso.SVC.dynamics.com", HOST, id="case"),
        pytest.param("  org.crm.dynamics.com  ", "org.crm.dynamics.com", id="spaces"),
        pytest.param("org.svc-tip.dynamics.com", "org.svc-tip.dynamics.com", id="svc-tip"),
    ],
)
def test_endpoint_accepted(given_: str, host: str) -> None:
    assert normalize_endpoint(given_) == host


@pytest.mark.parametrize(
    ("given_", "fragment"),
    [
        pytest.param("http://contoso.svc.dynamics.com", "only https://", id="http"),
        pytest.param("javascript://x.com", "only https://", id="javascript"),
        pytest.param("https://contoso.svc.dynamics.com/other/", "unexpected path", id="path"),
        pytest.param("https://u:p@contoso.svc.dynamics.com", "credentials", id="credentials"),
        pytest.param("contoso.svc.dynamics.com:443", "port", id="port"),
        pytest.param("https:{endpoint}", "not a host name", id="ms-sample-placeholder"),
        pytest.param("contoso", "not a host name", id="single-label"),
        pytest.param('a".com', "not a host name", id="quote"),
        pytest.param("a{{x}}.com", "not a host name", id="handlebars"),
        pytest.param("-a.com", "not a host name", id="leading-dash"),
        pytest.param("", "not a host name", id="empty"),
        pytest.param("x.com?evil=1", "not a host name", id="query"),
    ],
)
def test_endpoint_refused(given_: str, fragment: str) -> None:
    with pytest.raises(LinkError, match=fragment):
        normalize_endpoint(given_)


@pytest.mark.parametrize(
    ("given_", "problems"),
    [
        pytest.param("contoso.svc.dynamics.com", [], id="fine"),
        pytest.param(
            "http://contoso.svc.dynamics.com:8080",
            ["only https:// is allowed, not http://", "a port is not allowed"],
            id="scheme-and-port",
        ),
        pytest.param(
            "ftp://u:p@contoso:21/x",
            [
                "only https:// is allowed, not ftp://",
                "unexpected path /x; give the host, optionally with /EvtMgmt/api/v2.0/",
                "credentials are not allowed",
                "a port is not allowed",
                "'contoso' is not a host name: it has one label only; type it like "
                "<org>.svc.dynamics.com",
            ],
            id="every-part-wrong",
        ),
        pytest.param(
            "http://[::1]:80", ["only https:// is allowed, not http://", "'[::1]:80' is an IPv6 "
            "address, not a host name"], id="ipv6-stops-there",
        ),
    ],
)  # fmt: skip
def test_every_endpoint_problem_is_said_at_once(given_: str, problems: list[str]) -> None:
    assert endpoint_problems(given_) == problems
    if problems:
        with pytest.raises(LinkError) as info:
            normalize_endpoint(given_)
        assert str(info.value) == f"endpoint {given_!r}: " + "; ".join(problems)


LINK = CalendarLink(HOST, "ContosoSummit2025").url()
COMPARED = [
    pytest.param(LINK, LINK, [], id="same"),
    pytest.param(
        LINK, CalendarLink(HOST, "ContosoCloudSummit2025").url(),
        ["readableEventId ContosoSummit2025 -> ContosoCloudSummit2025"], id="readable-id",
    ),
    pytest.param(
        LINK, CalendarLink("fabrikam.crm.dynamics.com", "ContosoSummit2025").url(),
        ["endpoint contoso.svc.dynamics.com -> fabrikam.crm.dynamics.com"], id="endpoint",
    ),
    pytest.param(
        LINK,
        CalendarLink(HOST, "ContosoSummit2025", session_id="S1",
                     fields=build_fields([("lastname", "{{contact.lastname}}")], ["firstname"]),
                     api_version="2024-01-01").url(),
        ["api-version 2016-06-30 -> 2024-01-01",
         "data.firstname removed (was {{contact.firstname}})", "sessionId added: S1",
         "data.lastname added: {{contact.lastname}}"],
        id="session-fields-version",
    ),
    pytest.param(
        LINK.replace("{{this.msevtmgt_name}}", "%7B%7Bthis.msevtmgt_name%7D%7D"), LINK,
        ["text %7B%7Bthis.msevtmgt_name%7D%7D -> {{this.msevtmgt_name}}"],
        id="same-values-written-otherwise",
    ),
    pytest.param(
        LINK.replace("data=[{", "data=[{{"), LINK,
        ["link removed (was not readable (data is not JSON: Expecting property name enclosed "
         "in double quotes: line 1 column 3 (char 2)))",
         "endpoint added: contoso.svc.dynamics.com", "api-version added: 2016-06-30",
         "readableEventId added: ContosoSummit2025",
         "data.registrationId added: {{this.msevtmgt_name}}",
         "data.firstname added: {{contact.firstname}}"],
        id="old-data-not-json",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("before", "after", "said"), COMPARED)
def test_compare_links_in_decoded_terms(before: str, after: str, said: list[str]) -> None:
    assert [str(c) for c in compare_links(before, after)] == said


def test_a_change_keeps_its_parts_apart() -> None:
    (change,) = compare_links(LINK, CalendarLink(HOST, "Renamed").url())
    assert change == LinkChange("readableEventId", "ContosoSummit2025", "Renamed")


ICS_URL = f"https://{HOST}/EvtMgmt/api/v2.0/calendar/personal/ics?api-version=2016-06-30"


def _with(data: str) -> str:
    return f"{ICS_URL}&data={urllib.parse.quote(data, safe='[]{}:,')}"


@pytest.mark.parametrize(
    ("url", "read"),
    [
        pytest.param(
            LINK,
            LinkEntry(HOST, "ContosoSummit2025", None, dict(DEFAULT_FIELDS)),
            id="built",
        ),
        pytest.param(
            CalendarLink(HOST, "Ev", (("k", "v"),), session_id="S1").url(),
            LinkEntry(HOST, "Ev", "S1", {"k": "v"}),
            id="session",
        ),
        pytest.param(
            _with('[{"readableEventId":"Ev","data":{"n":1}}]'),
            LinkEntry(HOST, "Ev", None, {"n": 1}),
            id="values-as-written",
        ),
        pytest.param(
            _with('[{"readableEventId":"Ev","x":1}]'),
            LinkEntry(HOST, "Ev", None, None),
            id="no-data-object",
        ),
        pytest.param(ICS_URL, "no data= parameter", id="no-data-parameter"),
        pytest.param(_with("[{"), "data is not JSON", id="not-json"),
        pytest.param(ICS_URL + "&data=%ff", "'utf-8' codec can't decode", id="not-utf-8"),
        pytest.param(_with("{}"), "data is not an array of one event object", id="object"),
        pytest.param(_with("[]"), "data is not an array of one event object", id="empty"),
        pytest.param(_with("[1]"), "data is not an array of one event object", id="number"),
        pytest.param(
            _with('[{"readableEventId":"A"},{"readableEventId":"B"}]'),
            "data is not an array of one event object",
            id="two-events",
        ),
        pytest.param(
            _with('[{"data":{}}]'), "readableEventId is missing or not text", id="no-event-id"
        ),
        pytest.param(
            _with('[{"readableEventId":[1]}]'),
            "readableEventId is missing or not text",
            id="event-id-not-text",
        ),
        pytest.param(
            _with('[{"readableEventId":"Ev","sessionId":2}]'),
            "sessionId is not text",
            id="session-not-text",
        ),
        pytest.param(
            _with('[{"readableEventId":"Ev","data":["a"]}]'),
            "data is not an object",
            id="data-not-object",
        ),
    ],
)
def test_read_calendar_link(url: str, read: LinkEntry | str) -> None:
    """The one typed reading of a calendar link's data JSON (patch, ics and the pages)."""
    if isinstance(read, LinkEntry):
        assert read_calendar_link(url) == read
    else:
        with pytest.raises(DecodeError, match=re.escape(read)):
            read_calendar_link(url)


def test_href_shape_matches_the_documented_call() -> None:
    link = CalendarLink(HOST, "contoso-summit")
    assert link.href() == (
        "https://contoso.svc.dynamics.com/EvtMgmt/api/v2.0/calendar/personal/ics"
        "?api-version=2016-06-30&amp;data=[{%22readableEventId%22:%22contoso-summit%22,"
        "%22data%22:{%22registrationId%22:%22{{this.msevtmgt_name}}%22,"
        "%22firstname%22:%22{{contact.firstname}}%22}}]"
    )


def test_session_id_is_sent_between_event_and_data() -> None:
    link = CalendarLink(HOST, "ev", session_id="5f0c", fields=build_fields(drop=["firstname"]))
    assert "%22sessionId%22:%225f0c%22,%22data%22:" in link.url()
    assert decode_calendar_url(link.url()).data == [
        {
            "readableEventId": "ev",
            "sessionId": "5f0c",
            "data": {"registrationId": "{{this.msevtmgt_name}}"},
        }
    ]


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        pytest.param("{{contact.firstname}}", "{{contact.firstname}}", id="placeholder-literal"),
        pytest.param("{{ contact.firstname }}", "{{contact.firstname}}", id="placeholder-spaces"),
        pytest.param("Hi {{a.b}}!", "Hi%20{{a.b}}%21", id="mixed"),
        pytest.param("}}{{x}}", "%7D%7D{{x}}", id="braces-around"),
        pytest.param("{{else}}", "%7B%7Belse%7D%7D", id="else-keyword-static"),
        pytest.param("{{{raw}}}", "%7B{{raw}}%7D", id="triple-stash-broken-up"),
        pytest.param("{{#if x}}", "%7B%7B%23if%20x%7D%7D", id="block-helper-static"),
        pytest.param("{{lookup a b}}", "%7B%7Blookup%20a%20b%7D%7D", id="helper-call-static"),
        pytest.param('"&#%+', "%5C%22%26%23%25%2B", id="specials"),
        pytest.param("Zoë", "Zo%C3%AB", id="non-ascii"),
        pytest.param("a\nb", "a%5Cnb", id="newline-json-escaped"),
    ],
)
def test_encode_value(value: str, encoded: str) -> None:
    assert encode_value(value) == encoded


HOSTILE = [
    '"',
    "&",
    "#",
    "%",
    "+",
    "}}{{x}}",
    "Zoë 📅",
    "line\nbreak",
    "tab\there",
    "back\\slash",
    "' onmouseover='x",
    '"><script>alert(1)</script>',
    "&amp;data=[]",
    "%22",
    "{{",
    "}}",
]


def _href_via_lxml(attr_html: str) -> str:
    return lxml.html.fragment_fromstring(attr_html).get("href")


def _href_via_stdlib(attr_html: str) -> str:
    found: list[str] = []

    class Grab(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend(v or "" for k, v in attrs if k == "href")

    Grab().feed(attr_html)
    return found[0]


@pytest.mark.parametrize("read_href", [_href_via_lxml, _href_via_stdlib])
@pytest.mark.parametrize("quote", ['"', "'"])
@pytest.mark.parametrize("value", HOSTILE)
def test_round_trip_hostile_values(value: str, quote: str, read_href) -> None:
    """build -> HTML attribute -> html parser -> URL decode -> json.loads = intended object."""
    note = value
    if any(placeholder_problems(value)):  # in a field value '{{' must start a placeholder
        with pytest.raises(LinkError, match="not a placeholder the platform can fill"):
            build_fields([("note", value)])
        note = value.replace("{{", "{ {")
    link = CalendarLink(
        HOST,
        f"ev{value}",
        fields=build_fields([("note", note), (f"k{value}", "v")]),
        session_id=f"s{value}",
    )
    tag = f"<a href={quote}{link.href()}{quote} class=x>b</a>"
    url = read_href(tag)
    assert url == link.url()
    decoded = decode_calendar_url(url)
    assert decoded.host == HOST
    assert decoded.params["api-version"] == "2016-06-30"
    assert decoded.data == link.intended()
    # form decoding (`+` as space) must agree: no literal `+` is ever emitted
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["data"] == [
        decoded.params["data"]
    ]


@pytest.mark.slow
@given(
    event=st.text(min_size=1),
    session=st.none() | st.text(min_size=1),
    fields=st.lists(st.tuples(st.text(min_size=1), st.text()), max_size=4),
)
def test_round_trip_property(event: str, session: str | None, fields) -> None:
    fields = [(k, v) for k, v in fields if k != "msevtmgt_checkin_url"]
    assume(not any(any(placeholder_problems(v)) for _, v in fields))  # refused: test_placeholders
    link = CalendarLink(HOST, event, fields=build_fields(fields), session_id=session)
    href = link.href()
    # nothing a user typed can break out of the attribute or open a handlebars expression
    assert not set(href) & set("\"'<> \t\r\n\\")
    # every {{...}} in the href is a placeholder some field value asked for, nothing more
    asked = {"{{" + m.group(1) + "}}" for _, v in link.fields for m in PLACEHOLDER.finditer(v)}
    assert set(re.findall(r"\{\{.*?\}\}", href)) <= asked
    assert re.sub(r"\{\{[A-Za-z_][\w.]*\}\}", "", href).replace("%22}}]", "").count("{{") == 0
    url = html.unescape(href)
    assert decode_calendar_url(url).data == link.intended()


def test_default_fields() -> None:
    assert build_fields() == DEFAULT_FIELDS


@pytest.mark.parametrize(
    ("overrides", "drop", "expected"),
    [
        pytest.param(
            [("lastname", "{{contact.lastname}}")],
            [],
            (*DEFAULT_FIELDS, ("lastname", "{{contact.lastname}}")),
            id="add",
        ),
        pytest.param(
            [("firstname", "Guest")],
            [],
            (DEFAULT_FIELDS[0], ("firstname", "Guest")),
            id="override-keeps-order",
        ),
        pytest.param([], ["firstname"], (DEFAULT_FIELDS[0],), id="drop-firstname"),
    ],
)
def test_build_fields(overrides, drop, expected) -> None:
    assert build_fields(overrides, drop) == expected


@pytest.mark.parametrize(
    ("overrides", "drop", "fragment"),
    [
        pytest.param([("msevtmgt_checkin_url", "x")], [], "reserved", id="checkin-url"),
        pytest.param([("MSEVTMGT_Checkin_URL", "x")], [], "reserved", id="checkin-url-any-case"),
        pytest.param([], ["registrationId"], "cannot be dropped", id="drop-registration"),
        pytest.param([], ["nope"], "not set", id="drop-unknown"),
        pytest.param([("", "x")], [], "empty", id="empty-key"),
    ],
)
def test_build_fields_refused(overrides, drop, fragment) -> None:
    with pytest.raises(LinkError, match=fragment):
        build_fields(overrides, drop)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"readable_event_id": ""}, id="empty-event"),
        pytest.param({"readable_event_id": "e", "session_id": ""}, id="empty-session"),
        pytest.param({"readable_event_id": "e", "api_version": "1&x=2"}, id="api-version"),
    ],
)
def test_link_refuses_bad_values(kwargs) -> None:
    with pytest.raises(LinkError):
        CalendarLink(HOST, **kwargs)


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1/x?data=[]",
        "https://contoso.svc.dynamics.com/x?data=%ff",
        "https://[zz]/x?data=[]",
    ],
)
def test_decode_calendar_url_says_decodeerror_for_what_it_cannot_read(url: str) -> None:
    """The documented error, not urllib's ValueError or a UnicodeDecodeError."""
    with pytest.raises(DecodeError, match="not a URL the API can read"):
        decode_calendar_url(url)
