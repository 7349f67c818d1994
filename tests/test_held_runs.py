"""Runs that check all their emails before they write (``Mode.check_run``).

With --event-id (one id serves one event across the run) or without an endpoint (an email to
patch needs one), what decides a usage error is spread over every file. Each email is read and
patched once; it reports its events, and in a run of several files each in-place result waits
in a temp file (``Outcome.pending``) until the last email has reported. A usage error then
removes them all: nothing is written, nothing is said but the error. Otherwise the results are
renamed into place in order, each checked against the file as it was read.
"""

from __future__ import annotations

import os
import stat
import zlib
from pathlib import Path
from typing import Any

import pytest

import mailpatch._cli
from mailpatch import FileProblem
from mailpatch._cli import EXIT_OK, EXIT_USAGE, main
from mailpatch._files import Pending, _identity, commit, read_file, write_pending

from fixturecases import Case, cases

ONE = next(c for c in cases("patch") if c.name == "classic-vml-button")  # one event, --event-id
# two emails of two other events, for one --event-id: a usage error
OTHERS = [next(c for c in cases("patch") if c.name == n) for n in ("empty-href", "multi-event")]
OLD_NS = 10**18  # an old mtime: any rewrite shows


def place(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    return path


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file below ``folder``: bytes, inode, mtime (equal: not even rewritten)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            info = path.stat()
            out[str(path.relative_to(folder))] = (path.read_bytes(), info.st_ino, info.st_mtime_ns)
    return out


def _batch(tmp_path: Path, last: Case) -> Path:
    """Emails of ONE's event, then one of another event (or one with no endpoint to use)."""
    folder = tmp_path / "emails"
    folder.mkdir()
    for i in range(4):
        place(folder, f"a{i}.html", ONE.input.read_bytes())
    place(folder, "z.html", last.input.read_bytes())
    return folder


MODES = [
    pytest.param([], id="in-place"),
    pytest.param(["-j", "2"], id="pool"),
    pytest.param(["--check"], id="check"),
    pytest.param(["--diff"], id="diff"),
    pytest.param(["--format", "json"], id="json"),
    pytest.param(["-v"], id="verbose"),
    pytest.param(["--output-dir", "OUT"], id="output-dir"),
]
NO_ENDPOINT = [a for a in ONE.args if a != "--endpoint" and "dynamics" not in a]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("args", "last", "error", "lines"),
    [
        pytest.param(
            ONE.args,
            OTHERS[0],
            "Error: --event-id serves only a run whose emails are all for one event; these are "
            "for 2:",
            2 + 1,  # an event a line, then how to map them
            id="two-events",
        ),
        pytest.param(
            ONE.args,
            OTHERS[1],
            "Error: --event-id serves only a run whose emails are all for one event; these are "
            "for 3:",
            3 + 1,
            id="an-email-of-two-events",
        ),
        pytest.param(
            NO_ENDPOINT,
            OTHERS[0],
            "Error: --endpoint is needed: ",
            0,
            id="no-endpoint",
        ),
    ],
)
def test_a_usage_error_found_in_the_last_email_writes_and_says_nothing_else(
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    mode: list[str],
    args: list[str],
    last: Case,
    error: str,
    lines: int,
) -> None:
    folder = _batch(tmp_path, last)
    before = snapshot(tmp_path)
    argv = [str(tmp_path / "OUT") if a == "OUT" else a for a in mode]
    code = main(["patch", *argv, *args, str(folder)])
    captured = capsysbinary.readouterr()
    err = captured.err.decode("utf-8")
    assert code == EXIT_USAGE
    assert captured.out == b""
    assert err.startswith("Usage: mailpatch patch [OPTIONS] PATH...\n")
    assert err.splitlines()[3].startswith(error)
    # the usage, a hint, a blank line, the error (and its listing): no more
    assert len(err.splitlines()) == 4 + lines
    assert snapshot(tmp_path) == before  # no result, no temp file, no output folder


@pytest.mark.parametrize("mode", MODES)
def test_a_held_run_gives_what_a_streamed_run_gives(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    mode: list[str],
) -> None:
    """The same emails with --event-id (held) and with the event mapped (streamed): the same
    files, stdout and stderr."""
    guid = "2c7e9a41-5f3b-ef11-a82e-000d3a4b7c91"
    held = ONE.args
    at = held.index("--event-id")
    mapped = [*held[:at], "--event", f"{guid}={held[at + 1]}", *held[at + 2 :]]
    seen = []
    for name, args in (("held", held), ("streamed", mapped)):
        work = tmp_path / name
        folder = work / "emails"
        folder.mkdir(parents=True)
        for i in range(4):
            place(folder, f"a{i}.html", ONE.input.read_bytes())
        place(folder, "plain.html", b"<p>no block</p>")
        place(folder, "bad.html", b"\xff not utf-8")
        monkeypatch.chdir(work)  # relative names: the two runs' messages can be compared
        argv = ["OUT" if a == "OUT" else a for a in mode]
        code = main(["patch", *argv, *args, "emails"])
        captured = capsysbinary.readouterr()
        contents = {k: v[0] for k, v in snapshot(work).items()}
        err = captured.err.replace(str(work).encode(), b"WORK")  # -v names the root
        seen.append((code, captured.out, err, contents))
    assert seen[0] == seen[1]


def test_a_file_changed_before_its_rename_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """While a held run's results wait, one email is edited and another saved again unchanged:
    the first is refused by name, the second patched."""
    folder = _batch(tmp_path, ONE)
    edited, saved = folder / "a1.html", folder / "a2.html"
    real_commit = mailpatch._cli.commit

    def commit_later(pending: Pending) -> None:
        if pending.target == str(edited.resolve()):
            edited.write_bytes(ONE.input.read_bytes() + b"<!-- edited -->")
        if pending.target == str(saved.resolve()):
            saved.write_bytes(ONE.input.read_bytes())
        real_commit(pending)

    monkeypatch.setattr(mailpatch._cli, "commit", commit_later)
    code = main(["patch", *ONE.args, str(folder)])
    err = capsysbinary.readouterr().err.decode("utf-8")
    assert f"cannot patch {edited}: changed while mailpatch was working on it" in err
    assert edited.read_bytes() == ONE.input.read_bytes() + b"<!-- edited -->"
    assert saved.read_bytes() == ONE.expected.read_bytes()
    assert (folder / "a0.html").read_bytes() == ONE.expected.read_bytes()
    assert code == 123
    assert not list(folder.glob(".*.mailpatch"))


@pytest.mark.parametrize("racy", [True, False])
def test_commit_trusts_an_unchanged_stat_only_when_it_can(tmp_path: Path, racy: bool) -> None:
    """A file's stat vouches for its bytes unless it was modified shortly before it was read
    (the file system's clock may not have moved since): then the bytes are compared."""
    path = place(tmp_path, "email.html", b"original")
    data, info = read_file(path)
    pending = write_pending(path, b"patched", data, info, "run1")
    path.write_bytes(b"edited!!")  # the same size
    os.utime(path, ns=(OLD_NS, OLD_NS))
    now = _identity(path.stat())
    pending = pending._replace(read=now, racy=racy)  # as if the stat had not moved
    if racy:
        with pytest.raises(FileProblem, match="changed while mailpatch was working on it"):
            commit(pending)
        assert path.read_bytes() == b"edited!!"
    else:
        commit(pending)
        assert path.read_bytes() == b"patched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["email.html"]


def test_a_file_written_just_before_the_run_is_racy(tmp_path: Path) -> None:
    path = tmp_path / "email.html"
    path.write_bytes(b"fresh")
    data, info = read_file(path)
    pending = write_pending(path, b"new", data, info, "run1")
    assert pending.racy and pending.crc == zlib.crc32(b"fresh")
    commit(pending)
    assert path.read_bytes() == b"new"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(ONE.args, id="held"),
        pytest.param(
            [*ONE.args[:2], "--event", f"2c7e9a41-5f3b-ef11-a82e-000d3a4b7c91={ONE.args[3]}"],
            id="streamed",
        ),
    ],
)
def test_the_folder_is_synced_after_its_renames(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    args: list[str],
) -> None:
    folder = _batch(tmp_path, ONE)
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        what = "folder" if stat.S_ISDIR(info.st_mode) else "file"
        events.append((what, str(info.st_ino)))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        real_replace(src, dst)
        events.append(("rename", str(dst)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    assert main(["patch", *args, str(folder)]) == EXIT_OK
    capsysbinary.readouterr()
    kinds = [kind for kind, _ in events]
    assert kinds.count("rename") == 5 and kinds.count("file") == 5
    assert kinds[-1] == "folder" and events[-1][1] == str(folder.stat().st_ino)
    assert "rename" not in kinds[kinds.index("folder") :]
