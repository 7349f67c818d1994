"""Links you can trust: stale links updated, ids tied to their GUID, configuration read exactly.

Every case here once ended with a wrong calendar link and exit 0; each must now end with the
right link written, or a refusal naming the cause.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailpatch._cli import EXIT_CHANGES, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from mailpatch._link import decode_calendar_url
from mailpatch._options import build_options
from mailpatch._patch import EventRef, PatchOptions, patch
from mailpatch._run import Mode, Status, process

from fixturecases import FIXTURES, cases

EXAMPLE = FIXTURES / "examples" / "registration-email.html"
GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"  # the example's event
OTHER = FIXTURES / "refuse" / "no-button" / "input.html"
HOST = "contoso.svc.dynamics.com"
BASE = {"endpoint": HOST, "events": [f"{GUID}=ContosoSummit2026"]}


def options(**changes: object) -> PatchOptions:
    return build_options(**{**BASE, **changes})  # type: ignore[arg-type]


def links(text: str) -> list[dict[str, object]]:
    """Every calendar link's decoded entry, in document order."""
    import html
    import re

    hrefs = re.findall(r'href="(https?:[^"]*calendar/personal/ics[^"]*)"', text)
    out = []
    for href in hrefs:
        decoded = decode_calendar_url(html.unescape(href))
        out.append({"host": decoded.host, **decoded.params, "entry": decoded.data[0]})
    return out


PATCHED = patch(EXAMPLE.read_text("utf-8"), options()).text


# --- 1. stale links are updated, and --check sees them -----------------------------------------

CHANGES = [
    pytest.param({"endpoint": "fabrikam.crm.dynamics.com"}, id="new-endpoint"),
    pytest.param({"events": [f"{GUID}=ContosoSummit2026_Main"]}, id="new-readable-id"),
    pytest.param({"events": [f"{GUID}=ContosoSummit2026@s1"]}, id="new-session"),
    pytest.param({"drop_fields": ["firstname"]}, id="firstname-dropped"),
    pytest.param({"fields": ["lastname={{contact.lastname}}"]}, id="field-added"),
    pytest.param({"fields": ["firstname={{contact.nickname}}"]}, id="field-changed"),
    pytest.param({"api_version": "2017-01-01"}, id="new-api-version"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_a_settings_change_updates_the_links_as_a_fresh_patch_writes_them(
    change: dict[str, object],
) -> None:
    new = options(**change)
    result = patch(PATCHED, new)
    assert result.changed and not result.pairings and len(result.updates) == 1
    assert {e.what for e in result.edits} == {"link"}
    fresh = patch(EXAMPLE.read_text("utf-8"), new).text
    assert result.text == fresh  # the same bytes as patching the export anew
    assert not patch(result.text, new).changed  # and then settled
    (intended,) = {json.dumps(link["entry"], sort_keys=True) for link in links(result.text)}
    assert json.loads(intended) == result.updates[0].link.intended()[0]


@pytest.mark.parametrize("c", [c for c in cases("patch")], ids=lambda c: c.name)
def test_every_patch_fixture_updates_to_what_a_fresh_patch_writes(c: object) -> None:
    """Over the corpus: patched with one endpoint, then another, equals patched with the other
    (both links of classic buttons, keep-qr, several events)."""
    from dataclasses import replace

    first = c.options  # type: ignore[attr-defined]
    moved = replace(first, endpoint="moved.svc-tip.dynamics.com")
    text = c.input.read_text("utf-8-sig")  # type: ignore[attr-defined]
    once = patch(text, first)
    updated = patch(once.text, moved)
    assert updated.text == patch(text, moved).text
    assert not patch(updated.text, moved).changed
    assert updated.updates and not updated.pairings


def test_a_link_that_already_matches_is_left_byte_for_byte() -> None:
    assert not patch(PATCHED, options()).changed


def _email(tmp_path: Path, text: str = PATCHED, name: str = "summit.html") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


ARGS = ["--endpoint", HOST, "--event", f"{GUID}=ContosoSummit2026_Main"]


def test_check_exits_1_on_a_stale_link_and_patch_updates_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _email(tmp_path)
    assert main(["patch", "--check", *ARGS, str(path)]) == EXIT_CHANGES
    err = capsys.readouterr().err
    assert f"would update {path} (stale links in 1 calendar button)" in err
    assert "1 file would be updated." in err
    assert path.read_text("utf-8") == PATCHED
    assert main(["patch", *ARGS, str(path)]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"updated {path} (stale links in 1 calendar button)" in err
    assert "1 file updated." in err
    assert {link["entry"]["readableEventId"] for link in links(path.read_text("utf-8"))} == {
        "ContosoSummit2026_Main"
    }
    assert main(["patch", "--check", *ARGS, str(path)]) == EXIT_OK


def test_diff_and_json_show_the_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _email(tmp_path)
    assert main(["patch", "--diff", "--format", "json", *ARGS, str(path)]) == EXIT_CHANGES
    document = json.loads(capsys.readouterr().out)
    (item,) = document["files"]
    assert document["schema"] == 2
    assert item["status"] == "would_update" and item["links_updated"] == 1
    assert item["buttons"] == 0 and "ContosoSummit2026_Main" in item["diff"]
    assert document["summary"]["would_update"] == 1
    assert path.read_text("utf-8") == PATCHED


def test_what_changed_in_a_stale_link_is_said_in_decoded_terms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-v and the JSON report say what changed in the link, not only that it did."""
    path = _email(tmp_path)
    renamed = [*ARGS, "--drop-field", "firstname"]
    assert main(["patch", "-v", "--check", *renamed, str(path)]) == EXIT_CHANGES
    said = (
        f"would update {path} (stale links in 1 calendar button); calendar link for event "
        f"{GUID}: readableEventId ContosoSummit2026 -> ContosoSummit2026_Main, "
        "data.firstname removed (was {{contact.firstname}})"
    )
    assert said in capsys.readouterr().err.splitlines()
    assert main(["patch", "--check", "--format", "json", *renamed, str(path)]) == EXIT_CHANGES
    (item,) = json.loads(capsys.readouterr().out)["files"]
    assert item["link_changes"] == [
        {
            "guid": GUID,
            "changes": [
                {
                    "part": "readableEventId",
                    "before": "ContosoSummit2026",
                    "after": "ContosoSummit2026_Main",
                    "text": "readableEventId ContosoSummit2026 -> ContosoSummit2026_Main",
                },
                {
                    "part": "data.firstname",
                    "before": "{{contact.firstname}}",
                    "after": None,
                    "text": "data.firstname removed (was {{contact.firstname}})",
                },
            ],
        }
    ]
    assert main(["patch", "--check", "--format", "json", *BASE_ARGS, str(path)]) == EXIT_OK
    (item,) = json.loads(capsys.readouterr().out)["files"]
    assert item["link_changes"] == []


BASE_ARGS = ["--endpoint", HOST, "--event", f"{GUID}=ContosoSummit2026"]


def test_a_button_the_settings_say_nothing_of_is_left_and_said_unchecked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _email(tmp_path)
    other = "0d2f4a6c-8e1b-ef11-a82e-000d3a4b5c6d=Elsewhere"
    assert main(["patch", "-v", "--check", "--endpoint", HOST, "--event", other, str(path)]) == 0
    err = capsys.readouterr().err
    assert f"calendar link for event {GUID} not checked: no readable event id" in err
    assert main(["patch", "--check", "--format", "json", "--event", other, str(path)]) == 0
    (item,) = json.loads(capsys.readouterr().out)["files"]
    assert item["status"] == "unchanged"
    assert item["unchecked_events"] == [
        {"guid": GUID, "reason": "no readable event id for it in the settings"}
    ]


def test_event_id_updates_an_email_whose_only_event_is_patched(tmp_path: Path) -> None:
    path = _email(tmp_path)
    assert main(["patch", "--endpoint", HOST, "--event-id", "Renamed", str(path)]) == EXIT_OK
    assert {link["entry"]["readableEventId"] for link in links(path.read_text("utf-8"))} == {
        "Renamed"
    }


def test_a_stale_link_under_a_kept_qr_block_is_updated() -> None:
    kept = patch(EXAMPLE.read_text("utf-8"), options(keep_qr=True)).text
    result = patch(kept, options(keep_qr=True, endpoint="fabrikam.crm.dynamics.com"))
    assert len(result.updates) == 1 and not result.pairings
    assert {link["host"] for link in links(result.text)} == {"fabrikam.crm.dynamics.com"}


def test_process_reports_updated_and_would_update(tmp_path: Path) -> None:
    path = _email(tmp_path)
    new = options(events=[f"{GUID}=X2"])
    assert process(str(path), new, Mode(check=True)).status is Status.WOULD_UPDATE
    outcome = process(str(path), new, Mode())
    assert outcome.status is Status.UPDATED and outcome.links_updated == 1
    assert process(str(path), new, Mode()).status is Status.UNCHANGED


# --- 2./3. a readable id reaches only its GUID, and is never a GUID -----------------------------


def test_event_id_serves_only_a_run_with_one_event(tmp_path: Path) -> None:
    a = _email(tmp_path, EXAMPLE.read_text("utf-8"), "a.html")
    b = tmp_path / "b.html"
    shutil.copyfile(OTHER, b)
    before = a.read_bytes(), b.read_bytes()
    assert main(["patch", "--endpoint", HOST, "--event-id", "X", str(a), str(b)]) == EXIT_USAGE
    assert (a.read_bytes(), b.read_bytes()) == before
    assert main(["patch", "--endpoint", HOST, "--event-id", "X", str(a)]) == EXIT_OK


def test_an_already_patched_email_of_another_event_counts_too(tmp_path: Path) -> None:
    """--event-id X on a run holding a patched email of event A and an export of event B
    would otherwise let the id reach A's links (or B's QR block) on a guess."""
    a = _email(tmp_path, PATCHED, "a.html")
    b = tmp_path / "b.html"
    shutil.copyfile(OTHER, b)
    assert main(["patch", "--endpoint", HOST, "--event-id", "X", str(a), str(b)]) == EXIT_USAGE


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--event-id", GUID], id="event-id"),
        pytest.param(["--event-id", "{" + GUID.upper() + "}"], id="event-id-braced"),
        pytest.param(["--event", f"{GUID}={GUID}"], id="mapping-value"),
        pytest.param(
            ["--event", f"{GUID}=0d2f4a6c-8e1b-ef11-a82e-000d3a4b5c6d@s"], id="with-session"
        ),
    ],
)
def test_a_guid_is_not_a_readable_id(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _email(tmp_path, EXAMPLE.read_text("utf-8"))
    assert main(["patch", "--endpoint", HOST, *args, str(path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "is an event GUID, not a readable event id" in err
    assert "Website and form" in err
    assert path.read_text("utf-8") == EXAMPLE.read_text("utf-8")


def test_an_empty_event_id_is_a_usage_error(tmp_path: Path) -> None:
    path = _email(tmp_path, EXAMPLE.read_text("utf-8"))
    assert main(["patch", "--endpoint", HOST, "--event-id", "", str(path)]) == EXIT_USAGE


def test_event_id_and_event_cannot_be_combined(tmp_path: Path) -> None:
    path = _email(tmp_path, EXAMPLE.read_text("utf-8"))
    args = ["--event-id", "X", "--event", f"{GUID}=Y"]
    assert main(["patch", "--endpoint", HOST, *args, str(path)]) == EXIT_USAGE


# --- 4. configuration read exactly, or refused loudly -------------------------------------------


def project(tmp_path: Path, pyproject: str, emails: dict[str, Path | str]) -> Path:
    (tmp_path / ".git").mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(pyproject, "utf-8")
    for name, source in emails.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_text(source, "utf-8")
    return tmp_path


TABLE = f'[tool.mailpatch]\nendpoint = "{HOST}"\n[tool.mailpatch.events]\n"{GUID}" = '

BAD_CONFIGS = [
    pytest.param("[tool.mailpatch\nendpoint = 1\n", "(at line 1, column 16)", id="toml-syntax"),
    pytest.param('[project]\nname = "x"\nversion = = 1\n', "line 3", id="syntax-elsewhere"),
    pytest.param("tool = 1\n", "tool must be a table", id="tool-not-a-table"),
    pytest.param("[tool]\nmailpatch = 1\n", "tool.mailpatch must be a table", id="not-a-table"),
    pytest.param(TABLE + '{ id = "" }\n', f'events."{GUID}".id', id="empty-id"),
    pytest.param(TABLE + '"  "\n', f'events."{GUID}"', id="blank-id"),
    pytest.param(TABLE + f'"{GUID}"\n', "is an event GUID", id="guid-as-id"),
    pytest.param(TABLE + '{ id = "X", session = "" }\n', ".session", id="empty-session"),
    pytest.param(
        '[tool.mailpatch]\nevent-id = "ContosoSummit2026"\n',
        "event-id: an event id in configuration must be tied to its GUID",
        id="untied-event-id",
    ),
    pytest.param('[tool.mailpatch]\nfields = { k = "{{else.x}}" }\n', "fields.k", id="field-value"),
    pytest.param('[tool.mailpatch]\nignore = ["MP999"]\n', "MP999", id="lint-ignore"),
]


@pytest.mark.parametrize("command", ["patch", "lint"])
@pytest.mark.parametrize(("pyproject", "message"), BAD_CONFIGS)
def test_a_bad_configuration_is_a_usage_error_naming_file_and_place(
    command: str,
    pyproject: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project(tmp_path, pyproject, {"emails/a.html": EXAMPLE})
    before = (root / "emails/a.html").read_bytes()
    if command == "patch" and "MP999" in message:
        pytest.skip(f"a setting {command} does not read")
    assert main([command, str(root / "emails")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(root / "pyproject.toml") in err and message in err, err
    assert (root / "emails/a.html").read_bytes() == before


def test_values_are_taken_literally(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        TABLE + '{ id = "Summit@2026" }\n[tool.mailpatch.fields]\n"a=b" = "x"\n',
        {"a.html": EXAMPLE},
    )
    assert main(["patch", str(root / "a.html")]) == EXIT_OK
    (link, _) = links((root / "a.html").read_text("utf-8"))
    assert link["entry"] == {
        "readableEventId": "Summit@2026",
        "data": {
            "registrationId": "{{this.msevtmgt_name}}",
            "firstname": "{{contact.firstname}}",
            "a=b": "x",
        },
    }


def test_each_file_gets_the_configuration_of_its_own_folder(tmp_path: Path) -> None:
    """As pre-commit names them: files from two projects in one run."""
    for name, host in (("one", "one.crm.dynamics.com"), ("two", "two.crm.dynamics.com")):
        project(
            tmp_path / name,
            f'[tool.mailpatch]\nendpoint = "{host}"\n'
            f'[tool.mailpatch.events]\n"{GUID}" = "{name}"\n',
            {"emails/a.html": EXAMPLE},
        )
    paths = [str(tmp_path / n / "emails" / "a.html") for n in ("one", "two")]
    assert main(["patch", *paths]) == EXIT_OK
    for name in ("one", "two"):
        found = links((tmp_path / name / "emails" / "a.html").read_text("utf-8"))
        assert {(link["host"], link["entry"]["readableEventId"]) for link in found} == {
            (f"{name}.crm.dynamics.com", name)
        }


def test_an_unmapped_event_is_refused_saying_where_to_add_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(
        tmp_path,
        TABLE + '"ContosoSummit2026"\n',
        {"a.html": EXAMPLE, "b.html": OTHER},
    )
    before = (root / "b.html").read_bytes()
    assert main(["patch", str(root)]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert (
        "no readable event id for event 6f8a0c2e-4b5d-ef11-a82e-000d3a4b5c6d: add "
        '"6f8a0c2e-4b5d-ef11-a82e-000d3a4b5c6d" = "READABLE_ID" under '
        f"[tool.mailpatch.events] in {root / 'pyproject.toml'}"
    ) in err
    assert (root / "b.html").read_bytes() == before
    assert "calendar/personal/ics" in (root / "a.html").read_text("utf-8")


def test_lint_reads_its_settings_from_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "content.html").write_text("<p>{{firstname}} {{nickname}}</p>", "utf-8")
    root = project(
        tmp_path,
        '[tool.mailpatch]\ncalendar-content = "content.html"\nignore = ["MP302"]\n',
        {"a.html": PATCHED},
    )
    assert main(["lint", str(root / "a.html")]) == 1
    out = capsys.readouterr().out
    assert "MP301" in out and "nickname" in out and "MP302" not in out


def test_lint_reports_a_link_the_configuration_disagrees_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, TABLE + '"Renamed"\n', {"a.html": PATCHED})
    assert main(["lint", str(root / "a.html")]) == 1
    assert "MP207" in capsys.readouterr().out
    assert main(["patch", str(root / "a.html")]) == EXIT_OK
    capsys.readouterr()
    assert main(["lint", str(root / "a.html")]) == 0


# --- 5. no write before a usage error -----------------------------------------------------------


def test_a_missing_endpoint_stops_the_run_before_the_first_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slashless = PATCHED.replace("https://", "https:")  # an earlier file the "//" fix rewrites
    first = _email(tmp_path, slashless, "a.html")
    second = _email(tmp_path, EXAMPLE.read_text("utf-8"), "b.html")
    assert main(["patch", "--format", "json", str(first), str(second)]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert f"--endpoint is needed: {second}:" in captured.err
    assert first.read_text("utf-8") == slashless


# --- property: an update is a fresh patch ---------------------------------------------------------

_IDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1)


@settings(max_examples=60, deadline=None)
@given(
    first=_IDS,
    second=_IDS,
    drop=st.booleans(),
    extra=st.sampled_from(["", "lastname={{contact.lastname}}", "note=a&b\"c{x}"]),
)
def test_updating_equals_patching_afresh(first: str, second: str, drop: bool, extra: str) -> None:
    """Whatever the old and new settings, updating a patched email gives the bytes a patch of
    the export with the new settings gives, and a second run changes nothing."""
    from dataclasses import replace

    export = EXAMPLE.read_text("utf-8")
    old = replace(options(), events={GUID: EventRef(first)})
    new = replace(
        options(drop_fields=["firstname"] if drop else [], fields=[extra] if extra else []),
        events={GUID: EventRef(second)},
    )
    once = patch(export, old).text
    updated = patch(once, new)
    assert updated.text == patch(export, new).text
    assert not patch(updated.text, new).changed
    assert bool(updated.updates) == (patch(export, old).text != patch(export, new).text)


# --- written exactly: what the platform reads is the raw text ----------------------------------

WRITTEN = [
    pytest.param(
        lambda t: t.replace("{{this.msevtmgt_name}}", "%7B%7Bthis.msevtmgt_name%7D%7D"),
        id="placeholder-percent-encoded",
    ),
    pytest.param(
        lambda t: t.replace(
            "%22{{contact.firstname}}%22", "%22&#123;&#123;contact.firstname&#125;&#125;%22"
        ),
        id="placeholder-as-entities",
    ),
    pytest.param(lambda t: t.replace("%22", "&quot;"), id="quot-entities"),
    pytest.param(lambda t: t.replace("&amp;data=", "&data="), id="raw-ampersand"),
    pytest.param(lambda t: t.replace("https://contoso", "HTTPS://contoso"), id="upper-scheme"),
    pytest.param(lambda t: t.replace("ContosoSummit2026", "%43ontosoSummit2026"), id="pct-letter"),
]


@pytest.mark.parametrize("variant", WRITTEN)
def test_a_link_written_otherwise_is_written_anew(variant: object) -> None:
    """Decoded, these are the intended object; as the platform reads the raw text, some are
    broken (a placeholder never filled, a quote that is no %22). Each is written anew, so
    patch, --check and lint agree."""
    hand_made = variant(PATCHED)  # type: ignore[operator]
    assert hand_made != PATCHED
    result = patch(hand_made, options())
    assert result.text == PATCHED and len(result.updates) == 1
    from mailpatch._lint import lint

    assert "MP207" in {p.code for p in lint(hand_made, settings=options())}
    assert "MP207" not in {p.code for p in lint(PATCHED, settings=options())}


def _locked(text: str, how: str) -> str:
    button = '<div data-editorblocktype="Button"'
    assert text.count(button) == 1
    if how == "protected":
        return text.replace(button, button + ' data-protected="true"')
    return text.replace(button, '<div data-locked="hard">' + button, 1).replace(
        "</body>", "</div></body>"
    )


@pytest.mark.parametrize("how", ["protected", "locked"])
def test_a_stale_protected_or_locked_button_is_refused_unless_forced(how: str) -> None:
    from dataclasses import replace

    from mailpatch._errors import Refusal

    text = _locked(PATCHED, how)
    assert not patch(text, options()).changed  # up to date: nothing to refuse
    stale = options(events=[f"{GUID}=Renamed"])
    with pytest.raises(Refusal, match="use --force to update its calendar link"):
        patch(text, stale)
    assert patch(text, replace(stale, force=True)).updates


def test_only_calendar_links_are_written_anew() -> None:
    """A real link beside the calendar link in the loop (an agenda) keeps its target."""
    agenda = '<a href="https://contoso.com/agenda">Agenda</a>'
    text = PATCHED.replace("<!--{{/if}}-->", agenda + "<!--{{/if}}-->", 1)
    assert text != PATCHED
    result = patch(text, options(events=[f"{GUID}=Renamed"]))
    assert result.updates and agenda in result.text


def test_the_reason_a_button_was_not_checked_is_the_real_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _email(tmp_path)
    (tmp_path / "mailpatch.toml").write_text(f'[events]\n"{GUID}" = "Renamed"\n', "utf-8")
    (tmp_path / ".git").mkdir()
    assert main(["patch", "-v", "--check", str(path)]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"calendar link for event {GUID} not checked: no endpoint in the settings" in err


@pytest.mark.parametrize(
    "value",
    [GUID.replace("-", ""), f"urn:uuid:{GUID}", "{" + GUID + "}", GUID.upper()],
)
def test_every_spelling_of_a_guid_is_refused_as_a_readable_id(value: str) -> None:
    from mailpatch._config import guid_as_id_problem

    assert guid_as_id_problem(value)


def test_a_stale_button_holding_another_button_is_refused() -> None:
    """A Button nested in the patched one (a closing tag missing?) would have its own real
    link taken for part of the calendar button: refused, as a first patch refuses it."""
    from mailpatch._errors import Refusal

    inner = '<div data-editorblocktype="Button"><a href="https://contoso.com/x">x</a></div>'
    text = PATCHED.replace("<!--{{/if}}-->", inner + "<!--{{/if}}-->", 1)
    assert text != PATCHED
    with pytest.raises(Refusal, match="closing </div> missing"):
        patch(text, options(events=[f"{GUID}=Renamed"]))


def test_lint_reports_a_stale_link_in_a_protected_button(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """patch refuses to write it without --force; lint still says it is stale (it raised)."""
    button = '<div data-editorblocktype="Button"'
    root = project(
        tmp_path,
        TABLE + '"Renamed"\n',
        {"a.html": PATCHED.replace(button, button + ' data-protected="true"')},
    )
    assert main(["lint", str(root / "a.html")]) == 1
    assert "MP207" in capsys.readouterr().out
    assert main(["patch", str(root / "a.html")]) == EXIT_REFUSED
