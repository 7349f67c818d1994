"""Folders, configuration, --output-dir, outcomes as JSON, progress and -j."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from mailpatch import _cli
from mailpatch._cli import main
from mailpatch._config import ConfigError, find_config, load_config
from mailpatch._discover import Selection, discover

from fixturecases import FIXTURES, cases, event_args

EXAMPLE = FIXTURES / "examples" / "registration-email.html"
GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"  # the example's event
NO_QR = FIXTURES / "unchanged" / "no-qr-block" / "input.html"
REFUSED = FIXTURES / "refuse" / "no-button" / "input.html"
EVENTS = ["--event", f"{GUID}=E", "--event", "6f8a0c2e-4b5d-ef11-a82e-000d3a4b5c6d=R"]
CONFIG = f"""
[tool.mailpatch]
endpoint = "contoso.svc.dynamics.com"
events = {{ "{GUID}" = "ContosoSummit2026" }}
"""


def tree(root: Path, files: dict[str, Path | str]) -> Path:
    for name, source in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_text(source, "utf-8")
    return root


def rel(root: Path, names: list[str]) -> list[str]:
    return [Path(n).absolute().relative_to(root.absolute()).as_posix() for n in names]


# --- discovery -------------------------------------------------------------------------------


def test_folder_walk_order_hidden_gitignore_and_extensions(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "b/z.html": "x",
            "b/a.HTM": "x",
            "a.html": "x",
            "notes.txt": "x",
            ".hidden/x.html": "x",
            "build/out.html": "x",
            "b/ignored.html": "x",
            ".gitignore": "build/\nb/ignored.html\n",
        },
    )
    files, skipped = discover([str(root)], Selection(root=root.absolute()))
    assert rel(root, files) == ["a.html", "b/a.HTM", "b/z.html"]
    assert skipped == []


def test_gitignore_can_be_ignored(tmp_path: Path) -> None:
    root = tree(tmp_path, {"build/out.html": "x", ".gitignore": "build/\n"})
    selection = Selection(root=root.absolute(), respect_gitignore=False)
    assert rel(root, discover([str(root)], selection)[0]) == ["build/out.html"]


def test_nested_gitignore_applies_below_its_folder(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "a/draft.html": "x",
            "a/.gitignore": "draft.html\n",
            "b/draft.html": "x",
        },
    )
    assert rel(root, discover([str(root)], Selection(root=root.absolute()))[0]) == ["b/draft.html"]


@pytest.mark.parametrize(
    ("exclude", "kept"),
    [
        pytest.param(("drafts/*",), ["a.html", "keep/b.html"], id="folder-glob"),
        pytest.param(("b.html",), ["a.html", "drafts/x.html"], id="file-name"),
        pytest.param(("drafts",), ["a.html", "keep/b.html"], id="folder-name"),
        pytest.param(("keep/*.html",), ["a.html", "drafts/x.html"], id="trailing-part"),
        pytest.param((), ["a.html", "drafts/x.html", "keep/b.html"], id="none"),
    ],
)
def test_exclude(tmp_path: Path, exclude: tuple[str, ...], kept: list[str]) -> None:
    root = tree(tmp_path, {"a.html": "x", "drafts/x.html": "x", "keep/b.html": "x"})
    selection = Selection(root=root.absolute(), exclude=exclude)
    assert rel(root, discover([str(root)], selection)[0]) == kept


def test_exclude_applies_to_named_files(tmp_path: Path) -> None:
    """pre-commit passes file names: an exclude must hold for them too."""
    root = tree(tmp_path, {"drafts/x.html": "x", "a.html": "x"})
    named = [str(root / "drafts/x.html"), str(root / "a.html")]
    files, skipped = discover(named, Selection(root=root.absolute(), exclude=("drafts/*",)))
    assert files == [str(root / "a.html")]
    assert skipped == [str(root / "drafts/x.html")]


def test_named_files_keep_their_order_and_any_extension(tmp_path: Path) -> None:
    root = tree(tmp_path, {"b.txt": "x", "a.html": "x"})
    named = [str(root / "b.txt"), str(root / "a.html"), str(root / "b.txt")]
    assert discover(named, Selection(root=root.absolute()))[0] == named[:2]


# --- configuration ---------------------------------------------------------------------------


def test_config_found_upwards_and_used(tmp_path: Path) -> None:
    root = tree(tmp_path, {"pyproject.toml": CONFIG, "emails/2026/summit.html": EXAMPLE})
    (root / ".git").mkdir()
    assert main(["patch", str(root / "emails")]) == 0
    assert "calendar/personal/ics" in (root / "emails/2026/summit.html").read_text("utf-8")


def test_mailpatch_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "pyproject.toml": CONFIG,
            "mailpatch.toml": 'endpoint = "other.crm.dynamics.com"\n',
        },
    )
    source, found_root = find_config(root)
    assert source == root / "mailpatch.toml" and found_root == root.absolute()
    assert load_config(source).endpoint == "other.crm.dynamics.com"


def test_search_stops_at_the_repository_top(tmp_path: Path) -> None:
    tree(tmp_path, {"pyproject.toml": CONFIG, "repo/emails/a.html": "x"})
    (tmp_path / "repo" / ".git").mkdir()
    assert find_config(tmp_path / "repo" / "emails") == (None, (tmp_path / "repo").absolute())


def test_cli_overrides_config(tmp_path: Path) -> None:
    root = tree(tmp_path, {"pyproject.toml": CONFIG, "a.html": EXAMPLE})
    assert (
        main(
            [
                "patch",
                "--endpoint",
                "cli.svc.dynamics.com",
                "--event",
                f"{GUID}=FromCli",
                str(root / "a.html"),
            ]
        )
        == 0
    )
    text = (root / "a.html").read_text("utf-8")
    assert "https://cli.svc.dynamics.com/" in text and "FromCli" in text
    assert "ContosoSummit2026" not in text


def test_config_fields_drop_keep_qr_and_exclude(tmp_path: Path) -> None:
    config = CONFIG + (
        'drop-fields = ["firstname"]\nkeep-qr = true\nexclude = ["drafts/*"]\n'
        '[tool.mailpatch.fields]\nlastname = "{{contact.lastname}}"\n'
    )
    root = tree(tmp_path, {"pyproject.toml": config, "a.html": EXAMPLE, "drafts/b.html": EXAMPLE})
    assert main(["patch", str(root)]) == 0
    text = (root / "a.html").read_text("utf-8")
    assert "%22lastname%22:%22{{contact.lastname}}%22" in text
    assert "firstname%22" not in text
    assert 'data-editorblocktype="ERQRCode"' in text  # kept
    assert (root / "drafts/b.html").read_bytes() == EXAMPLE.read_bytes()
    # --no-keep-qr on the command line wins over keep-qr = true in the file
    assert main(["patch", "--no-keep-qr", str(root / "a.html")]) == 0
    assert 'data-editorblocktype="ERQRCode"' not in (root / "a.html").read_text("utf-8")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        pytest.param(
            "[tool.mailpatch]\nendpont = 'x.com'\n",
            "tool.mailpatch.endpont: unknown key (did you mean 'endpoint'?)",
            id="typo",
        ),
        pytest.param(
            "[tool.mailpatch]\nendpoint = 'http://x.com'\n",
            "tool.mailpatch.endpoint: endpoint 'http://x.com': only https://",
            id="bad-endpoint",
        ),
        pytest.param(
            "[tool.mailpatch]\nkeep-qr = 'yes'\n",
            "tool.mailpatch.keep-qr: expected bool",
            id="wrong-type",
        ),
        pytest.param(
            "[tool.mailpatch]\nevents = { notaguid = 'x' }\n",
            "tool.mailpatch.events.\"notaguid\": the key is not a GUID",
            id="event-key",
        ),
        pytest.param(
            "[tool.mailpatch.fields]\nmsevtmgt_checkin_url = 'x'\n",
            "fields.msevtmgt_checkin_url: msevtmgt_checkin_url is reserved",
            id="reserved-field",
        ),
        pytest.param(
            "[tool.mailpatch]\nexclude = 'drafts'\n",
            "tool.mailpatch.exclude: expected a list of strings",
            id="list",
        ),
        pytest.param(
            "[tool.mailpatch]\njobs = 0\n", "tool.mailpatch.jobs: must be at least 1", id="jobs"
        ),
        pytest.param("[tool.mailpatch\n", "is not valid TOML", id="toml-syntax"),
    ],
)
def test_config_errors_exit_2_naming_key_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, fragment: str
) -> None:
    root = tree(tmp_path, {"pyproject.toml": body, "a.html": EXAMPLE})
    if "[tool.mailpatch\n" in body:  # a broken pyproject is only ours when named
        code = main(["patch", "--config", str(root / "pyproject.toml"), str(root / "a.html")])
    else:
        code = main(["patch", str(root / "a.html")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(root / "pyproject.toml") in err and fragment in err
    assert (root / "a.html").read_bytes() == EXAMPLE.read_bytes()


def test_explicit_config_file(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "settings/mailpatch.toml": (
                f'endpoint = "contoso.svc.dynamics.com"\n[events]\n"{GUID}" = {{ id = "E", '
                'session = "S1" }\n'
            ),
            "a.html": EXAMPLE,
        },
    )
    assert (
        main(["patch", "--config", str(root / "settings/mailpatch.toml"), str(root / "a.html")])
        == 0
    )
    assert "%22sessionId%22:%22S1%22" in (root / "a.html").read_text("utf-8")


def test_load_config_rejects_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "missing.toml")


# --- output-dir, JSON, verbosity, progress ------------------------------------------------------


def test_output_dir_mirrors_the_tree_and_leaves_inputs(tmp_path: Path) -> None:
    src = tree(
        tmp_path / "exports",
        {
            "a/summit.html": EXAMPLE,
            "b/plain.html": NO_QR,
            "b/bad.html": REFUSED,
        },
    )
    before = {p: p.read_bytes() for p in src.rglob("*.html")}
    out = tmp_path / "out"
    code = main(
        [
            "patch",
            "--endpoint",
            "contoso.svc.dynamics.com",
            "--event",
            f"{GUID}=E",
            "--output-dir",
            str(out),
            str(src),
        ]
    )
    assert code == 123  # bad.html is refused; the others are still written
    assert {p: p.read_bytes() for p in src.rglob("*.html")} == before
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a/summit.html",
        "b/plain.html",
    ]
    assert "calendar/personal/ics" in (out / "a/summit.html").read_text("utf-8")
    assert (out / "b/plain.html").read_bytes() == NO_QR.read_bytes()


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet-default", "verbose"])
def test_a_second_output_dir_run_says_its_results_were_already_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verbose: bool
) -> None:
    """The first run writes and says so; the second finds each result already in place,
    writes nothing (the files keep their mtime) and says so, not "wrote ... patched"."""
    src = tree(tmp_path / "exports", {"summit.html": EXAMPLE, "plain.html": NO_QR})
    out = tmp_path / "out"
    args = ["patch", "--endpoint", "contoso.svc.dynamics.com", "--event", f"{GUID}=E"]
    args += ["-v"] if verbose else []
    args += ["--output-dir", str(out), str(src)]
    assert main(args) == 0
    first = capsys.readouterr().err
    result = out / "summit.html"
    assert f"wrote {result} (1 calendar button) from {src / 'summit.html'}\n" in first
    assert first.endswith("1 file patched, 1 file without a QR block.\n")
    aged = 1_000_000_000 * 10**9
    for written in out.iterdir():
        os.utime(written, ns=(aged, aged))
    assert main(args) == 0
    second = capsys.readouterr().err
    assert "wrote" not in second and "patched" not in second
    said = (
        f"unchanged {result} (already up to date from {src / 'summit.html'}: 1 calendar "
        "button)\n"
    )
    assert (said in second) is verbose
    assert second.endswith("1 file without a QR block, 1 file already up to date.\n")
    assert all(p.stat().st_mtime_ns == aged for p in out.iterdir())
    assert main([*args, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(f["status"], f["up_to_date"]) for f in report["files"]] == [
        ("not_applicable", True),
        ("patched", True),
    ]
    # counted as the text summary counts them: nothing was written, so none is "patched"
    assert (report["summary"]["patched"], report["summary"]["up_to_date"]) == (0, 1)
    assert report["summary"]["not_applicable"] == 1


def test_json_outcomes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree(
        tmp_path, {"a.html": EXAMPLE, "b.html": NO_QR, "c.html": REFUSED, "d.html": EXAMPLE}
    )
    args = ["patch", "--endpoint", "contoso.svc.dynamics.com", *EVENTS]
    assert main([*args, str(root / "d.html")]) == 0  # d is already patched
    capsys.readouterr()
    code = main([*args, "--format", "json", str(root)])
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert code == 123 and document["exit_code"] == 123 and err == ""
    assert document["schema"] == 2 and document["mode"] == "patch"
    assert [(Path(f["path"]).name, f["status"], f["buttons"]) for f in document["files"]] == [
        ("a.html", "patched", 1),
        ("b.html", "not_applicable", 0),
        ("c.html", "refused", 0),
        ("d.html", "unchanged", 0),
    ]
    refused = document["files"][2]
    position = (REFUSED.parent / "error.txt").read_text("utf-8").splitlines()[1]
    assert f"{refused['line']}:{refused['column']}" == position
    assert "no Button block to pair" in refused["message"]
    assert document["summary"]["patched"] == 1 and document["summary"]["refused"] == 1


def test_json_with_diff_carries_the_diff(tmp_path: Path, capsys) -> None:
    root = tree(tmp_path, {"a.html": EXAMPLE})
    code = main(
        [
            "patch",
            "--endpoint",
            "contoso.svc.dynamics.com",
            "--event",
            f"{GUID}=E",
            "--diff",
            "--format",
            "json",
            str(root),
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["files"][0]["status"] == "would_patch"
    assert document["files"][0]["diff"].startswith("--- a/")


@pytest.mark.parametrize(
    ("flags", "expect_lines", "expect_summary"),
    [
        pytest.param([], ["patched", "error: cannot patch"], True, id="default"),
        pytest.param(["-q"], ["error: cannot patch"], False, id="quiet"),
        pytest.param(
            ["-v"],
            ["config: ", "patched", "error: cannot patch", "not applicable"],
            True,
            id="verbose",
        ),
    ],
)
def test_verbosity(tmp_path: Path, capsys, flags, expect_lines, expect_summary) -> None:
    root = tree(tmp_path, {"a.html": EXAMPLE, "b.html": NO_QR, "c.html": REFUSED})
    main(["patch", "--endpoint", "contoso.svc.dynamics.com", *EVENTS, *flags, str(root)])
    err = capsys.readouterr().err
    starts = [line.split(" ")[0] for line in err.splitlines()]
    for expected in expect_lines:
        assert expected in err
    assert ("1 file patched" in err) is expect_summary
    if "-q" in flags:
        assert starts == ["error:"]
    if not flags:
        assert "not applicable" not in err


@pytest.mark.parametrize(
    ("terminal", "count", "shown"),
    [
        pytest.param(True, 25, True, id="terminal-many"),
        pytest.param(False, 25, False, id="pipe"),
        pytest.param(True, 3, False, id="terminal-few"),
    ],
)
def test_progress_bar_only_on_a_terminal_for_long_runs(
    tmp_path: Path, capsys, monkeypatch, terminal: bool, count: int, shown: bool
) -> None:
    root = tree(tmp_path, {f"e{i:02}.html": NO_QR for i in range(count)})
    monkeypatch.setattr(_cli, "_stderr_is_terminal", lambda: terminal)
    main(["patch", str(root)])
    assert ("Patching" in capsys.readouterr().err) is shown


def test_quiet_suppresses_the_progress_bar(tmp_path: Path, capsys, monkeypatch) -> None:
    root = tree(tmp_path, {f"e{i:02}.html": NO_QR for i in range(25)})
    monkeypatch.setattr(_cli, "_stderr_is_terminal", lambda: True)
    main(["patch", "-q", str(root)])
    assert capsys.readouterr().err == ""


# --- parallel -------------------------------------------------------------------------------


def test_jobs_give_byte_identical_results_and_order(tmp_path: Path, capsys) -> None:
    sources = {
        f"{c.name}.html": c.input
        for c in cases("patch")
        if "event-id" in c.options_json and len(c.options_json) == 2
    }
    sources.update({"zz-refused.html": REFUSED, "zz-plain.html": NO_QR})
    results = {}
    for jobs in ("1", "2"):
        root = tree(tmp_path / jobs, sources)
        code = main(
            [
                "patch",
                "--endpoint",
                "contoso.svc.dynamics.com",
                *event_args(list(sources.values()), "E"),  # type: ignore[arg-type]
                "-j",
                jobs,
                "--format",
                "json",
                str(root),
            ]
        )
        document = json.loads(capsys.readouterr().out)
        results[jobs] = (
            code,
            [(Path(f["path"]).name, f["status"]) for f in document["files"]],
            {p.name: p.read_bytes() for p in sorted(root.iterdir())},
        )
    assert len(results["1"][1]) >= 10
    assert results["1"] == results["2"]


def test_a_link_fix_alone_is_reported_as_such(tmp_path: Path, capsys) -> None:
    patched = (FIXTURES / "patch" / "classic-vml-button" / "expected.html").read_text("utf-8")
    # Microsoft's sample defect, on both of the button's links
    broken = re.sub(r"https://(?=[^\"]*/calendar/personal/ics)", "https:", patched)
    assert broken.count("https:") - broken.count("https://") == 2
    root = tree(tmp_path, {"a.html": broken})
    assert main(["patch", "--format", "json", str(root)]) == 0
    (item,) = json.loads(capsys.readouterr().out)["files"]
    assert (item["status"], item["buttons"], item["links_fixed"]) == ("patched", 0, 2)
    assert (root / "a.html").read_text("utf-8") == patched
    (root / "a.html").write_text(broken, "utf-8")
    main(["patch", str(root)])
    assert "(2 links fixed)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(["../emails/a.html", "b.html"], id="dot-dot-beside-a-file"),
        pytest.param(["sub/../../emails/a.html", "b.html"], id="dot-dot-inside"),
        pytest.param(["linked/a.html", "b.html"], id="symlinked-folder"),
    ],
)
def test_output_dir_results_land_only_inside_it(
    names: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mirror paths come from normalised paths: '..' and symlinks cannot lead a result out of
    --output-dir onto a file the user keeps elsewhere."""
    tree(tmp_path, {"emails/a.html": EXAMPLE, "work/b.html": EXAMPLE, "work/sub/x": "x"})
    (tmp_path / "work" / "linked").symlink_to(tmp_path / "emails")
    monkeypatch.chdir(tmp_path / "work")
    kept = (tmp_path / "emails" / "a.html").read_bytes()
    args = ["patch", "--endpoint", "contoso.svc.dynamics.com", "--event-id", "E"]
    assert main([*args, "--output-dir", "out", *names]) == 0
    assert (tmp_path / "emails" / "a.html").read_bytes() == kept
    written = sorted(p for p in tmp_path.rglob("*.html") if p.read_bytes() != EXAMPLE.read_bytes())
    assert written and all(p.is_relative_to(tmp_path / "work" / "out") for p in written)
    assert len(written) == 2


def test_output_dir_refuses_a_result_a_symlink_inside_it_would_take_out(tmp_path: Path) -> None:
    """A folder link already inside --output-dir pointing elsewhere: refused, not followed."""
    tree(tmp_path, {"in/a/summit.html": EXAMPLE, "elsewhere/keep.txt": "x"})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a").symlink_to(tmp_path / "elsewhere")
    args = ["patch", "--endpoint", "contoso.svc.dynamics.com", "--event-id", "E"]
    code = main([*args, "--output-dir", str(tmp_path / "out"), str(tmp_path / "in")])
    assert code == 123
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == ["keep.txt"]


def test_a_named_settings_file_stands_for_the_emails_it_governs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What pre-commit passes when a commit changes only the settings: each email those
    settings govern is checked (not one below a folder with settings of its own, nor one they
    exclude); a pyproject.toml without [tool.mailpatch] stands for nothing."""
    tree(
        tmp_path,
        {
            "pyproject.toml": CONFIG + 'exclude = ["drafts/*"]\n',
            "emails/a.html": EXAMPLE,
            "emails/drafts/wip.html": EXAMPLE,
            "emails/sub/mailpatch.toml": 'endpoint = "other.svc.dynamics.com"\n',
            "emails/sub/b.html": EXAMPLE,
            "tools/pyproject.toml": '[project]\nname = "tools"\n',
            "tools/c.html": EXAMPLE,
        },
    )
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["patch", "--check", "pyproject.toml"]) == 1
    desk = "refers to the removed QR code: 'Show this code at the registration desk for a fast"
    assert capsys.readouterr().err.splitlines() == [
        "would patch emails/a.html (1 calendar button)",
        f"warning: emails/a.html:79:65: {desk} check-in.' (edit it in the designer)",
        "would patch tools/c.html (1 calendar button)",  # tools/pyproject.toml has no settings
        f"warning: tools/c.html:79:65: {desk} check-in.' (edit it in the designer)",
        "2 files would be patched.",
    ]
    assert main(["patch", "--check", "tools/pyproject.toml"]) == 0
    assert capsys.readouterr().err == "no files.\n"
