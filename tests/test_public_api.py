"""The public API: what a script may import from ``mailpatch`` without reaching into private
modules, and that it works end to end on a fixture as the CLI does."""

from __future__ import annotations

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


def test_importing_mailpatch_does_not_import_lxml_or_lint() -> None:
    """verify and lint are there when asked for; a script that patches only does not pay for
    lxml's start-up (nor does `mailpatch patch --check`, which verifies only what changes)."""
    code = (
        "import sys, mailpatch\n"
        "print(sorted(m for m in ('lxml', 'mailpatch._lint', 'mailpatch._verify') "
        "if m in sys.modules))\n"
        "mailpatch.verify\n"
        "print('mailpatch._verify' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["[]", "True"]
