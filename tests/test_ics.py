"""`mailpatch ics`: every .ics it writes is parsed by icalendar and checked line by line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailpatch._cli import main
from mailpatch._ics import EventDetails, build_ics, clean, escape_text, fill, html_to_text

from fixturecases import FIXTURES

CONTENT = """<p>Hi {{firstname}},</p>
<p>You're registered for <strong>Contoso Summit 2026</strong>, 14 March, Lisbon.</p>
<ul><li>Keynote, 09:00</li><li>Labs; 14:00</li></ul>
<p>Your registration: {{registrationId}}. <a href="{{msevtmgt_checkin_url}}">Check in</a></p>
"""
TOML = """name = "Contoso Summit 2026"
start = "2026-03-14T09:00"
end = "2026-03-14T17:30"
timezone = "Europe/Lisbon"
location = "Centro de Congressos, Lisboa; Sala 2"
organizer = "Contoso Events <events@contoso.com>"
content = "calendar-content.html"
"""
STAMP = ["--dtstamp", "2026-02-01T12:00:00Z"]
# TEXT after unfolding: every backslash starts one of RFC 5545's four escapes, and no
# unescaped "," or ";" is left (vobject stops reading a value at the first one).
_TEXT = re.compile(r"(?:[^\\,;]|\\[\\;,nN])*")
TEXT_PROPERTIES = ("SUMMARY", "LOCATION", "DESCRIPTION", "X-ALT-DESC")


def event(tmp_path: Path, toml: str = TOML, content: str = CONTENT) -> Path:
    (tmp_path / "calendar-content.html").write_text(content, "utf-8")
    path = tmp_path / "event.toml"
    path.write_text(toml, "utf-8")
    return path


def unfold(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


# A content line (RFC 5545 §3.1): NAME *(";" param) ":" value, a param value quoted or not
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_CONTENT_LINE = re.compile(
    rf"(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;[A-Za-z0-9-]+={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)*)"
    r":(?P<value>.*)\Z"
)


def value_of(lines: list[str], name: str) -> tuple[str, str]:
    """(parameters, raw value) of the first content line named ``name``."""
    for line in lines:
        m = _CONTENT_LINE.match(line)
        assert m, f"not a content line: {line!r}"
        if m.group("name") == name:
            return m.group("params"), m.group("value")
    raise AssertionError(f"no {name} line")


def check_ics(data: bytes) -> icalendar.Calendar:
    """RFC 5545's framing, line by line, then icalendar's reading; returns the calendar."""
    assert data.endswith(b"\r\n")
    physical = data.split(b"\r\n")[:-1]
    for number, line in enumerate(physical, 1):
        assert b"\n" not in line and b"\r" not in line, f"bare line break in line {number}"
        assert len(line) <= 75, f"line {number} has {len(line)} octets"
        line.decode("utf-8")  # strict: a fold never splits a UTF-8 sequence
        assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line), f"control in line {number}"
        assert line, f"empty line {number}"
    lines = unfold(data)
    assert lines[:1] == ["BEGIN:VCALENDAR"] and lines[-1] == "END:VCALENDAR"
    for name in ("PRODID", "VERSION", "METHOD"):
        value_of(lines, name)
    assert value_of(lines, "VERSION")[1] == "2.0"
    assert value_of(lines, "METHOD")[1] == "PUBLISH"
    head = lines[: lines.index("BEGIN:VEVENT") if "BEGIN:VEVENT" in lines else 0]
    assert "BEGIN:VEVENT" not in head and lines.count("BEGIN:VEVENT") == 1
    zones = lines  # VTIMEZONEs come before the event: look there for TZID
    lines = lines[lines.index("BEGIN:VEVENT") : lines.index("END:VEVENT")]
    for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "ORGANIZER", *TEXT_PROPERTIES):
        value_of(lines, name)
    assert value_of(lines, "DTSTAMP")[1].endswith("Z")
    assert value_of(lines, "X-ALT-DESC")[0] == ";FMTTYPE=text/html"
    assert value_of(lines, "ORGANIZER")[1].startswith("mailto:")
    for name in TEXT_PROPERTIES:
        raw = value_of(lines, name)[1]
        assert _TEXT.fullmatch(raw), f"{name} is not escaped TEXT: {raw!r}"
    params, _ = value_of(lines, "DTSTART")
    if params:  # a local time names its zone, and the zone is defined in the file
        tzid = re.fullmatch(r";TZID=(.+)", params)
        assert tzid, params
        assert f"TZID:{tzid.group(1)}" in zones
        assert value_of(lines, "DTEND")[0] == params
    else:
        assert value_of(lines, "DTSTART")[1].endswith("Z")
    calendar = icalendar.Calendar.from_ical(data)
    assert len(calendar.walk("VEVENT")) == 1
    return calendar


def alt_desc(calendar: icalendar.Calendar) -> str:
    # icalendar reads an X- property raw; undo the TEXT escaping it was written with
    raw = calendar.walk("VEVENT")[0]["X-ALT-DESC"].to_ical().decode("utf-8")
    return unescape(raw)


def unescape(raw: str) -> str:
    """RFC 5545 TEXT unescaping, written out here to check icalendar's escaping against."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), raw)


def run_ics(args: list[str], capsys: pytest.CaptureFixture[bytes]) -> tuple[int, bytes, str]:
    code = main(["ics", *args])
    out = capsys.readouterr()
    return code, out.out, out.err.decode("utf-8")


# --- the command as the issue shows it ---------------------------------------------------------


def test_issue_example_writes_a_valid_invitation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    monkeypatch.chdir(tmp_path)
    event(tmp_path)
    args = [
        "--event-file",
        "event.toml",
        "--data",
        "firstname=Zoë",
        "--data",
        "registrationId=REG-1",
    ]
    code, out, err = run_ics([*args, "-o", "invite.ics", *STAMP], capsysbinary)
    assert code == 0 and out == b""
    assert "wrote invite.ics" in err and "{{msevtmgt_checkin_url}} has no value" in err
    calendar = check_ics((tmp_path / "invite.ics").read_bytes())
    vevent = calendar.walk("VEVENT")[0]
    assert str(vevent["SUMMARY"]) == "Contoso Summit 2026"
    assert str(vevent["LOCATION"]) == "Centro de Congressos, Lisboa; Sala 2"
    assert vevent["DTSTART"].dt == datetime(2026, 3, 14, 9, tzinfo=ZoneInfo("Europe/Lisbon"))
    assert vevent["DTEND"].dt == datetime(2026, 3, 14, 17, 30, tzinfo=ZoneInfo("Europe/Lisbon"))
    assert vevent["DTSTAMP"].dt == datetime(2026, 2, 1, 12, tzinfo=UTC)
    assert str(vevent["ORGANIZER"]) == "mailto:events@contoso.com"
    assert vevent["ORGANIZER"].params["CN"] == "Contoso Events"
    assert str(vevent["DESCRIPTION"]) == (
        "Hi Zoë,\n\nYou're registered for Contoso Summit 2026, 14 March, Lisbon.\n\n"
        "- Keynote, 09:00\n- Labs; 14:00\n\n"
        "Your registration: REG-1. Check in <{{msevtmgt_checkin_url}}>"
    )
    assert alt_desc(calendar) == CONTENT.replace("{{firstname}}", "Zoë").replace(
        "{{registrationId}}", "REG-1"
    )
    assert [c.name for c in calendar.subcomponents] == ["VTIMEZONE", "VEVENT"]
    # the same command again: the same bytes (UID derived, DTSTAMP given)
    assert run_ics([*args, *STAMP], capsysbinary)[1] == (tmp_path / "invite.ics").read_bytes()


@pytest.mark.parametrize("output", [pytest.param([], id="default"), pytest.param(["-o", "-"])])
def test_stdout(
    output: list[str], tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    toml = str(event(tmp_path))
    code, out, _ = run_ics(
        ["--event-file", toml, "--data", "registrationId=R", *output], capsysbinary
    )
    assert code == 0
    check_ics(out)


def test_options_alone_make_an_event(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    content = tmp_path / "c.html"
    content.write_text("<p>{{registrationId}}</p>", "utf-8")
    args = [
        "--name=Fabrikam Day",
        "--start=2026-09-01T10:00:00-04:00",  # an offset: converted to the event's zone
        "--end=2026-09-01T18:00",
        "--timezone=Europe/Berlin",
        "--location=Online",
        "--organizer=events@fabrikam.com",
        f"--content={content}",
        "--data=registrationId=R-9",
        *STAMP,
    ]
    code, out, _ = run_ics(args, capsysbinary)
    assert code == 0
    vevent = check_ics(out).walk("VEVENT")[0]
    assert vevent["DTSTART"].dt == datetime(2026, 9, 1, 16, tzinfo=ZoneInfo("Europe/Berlin"))
    assert "CN" not in vevent["ORGANIZER"].params


def test_options_override_the_toml(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    toml = str(event(tmp_path))
    other = tmp_path / "other.html"
    other.write_text("<p>Other content</p>", "utf-8")
    args = ["--event-file", toml, "--name", "Renamed", "--content", str(other), *STAMP]
    vevent = check_ics(run_ics(args, capsysbinary)[1]).walk("VEVENT")[0]
    assert str(vevent["SUMMARY"]) == "Renamed"
    assert str(vevent["DESCRIPTION"]) == "Other content"


def test_utc_event_has_no_vtimezone(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    args = ["--event-file", str(event(tmp_path)), "--timezone", "UTC", *STAMP]
    calendar = check_ics(run_ics(args, capsysbinary)[1])
    assert [c.name for c in calendar.subcomponents] == ["VEVENT"]


def test_toml_datetimes_and_a_bom_in_the_content(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    toml = TOML.replace('"2026-03-14T09:00"', "2026-03-14T09:00:00")
    path = event(tmp_path, toml)
    (tmp_path / "calendar-content.html").write_bytes(b"\xef\xbb\xbf<p>Ol\xc3\xa1</p>")
    vevent = check_ics(run_ics(["--event-file", str(path)], capsysbinary)[1]).walk("VEVENT")[0]
    assert vevent["DTSTART"].dt.hour == 9
    assert str(vevent["DESCRIPTION"]) == "Olá"


# --- data: --data, --link, --checkin-url -------------------------------------------------------


def test_values_are_html_escaped_in_x_alt_desc_and_plain_in_description(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    hostile = '<b>"Zoë" & O\'Brien</b>; a, b \\ c'
    args = ["--event-file", str(event(tmp_path)), "--data", f"firstname={hostile}"]
    args += ["--data", "registrationId=REG-1", "--checkin-url", "https://x.example/c?a=1&b=2"]
    calendar = check_ics(run_ics([*args, *STAMP], capsysbinary)[1])
    alt = alt_desc(calendar)
    assert "Hi &lt;b&gt;&quot;Zoë&quot; &amp; O&#x27;Brien&lt;/b&gt;; a, b \\ c," in alt
    assert 'href="https://x.example/c?a=1&amp;b=2"' in alt
    description = str(calendar.walk("VEVENT")[0]["DESCRIPTION"])
    assert description.startswith(f"Hi {hostile},\n")
    assert description.endswith("Check in <https://x.example/c?a=1&b=2>")


def _fixture_href() -> str:
    text = (FIXTURES / "patch" / "classic-vml-button" / "expected.html").read_text("utf-8")
    m = re.search(r'<a class="buttonClass" href="([^"]+)"', text)
    assert m
    return m.group(1)


def test_link_supplies_the_keys_and_data_fills_them(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    args = ["--event-file", str(event(tmp_path)), "--link", _fixture_href(), *STAMP]
    code, out, err = run_ics(args, capsysbinary)
    assert code == 0
    assert "warning: registrationId is '{{this.msevtmgt_name}}'" in err
    assert "give --data firstname=…" in err
    code, out, err = run_ics(
        [*args, "--data", "registrationId=REG-7", "--data", "firstname=Zoë"], capsysbinary
    )
    assert "warning: registrationId" not in err and "warning: firstname" not in err
    assert "Hi Zoë,</p>" in alt_desc(check_ics(out))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(["--link", "https://www.contoso.com/"], "not a calendar link", id="not-ics"),
        pytest.param(
            ["--link", _fixture_href().replace("%22}}]", "%22}")],
            "data is not JSON",
            id="broken-json",
        ),
        pytest.param(
            ["--link", _fixture_href().replace("}}]", "}},{}]")],
            "data is not an array of one event object (run 'mailpatch lint' on the email)",
            id="two-entries",
        ),
        pytest.param(
            ["--link", _fixture_href().replace("%22data%22:{", "%22data%22:1,%22x%22:{", 1)],
            "the event's data is not an object",
            id="data-not-an-object",
        ),
        pytest.param(
            ["--link", _fixture_href().replace("firstname", "msevtmgt_checkin_url")],
            "MP108",
            id="reserved-in-link",
        ),
        pytest.param(
            ["--data", "msevtmgt_checkin_url=x"], "give it with --checkin-url", id="reserved-data"
        ),
        pytest.param(  # whatever the case, as patch and lint read it (one rule)
            ["--data", "MSEVTMGT_Checkin_URL=x"], "give it with --checkin-url", id="reserved-case"
        ),
        pytest.param(
            ["--link", _fixture_href().replace("firstname", "MSEVTMGT_CHECKIN_URL")],
            "MP108",
            id="reserved-in-link-case",
        ),
        pytest.param(["--data", "firstname"], "expected KEY=VALUE", id="no-equals"),
        pytest.param(["--dtstamp", "yesterday"], "not an ISO 8601", id="bad-dtstamp"),
    ],
)
def test_data_usage_errors(
    args: list[str],
    fragment: str,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, out, err = run_ics(["--event-file", str(event(tmp_path)), *args], capsysbinary)
    assert code == 2 and out == b""
    assert fragment in err


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        pytest.param(TOML.replace('name = "Contoso Summit 2026"\n', ""), "missing name", id="name"),
        pytest.param(TOML.replace("Europe/Lisbon", "Europe/Atlantis"), "IANA", id="timezone"),
        pytest.param(TOML.replace("2026-03-14T09:00", "14/03/2026"), "ISO 8601", id="date"),
        pytest.param(TOML.replace('"2026-03-14T09:00"', "2026-03-14"), "time of day", id="day"),
        pytest.param(TOML.replace("T17:30", "T08:00"), "not after start", id="end-first"),
        pytest.param(TOML + 'venue = "x"\n', "unknown key(s) venue", id="unknown-key"),
        pytest.param(TOML.replace("<events@contoso.com>", ""), "not an email", id="organizer"),
        pytest.param(TOML.replace("calendar-content", "nope"), "cannot be read", id="no-content"),
        pytest.param(TOML + "name = 2\n", "not valid TOML", id="bad-toml"),
        pytest.param(TOML.replace('"Centro', "3 #").replace('Sala 2"', ""), "string", id="type"),
    ],
)
def test_event_errors_are_usage_errors(
    toml: str, fragment: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, out, err = run_ics(["--event-file", str(event(tmp_path, toml))], capsysbinary)
    assert code == 2 and out == b""
    assert fragment in err


@pytest.mark.parametrize("which", ["event-file", "content"])
@pytest.mark.parametrize("kind", ["fifo", "device", "too-big"])
def test_event_files_that_are_no_files(
    which: str, kind: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Read as an email is: a FIFO hung `ics` and `preview`, /dev/zero ended in a
    MemoryError traceback; now each is a usage error that names the file."""
    path = event(tmp_path)
    target = path if which == "event-file" else tmp_path / "calendar-content.html"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/zero")
    else:
        target.write_text(TOML if which == "event-file" else "", "utf-8")
        with target.open("a") as handle:
            handle.write("#" * (21 * 1024 * 1024))
    code, out, err = run_ics(["--event-file", str(path)], capsysbinary)
    assert code == 2 and out == b""
    assert ("over the" if kind == "too-big" else "is not a regular file") in err


def test_content_not_utf8(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = event(tmp_path)
    (tmp_path / "calendar-content.html").write_bytes(b"<p>Ol\xe1</p>")
    code, _, err = run_ics(["--event-file", str(path)], capsysbinary)
    assert code == 2 and "is not UTF-8" in err


def test_uid_is_per_event_and_registrant(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    base = ["--event-file", str(event(tmp_path)), *STAMP]

    def uid(*extra: str) -> str:
        calendar = check_ics(run_ics([*base, *extra], capsysbinary)[1])
        return str(calendar.walk("VEVENT")[0]["UID"])

    one = uid("--data", "registrationId=REG-1", "--data", "firstname=A")
    assert one == uid("--data", "registrationId=REG-1", "--data", "firstname=B")
    assert one != uid("--data", "registrationId=REG-2")
    assert uid("--uid", "fixed@example.com") == "fixed@example.com"


def test_default_dtstamp_is_now_in_utc(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    calendar = check_ics(run_ics(["--event-file", str(event(tmp_path))], capsysbinary)[1])
    stamp = calendar.walk("VEVENT")[0]["DTSTAMP"].dt
    assert before <= stamp <= datetime.now(UTC)


def test_icalendar_is_not_imported_at_start_up() -> None:
    code = (
        "import sys; from mailpatch._cli import main; "
        "assert main(['--help']) == 0; assert 'icalendar' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr


# --- units -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html_", "text"),
    [
        pytest.param("<p>a</p><p>b</p>", "a\n\nb", id="paragraphs"),
        pytest.param("a<br>b<br/>c", "a\nb\nc", id="breaks"),
        pytest.param("<ul><li>one</li><li>two</li></ul>", "- one\n- two", id="list"),
        pytest.param("<p>a   b\n c</p>", "a b c", id="whitespace"),
        pytest.param("&nbsp;&amp;&lt;&#128197;", "\xa0&<📅".strip(), id="entities"),
        pytest.param('<a href="https://x.example">Site</a>', "Site <https://x.example>", id="link"),
        pytest.param('<a href="https://x.example">https://x.example</a>', "https://x.example"),
        pytest.param('<a href="#top">Top</a>', "Top", id="anchor"),
        pytest.param("<style>p{color:red}</style><p>x</p>", "x", id="style-hidden"),
        pytest.param("<head><title>T</title></head><body>b</body>", "b", id="head-hidden"),
        pytest.param("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
    ],
)
def test_html_to_text(html_: str, text: str) -> None:
    assert html_to_text(html_) == text


@pytest.mark.parametrize(
    ("content", "values", "filled", "missing"),
    [
        pytest.param("{{a}} {{ a }}", {"a": "x"}, "x x", [], id="spaces"),
        pytest.param("{{a}}{{b}}{{b}}", {"a": "x"}, "x{{b}}{{b}}", ["b"], id="missing-once"),
        pytest.param("{{a}}", {"a": "{{b}}"}, "{{b}}", [], id="one-pass"),
        pytest.param("{{a}}", {"a": "<&\"'>"}, "&lt;&amp;&quot;&#x27;&gt;", [], id="escaped"),
        pytest.param("{{{a}}}", {"a": "x"}, "{x}", [], id="triple-left-as-text"),
        pytest.param("{{#if a}}", {"a": "x"}, "{{#if a}}", [], id="helper-left"),
    ],
)
def test_fill(content: str, values: dict[str, str], filled: str, missing: list[str]) -> None:
    assert fill(content, values) == (filled, missing)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        pytest.param("a,b;c", "a\\,b\\;c", id="comma-semicolon"),
        pytest.param("a\nb", "a\\nb", id="newline"),
        pytest.param("C:\\New\\n", "C:\\\\New\\\\n", id="literal-backslash-N-stays-text"),
        pytest.param("\\,", "\\\\\\,", id="backslash-then-comma"),
        pytest.param("Zoë 📅: ok", "Zoë 📅: ok", id="colon-and-unicode-untouched"),
    ],
)
def test_escape_text(text: str, escaped: str) -> None:
    assert escape_text(text) == escaped
    assert unescape(escaped) == text


def test_clean_keeps_tabs_and_newlines_only() -> None:
    assert clean("a\r\nb\rc\td\x00e\x1bf\x7fg\x85h") == "a\nb\nc\tdefg\x85h"


# --- the property ------------------------------------------------------------------------------

SPECIALS = st.sampled_from(
    [",", ";", "\\", "\\N", "\\n", "\n", "\r\n", "\r", "\t", ":", '"', "📅", "é", "京"]
)
TEXT = st.lists(
    st.one_of(st.text(st.characters(exclude_categories=["Cs"]), max_size=12), SPECIALS),
    max_size=30,
).map("".join)
ZONES = ["Europe/Lisbon", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=TEXT,
    location=TEXT,
    pieces=st.lists(st.one_of(TEXT, st.sampled_from(["{{firstname}}", "{{registrationId}}"]))),
    firstname=TEXT,
    organizer_name=st.text(st.characters(categories=["L", "N", "Zs"]), max_size=20),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31)),
    length=st.timedeltas(timedelta(minutes=1), timedelta(days=400)),
)
def test_any_event_makes_a_valid_ics(
    name: str,
    location: str,
    pieces: list[str],
    firstname: str,
    organizer_name: str,
    zone: str,
    start: datetime,
    length: timedelta,
) -> None:
    tz = ZoneInfo(zone)
    start = start.replace(tzinfo=tz, microsecond=0)
    content = "".join(pieces)
    details = EventDetails(
        name=name,
        start=start,
        end=start + length,
        timezone=zone,
        location=location,
        organizer=f"{organizer_name} <events@contoso.com>",
        content=content,
    )
    values = {"firstname": firstname, "registrationId": "REG-1"}
    data, missing = build_ics(details, values, dtstamp=datetime(2026, 1, 1, tzinfo=UTC))
    assert missing == []
    calendar = check_ics(data)
    vevent = calendar.walk("VEVENT")[0]
    assert str(vevent["SUMMARY"]) == clean(name)
    assert str(vevent["LOCATION"]) == clean(location)
    filled = clean(fill(content, values)[0])
    assert alt_desc(calendar) == filled
    assert str(vevent["DESCRIPTION"]) == html_to_text(filled)


def test_readme_example_is_what_the_command_writes(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    examples = FIXTURES / "examples"
    args = ["--event-file", str(examples / "event.toml"), "--data", "firstname=Zoë"]
    args += ["--data", "registrationId=REG-1", "--checkin-url"]
    args += ["https://contoso.example/checkin/REG-1", "--dtstamp", "2025-05-01T08:00:00Z"]
    code, out, _ = run_ics(args, capsysbinary)
    assert code == 0
    check_ics(out)
    written = out.decode("utf-8").replace("\r\n", "\n")
    vevent = written[written.index("BEGIN:VEVENT") : written.index("END:VEVENT")]
    readme = (FIXTURES.parent / "README.md").read_text("utf-8")
    assert vevent in readme


def test_the_old_event_option_still_reads_the_file_with_a_warning(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """'ics --event FILE' clashed with 'patch --event GUID=ID': now --event-file."""
    toml = str(event(tmp_path))
    code, out, err = run_ics(["--event", toml, "--data", "registrationId=R", *STAMP], capsysbinary)
    assert code == 0 and b"BEGIN:VCALENDAR" in out
    assert "'ics --event FILE' is now 'ics --event-file FILE'" in err
    both = ["--event", toml, "--event-file", toml]
    assert run_ics(both, capsysbinary)[0] == 2


@pytest.mark.slow
@pytest.mark.parametrize("command", ["ics", "preview"])
@pytest.mark.parametrize(
    "which, special",
    [
        pytest.param("content", "fifo", id="content-fifo"),
        pytest.param("content", "/dev/zero", id="content-dev-zero"),
        pytest.param("event.toml", "fifo", id="toml-fifo"),
        pytest.param("event.toml", "/dev/zero", id="toml-dev-zero"),
        pytest.param("content", "large", id="content-over-the-limit"),
    ],
)
def test_event_files_are_regular_files_of_bounded_size(
    command: str, which: str, special: str, tmp_path: Path
) -> None:
    """A FIFO would hang the command and /dev/zero exhaust its memory: only regular files are
    read, no larger than an email may be."""
    toml = event(tmp_path)
    target = toml if which == "event.toml" else tmp_path / "calendar-content.html"
    target.unlink()
    if special == "fifo":
        os.mkfifo(target)
    elif special == "large":
        target.write_bytes(b"<p>" + b"x" * (20 * 1024 * 1024) + b"</p>")
    else:
        target.symlink_to(special)
    args = ["ics", "--event-file", str(toml)]
    if command == "preview":
        email = str(FIXTURES / "examples" / "registration-email.html")
        settings = ["--endpoint", "contoso.svc.dynamics.com", "--event-id", "E"]
        args = ["preview", *settings, *args[1:], "-o", str(tmp_path / "p.html"), email]
    run = subprocess.run(
        [sys.executable, "-m", "mailpatch", *args], capture_output=True, timeout=60, text=True
    )
    assert run.returncode == 2, run.stderr
    reason = "over the" if special == "large" else "is not a regular file"
    assert reason in run.stderr and str(target) in run.stderr
    assert "Traceback" not in run.stderr


def test_the_time_zone_carries_no_comment_that_reads_as_an_expiry(tmp_path: Path) -> None:
    """icalendar writes 'COMMENT:This timezone only works from 2026-01-01 to 2027-01-01.' into
    the VTIMEZONE, which readers of the file took for the invitation expiring."""
    event = EventDetails(
        name="Summit",
        start=datetime(2026, 3, 14, 9, tzinfo=ZoneInfo("Europe/Lisbon")),
        end=datetime(2026, 3, 14, 17, tzinfo=ZoneInfo("Europe/Lisbon")),
        timezone="Europe/Lisbon",
        location="Lisboa",
        organizer="events@contoso.com",
        content=CONTENT,
    )
    data, _ = build_ics(event, {})
    calendar = check_ics(data)
    assert b"only works" not in data and b"COMMENT" not in data
    assert [z["TZID"] for z in calendar.walk("VTIMEZONE")] == ["Europe/Lisbon"]
