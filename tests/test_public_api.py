"""The public API: what a script may import from ``mailpatch`` without reaching into private
modules, and that it works end to end on a fixture as the CLI does."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mailpatch

EXAMPLE = Path(__file__).parent.parent / "fixtures" / "examples" / "registration-email.html"


def test_every_public_name_is_there() -> None:
    for name in mailpatch.__all__:
        assert getattr(mailpatch, name) is not None, name
    with pytest.raises(AttributeError):
        mailpatch.nothing_of_that_name  # noqa: B018


def test_a_script_patches_verifies_and_lints_through_the_public_api() -> None:
    text = EXAMPLE.read_bytes().decode("utf-8-sig")
    options = mailpatch.PatchOptions(
        endpoint="contoso.svc.dynamics.com", event=mailpatch.EventRef("ContosoSummit2026")
    )
    result = mailpatch.patch(text, options)
    assert result.changed and {e.what for e in result.edits} == {
        mailpatch.EditKind.BUTTON,
        mailpatch.EditKind.QR,
    }
    mailpatch.verify(text, result, options)
    assert mailpatch.lint(result.text) == []
    damaged = mailpatch.PatchResult(result.text + "<p>", result.edits)
    with pytest.raises(mailpatch.VerifyError):
        mailpatch.verify(text, damaged, options)
    with pytest.raises(mailpatch.LinkError):
        mailpatch.normalize_endpoint("ftp://example.com")
    with pytest.raises(mailpatch.DecodeError):
        mailpatch.decode_calendar_url("https://h/EvtMgmt/api/v2.0/calendar/personal/ics?data=[")


def test_a_script_reads_bytes_as_the_command_line_does() -> None:
    """decode and its errors are public: what a script needs to refuse a file as the CLI does
    (the fuzz harness uses these names)."""
    email = mailpatch.decode(b"\xef\xbb\xbf<p>caf\xc3\xa9</p>")
    assert isinstance(email, mailpatch.EmailText)
    assert (email.text, email.bom) == ("<p>café</p>", True)
    assert email.encode("<p>x</p>") == b"\xef\xbb\xbf<p>x</p>"
    for data, said in [
        (b"\xff\xfe<\x00p\x00>\x00", "is UTF-16"),
        (b"<p>\x00</p>", "is binary"),
        (b"<p>\xe9</p>", "is not UTF-8"),
    ]:
        with pytest.raises(mailpatch.FileProblem, match=said):
            mailpatch.decode(data)
    assert issubclass(mailpatch.Unverifiable, mailpatch.VerifyError)
    deep = "<div>" * 100_000  # nesting deeper than libxml2 reads
    options = mailpatch.PatchOptions(endpoint=HOST, event=mailpatch.EventRef("Summit"))
    text = EXAMPLE.read_bytes().decode("utf-8-sig").replace("<body>", "<body>" + deep, 1)
    with pytest.raises(mailpatch.Unverifiable):
        mailpatch.verify(text, mailpatch.patch(text, options), options)


def test_importing_mailpatch_does_not_import_lxml_or_lint() -> None:
    """verify and lint are there when asked for; a script that patches only does not pay for
    lxml's start-up (nor does `mailpatch patch --check`, which verifies only what changes)."""
    code = (
        "import sys, mailpatch\n"
        "print(sorted(m for m in ('lxml', 'mailpatch._lint', 'mailpatch._verify', "
        "'mailpatch._files') "
        "if m in sys.modules))\n"
        "mailpatch.verify\n"
        "print('mailpatch._verify' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["[]", "True"]


GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"
HOST = "contoso.svc.dynamics.com"


@pytest.mark.parametrize(
    "typed",
    [
        HOST,
        "https://contoso.svc.dynamics.com",
        "https://contoso.svc.dynamics.com/",
        "HTTPS://Contoso.SVC.dynamics.com/",
        "contoso.svc.dynamics.com.",
        "https://contoso.svc.dynamics.com/EvtMgmt/api/v2.0/",
        " contoso.svc.dynamics.com ",
    ],
)
def test_patch_options_take_the_endpoint_as_the_command_line_does(typed: str) -> None:
    """What --endpoint accepts, PatchOptions accepts and normalises by the same function: the
    link is written to the host, never 'https://https://…' (which verify used to accept)."""
    options = mailpatch.PatchOptions(endpoint=typed, event=mailpatch.EventRef("Summit"))
    assert options.endpoint == HOST == mailpatch.normalize_endpoint(typed)
    text = EXAMPLE.read_bytes().decode("utf-8-sig")
    result = mailpatch.patch(text, options)
    assert f'href="https://{HOST}/EvtMgmt/' in result.text
    assert "https://https" not in result.text
    mailpatch.verify(text, result, options)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("ftp://contoso.svc.dynamics.com", "only https:// is allowed"),
        ("contoso.svc.dynamics.com:8443", "a port is not allowed"),
        ("contoso", "one label only"),
        ("https://contoso.svc.dynamics.com/other", "unexpected path"),
        ("", "it is empty"),
    ],
)
def test_patch_options_refuse_an_endpoint_the_command_line_refuses(typed: str, said: str) -> None:
    with pytest.raises(ValueError, match=f"^endpoint {typed!r}: .*{said}"):
        mailpatch.PatchOptions(endpoint=typed)


def test_event_keys_are_normalised_like_the_emails_guids() -> None:
    """A GUID key in braces or upper case reaches the QR block with that GUID (it used to be
    left unmapped: patch refused the email)."""
    text = EXAMPLE.read_bytes().decode("utf-8-sig")
    for key in (GUID, GUID.upper(), "{" + GUID.upper() + "}", f" {GUID} "):
        options = mailpatch.PatchOptions(
            endpoint=HOST, events={key: mailpatch.EventRef("Summit")}
        )
        assert dict(options.events) == {GUID: mailpatch.EventRef("Summit")}
        assert mailpatch.patch(text, options).changed


@pytest.mark.parametrize(
    ("events", "said"),
    [
        ({"Summit2026": mailpatch.EventRef("Summit")}, "events key 'Summit2026' is not a GUID"),
        ({GUID: "Summit"}, f"events[{GUID!r}] is not an EventRef"),
        (
            {GUID: mailpatch.EventRef("A"), GUID.upper(): mailpatch.EventRef("B")},
            "the same GUID twice",
        ),
    ],
)
def test_event_keys_that_are_no_guid_are_refused(events: dict[str, object], said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        mailpatch.PatchOptions(endpoint=HOST, events=events)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"endpoint": HOST, "event": "Summit"}, "event 'Summit' is not an EventRef"),
        ({"endpoint": HOST.encode()}, "is not text"),
        ({"endpoint": 5}, "endpoint 5 is not text"),
    ],
)
def test_options_of_the_wrong_type_are_refused_by_name(
    options: dict[str, object], said: str
) -> None:
    """A ValueError naming the field, not an AttributeError from deep in patch()."""
    with pytest.raises(ValueError, match=re.escape(said)):
        mailpatch.PatchOptions(**options)  # type: ignore[arg-type]


def test_verify_refuses_a_link_to_no_endpoint() -> None:
    """Options forced past their check (or a hand-made result) that write a link whose host is
    no endpoint: verify refuses it, as the runner would refuse to write it."""
    text = EXAMPLE.read_bytes().decode("utf-8-sig")
    options = mailpatch.PatchOptions(endpoint=HOST, event=mailpatch.EventRef("Summit"))
    object.__setattr__(options, "endpoint", "https://" + HOST)  # what the check refuses
    result = mailpatch.patch(text, options)
    assert f'href="https://https://{HOST}/' in result.text
    with pytest.raises(mailpatch.VerifyError, match="is not an Events API host"):
        mailpatch.verify(text, result, options)


def test_a_result_holds_only_what_a_caller_reads() -> None:
    """What patch() keeps for verify (the input's survey, the objects it spliced) is private:
    not an argument, not in repr or equality, reset by dataclasses.replace."""
    text = EXAMPLE.read_bytes().decode("utf-8-sig")
    options = mailpatch.PatchOptions(endpoint=HOST, event=mailpatch.EventRef("Summit"))
    result = mailpatch.patch(text, options)
    public = [f.name for f in dataclasses.fields(result) if f.init]
    assert public == [
        "text",
        "edits",
        "pairings",
        "qr_blocks",
        "patched_buttons",
        "updates",
        "left_behind",
        "unchecked",
    ]
    assert not [name for name in dir(result) if not name.startswith("_") and name not in
                [*public, "changed"]]  # fmt: skip
    assert "survey" not in repr(result) and "origin" not in repr(result)
    assert result == dataclasses.replace(result)
    mailpatch.verify(text, dataclasses.replace(result), options)
