"""``mailpatch preview``: the page's content (decoded links, who gets a button, escaping, no
network) and the command's exit codes and messages."""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from mailpatch._blocks import scan
from mailpatch._cli import main
from mailpatch._errors import MissingOption, Refusal
from mailpatch._ics import load_event
from mailpatch._lint import CalendarContent, links
from mailpatch._options import build_options
from mailpatch._patch import patch as mailpatch_patch
from mailpatch.page._preview import (
    Contact,
    ContactsError,
    Registration,
    load_contacts,
    preview_page,
)

from fixturecases import FIXTURES, cases

EXAMPLE = FIXTURES / "examples" / "registration-email.html"
EVENT_TOML = FIXTURES / "examples" / "event.toml"
CONTENT = FIXTURES / "examples" / "calendar-content.html"
GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"  # the example's event
ENDPOINT = "contoso.svc.dynamics.com"
READABLE = "ContosoSummit2025"
HOSTILE = '"><script>alert(1)</script>&'
OPTIONS = build_options(endpoint=ENDPOINT, event_id=READABLE)
ARGS = ["--endpoint", ENDPOINT, "--event-id", READABLE]


def example() -> str:
    return EXAMPLE.read_text("utf-8")


@dataclass(frozen=True)
class Section:
    """One contact's part of the page, read back as a browser would."""

    label: str
    original: str  # the srcdoc, unescaped: the email the frame shows
    patched: str
    links: list[dict[str, Any]]  # each decoded-link table: header -> cell text
    fields: list[list[tuple[str, str, str]]]  # per link: (key, placeholder, value)
    problems: list[str]
    downloads: list[str]  # data: URLs

    def calendar_links(self, which: str = "patched") -> list[str]:
        email = getattr(self, which)
        return [link.url for link in links(scan(email)) if link.calendar]


def sections(page: str) -> dict[str, Section]:
    doc = lxml.html.document_fromstring(page)
    out: dict[str, Section] = {}
    for sec in doc.xpath('//section[starts-with(@id, "contact-")]'):
        frames = {f.get("class"): f.get("srcdoc") for f in sec.xpath(".//iframe")}
        tables, fields = [], []
        for table in sec.xpath('.//table[@class="link"]'):
            row = {
                tr.xpath("./th")[0].text_content(): tr.xpath("./td")[0].text_content()
                for tr in table.xpath("./tr")
                if len(tr.xpath("./th")) == 1
            }
            tables.append(row)
            fields.append(
                [
                    tuple(td.text_content() for td in tr.xpath("./td"))
                    for tr in table.xpath('./tr[@class="field"]')
                ]
            )
        out[sec.xpath("./h2")[0].text_content()] = Section(
            label=sec.xpath("./h2")[0].text_content(),
            original=frames.get("original", ""),
            patched=frames.get("patched", ""),
            links=tables,
            fields=fields,
            problems=[li.text_content() for li in sec.xpath('.//ul[@class="problems"]/li')],
            downloads=[a.get("href") for a in sec.xpath('.//a[@class="download"]')],
        )
    return out


@pytest.fixture(scope="module")
def page() -> str:
    zed = Contact("Hostile", {"firstname": HOSTILE, "lastname": "Ng"}, (Registration(GUID, {}),))
    return preview_page(
        example(),
        OPTIONS,
        name="registration-email.html",
        contacts=[zed],
        event=load_event(EVENT_TOML, {}),
        calendar_content=CalendarContent.parse("calendar-content.html", CONTENT.read_text()),
    )


# --------------------------------------------------------------------------- who gets a button


def test_sample_contacts(page: str) -> None:
    assert list(sections(page)) == [
        "No registration",
        f"Registered for {READABLE} ({GUID})",
        "Registered for two events (this one and another)",
        "Hostile",
    ]


@pytest.mark.parametrize(
    ("label", "buttons"),
    [
        ("No registration", 0),
        (f"Registered for {READABLE} ({GUID})", 1),
        ("Registered for two events (this one and another)", 1),  # not for the other event
        ("Hostile", 1),
    ],
)
def test_button_only_for_registered(page: str, label: str, buttons: int) -> None:
    section = sections(page)[label]
    urls = section.calendar_links()
    assert len(set(urls)) == buttons
    assert len(section.links) == buttons
    assert not section.calendar_links("original")  # the original has no calendar link
    assert "Contoso Cloud Summit" in section.patched  # the email itself is in the frame


def test_unregistered_says_so(page: str) -> None:
    doc = lxml.html.document_fromstring(page)
    (sec,) = doc.xpath('//section[@id="contact-1"]')
    assert "No calendar button for this contact." in sec.text_content()


# --------------------------------------------------------------------------- decoded links


def test_decoded_link_table(page: str) -> None:
    section = sections(page)[f"Registered for {READABLE} ({GUID})"]
    (table,) = section.links
    assert table["Endpoint"] == ENDPOINT
    assert table["Readable event id"] == READABLE
    assert table["Session"] == "none"
    assert table["In"] == "Outlook (VML), <a>"
    assert section.fields == [
        [
            ("registrationId", "{{this.msevtmgt_name}}", "REG-0001"),
            ("firstname", "{{contact.firstname}}", "Zoë"),
        ]
    ]
    assert section.problems == []


def test_session_and_custom_field() -> None:
    options = build_options(
        endpoint=ENDPOINT,
        events=[f"{GUID}=Summit@Day-1"],
        fields=["lastname={{contact.lastname}}"],
    )
    (section,) = [s for s in sections(preview_page(example(), options)).values() if s.links][:1]
    assert section.links[0]["Readable event id"] == "Summit"
    assert section.links[0]["Session"] == "Day-1"
    assert ("lastname", "{{contact.lastname}}", "Ng") in section.fields[0]


def test_unused_field_warned_with_calendar_content() -> None:
    content = CalendarContent.parse("content.html", "<p>{{registrationId}}</p>")
    labels = sections(preview_page(example(), OPTIONS, calendar_content=content))
    problems = labels[f"Registered for {READABLE} ({GUID})"].problems
    assert problems == ["MP302 warning: data key 'firstname' is not used by content.html"]


@pytest.mark.parametrize(
    ("firstname", "code"),
    [("Zoë", None), ('Jo "JJ"', "MP104"), ("Ben & Jerry", "MP105")],
)
def test_first_name_lint_would_warn_about(firstname: str, code: str | None) -> None:
    who = Contact("who", {"firstname": firstname}, (Registration(GUID),))
    section = sections(preview_page(example(), OPTIONS, contacts=[who]))["who"]
    codes = {p.split()[0] for p in section.problems}
    assert codes == ({code} if code else set())


def test_a_link_whose_event_id_is_not_text_is_said_so() -> None:
    """A calendar link may carry anything ("readableEventId":[1]): the page says the API
    cannot read it, where it raised TypeError (unhashable) before."""
    odd = (
        '<p><a href="https://contoso.svc.dynamics.com/EvtMgmt/api/v2.0/calendar/personal/ics'
        "?api-version=2016-06-30&amp;data=[{%22readableEventId%22:[1],%22data%22:{%22a%22:"
        '%22b%22}}]">cal</a></p></body>'
    )
    page = preview_page(example().replace("</body>", odd, 1), OPTIONS)
    assert "readableEventId or sessionId is not text" in page


def test_contacts_registrations_match_the_email_however_written() -> None:
    """eq compares exactly: a contacts file's braced or capitalised GUID is the email's."""
    who = Contact("who", {"firstname": "Zoë"}, (Registration("{" + GUID.upper() + "}"),))
    assert sections(preview_page(example(), OPTIONS, contacts=[who]))["who"].links


def test_ics_download(page: str) -> None:
    (url,) = sections(page)[f"Registered for {READABLE} ({GUID})"].downloads
    head, _, body = url.partition(",")
    assert head == "data:text/calendar;charset=utf-8;base64"
    ics = base64.b64decode(body).decode("utf-8")
    assert "SUMMARY:Contoso Cloud Summit 2025" in ics
    assert "REG-0001" in ics.replace("\r\n ", "")


def test_diff_of_the_patch(page: str) -> None:
    doc = lxml.html.document_fromstring(page)
    diff = doc.xpath('//section[contains(@class, "diff")]//pre')[0].text_content()
    assert diff.startswith("--- a/registration-email.html\n+++ b/registration-email.html\n")
    assert '-<div data-editorblocktype="ERQRCode">' in diff


def test_unchanged_email_has_no_diff() -> None:
    (case,) = [c for c in cases("patch") if c.name == "custom-fields"]
    patched = case.expected.read_text("utf-8-sig")
    text = lxml.html.document_fromstring(preview_page(patched, case.options)).text_content()
    assert "mailpatch patch would leave this email as it is." in text
    assert "No change." in text


# --------------------------------------------------------------------------- safety


def test_hostile_name_only_escaped(page: str) -> None:
    # the page itself: no script, no markup made from the name
    assert "<script" not in page.lower()
    assert HOSTILE not in page
    doc = lxml.html.document_fromstring(page)
    assert not doc.xpath("//script")
    frames = doc.xpath("//iframe")
    assert len(frames) == 8  # 4 contacts x 2: nothing broke out of a srcdoc
    assert all(f.get("sandbox") == "" for f in frames)
    # the email in the frame: Handlebars escaped the name, so it is text there too
    hostile = sections(page)["Hostile"]
    inner = lxml.html.document_fromstring(hostile.patched)
    assert not inner.xpath("//script")
    assert HOSTILE in inner.text_content()
    # and the contact line shows it as text
    (sec,) = doc.xpath('//section[@id="contact-4"]')
    assert HOSTILE in sec.xpath('./p[@class="who"]')[0].text_content()


def test_hostile_name_breaks_the_link_and_says_so(page: str) -> None:
    hostile = sections(page)["Hostile"]
    assert hostile.problems  # a raw " in the link: lint's MP104
    assert any(p.startswith("MP104") for p in hostile.problems)


def test_hostile_email_text_stays_in_its_frame() -> None:
    breaking = example().replace("<body>", '<body>"></iframe><script>alert(2)</script>', 1)
    doc = lxml.html.document_fromstring(preview_page(breaking, OPTIONS))
    assert not doc.xpath("//script")
    assert len(doc.xpath("//iframe")) == 6


def test_nothing_loaded_from_the_network(page: str) -> None:
    doc = lxml.html.document_fromstring(page)
    assert not doc.xpath("//link | //script | //img | //object | //embed")
    for el in doc.iter():
        for attr in ("src", "href", "action", "data", "poster"):
            value = (el.get(attr) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (el.tag, attr, value)
    assert "url(" not in "".join(s.text_content() for s in doc.xpath("//style"))
    (csp,) = doc.xpath('//meta[@http-equiv="Content-Security-Policy"]')
    assert "default-src 'none'" in csp.get("content")
    assert "img-src data:" in csp.get("content")
    # calendar links appear, as text only
    assert not re.search(
        r"""(?:src|href)\s*=\s*["']?https?:""", re.sub(r'srcdoc="[^"]*"', "", page)
    )


# --------------------------------------------------------------------------- refusals


def test_refusal_as_patch() -> None:
    (case,) = [c for c in cases("refuse") if c.name == "ambiguous-two-buttons"]
    with pytest.raises(Refusal):
        preview_page(case.input.read_text("utf-8"), case.options)


def test_missing_endpoint_as_patch() -> None:
    with pytest.raises(MissingOption):
        preview_page(example(), build_options(event_id=READABLE))


# --------------------------------------------------------------------------- contacts files

GOOD_CONTACTS = {
    "contacts.toml": (
        f'[[contacts]]\nlabel = "Zoë"\nfields = {{ firstname = "Zoë" }}\n'
        f'registrations = ["{GUID}", {{ event = "{GUID.upper()}", msevtmgt_name = "R-9" }}]\n'
        '[[contacts]]\nlabel = "Nobody"\n'
    ),
    "contacts.json": json.dumps(
        {
            "contacts": [
                {
                    "label": "Zoë",
                    "fields": {"firstname": "Zoë"},
                    "registrations": [GUID, {"event": GUID.upper(), "msevtmgt_name": "R-9"}],
                },
                {"label": "Nobody"},
            ]
        }
    ),
    "list.json": json.dumps(
        [
            {
                "label": "Zoë",
                "fields": {"firstname": "Zoë"},
                "registrations": [GUID, {"event": GUID.upper(), "msevtmgt_name": "R-9"}],
            },
            {"label": "Nobody"},
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(GOOD_CONTACTS))
def test_contacts_file(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(GOOD_CONTACTS[name], "utf-8")
    assert load_contacts(path) == [
        Contact(
            "Zoë",
            {"firstname": "Zoë"},
            (Registration(GUID), Registration(GUID.upper(), {"msevtmgt_name": "R-9"})),
        ),
        Contact("Nobody"),
    ]


BAD_CONTACTS = {
    "not-toml": ("c.toml", "x = [", "not valid TOML"),
    "not-json": ("c.json", "{", "not valid JSON"),
    "empty": ("c.toml", "", "no contacts"),
    "unknown-top": ("c.toml", "[[people]]\nlabel='x'\n", "unknown key(s) people"),
    "unknown-key": ("c.toml", "[[contacts]]\nname='x'\n", "unknown key(s) name"),
    "not-guid": ("c.toml", "[[contacts]]\nregistrations=['abc']\n", "'abc' is not an event GUID"),
    "number-field": ("c.json", '[{"fields": {"age": 3}}]', "'age' must be a string"),
    "fields-list": ("c.json", '[{"fields": ["a"]}]', "fields must be a table"),
    "registration-number": ("c.json", '[{"registrations": [3]}]', "expected an event GUID"),
    "not-utf8": ("c.toml", b"\xff\xfe", "cannot be read"),
    "deep-json": ("c.json", "[" * 100_000, "nested too deep"),
    "lone-surrogate": (
        "c.json",
        '[{"fields": {"firstname": "x\\ud800"}}]',
        '"\\ud800" is half a character',
    ),
    "deep-toml": ("c.toml", "a = " + "[" * 100_000, "nested too deep"),
    "too-big": ("c.toml", "# " + "x" * 1024 * 1024, "over the 1,048,576-byte limit"),
    "too-many": (
        "c.json",
        "[" + ",".join(["{}"] * 51) + "]",
        "51 contacts; the page shows at most 50",
    ),
    "too-many-registrations": (
        "c.json",
        '[{"registrations": [' + ",".join([f'"{GUID}"'] * 51) + "]}]",
        "51 registrations; at most 50",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONTACTS))
def test_bad_contacts_file(case: str, tmp_path: Path) -> None:
    name, content, message = BAD_CONTACTS[case]
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    with pytest.raises(ContactsError, match=re.escape(message)):
        load_contacts(path)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_contacts_file_that_is_no_file(kind: str, tmp_path: Path) -> None:
    """Read as an email is: a FIFO would hang the preview, /dev/zero fill the memory."""
    path = tmp_path / "contacts.toml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = Path("/dev/zero")
    with pytest.raises(ContactsError, match="is not a regular file"):
        load_contacts(path)


# --------------------------------------------------------------------------- the command


def run(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["preview", *args])
    out, err = capfd.readouterr()
    return code, out, err


def test_cli_writes_page_to_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capfd, *ARGS, str(EXAMPLE))
    assert code == 0, err
    assert out.startswith("<!DOCTYPE html>")
    assert len(sections(out)) == 3


def test_cli_writes_output_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "preview.html"
    contacts = tmp_path / "c.toml"
    contacts.write_text(GOOD_CONTACTS["contacts.toml"], "utf-8")
    code, out, err = run(
        capfd,
        *ARGS,
        "--contacts", str(contacts),
        "--event-file", str(EVENT_TOML),
        "--calendar-content", str(CONTENT),
        "-o", str(target),
        str(EXAMPLE),
    )  # fmt: skip
    assert (code, out) == (0, ""), err
    assert err == f"wrote {target}\n"
    page = target.read_text("utf-8")
    assert list(sections(page))[-2:] == ["Zoë", "Nobody"]
    assert sections(page)["Zoë"].downloads  # the event file gave an .ics


def _without_a_browser(**more: str) -> dict[str, str]:
    """The environment of a machine with no desktop and no $BROWSER: Python's webbrowser
    finds no browser to open (unless ``more`` names one)."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                             "BROWSER")}  # fmt: skip
    return {**env, **more}


def _on_a_terminal(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`mailpatch preview ARGS` with its stdout a real terminal (a pseudo-terminal): exit
    code, what reached the terminal, stderr."""
    import os
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mailpatch", "preview", *args],
            stdout=terminal,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=60,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end is closed and empty
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    return done.returncode, shown.decode("utf-8", "replace"), done.stderr.decode("utf-8")


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
def test_to_a_terminal_the_page_goes_to_a_file_that_is_named(tmp_path: Path) -> None:
    """An 85 KB page is no use on a screen: to a terminal it goes to a new file (its owner's
    only), named on stderr; piped, stdout carries it as before."""
    code, shown, err = _on_a_terminal([*ARGS, str(EXAMPLE)], _without_a_browser())
    assert code == 0 and shown == "", err
    first, second = err.splitlines()
    written = Path(first.removeprefix("wrote "))
    try:
        assert written.name.startswith("mailpatch-preview-registration-email-")
        assert written.suffix == ".html" and (written.stat().st_mode & 0o077) == 0
        assert main(["preview", *ARGS, "-o", str(tmp_path / "page.html"), str(EXAMPLE)]) == 0
        assert written.read_bytes() == (tmp_path / "page.html").read_bytes()
        assert "open it in a web browser, or give --open" in second
    finally:
        written.unlink()


@pytest.mark.slow
@pytest.mark.parametrize(("browser", "said"), [(None, True), ("true", False)],
                         ids=["none-to-open", "browser-opened"])  # fmt: skip
def test_open_says_when_no_browser_can_be_opened(
    tmp_path: Path, browser: str | None, said: bool
) -> None:
    import subprocess
    import sys

    target = tmp_path / "page.html"
    env = _without_a_browser(**({"BROWSER": browser} if browser else {}))
    done = subprocess.run(
        [sys.executable, "-m", "mailpatch", "preview", *ARGS, "--open", "-o", str(target),
         str(EXAMPLE)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout == "", done.stderr
    assert done.stderr.startswith(f"wrote {target}\n")
    assert ("no web browser could be opened; open" in done.stderr) is said


@pytest.mark.parametrize("case", [c.name for c in cases("refuse")])
def test_cli_refusal_as_patch(case: str, capfd: pytest.CaptureFixture[str]) -> None:
    (fixture,) = [c for c in cases("refuse") if c.name == case]
    code, out, err = run(capfd, *fixture.args, str(fixture.input))
    patch_code = main(["patch", "--check", *fixture.args, str(fixture.input)])
    _, patch_err = capfd.readouterr()
    assert (code, out) == (patch_code, "")
    assert code in (2, 123)  # refused (123), or a usage error before the run (2)
    if code == 123:  # the same message, file:line:col
        assert err == patch_err.splitlines(keepends=True)[0]
        assert err.startswith(f"error: cannot patch {fixture.input}:{fixture.error[1]}: ")
    else:
        assert err.splitlines()[-1] == patch_err.splitlines()[-1]  # "Error: …"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contacts", "{bad}", *ARGS, str(EXAMPLE)], "Invalid value for --contacts"),
        (["--event-file", "/nonexistent.toml", *ARGS, str(EXAMPLE)], "--event-file"),
        (["--endpoint", "ftp://x", str(EXAMPLE)], "only https:// is allowed"),
        ([str(EXAMPLE)], "--endpoint is needed"),
        (["--calendar-content", "/nonexistent.html", *ARGS, str(EXAMPLE)], "calendar-content"),
        ([*ARGS], "Missing argument 'EMAIL'"),
    ],
)
def test_cli_usage_errors(
    args: list[str], message: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    args = [str(tmp_path / "bad.toml") if a == "{bad}" else a for a in args]
    (tmp_path / "bad.toml").write_text("x = [", "utf-8")
    code, out, err = run(capfd, *args)
    assert (code, out) == (2, "")
    assert message in err
    assert "Traceback" not in err


def test_cli_unreadable_email(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "latin1.html"
    bad.write_bytes(b"<p>caf\xe9</p>")
    code, out, err = run(capfd, *ARGS, str(bad))
    assert (code, out) == (123, "")
    assert err.startswith(f"error: cannot patch {bad}: is not UTF-8")


def test_cli_missing_email_is_a_usage_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """As for patch: a path that does not exist is a typo, exit 2 (one that exists but
    cannot be read is refused, 123, as above)."""
    code, out, err = run(capfd, *ARGS, str(tmp_path / "missing.html"))
    assert (code, out) == (2, "")
    assert "does not exist" in err and "Traceback" not in err


def test_cli_output_that_is_the_email_is_refused(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    email = tmp_path / "a.html"
    email.write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "link.html").symlink_to(email)
    for output in (email, tmp_path / "link.html"):
        code, _, err = run(capfd, *ARGS, "-o", str(output), str(email))
        assert code == 2 and "is the email itself" in err
    assert email.read_bytes() == EXAMPLE.read_bytes()


def test_cli_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(EXAMPLE.read_bytes())))
    code, out, err = run(capfd, *ARGS, "-")
    assert code == 0, err
    assert lxml.html.document_fromstring(out).xpath("//h1")[0].text_content() == "Preview of stdin"


def test_data_url_is_not_a_network_url(page: str) -> None:
    for url in sections(page)[f"Registered for {READABLE} ({GUID})"].downloads:
        assert urllib.parse.urlsplit(url).scheme == "data"


def test_a_run_s_patched_text_is_used_not_made_again() -> None:
    """The CLI and serve hand over what their run patched and verified: the page shows that
    text, and does not patch the email a second time."""
    made = mailpatch_patch(example(), OPTIONS).text.replace("</body>", "<!-- run -->\n</body>")
    doc = lxml.html.document_fromstring(preview_page(example(), OPTIONS, patched=made))
    diff = doc.xpath('//section[contains(@class, "diff")]//pre')[0].text_content()
    assert "+<!-- run -->" in diff
