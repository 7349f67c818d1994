"""Reliability, round 2: no data loss, no traceback, a batch always finishes.

Each case here once lost an email, replaced a device, raced, skipped in silence or ended in a
traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mailpatch import FileProblem, _cli
from mailpatch._cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from mailpatch._discover import gitignore_spec
from mailpatch._files import temp_prefix, write_atomic

from fixturecases import FIXTURES

EXAMPLE = FIXTURES / "examples" / "registration-email.html"
EVENT = FIXTURES / "examples" / "event.toml"
GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"
ARGS = ["--endpoint", "contoso.svc.dynamics.com", "--event", f"{GUID}=ContosoSummit2026"]


def exports(root: Path, *names: str) -> dict[Path, bytes]:
    out = {}
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLE, path)
        out[path] = path.read_bytes()
    return out


def mailpatch(*args: str | Path, stdin: bytes = b"", **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mailpatch", *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=120,
        **kw,  # type: ignore[arg-type]
    )


# --- --output-dir never loses an export -----------------------------------------------------------


def test_output_dir_inside_the_input_folder_is_never_read_nor_nested(tmp_path: Path) -> None:
    before = exports(tmp_path, "emails/a.html", "emails/b.html")
    out = tmp_path / "emails" / "x"
    for _ in range(2):  # the second run must not take the first one's results as inputs
        assert main(["patch", *ARGS, "--output-dir", str(out), str(tmp_path / "emails")]) == 0
    assert {p: p.read_bytes() for p in before} == before  # the exports are untouched
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["a.html", "b.html"]
    assert b"calendar/personal/ics" in (out / "a.html").read_bytes()


def test_output_dir_equal_to_an_input_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = exports(tmp_path, "emails/a.html")
    folder = tmp_path / "emails"
    assert main(["patch", *ARGS, "--output-dir", str(folder), str(folder)]) == EXIT_USAGE
    assert "is the input folder" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in before} == before


def test_a_result_never_overwrites_a_file_the_run_reads(tmp_path: Path) -> None:
    """A named file inside the output folder is taken out of the run, not overwritten."""
    before = exports(tmp_path, "emails/a.html", "out/a.html")
    code = main(
        [
            "patch",
            *ARGS,
            "--output-dir",
            str(tmp_path / "out"),
            str(tmp_path / "emails" / "a.html"),
            str(tmp_path / "out" / "a.html"),
        ]
    )
    assert code == EXIT_OK
    assert (tmp_path / "emails" / "a.html").read_bytes() == before[tmp_path / "emails" / "a.html"]


# --- only regular files are replaced ------------------------------------------------------------


def test_a_fifo_is_written_to_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomic(fifo, b"hello")
    reader.join(10)
    assert received == [b"hello"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_dev_null_stays_a_device(tmp_path: Path) -> None:
    path = tmp_path / "a.html"
    shutil.copyfile(EXAMPLE, path)
    assert main(["patch", *ARGS, "-o", os.devnull, str(path)]) == EXIT_OK
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert main(["ics", "--event-file", str(EVENT), "-o", os.devnull]) == EXIT_OK
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_folder_in_the_way_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(FileProblem, match="a folder"):
        write_atomic(tmp_path / "dir", b"x")


# --- the same file twice, long names --------------------------------------------------------------


def test_the_same_file_named_three_ways_is_patched_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exports(tmp_path, "a.html")
    (tmp_path / "link.html").symlink_to("a.html")
    os.chdir(tmp_path)
    assert main(["patch", *ARGS, "-j", "2", "a.html", "./a.html", "link.html"]) == EXIT_OK
    err = capsys.readouterr().err
    assert err.count("patched") == 2 and "1 file patched." in err  # the line and the summary
    assert (tmp_path / "link.html").is_symlink()


@pytest.mark.parametrize("length", [236, 245, 250])
def test_long_file_names_are_patched(tmp_path: Path, length: int) -> None:
    name = "é" * ((length - 5) // 2) + "a" * ((length - 5) % 2) + ".html"
    assert len(os.fsencode(name)) == length
    path = tmp_path / name
    shutil.copyfile(EXAMPLE, path)
    assert main(["patch", *ARGS, str(path)]) == EXIT_OK
    assert b"calendar/personal/ics" in path.read_bytes()
    assert len(os.fsencode(temp_prefix(name))) + 8 + len(".mailpatch") <= 255
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary file left


# --- what cannot be read is reported, never skipped in silence ----------------------------------


def deny_listing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``folder`` cannot be listed, as a chmod 000 folder (root reads those anyway)."""
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if str(path) == str(folder):
            raise PermissionError(13, "Permission denied", str(folder))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)


def deny_reading(monkeypatch: pytest.MonkeyPatch, file: Path) -> None:
    """``file`` cannot be read."""
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == file:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_an_unreadable_folder_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exports(tmp_path, "emails/a.html", "emails/locked/b.html")
    locked = str(tmp_path / "emails" / "locked")
    deny_listing(monkeypatch, Path(locked))
    code = main(["patch", *ARGS, "--format", "json", str(tmp_path / "emails")])
    assert code == EXIT_REFUSED
    files = json.loads(capsys.readouterr().out)["files"]
    assert {(f["path"], f["status"]) for f in files} >= {
        (locked, "refused"),
        (str(tmp_path / "emails" / "a.html"), "patched"),
    }


def test_an_unreadable_gitignore_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exports(tmp_path, "emails/a.html")
    gitignore = tmp_path / "emails" / ".gitignore"
    gitignore.write_text("drafts/\n", "utf-8")
    deny_reading(monkeypatch, gitignore)
    (tmp_path / ".git").mkdir()
    assert main(["patch", *ARGS, str(tmp_path / "emails")]) == EXIT_REFUSED
    assert f"{gitignore}: cannot be read: Permission denied" in capsys.readouterr().err


def test_what_an_unreadable_gitignore_would_ignore_is_never_patched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refuse rather than guess: the files below a .gitignore that cannot be read may be the
    ones it ignores (drafts, vendored copies), so none of them is taken."""
    written = exports(tmp_path, "emails/drafts/a.html", "other/b.html")
    gitignore = tmp_path / "emails" / ".gitignore"
    gitignore.write_text("drafts/\n", "utf-8")
    deny_reading(monkeypatch, gitignore)
    (tmp_path / ".git").mkdir()
    code = main(["patch", *ARGS, str(tmp_path / "emails"), str(tmp_path / "other")])
    assert code == EXIT_REFUSED
    assert "nothing below its folder was taken" in capsys.readouterr().err
    assert (tmp_path / "emails/drafts/a.html").read_bytes() == written[
        tmp_path / "emails/drafts/a.html"
    ]
    assert (tmp_path / "other/b.html").read_bytes() != written[tmp_path / "other/b.html"]


@pytest.mark.parametrize("what", ["folder", "gitignore"])
def test_lint_reports_what_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    exports(tmp_path, "emails/a.html", "emails/locked/b.html")
    locked = tmp_path / "emails" / ("locked" if what == "folder" else ".gitignore")
    if what == "folder":
        deny_listing(monkeypatch, locked)
    else:
        locked.write_text("locked/\n", "utf-8")
        (tmp_path / ".git").mkdir()
        deny_reading(monkeypatch, locked)
    code = main(["lint", "--format", "json", str(tmp_path / "emails")])
    assert code == EXIT_REFUSED
    unreadable = json.loads(capsys.readouterr().out)["unreadable"]
    assert [u["path"] for u in unreadable] == [str(locked)]
    assert unreadable[0]["reason"].startswith("cannot be read: Permission denied")


@pytest.mark.parametrize(
    ("lines", "ignored", "kept"),
    [
        pytest.param("!\n*.tmp\n", ["a.tmp"], ["a.html"], id="lone-bang"),
        pytest.param("\\\n*.tmp\n", ["a.tmp"], ["a.html"], id="lone-backslash"),
        pytest.param("[z-a].html\n*.tmp\n", ["a.tmp"], ["z.html", "a.html"], id="reversed-range"),
        pytest.param("*.html\n!keep.html\n", ["a.html"], ["keep.html"], id="negation-kept"),
    ],
)
def test_gitignore_patterns_git_tolerates(lines: str, ignored: list[str], kept: list[str]) -> None:
    spec = gitignore_spec(lines.encode())
    assert all(spec.match_file(n) for n in ignored)  # type: ignore[attr-defined]
    assert not any(spec.match_file(n) for n in kept)  # type: ignore[attr-defined]


# --- no traceback, ever -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    name = os.fsdecode(b"\xff.html")
    shutil.copyfile(EXAMPLE, tmp_path / name)
    for extra in (["--diff", "--format", "json"], ["--diff"], ["--check", "-v"], []):
        run = mailpatch("patch", *ARGS, *extra, name, cwd=tmp_path)
        assert b"Traceback" not in run.stderr, run.stderr
        assert run.returncode in (0, 1), run.stderr
        if extra[:2] == ["--diff", "--format"]:
            assert json.loads(run.stdout)["files"][0]["path"] == name
        elif extra == ["--diff"]:
            assert run.stdout.startswith(b"--- a/\xff.html\n+++ b/\xff.html\n")
    shutil.copyfile(FIXTURES / "lint" / "mp206-links-differ" / "input.html", tmp_path / name)
    run = mailpatch("lint", "--format", "json", name, cwd=tmp_path)
    assert b"Traceback" not in run.stderr, run.stderr
    document = json.loads(run.stdout.decode("utf-8"))  # valid UTF-8, as patch's JSON
    assert {p["path"] for p in document["problems"]} == {name}


@pytest.mark.parametrize("option", ["--event-id", "--session-id", "--field", "--exclude"])
def test_option_values_that_are_not_utf8_are_a_usage_error(option: str) -> None:
    value = os.fsdecode(b"k=\xff" if option == "--field" else b"\xff")
    extra = ["--event-id", "X"] if option == "--session-id" else []
    code = main(["patch", "--endpoint", "contoso.svc.dynamics.com", *extra, option, value, "x"])
    assert code == EXIT_USAGE


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["patch", *ARGS, "--diff", str(EXAMPLE)], id="patch-diff"),
        pytest.param(["patch", *ARGS, "-", "<"], id="patch-stdin"),
        pytest.param(["lint", str(FIXTURES / "lint" / "mp206-links-differ")], id="lint"),
        pytest.param(["ics", "--event-file", str(EVENT), "--data", "registrationId=1"], id="ics"),
        pytest.param(["--help"], id="help"),  # written by click itself
        pytest.param(["--version"], id="version"),
    ],
)
@pytest.mark.slow
@pytest.mark.parametrize("sink", ["full", "closed", "no-descriptor"])
def test_stdout_full_or_closed(args: list[str], sink: str) -> None:
    stdin = b""
    if args[-1] == "<":
        args, stdin = args[:-1], EXAMPLE.read_bytes()
    if sink == "full":
        if not os.path.exists("/dev/full"):
            pytest.skip("no /dev/full here")
        with open("/dev/full", "wb") as full:
            run = subprocess.run(
                [sys.executable, "-m", "mailpatch", *args],
                input=stdin,
                stdout=full,
                stderr=subprocess.PIPE,
                timeout=120,
            )
    elif sink == "no-descriptor":  # '>&-': Python starts with sys.stdout None
        run = subprocess.run(
            [sys.executable, "-m", "mailpatch", *args],
            input=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: os.close(1),
            timeout=120,
        )
    else:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailpatch", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdin is not None
        proc.stdout.close()  # as '| head -0' does
        proc.stdin.write(stdin)
        proc.stdin.close()
        proc.wait(120)
        assert proc.stderr is not None
        run = subprocess.CompletedProcess(proc.args, proc.returncode, b"", proc.stderr.read())
    assert b"Traceback" not in run.stderr, run.stderr
    assert b"Exception ignored" not in run.stderr, run.stderr
    assert run.returncode == EXIT_REFUSED, run.stderr
    assert b"standard output cannot be written" in run.stderr


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["--start", "9999-12-31T09:00", "--end", "9999-12-31T17:00"], id="year-9999"),
        pytest.param(["--dtstamp", "9999-12-31T23:59:59-14:00"], id="dtstamp-overflows"),
        pytest.param(["--dtstamp", "0001-01-01T00:00:00+14:00"], id="dtstamp-underflows"),
        pytest.param(
            ["--start", "9999-12-31T23:00-12:00", "--end", "9999-12-31T23:30-12:00"],
            id="offset-start-past-9999",
        ),
    ],
)
def test_ics_dates_out_of_range_are_usage_errors(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ics", "--event-file", str(EVENT), *extra]) == EXIT_USAGE
    assert "out of range" in capsys.readouterr().err


DEEP = (
    '<div data-editorblocktype="Button"><a href="https://contoso.svc.dynamics.com/EvtMgmt/api/'
    "v2.0/calendar/personal/ics?api-version=2016-06-30&amp;data=" + "[" * 1500 + '">x</a></div>'
)


def test_a_link_nested_1500_deep_does_not_stop_the_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-deep.html").write_text(DEEP, "utf-8")
    exports(tmp_path, "b.html")
    assert main(["patch", *ARGS, str(tmp_path)]) == EXIT_OK
    assert b"calendar/personal/ics" in (tmp_path / "b.html").read_bytes()
    assert main(["lint", str(tmp_path / "a-deep.html")]) == 1
    assert "MP105 data is not JSON: nested too deep" in capsys.readouterr().out


def test_an_unexpected_failure_in_one_file_is_that_file_s_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug (here: one forced) in one file: reported as an INTERNAL ERROR for that file, the
    others still patched, the summary printed."""
    before = exports(tmp_path, "a.html", "b.html")
    real = _cli.prepare

    def process(path: str, *args: object) -> object:
        if path.endswith("a.html"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_cli, "prepare", process)
    assert main(["patch", *ARGS, str(tmp_path)]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "INTERNAL ERROR: RecursionError" in err and "1 file patched" in err
    assert (tmp_path / "a.html").read_bytes() == before[tmp_path / "a.html"]


# --- bounds: stdin, workers -------------------------------------------------------------------


def test_stdin_obeys_max_size() -> None:
    run = mailpatch("patch", *ARGS, "--max-size", "1000", "-", stdin=EXAMPLE.read_bytes())
    assert run.returncode == EXIT_REFUSED
    assert run.stdout == b""  # a cut-off input is never echoed as if it were the email
    assert b"over the 1,000-byte limit" in run.stderr


def test_lint_stdin_obeys_max_size(tmp_path: Path) -> None:
    config = tmp_path / "mailpatch.toml"
    config.write_text("max-size = 1000\n", "utf-8")
    run = mailpatch("lint", "--config", config, "-", stdin=EXAMPLE.read_bytes())
    assert run.returncode == EXIT_REFUSED
    assert b"over the 1,000-byte limit" in run.stderr


def test_jobs_are_capped_by_files_and_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exports(tmp_path, "a.html", "b.html")
    seen: list[int] = []
    real = _cli.run_all

    def run_all(jobs: object, workers: int, stdin: object = None) -> object:
        seen.append(workers)
        return real(jobs, workers, stdin)  # type: ignore[arg-type]

    monkeypatch.setattr(_cli, "run_all", run_all)
    assert main(["patch", *ARGS, "-j", "1000", str(tmp_path)]) == EXIT_OK
    assert seen == [min(2, os.cpu_count() or 1)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    """Kill -9 the parent mid-batch: no worker is left running (and holding the pipe)."""
    for i in range(80):
        shutil.copyfile(EXAMPLE, tmp_path / f"e{i:03}.html")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailpatch", "patch", *ARGS, "--check", "-j", "2", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    children: list[int] = []
    deadline = time.monotonic() + 60
    while not children and time.monotonic() < deadline:
        children = [int(p) for p in _children(proc.pid)]
        time.sleep(0.05)
    if not children:
        proc.wait(60)
        pytest.skip("the batch ended before its workers could be seen")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [c for c in children if _alive(c)]


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


# --- status lines say what happened to the file named ---------------------------------------------


def test_status_lines_say_where_a_result_went_and_what_was_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exports(tmp_path, "a.html")
    out = tmp_path / "out" / "a.html"
    assert main(["patch", *ARGS, "-o", str(out), str(tmp_path / "a.html")]) == EXIT_OK
    assert f"wrote {out} (1 calendar button) from {tmp_path / 'a.html'}" in capsys.readouterr().err
    # a QR block kept by an earlier --keep-qr run, removed now: no "0 calendar buttons"
    assert main(["patch", *ARGS, "--keep-qr", str(tmp_path / "a.html")]) == EXIT_OK
    capsys.readouterr()
    assert main(["patch", *ARGS, str(tmp_path / "a.html")]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"patched {tmp_path / 'a.html'} (1 QR block removed)" in err


def test_ics_names_the_option_that_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ics", "--data", "registrationId=1"]) == EXIT_USAGE
    assert "give them in --event-file FILE" in capsys.readouterr().err
