"""Fault injection with real files: whatever fails, each file on disk is either its original
bytes or fully patched, never half, and no temp file is left behind.

Faults are injected with monkeypatch at the system calls mailpatch makes (``os.replace``,
writes, ``fsync``, ``mkstemp``), between reading and writing (another program saving the
file), and between files (Ctrl-C); one test sends a real SIGINT to a running batch.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mailpatch._cli
import mailpatch._run
import mailpatch._verify
from mailpatch import FileProblem, decode
from mailpatch._cli import EXIT_OK, EXIT_REFUSED, main

from fixturecases import Case, cases

CASE = next(c for c in cases("patch") if c.name == "classic-vml-button")
CASE_GUID, CASE_ID = "2c7e9a41-5f3b-ef11-a82e-000d3a4b7c91", "ADatumSecurityBriefing2025_4471"
ORIGINAL = CASE.input.read_bytes()
PATCHED = CASE.expected.read_bytes()
EXIT_INTERRUPTED = 130


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # configuration is looked up from the working folder upwards


def leftovers(root: Path) -> list[str]:
    """Temp files mailpatch would have left (``.NAME.*.mailpatch``), anywhere below root."""
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*.mailpatch"))


@dataclass(frozen=True)
class Snapshot:
    """Bytes and identity: equal snapshots mean the file was not even rewritten."""

    data: bytes
    inode: int
    mtime_ns: int
    mode: int

    @classmethod
    def of(cls, path: Path) -> Snapshot:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            data = os.readlink(path).encode()
        elif stat.S_ISFIFO(info.st_mode):
            data = b""
        else:
            with open(path, "rb") as handle:  # not Path.open, which a test may refuse
                data = handle.read()
        return cls(data, info.st_ino, info.st_mtime_ns, stat.S_IMODE(info.st_mode))


def place(folder: Path, name: str, data: bytes = ORIGINAL) -> Path:
    path = folder / name
    path.write_bytes(data)
    os.utime(path, ns=(10**18, 10**18))  # an old mtime: any rewrite shows
    return path


def run(capsysbinary: pytest.CaptureFixture[bytes], *paths: Path) -> tuple[int, str]:
    code = main(["patch", *CASE.args, *map(str, paths)])
    err = capsysbinary.readouterr().err.decode("utf-8")
    assert "Traceback" not in err
    return code, err


# --- hostile files: refused by name, untouched, the others still patched ---------------------


def _unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """chmod 000 cannot stop root (tests run as root here): refuse the open instead."""
    path = place(tmp_path, "email.html")
    real_open = Path.open

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "email.html":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    return path


def _read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = place(tmp_path, "email.html")
    path.chmod(0o444)
    return path


def _fifo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "email.html"
    os.mkfifo(path)
    return path


def _over_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = place(tmp_path, "email.html")
    with path.open("r+b") as handle:  # sparse: 20 MiB + 1 byte without writing 20 MiB
        handle.truncate(20 * 1024 * 1024 + 1)
    return path


def _dangling_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "email.html"
    path.symlink_to(tmp_path / "gone.html")
    return path


def _bytes(data: bytes) -> Callable[[Path, pytest.MonkeyPatch], Path]:
    return lambda tmp_path, monkeypatch: place(tmp_path, "email.html", data)


HOSTILE = [
    pytest.param(_bytes(ORIGINAL.replace(b"<head>", b"<head>\xe9")), "is not UTF-8", id="latin-1"),
    pytest.param(_bytes(b"\xc0\xaf" + ORIGINAL), "is not UTF-8", id="overlong-utf8"),
    pytest.param(_bytes(b"\xed\xa0\x80" + ORIGINAL), "is not UTF-8", id="encoded-surrogate"),
    pytest.param(_bytes(ORIGINAL[:-1] + b"\xf0\x9f"), "is not UTF-8", id="truncated-emoji"),
    pytest.param(
        _bytes(b"\xef\xbb\xbf" + ORIGINAL + b"\xff"), "is not UTF-8", id="bom-then-invalid"
    ),
    pytest.param(
        _bytes(b"\xff\xfe" + ORIGINAL.decode().encode("utf-16-le")), "is UTF-16", id="utf-16-le"
    ),
    pytest.param(
        _bytes(b"\xfe\xff" + ORIGINAL.decode().encode("utf-16-be")), "is UTF-16", id="utf-16-be"
    ),
    pytest.param(_bytes(ORIGINAL.decode().encode("utf-16-le")), "is binary", id="utf-16-no-bom"),
    pytest.param(_bytes(ORIGINAL.replace(b"</head>", b"\x00</head>")), "is binary", id="nul"),
    pytest.param(_fifo, "is not a regular file", id="fifo"),
    pytest.param(_unreadable, "cannot be read: Permission denied", id="unreadable"),
    pytest.param(_read_only, "is read-only; not overwritten", id="read-only"),
    pytest.param(
        _over_limit, "is 20,971,521 bytes, over the 20,971,520-byte limit", id="over-size-limit"
    ),
    pytest.param(_dangling_link, "cannot be read", id="dangling-symlink"),
]


@pytest.mark.parametrize(("make", "message"), HOSTILE)
def test_hostile_file_refused_by_name_untouched(
    make: Callable[[Path, pytest.MonkeyPatch], Path],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = make(tmp_path, monkeypatch)
    good = place(tmp_path, "good.html")
    before = Snapshot.of(path)
    code, err = run(capsysbinary, path, good)
    assert code == EXIT_REFUSED
    assert f"cannot patch {path}: {message}" in err
    assert Snapshot.of(path) == before
    assert good.read_bytes() == PATCHED  # the others are still processed
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_chmod_000_refused(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = place(tmp_path, "email.html")
    path.chmod(0)
    code, err = run(capsysbinary, path)
    assert code == EXIT_REFUSED
    assert f"cannot patch {path}: cannot be read: Permission denied" in err


def test_max_size_is_inclusive(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    at, over = place(tmp_path, "at.html"), place(tmp_path, "over.html", ORIGINAL + b" ")
    code = main(["patch", *CASE.args, "--max-size", str(len(ORIGINAL)), str(at), str(over)])
    err = capsysbinary.readouterr().err.decode()
    assert code == EXIT_REFUSED
    assert at.read_bytes() == PATCHED
    assert f"cannot patch {over}: is {len(ORIGINAL) + 1:,} bytes, over the" in err
    assert over.read_bytes() == ORIGINAL + b" "


# --- the write fails: the file keeps its bytes, the temp file goes --------------------------


def _oserror(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _fail_replace(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def replace(src: Any, dst: Any) -> None:
        raise _oserror(code)

    monkeypatch.setattr(os, "replace", replace)


def _disk_full_mid_write(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """Half the bytes reach the temp file, then the disk is full."""
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise _oserror(code)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.handle, name)

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return Full(handle) if "w" in mode else handle

    monkeypatch.setattr(os, "fdopen", fdopen)


def _fail_fsync(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def fsync(fd: int) -> None:
        raise _oserror(code)

    monkeypatch.setattr(os, "fsync", fsync)


def _fail_mkstemp(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise _oserror(code)

    monkeypatch.setattr("tempfile.mkstemp", mkstemp)


def _fail_chmod(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def chmod(*args: Any, **kwargs: Any) -> None:
        raise _oserror(code)

    monkeypatch.setattr(os, "chmod", chmod)


WRITE_FAULTS = [
    pytest.param(_fail_replace, errno.EACCES, id="replace-permission-denied"),
    pytest.param(_fail_replace, errno.EXDEV, id="replace-cross-device"),
    pytest.param(_fail_replace, errno.EBUSY, id="replace-busy"),
    pytest.param(_disk_full_mid_write, errno.ENOSPC, id="write-disk-full"),
    pytest.param(_disk_full_mid_write, errno.EDQUOT, id="write-quota-exceeded"),
    pytest.param(_fail_fsync, errno.EIO, id="fsync-io-error"),
    pytest.param(_fail_fsync, errno.ENOSPC, id="fsync-disk-full"),
    pytest.param(_fail_mkstemp, errno.EACCES, id="folder-not-writable"),
    pytest.param(_fail_mkstemp, errno.EROFS, id="read-only-file-system"),
    pytest.param(_fail_chmod, errno.EPERM, id="chmod-not-permitted"),
]


@pytest.mark.parametrize(("fault", "code"), WRITE_FAULTS)
def test_failed_write_leaves_the_original_and_no_temp_file(
    fault: Callable[[pytest.MonkeyPatch, int], None],
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = place(tmp_path, "email.html")
    before = Snapshot.of(path)
    fault(monkeypatch, code)
    exit_code, err = run(capsysbinary, path)
    assert exit_code == EXIT_REFUSED
    assert f"cannot patch {path}: cannot be written: {os.strerror(code)}" in err
    assert Snapshot.of(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["email.html"]


# --- someone else saves the file while mailpatch works on it --------------------------------


def _append(path: Path) -> bytes | None:
    path.write_bytes(ORIGINAL + b"<!-- saved by the designer -->\n")
    return path.read_bytes()


def _save_by_rename(path: Path) -> bytes | None:
    """What most editors do: write a new file and rename it over the old one."""
    new = path.with_name("new.tmp")
    new.write_bytes(ORIGINAL.replace(b"<title>", b"<title>Edited: "))
    os.replace(new, path)
    return path.read_bytes()


def _delete(path: Path) -> bytes | None:
    path.unlink()
    return None


def _same_bytes(path: Path) -> bytes | None:
    """Saved again unchanged (only the mtime moves): nothing to protect, so it is patched."""
    path.write_bytes(ORIGINAL)
    return PATCHED


EDITS = [
    pytest.param(_append, id="edited-in-place"),
    pytest.param(_save_by_rename, id="replaced-by-rename"),
    pytest.param(_delete, id="deleted"),
    pytest.param(_same_bytes, id="rewritten-with-same-bytes"),
]


@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("moment", ["after-read", "after-temp-file-written"])
def test_concurrent_edit_is_not_overwritten(
    edit: Callable[[Path], bytes | None],
    moment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = place(tmp_path, "email.html")
    expected: list[bytes | None] = []
    if moment == "after-read":  # while the patch is verified, before anything is written
        real_verify = mailpatch._verify.verify  # _run imports it when a file changes

        def verify(*args: Any) -> None:
            expected.append(edit(path))
            real_verify(*args)

        monkeypatch.setattr(mailpatch._verify, "verify", verify)
    else:  # the temp file is complete, the rename has not happened
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            real_fsync(fd)
            if not expected:  # the temp file's (the folder is synced after the rename)
                expected.append(edit(path))

        monkeypatch.setattr(os, "fsync", fsync)
    code, err = run(capsysbinary, path)
    (now,) = expected
    if now == PATCHED:
        assert code == EXIT_OK
    else:
        assert code == EXIT_REFUSED
        assert f"cannot patch {path}: changed while mailpatch was working on it" in err
    assert (path.read_bytes() if path.exists() else None) == now
    assert leftovers(tmp_path) == []


# --- interrupted: every file original or fully patched --------------------------------------


# How a run writes. Streamed: each file is renamed into place once patched (the settings map
# the event). Held: with --event-id the run must first know that all its emails are for one
# event, so every result waits in a temp file until the last email is read; an interrupt
# before then leaves every file as it was.
STREAMED = ["--endpoint", "contoso.svc.dynamics.com", "--event", f"{CASE_GUID}={CASE_ID}"]
RUNS = [pytest.param(STREAMED, id="streamed"), pytest.param(CASE.args, id="held")]


def _run_with(
    capsysbinary: pytest.CaptureFixture[bytes], args: list[str], *paths: Path
) -> tuple[int, str]:
    code = main(["patch", *args, *map(str, paths)])
    err = capsysbinary.readouterr().err.decode("utf-8")
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize("args", RUNS)
def test_interrupt_between_files(
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    files = [place(tmp_path, f"e{i}.html") for i in range(3)]
    real_process = mailpatch._cli.prepare
    calls: list[str] = []

    def process(path: str, *args: Any) -> Any:
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_process(path, *args)

    monkeypatch.setattr(mailpatch._cli, "prepare", process)
    code, err = _run_with(capsysbinary, args, *files)
    assert code == EXIT_INTERRUPTED
    assert "Aborted!" in err
    assert len(calls) == 2
    first = PATCHED if args is STREAMED else ORIGINAL
    assert [f.read_bytes() for f in files] == [first, ORIGINAL, ORIGINAL]
    assert leftovers(tmp_path) == []


def _names(arg: object) -> str:
    """The file a system call's first argument names (a descriptor: the file it is open on)."""
    if isinstance(arg, int):
        with contextlib.suppress(OSError):
            return os.readlink(f"/proc/self/fd/{arg}")
        return ""
    return os.fspath(arg)  # type: ignore[call-overload]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names descriptors by /proc")
@pytest.mark.parametrize("args", RUNS)
@pytest.mark.parametrize("call", ["fdopen", "fsync", "chmod", "replace"])
def test_interrupt_inside_a_write(
    call: str,
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """Ctrl-C while the 2nd file's temp file is made (or renamed): it goes; the 1st stays
    patched where it was renamed already (a held run renames only once all are read). Writes
    run a few at a time: the 3rd file's may have been under way, and finished."""
    files = [place(tmp_path, f"e{i}.html") for i in range(3)]
    real = getattr(os, call)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        if ".e1.html." in _names(args[0]):  # the 2nd file's temp file
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(os, call, interrupted)
    code, _ = _run_with(capsysbinary, args, *files)
    assert code == EXIT_INTERRUPTED
    renamed = args is STREAMED or call == "replace"
    states = [f.read_bytes() for f in files]
    assert states[:2] == [PATCHED if renamed else ORIGINAL, ORIGINAL]
    assert states[2] in ((ORIGINAL, PATCHED) if args is STREAMED else (ORIGINAL,))
    assert leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigint_mid_batch(tmp_path: Path, jobs: str) -> None:
    """A real Ctrl-C (SIGINT to the process group) once the first file is patched."""
    files = [place(tmp_path, f"e{i:03}.html") for i in range(300)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailpatch", "patch", "-q", "-j", jobs, *STREAMED, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if any(f.read_bytes() == PATCHED for f in files):
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    states = [f.read_bytes() for f in files]
    assert proc.returncode == EXIT_INTERRUPTED, err.decode()
    assert b"Traceback" not in err
    assert all(s in (ORIGINAL, PATCHED) for s in states)
    assert ORIGINAL in states and PATCHED in states  # it really was cut short
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_while_a_held_run_reads(tmp_path: Path, jobs: str, signum: int) -> None:
    """A run with --event-id stopped (Ctrl-C, SIGTERM or SIGHUP to its process group) while
    its results wait in temp files: every file stays as it was and no temp file is left,
    those its workers were writing included."""
    files = [place(tmp_path, f"e{i:03}.html") for i in range(300)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailpatch", "patch", "-q", "-j", jobs, *CASE.args, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not leftovers(tmp_path):
        time.sleep(0.002)
    os.killpg(proc.pid, signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (EXIT_INTERRUPTED if signum == signal.SIGINT else -signum)
    assert b"Traceback" not in err
    assert all(f.read_bytes() == ORIGINAL for f in files)
    assert leftovers(tmp_path) == []


def _signal_once_temp_file_exists(monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    """The signal arrives at the worst instant: the temp file exists, mkstemp has not returned."""
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        made = real_mkstemp(*args, **kwargs)
        os.kill(os.getpid(), signum)
        return made

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
@pytest.mark.parametrize("args", RUNS)
def test_ctrl_c_inside_mkstemp_waits_for_the_write(
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    files = [place(tmp_path, f"e{i}.html") for i in range(2)]
    _signal_once_temp_file_exists(monkeypatch, signal.SIGINT)
    code, _ = _run_with(capsysbinary, args, *files)
    assert code == EXIT_INTERRUPTED
    # the write the signal met finished, then the run stopped: writes run four at a time, so
    # the other file may be written too, whole, but never half (a held run: the temp files
    # finished, then removed)
    after = [f.read_bytes() for f in files]
    assert all(b in (ORIGINAL, PATCHED) for b in after)
    if args is STREAMED:
        assert PATCHED in after
    else:
        assert after == [ORIGINAL, ORIGINAL]
    assert leftovers(tmp_path) == []


SIGTERM_SCRIPT = """
import os, signal, sys, tempfile
real = tempfile.mkstemp
def mkstemp(*args, **kwargs):
    made = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)  # no Python cleanup runs on SIGTERM
    return made
tempfile.mkstemp = mkstemp
from mailpatch._cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
@pytest.mark.parametrize("count", [1, 2])
def test_sigterm_inside_mkstemp_waits_for_the_write(tmp_path: Path, count: int) -> None:
    """One file: its write finishes, then SIGTERM ends the process. Two (a held run, --event-id):
    the temp file is finished, then removed, and the process dies of the SIGTERM."""
    paths = [place(tmp_path, f"e{i}.html") for i in range(count)]
    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_SCRIPT, "patch", *CASE.args, *map(str, paths)],
        capture_output=True,
        check=False,
    )
    assert done.returncode == -signal.SIGTERM
    assert [p.read_bytes() for p in paths] == ([PATCHED] if count == 1 else [ORIGINAL] * count)
    assert leftovers(tmp_path) == []


# --- links and modes --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o660, 0o751])
def test_symlink_chain_target_rewritten_links_and_mode_kept(
    mode: int, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """link.html -> links/hop.html -> ../real/email.html: the target is patched in its own
    folder (the temp file is made there), both links stay links, the target keeps its mode."""
    for folder in ("real", "links", "work"):
        (tmp_path / folder).mkdir()
    target = place(tmp_path / "real", "email.html")
    target.chmod(mode)
    hop = tmp_path / "links" / "hop.html"
    hop.symlink_to(Path("..") / "real" / "email.html")
    link = tmp_path / "work" / "link.html"
    link.symlink_to(Path("..") / "links" / "hop.html")
    code, err = run(capsysbinary, link)
    assert code == EXIT_OK, err
    assert target.read_bytes() == PATCHED
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert os.readlink(link) == str(Path("..") / "links" / "hop.html")
    assert os.readlink(hop) == str(Path("..") / "real" / "email.html")
    assert leftovers(tmp_path) == []


def test_case_fixture_is_the_one_expected() -> None:
    """The module's bytes really differ: a patch and its original, not two equal files."""
    assert isinstance(CASE, Case) and ORIGINAL != PATCHED


@pytest.mark.parametrize(
    ("data", "where"),
    [
        pytest.param(
            b"<p>caf\xe9</p>", "byte 0xe9 at line 1, column 7 (byte offset 6)", id="first"
        ),
        pytest.param(
            "<p>📅</p>\r\n<p>Grüße</p>\n<p>".encode() + b"\xe9",
            "byte 0xe9 at line 3, column 4 (byte offset 31)",
            id="after-crlf-and-multibyte",
        ),
        pytest.param(
            b"\xef\xbb\xbf<p>\n\xff", "byte 0xff at line 2, column 1 (byte offset 7)", id="bom"
        ),
        pytest.param(b"<p>\n  \x00", "NUL byte at line 2, column 3 (byte offset 6)", id="nul"),
    ],
)
def test_an_encoding_error_names_the_line_and_column(data: bytes, where: str) -> None:
    """Where an editor shows the bad byte (characters, CRLF one break), and its byte offset."""
    with pytest.raises(FileProblem) as raised:
        decode(data)
    assert where in str(raised.value)
