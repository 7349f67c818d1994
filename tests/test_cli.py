"""The CLI contract (the README's exit codes, docs/reference.md) through ``main([...])``: exit
codes, bytes on disk, stdout/stderr.

Every test works on copies in ``tmp_path``; fixtures/ is only read.
"""

from __future__ import annotations

import errno
import io
import os
import re
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailpatch import __version__
from mailpatch._cli import EXIT_CHANGES, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, cli, main

from fixturecases import Case, cases, event_args

PATCH = cases("patch")
UNCHANGED = cases("unchanged")
# (the library refuses an email with two events given one --event-id; the command line
# stops such a run before it starts: test_event_id_for_a_run_with_two_events_is_a_usage_error)
REFUSE = [c for c in cases("refuse") if c.name != "event-id-two-guids"]
BOM = b"\xef\xbb\xbf"
FIXTURES_ROOT = Path(__file__).resolve().parent.parent / "fixtures"
OLD_NS = 1_000_000_000 * 10**9  # 2001: a rewrite of an aged file cannot keep this mtime


def case(kind: str, name: str) -> Case:
    (found,) = [c for c in cases(kind) if c.name == name]
    return found


def params(items: list[Case]) -> list[object]:
    return [pytest.param(c, id=c.name) for c in items]


@dataclass(frozen=True)
class Run:
    code: int
    out: bytes
    err: str


def run(capsysbinary: pytest.CaptureFixture[bytes], *args: str | Path) -> Run:
    code = main([str(a) for a in args])
    captured = capsysbinary.readouterr()
    return Run(code, captured.out, captured.err.decode("utf-8"))


@dataclass(frozen=True)
class Snapshot:
    """A file's bytes and identity: equal snapshots mean 'not even rewritten'."""

    data: bytes
    inode: int
    mtime_ns: int
    mode: int

    @classmethod
    def of(cls, path: Path) -> Snapshot:
        info = path.stat()
        return cls(path.read_bytes(), info.st_ino, info.st_mtime_ns, stat.S_IMODE(info.st_mode))


def place(tmp_path: Path, data: bytes, name: str = "email.html") -> Path:
    """Write ``data`` into tmp_path with an old mtime, so that any rewrite shows."""
    path = tmp_path / name
    path.write_bytes(data)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    return path


def mapped(args: list[str], paths: list[Path]) -> list[str]:
    """``args`` with ``--event-id X`` given as ``--event GUID=X`` for each event in ``paths``
    (one --event-id reaches only a run whose emails share one event)."""
    at = args.index("--event-id")
    return [*args[:at], *event_args(paths, args[at + 1]), *args[at + 2 :]]


def test_event_id_for_a_run_with_two_events_is_a_usage_error(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Found before anything is written, whether the events are in one email or two."""
    two = case("refuse", "event-id-two-guids")
    one = [case("patch", "empty-href"), case("patch", "newer-editor-button")]
    for files in ([copy(two, tmp_path, "two.html")], [copy(c, tmp_path) for c in one]):
        before = [Snapshot.of(f) for f in files]
        result = run(capsysbinary, "patch", *one[0].args, *files)
        assert result.code == EXIT_USAGE, result.err
        assert "--event-id serves only a run whose emails are all for one event" in result.err
        assert "Map each with --event GUID=ID" in result.err
        assert [Snapshot.of(f) for f in files] == before
        no_traceback(result)


def test_event_id_for_two_events_lists_each_event_on_its_own_line(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """One line per event: its GUID, the file and line:col where the run first meets it, and
    how many other files hold it; in the order the run meets them. A Button already patched
    for an event is placed where its event test names the GUID."""
    two = copy(case("refuse", "event-id-two-guids"), tmp_path, "two.html")
    raw = case("patch", "empty-href")
    first = copy(raw, tmp_path, "a.html")
    again = copy(raw, tmp_path, "b.html")
    done = place(tmp_path, raw.expected.read_bytes(), "done.html")
    result = run(capsysbinary, "patch", *raw.args, done, two, first, again)
    assert result.code == EXIT_USAGE, result.err
    guid = "8e0a2c4d-6f7b-ee11-9079-6045bd8e1f20"
    line, column = _guid_place(done.read_text("utf-8"), guid)
    assert result.err.endswith(
        "Error: --event-id serves only a run whose emails are all for one event; these are "
        "for 3:\n"
        f"  {guid} first in {done}:{line}:{column} (and 2 other files)\n"
        f"  2f4b6d8e-0a1c-ef11-840a-000d3ab2f6c8 first in {two}:64:1\n"
        f"  7a9c1e3f-5b6d-ef11-840a-000d3ab2f6c8 first in {two}:90:1\n"
        "Map each with --event GUID=ID, or in the events table [tool.mailpatch.events]\n"
    ), result.err


def test_event_id_listing_names_stdin_as_stdin_filename_does(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """stdin standing for a file is named as that file, as in the status lines."""
    two = case("refuse", "event-id-two-guids")
    feed_stdin(monkeypatch, two.input.read_bytes())
    result = run(capsysbinary, "patch", *two.args, "--stdin-filename", "foo/x.html", "-")
    assert result.code == EXIT_USAGE, result.err
    assert "  2f4b6d8e-0a1c-ef11-840a-000d3ab2f6c8 first in foo/x.html:64:1\n" in result.err


def _guid_place(text: str, guid: str) -> tuple[int, int]:
    at = text.index(guid)
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def copy(c: Case, tmp_path: Path, name: str | None = None) -> Path:
    return place(tmp_path, c.input.read_bytes(), name or f"{c.name}.html")


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """A text stdin whose .buffer holds ``data`` (what click.get_binary_stream reads)."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def no_traceback(result: Run) -> None:
    assert "Traceback" not in result.err
    assert b"Traceback" not in result.out


def strip_bom(data: bytes) -> bytes:
    return data[len(BOM) :] if data.startswith(BOM) else data


def to_crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _lines(data: bytes) -> list[bytes]:
    """Lines the way git and patch(1) see them: split after b'\\n' only."""
    return re.findall(rb"[^\n]*\n|[^\n]+\Z", data)


def apply_diff(original: bytes, diff: bytes) -> bytes:
    """Apply a unified diff strictly, like ``git apply``: old lines must be where hunks say."""
    src, lines = _lines(original), _lines(diff)
    assert lines[0].startswith(b"--- ") and lines[1].startswith(b"+++ "), lines[:2]
    out: list[bytes] = []
    pos, i = 0, 2
    while i < len(lines):
        head = re.match(rb"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", lines[i])
        assert head, lines[i]
        start = int(head[1]) - (0 if head[2] == b"0" else 1)
        old: list[bytes] = []
        new: list[bytes] = []
        last = b" "
        i += 1
        while i < len(lines) and not lines[i].startswith(b"@@"):
            tag, body = lines[i][:1], lines[i][1:]
            if tag == b"\\":  # "\ No newline at end of file": the previous line has none
                for side in [old, new] if last == b" " else [old] if last == b"-" else [new]:
                    side[-1] = side[-1].removesuffix(b"\n")
            else:
                assert tag in (b" ", b"-", b"+"), lines[i]
                if tag != b"+":
                    old.append(body)
                if tag != b"-":
                    new.append(body)
                last = tag
            i += 1
        assert start >= pos, "hunks out of order"
        assert src[start : start + len(old)] == old, f"hunk at line {start + 1} does not apply"
        out += src[pos:start] + new
        pos = start + len(old)
    return b"".join(out + src[pos:])


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from tmp_path: '-' looks for configuration from the working folder upwards."""
    monkeypatch.chdir(tmp_path)


# --- the fixtures, in place ----------------------------------------------------------------


@pytest.mark.parametrize("c", params(PATCH))
def test_patch_fixture_in_place_then_idempotent(
    c: Case, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = copy(c, tmp_path)
    first = run(capsysbinary, "patch", *c.args, path)
    assert first.code == EXIT_OK, first.err
    assert path.read_bytes() == c.expected.read_bytes()
    assert f"patched {path} (" in first.err
    assert first.out == b""

    os.utime(path, ns=(OLD_NS, OLD_NS))
    before = Snapshot.of(path)
    second = run(capsysbinary, "patch", *c.args, path)
    assert second.code == EXIT_OK, second.err
    assert Snapshot.of(path) == before  # same bytes, same inode, same mtime: not rewritten
    assert "patched" not in second.err
    assert second.out == b""


@pytest.mark.parametrize("c", params(UNCHANGED))
def test_unchanged_fixture_is_not_rewritten(
    c: Case, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = copy(c, tmp_path)
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", *c.args, path)
    assert result.code == EXIT_OK, result.err
    assert Snapshot.of(path) == before
    assert "patched" not in result.err
    assert result.out == b""


@pytest.mark.parametrize("c", params(REFUSE))
def test_refuse_fixture_exits_123_naming_file_line_col(
    c: Case, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = copy(c, tmp_path)
    before = Snapshot.of(path)
    fragment, position = c.error
    result = run(capsysbinary, "patch", *c.args, path)
    assert result.code == EXIT_REFUSED
    assert Snapshot.of(path) == before
    assert f"{path}:{position}:" in result.err
    assert fragment in result.err
    assert "1 file refused" in result.err
    assert result.out == b""
    no_traceback(result)


def test_several_files_one_refused_others_still_patched(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Same options for all four; the refused one comes first and does not stop the rest."""
    refused = case("refuse", "only-real-link-button")
    patched = [case("patch", "empty-href"), case("patch", "newer-editor-button")]
    untouched = case("unchanged", "no-qr-block")
    assert all(x.args == refused.args for x in [*patched, untouched])
    r_path, u_path = copy(refused, tmp_path), copy(untouched, tmp_path)
    p_paths = [copy(x, tmp_path) for x in patched]
    r_before, u_before = Snapshot.of(r_path), Snapshot.of(u_path)

    paths = [r_path, p_paths[0], u_path, p_paths[1]]
    args = [*mapped(refused.args, paths)]
    result = run(capsysbinary, "patch", *args, *paths)
    assert result.code == EXIT_REFUSED
    for x, p in zip(patched, p_paths, strict=True):
        assert p.read_bytes() == x.expected.read_bytes()
        assert f"patched {p} (" in result.err
    assert Snapshot.of(r_path) == r_before
    assert Snapshot.of(u_path) == u_before
    assert f"{r_path}:{refused.error[1]}: " in result.err
    summary = result.err.splitlines()[-1]  # the wording is free; the counts are not
    assert "2 files patched" in summary and "1 file refused" in summary


def test_same_file_named_twice_is_processed_once(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "classic-vml-button")
    path = copy(c, tmp_path)
    result = run(capsysbinary, "patch", *c.args, path, path)
    assert result.code == EXIT_OK
    assert path.read_bytes() == c.expected.read_bytes()
    assert result.err.count("patched ") == 1
    assert "1 file patched" in result.err.splitlines()[-1]


@pytest.mark.parametrize("command", ["patch", "lint"])
def test_nonexistent_path_is_a_usage_error_before_anything_is_written(
    command: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A named path that does not exist is a typo: exit 2 and nothing processed, as black."""
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    missing = tmp_path / "missing.html"
    args = c.args if command == "patch" else ()
    result = run(capsysbinary, command, *args, path, missing)
    assert result.code == EXIT_USAGE
    assert f"path '{missing}' does not exist" in result.err
    assert path.read_bytes() == c.input.read_bytes()
    assert not missing.exists()
    no_traceback(result)


def test_existing_path_that_cannot_be_read_is_refused_and_others_processed(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A file that exists but cannot be read is a refusal (123, the README's exit codes), not
    a usage error (a dangling symlink here: root reads a chmod 000 file anyway)."""
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    dangling = tmp_path / "dangling.html"
    dangling.symlink_to(tmp_path / "gone.html")
    result = run(capsysbinary, "patch", *c.args, dangling, path)
    assert result.code == EXIT_REFUSED
    assert f"cannot patch {dangling}: cannot be read" in result.err
    assert path.read_bytes() == c.expected.read_bytes()
    no_traceback(result)


# --- --check and --diff --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "code"),
    [
        pytest.param(case("patch", "crlf"), EXIT_CHANGES, id="would-change-exits-1"),
        pytest.param(case("patch", "bom"), EXIT_CHANGES, id="bom-would-change-exits-1"),
        pytest.param(case("unchanged", "no-qr-block"), EXIT_OK, id="no-qr-block-exits-0"),
        pytest.param(case("refuse", "no-button"), EXIT_REFUSED, id="refused-exits-123"),
    ],
)
def test_check_writes_nothing(
    c: Case, code: int, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = copy(c, tmp_path)
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", "--check", *c.args, path)
    assert result.code == code, result.err
    assert Snapshot.of(path) == before
    assert result.out == b""
    assert (f"would patch {path} (" in result.err) == (code == EXIT_CHANGES)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


def test_check_on_already_patched_file_exits_0(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "multi-event")
    path = place(tmp_path, c.expected.read_bytes())
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", "--check", *c.args, path)
    assert result.code == EXIT_OK
    assert Snapshot.of(path) == before


def test_check_several_files_exit_1_if_any_would_change(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c, u = case("patch", "newer-editor-button"), case("unchanged", "no-qr-block")
    paths = [copy(u, tmp_path), copy(c, tmp_path)]
    before = [Snapshot.of(p) for p in paths]
    result = run(capsysbinary, "patch", "--check", *c.args, *paths)
    assert result.code == EXIT_CHANGES
    assert [Snapshot.of(p) for p in paths] == before
    assert f"would patch {paths[1]} (" in result.err
    assert str(paths[0]) not in result.err


@pytest.mark.parametrize("c", params(PATCH))
def test_diff_is_only_a_unified_diff_that_applies(
    c: Case,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = copy(c, tmp_path, "email.html")
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", "--diff", *c.args, "email.html")
    assert result.code == EXIT_CHANGES, result.err
    assert Snapshot.of(path) == before
    assert result.out.startswith(b"--- a/email.html\n+++ b/email.html\n@@ -")
    assert b"would patch" not in result.out and b"calendar button" not in result.out
    assert "would patch email.html (" in result.err
    assert apply_diff(before.data, result.out) == c.expected.read_bytes()


def test_diff_of_several_files_in_order_each_applies(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    a, b = case("patch", "empty-href"), case("patch", "newer-editor-button")
    u = case("unchanged", "no-qr-block")
    assert a.args == b.args == u.args
    for c, name in ((a, "a.html"), (u, "u.html"), (b, "b.html")):
        copy(c, tmp_path, name)
    names = ["a.html", "u.html", "b.html"]
    args = mapped(a.args, [tmp_path / n for n in names])
    result = run(capsysbinary, "patch", "--diff", *args, *names)
    assert result.code == EXIT_CHANGES
    first, sep, second = result.out.partition(b"--- a/b.html\n")
    assert first.startswith(b"--- a/a.html\n") and sep
    assert b"u.html" not in result.out
    assert apply_diff(a.input.read_bytes(), first) == a.expected.read_bytes()
    assert apply_diff(b.input.read_bytes(), sep + second) == b.expected.read_bytes()


@pytest.mark.parametrize(
    "c",
    [*params(UNCHANGED), pytest.param(case("patch", "keep-qr"), id="already-patched-keep-qr")],
)
def test_diff_when_nothing_to_do_is_empty_and_exits_0(
    c: Case, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    data = (c.expected if c.expected.exists() else c.input).read_bytes()
    path = place(tmp_path, data)
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", "--diff", *c.args, path)
    assert result.code == EXIT_OK
    assert result.out == b""
    assert Snapshot.of(path) == before


def test_diff_of_refused_file_is_empty_and_exits_123(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("refuse", "wrong-order")
    path = copy(c, tmp_path)
    result = run(capsysbinary, "patch", "--diff", *c.args, path)
    assert result.code == EXIT_REFUSED
    assert result.out == b""
    assert f"{path}:{c.error[1]}:" in result.err


_LINE_BREAKISH = [
    pytest.param("\u2028", id="U+2028-line-separator"),
    pytest.param("\x0c", id="form-feed"),
    pytest.param("\x85", id="U+0085-next-line"),
]
_SENTENCE = b"Add the event to your calendar"


def _with_separator(data: bytes, char: str) -> bytes:
    assert data.count(_SENTENCE) == 1
    return data.replace(_SENTENCE, _SENTENCE.replace(b" to ", f" to{char}".encode()))


@pytest.mark.parametrize("char", ["\u2028", "\x0c", "\x85"])
def test_unicode_line_separators_outside_blocks_are_kept_in_place(
    char: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """The text between QR block and Button holds a character str.splitlines() breaks on."""
    c = case("patch", "classic-vml-button")
    path = place(tmp_path, _with_separator(c.input.read_bytes(), char))
    result = run(capsysbinary, "patch", *c.args, path)
    assert result.code == EXIT_OK
    assert path.read_bytes() == _with_separator(c.expected.read_bytes(), char)


@pytest.mark.parametrize("char", _LINE_BREAKISH)
def test_diff_applies_with_unicode_line_separators_in_text(
    char: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "classic-vml-button")
    path = place(tmp_path, _with_separator(c.input.read_bytes(), char))
    result = run(capsysbinary, "patch", "--diff", *c.args, path)
    assert result.code == EXIT_CHANGES
    assert apply_diff(path.read_bytes(), result.out) == _with_separator(
        c.expected.read_bytes(), char
    )


# --- '-': stdin to stdout ------------------------------------------------------------------


@pytest.mark.parametrize("c", params(PATCH))
def test_stdin_patched_bytes_on_stdout(
    c: Case, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_stdin(monkeypatch, c.input.read_bytes())
    result = run(capsysbinary, "patch", *c.args, "-")
    assert result.code == EXIT_OK, result.err
    assert result.out == c.expected.read_bytes()  # BOM, CRLF, no final newline: all kept
    assert "patched - (" in result.err


@pytest.mark.parametrize(
    ("data", "c", "code"),
    [
        *[
            pytest.param(u.input.read_bytes(), u, EXIT_OK, id=f"unchanged-{u.name}")
            for u in UNCHANGED
        ],
        pytest.param(
            case("patch", "bom").expected.read_bytes(),
            case("patch", "bom"),
            EXIT_OK,
            id="already-patched-bom",
        ),
        *[
            pytest.param(r.input.read_bytes(), r, EXIT_REFUSED, id=f"refused-{r.name}")
            for r in REFUSE
        ],
    ],
)
def test_stdin_not_patched_comes_back_unchanged_on_stdout(
    data: bytes,
    c: Case,
    code: int,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed_stdin(monkeypatch, data)
    result = run(capsysbinary, "patch", *c.args, "-")
    assert result.code == code
    assert result.out == data
    if code == EXIT_REFUSED:
        fragment, position = c.error
        assert f"cannot patch -:{position}: " in result.err
        assert fragment in result.err
        no_traceback(result)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("<p>Grüße</p>".encode("latin-1"), id="latin-1"),
        pytest.param("<p>hi</p>".encode("utf-16"), id="utf-16"),
        pytest.param(b"<p>\x00</p>", id="nul-byte"),
    ],
)
def test_stdin_file_problem_echoes_input_and_exits_123(
    data: bytes, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_stdin(monkeypatch, data)
    result = run(capsysbinary, "patch", "--endpoint", "contoso.svc.dynamics.com", "-")
    assert result.code == EXIT_REFUSED
    assert result.out == data
    assert "cannot patch -: is " in result.err
    no_traceback(result)


def test_stdin_diff_changed_prints_only_the_diff(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = case("patch", "crlf")
    feed_stdin(monkeypatch, c.input.read_bytes())
    result = run(capsysbinary, "patch", "--diff", *c.args, "-")
    assert result.code == EXIT_CHANGES
    assert result.out.startswith(b"--- a/stdin\n+++ b/stdin\n@@ -")
    assert apply_diff(c.input.read_bytes(), result.out) == c.expected.read_bytes()


@pytest.mark.parametrize(
    ("flag", "c", "code"),
    [
        pytest.param("--diff", case("unchanged", "no-qr-block"), EXIT_OK, id="diff-unchanged"),
        pytest.param("--diff", case("refuse", "no-button"), EXIT_REFUSED, id="diff-refused"),
        pytest.param("--check", case("patch", "crlf"), EXIT_CHANGES, id="check-would-change"),
        pytest.param("--check", case("unchanged", "no-qr-block"), EXIT_OK, id="check-unchanged"),
        pytest.param("--check", case("refuse", "no-button"), EXIT_REFUSED, id="check-refused"),
    ],
)
def test_stdin_check_or_diff_prints_no_input_echo(
    flag: str,
    c: Case,
    code: int,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--check and --diff write nothing but diffs, also for '-' (stdout is not the input)."""
    feed_stdin(monkeypatch, c.input.read_bytes())
    result = run(capsysbinary, "patch", flag, *c.args, "-")
    assert result.code == code
    assert result.out == b""


def test_stdin_through_click_runner(tmp_path: Path) -> None:
    c = case("patch", "bom")
    result = CliRunner().invoke(cli, ["patch", *c.args, "-"], input=c.input.read_bytes())
    assert result.exception is None, result.output
    assert result.stdout_bytes == c.expected.read_bytes()
    assert "patched - (" in result.stderr


@pytest.mark.parametrize(
    ("c", "extra", "code"),
    [
        pytest.param(case("refuse", "no-button"), [], EXIT_REFUSED, id="refused-123"),
        pytest.param(case("patch", "crlf"), ["--check"], EXIT_CHANGES, id="check-1"),
        pytest.param(case("patch", "crlf"), [], EXIT_OK, id="patched-0"),
        pytest.param(case("patch", "crlf"), ["--field", "x"], EXIT_USAGE, id="usage-2"),
    ],
)
def test_click_group_standalone_exit_codes(
    c: Case, extra: list[str], code: int, tmp_path: Path
) -> None:
    path = copy(c, tmp_path)
    result = CliRunner().invoke(cli, ["patch", *extra, *c.args, str(path)])
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- -o/--output ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "c",
    [
        pytest.param(case("patch", "bom"), id="patched-bom"),
        pytest.param(case("patch", "crlf"), id="patched-crlf"),
        pytest.param(case("patch", "fragment-comment"), id="patched-no-final-newline"),
        pytest.param(case("unchanged", "plain-newsletter-crlf"), id="unchanged-copied"),
    ],
)
def test_output_file_written_input_untouched(
    c: Case, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = copy(c, tmp_path)
    before = Snapshot.of(path)
    out = tmp_path / "out" / "result.html"
    out.parent.mkdir()
    result = run(capsysbinary, "patch", *c.args, "-o", out, path)
    assert result.code == EXIT_OK, result.err
    assert Snapshot.of(path) == before
    want = (c.expected if c.expected.exists() else c.input).read_bytes()
    assert out.read_bytes() == want
    assert result.out == b""


def test_output_file_already_holding_the_result_is_not_rewritten(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "entities-emoji")
    path = copy(c, tmp_path)
    out = place(tmp_path, c.expected.read_bytes(), "out.html")
    before = Snapshot.of(out)
    result = run(capsysbinary, "patch", *c.args, "--output", out, path)
    assert result.code == EXIT_OK
    assert Snapshot.of(out) == before


def test_stdin_with_output_file(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = case("patch", "crlf")
    feed_stdin(monkeypatch, c.input.read_bytes())
    result = run(capsysbinary, "patch", *c.args, "-o", tmp_path / "out.html", "-")
    assert result.code == EXIT_OK
    assert (tmp_path / "out.html").read_bytes() == c.expected.read_bytes()
    assert result.out == b""


def test_output_dash_is_stdout(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    c = case("patch", "mixed-line-endings")
    path = copy(c, tmp_path)
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", *c.args, "-o", "-", path)
    assert result.code == EXIT_OK
    assert result.out == c.expected.read_bytes()
    assert Snapshot.of(path) == before


_LATIN1 = case("patch", "crlf").input.read_bytes().replace(b"<body", b"<!-- \xe9 --><body", 1)


@pytest.mark.parametrize(
    ("c", "data"),
    [
        pytest.param(case("refuse", "no-button"), None, id="refused"),
        pytest.param(case("patch", "crlf"), _LATIN1, id="not-utf-8"),
    ],
)
def test_output_file_not_written_when_input_refused(
    c: Case, data: bytes | None, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """-o FILE gets a result or nothing; -o - echoes the input, like '-' does."""
    path = place(tmp_path, c.input.read_bytes() if data is None else data)
    before = Snapshot.of(path)
    out = tmp_path / "out.html"
    result = run(capsysbinary, "patch", *c.args, "-o", out, path)
    assert result.code == EXIT_REFUSED
    assert not out.exists()
    assert result.out == b""
    assert f"cannot patch {path}" in result.err

    result = run(capsysbinary, "patch", *c.args, "-o", "-", path)
    assert result.code == EXIT_REFUSED
    assert result.out == before.data
    assert Snapshot.of(path) == before


def test_output_file_that_cannot_be_written_is_an_error_naming_it(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    before = Snapshot.of(path)
    (tmp_path / "a-folder").mkdir()
    for out in (path / "out.html", tmp_path / "a-folder"):  # under a file; a folder
        result = run(capsysbinary, "patch", *c.args, "-o", out, path)
        assert result.code == EXIT_REFUSED  # a file problem, not a usage error
        assert f"cannot be written to {out}" in result.err
        assert Snapshot.of(path) == before
        no_traceback(result)
    assert list((tmp_path / "a-folder").iterdir()) == []


def test_output_missing_folders_are_created(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "keep-qr")
    path = copy(c, tmp_path)
    out = tmp_path / "new" / "deeper" / "out.html"
    result = run(capsysbinary, "patch", *c.args, "-o", out, path)
    assert result.code == EXIT_OK
    assert out.read_bytes() == c.expected.read_bytes()


def test_json_with_output_to_stdout_does_not_lose_the_result(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    result = run(capsysbinary, "patch", *c.args, "--format", "json", "-o", "-", path)
    delivered = (
        c.expected.read_bytes() in result.out or path.read_bytes() == c.expected.read_bytes()
    )
    assert result.code == EXIT_USAGE and not delivered, result.out[:200]


# --- CRLF and BOM at byte level ------------------------------------------------------------


@pytest.mark.parametrize("c", params([c for c in PATCH if c.name != "mixed-line-endings"]))
def test_bom_and_crlf_kept_byte_for_byte(
    c: Case, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Each fixture rewritten as BOM + CRLF: the result is the expected file, BOM + CRLF."""
    path = place(tmp_path, BOM + to_crlf(strip_bom(c.input.read_bytes())))
    result = run(capsysbinary, "patch", *c.args, path)
    assert result.code == EXIT_OK, result.err
    out = path.read_bytes()
    assert out.startswith(BOM) and not out[len(BOM) :].startswith(BOM)
    assert re.search(rb"(?<!\r)\n", out) is None, "a lone LF was introduced"
    assert re.search(rb"\r(?!\n)", out) is None, "a lone CR was introduced"
    assert out == BOM + to_crlf(strip_bom(c.expected.read_bytes()))


# --- usage errors: exit 2, a message, no traceback, nothing written --------------------------

ENDPOINT = ["--endpoint", "contoso.svc.dynamics.com"]
EVENT = ["--event-id", "TailspinHolidayPreview2025"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(EVENT, "--endpoint is needed", id="missing-endpoint"),
        pytest.param(["--endpoint", "http://x.com", *EVENT], "only https://", id="http-endpoint"),
        pytest.param(
            ["--endpoint", "https:{endpoint}", *EVENT], "is not a host name", id="placeholder"
        ),
        pytest.param(
            ["--endpoint", "https://u:p@contoso.svc.dynamics.com", *EVENT],
            "--endpoint",
            id="endpoint-credentials",
        ),
        pytest.param(
            ["--endpoint", "contoso.svc.dynamics.com:8443", *EVENT],
            "port",
            id="endpoint-port",
        ),
        pytest.param(
            ["--endpoint", "contoso.svc.dynamics.com/other/path", *EVENT],
            "unexpected path",
            id="endpoint-other-path",
        ),
        pytest.param(
            [*ENDPOINT, *EVENT, "--field", "msevtmgt_checkin_url=x"],
            "msevtmgt_checkin_url is reserved",
            id="reserved-field",
        ),
        pytest.param(
            [*ENDPOINT, *EVENT, "--field", "novalue"], "expected KEY=VALUE", id="field-no-value"
        ),
        pytest.param([*ENDPOINT, *EVENT, "--field", "=x"], "expected KEY=VALUE", id="field-no-key"),
        pytest.param(
            [*ENDPOINT, *EVENT, "--drop-field", "registrationId"],
            "registrationId cannot be dropped",
            id="drop-registrationId",
        ),
        pytest.param(
            [*ENDPOINT, *EVENT, "--drop-field", "nosuch"], "'nosuch'", id="drop-unknown-field"
        ),
        pytest.param(
            [*ENDPOINT, "--event", "notaguid=x"], "'notaguid' is not a GUID", id="event-bad-guid"
        ),
        pytest.param(
            [*ENDPOINT, "--event", "f02b6d84-1e9c-ee11-8f6d-6045bd0e2b93"],
            "expected GUID=ID",
            id="event-no-id",
        ),
        pytest.param(
            [*ENDPOINT, "--event", "f02b6d84-1e9c-ee11-8f6d-6045bd0e2b93=x@"],
            "expected ID or ID@SESSION",
            id="event-empty-session",
        ),
        pytest.param([*ENDPOINT, "--event-id", " "], "--event-id", id="blank-event-id"),
        pytest.param([*ENDPOINT, "--session-id", "s1"], "needs --event-id", id="session-alone"),
        pytest.param([*ENDPOINT, *EVENT, "--button", "x"], "LINE:COL", id="bad-button"),
        pytest.param(
            [*ENDPOINT, *EVENT, "--api-version", "bad/v"], "api-version", id="bad-api-version"
        ),
        pytest.param([*ENDPOINT, *EVENT, "--nosuch"], "No such option", id="unknown-option"),
    ],
)
def test_usage_error_exits_2(
    args: list[str], message: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = copy(case("patch", "crlf"), tmp_path)
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", *args, path)
    assert result.code == EXIT_USAGE
    assert "Error: " in result.err
    assert message in result.err
    assert Snapshot.of(path) == before
    assert result.out == b""
    no_traceback(result)


def test_missing_endpoint_names_the_file_and_position(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = copy(case("patch", "crlf"), tmp_path)
    result = run(capsysbinary, "patch", *EVENT, path)
    assert result.code == EXIT_USAGE
    assert f"--endpoint is needed: {path}:71:1 has an ERQRCode block" in result.err


def test_missing_endpoint_is_fine_when_no_file_needs_it(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    paths = [copy(u, tmp_path) for u in UNCHANGED]
    before = [Snapshot.of(p) for p in paths]
    result = run(capsysbinary, "patch", *paths)
    assert result.code == EXIT_OK, result.err
    assert [Snapshot.of(p) for p in paths] == before


@pytest.mark.parametrize(
    ("paths", "extra", "message"),
    [
        pytest.param(["a", "b"], ["-o", "out.html"], "exactly one input", id="output-two-inputs"),
        pytest.param(["dir"], ["-o", "out.html"], "exactly one input", id="output-folder"),
        pytest.param(["a"], ["-o", "out.html", "--check"], "cannot be combined", id="o-check"),
        pytest.param(["a"], ["-o", "out.html", "--diff"], "cannot be combined", id="o-diff"),
        pytest.param(["-", "a"], [], "must be the only PATH", id="stdin-and-file"),
        pytest.param(["-", "-"], [], "must be the only PATH", id="stdin-twice"),
        pytest.param([], [], "Missing argument", id="no-path"),
    ],
)
def test_path_usage_errors_exit_2_and_write_nothing(
    paths: list[str],
    extra: list[str],
    message: str,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    c = case("patch", "crlf")
    files = {n: copy(c, tmp_path, n) for n in ("a", "b")}
    (tmp_path / "dir").mkdir()
    copy(c, tmp_path / "dir", "in-dir.html")
    before = {n: Snapshot.of(p) for n, p in files.items()}
    feed_stdin(monkeypatch, c.input.read_bytes())
    result = run(capsysbinary, "patch", *c.args, *extra, *paths)
    assert result.code == EXIT_USAGE
    assert message in result.err
    assert {n: Snapshot.of(p) for n, p in files.items()} == before
    assert (tmp_path / "dir" / "in-dir.html").read_bytes() == c.input.read_bytes()
    assert not (tmp_path / "out.html").exists()
    assert result.out == b""
    no_traceback(result)


def test_folder_path_patches_the_emails_in_it(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A folder is walked for *.html/*.htm; other files in it are not read."""
    c, u = case("patch", "empty-href"), case("unchanged", "no-qr-block")
    folder = tmp_path / "emails"
    (folder / "sub").mkdir(parents=True)
    patched = copy(c, folder / "sub", "a.htm")
    kept = copy(u, folder, "b.html")
    other = place(folder, c.input.read_bytes(), "notes.txt")
    before = [Snapshot.of(kept), Snapshot.of(other)]
    result = run(capsysbinary, "patch", *c.args, folder)
    assert result.code == EXIT_OK, result.err
    assert patched.read_bytes() == c.expected.read_bytes()
    assert [Snapshot.of(kept), Snapshot.of(other)] == before


# --- file problems: exit 123 naming the file -----------------------------------------------

_CRLF = case("patch", "crlf").input.read_bytes()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            _CRLF.decode().encode("utf-16"), "is UTF-16", id="utf-16-le-with-bom"
        ),  # b'\xff\xfe...'
        pytest.param(_CRLF.decode().encode("utf-16-be"), "is binary", id="utf-16-be-no-bom"),
        pytest.param(
            b"\xfe\xff" + _CRLF.decode().encode("utf-16-be"), "is UTF-16", id="utf-16-be-bom"
        ),
        pytest.param(
            _CRLF.replace(b"<body", "<!-- Grüße -->".encode("latin-1") + b"<body", 1),
            "is not UTF-8 (byte 0xfc",
            id="latin-1",
        ),
        pytest.param(
            BOM + _CRLF.replace(b"<body", b"<!-- \xe9 --><body", 1),
            "is not UTF-8 (byte 0xe9",
            id="bom-then-latin-1",
        ),
        pytest.param(_CRLF.replace(b"<body", b"\x00<body", 1), "is binary (NUL", id="nul-byte"),
        pytest.param(_CRLF[:-3] + b"\xe2\x80", "is not UTF-8", id="truncated-utf-8"),
    ],
)
def test_undecodable_file_refused_by_name(
    data: bytes, message: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Each would be patchable if decoded leniently; it must be refused, never 'fixed'."""
    c = case("patch", "crlf")
    path = place(tmp_path, data)
    other = copy(c, tmp_path)
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", *c.args, path, other)
    assert result.code == EXIT_REFUSED
    assert f"cannot patch {path}: {message}" in result.err
    assert Snapshot.of(path) == before
    assert other.read_bytes() == c.expected.read_bytes()
    no_traceback(result)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo and SIGALRM")
def test_fifo_refused_as_not_regular_without_blocking(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    def blocked(signum: int, frame: object) -> None:
        raise TimeoutError("mailpatch blocked reading a FIFO")

    c = case("patch", "crlf")
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    other = copy(c, tmp_path)
    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(10)
    try:
        result = run(capsysbinary, "patch", *c.args, fifo, other)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert result.code == EXIT_REFUSED
    assert f"cannot patch {fifo}: is not a regular file" in result.err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert other.read_bytes() == c.expected.read_bytes()


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_device_refused_as_not_regular(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    result = run(capsysbinary, "patch", *ENDPOINT, "/dev/null")
    assert result.code == EXIT_REFUSED
    assert "cannot patch /dev/null: is not a regular file" in result.err


def test_symlink_target_patched_link_kept(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "uppercase-tags")
    (tmp_path / "real").mkdir()
    target = copy(c, tmp_path / "real", "email.html")
    link = tmp_path / "link.html"
    link.symlink_to(Path("real") / "email.html")
    result = run(capsysbinary, "patch", *c.args, link)
    assert result.code == EXIT_OK, result.err
    assert link.is_symlink()
    assert os.readlink(link) == str(Path("real") / "email.html")
    assert target.read_bytes() == c.expected.read_bytes()
    assert f"patched {link} (" in result.err
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["email.html"]


def test_dangling_symlink_refused(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    link = tmp_path / "link.html"
    link.symlink_to(tmp_path / "gone.html")
    result = run(capsysbinary, "patch", *ENDPOINT, link)
    assert result.code == EXIT_REFUSED
    assert f"cannot patch {link}: cannot be read" in result.err
    assert link.is_symlink() and not (tmp_path / "gone.html").exists()


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664, 0o755])
def test_mode_bits_kept(
    mode: int, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "flex-shell")
    path = copy(c, tmp_path)
    path.chmod(mode)
    result = run(capsysbinary, "patch", *c.args, path)
    assert result.code == EXIT_OK
    assert path.read_bytes() == c.expected.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_failed_write_refused_file_untouched_no_temp_left(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    before = Snapshot.of(path)
    monkeypatch.setattr(os, "fsync", disk_full)
    result = run(capsysbinary, "patch", *c.args, path)
    assert result.code == EXIT_REFUSED
    assert f"cannot patch {path}: cannot be written: {os.strerror(errno.ENOSPC)}" in result.err
    assert Snapshot.of(path) == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    no_traceback(result)


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        pytest.param([], EXIT_REFUSED, id="patch-refused"),
        pytest.param(["--check"], EXIT_CHANGES, id="check-still-reports"),
    ],
)
def test_read_only_file_not_overwritten(
    extra: list[str], code: int, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    path.chmod(0o444)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    before = Snapshot.of(path)
    result = run(capsysbinary, "patch", *extra, *c.args, path)
    assert result.code == code
    assert Snapshot.of(path) == before
    if code == EXIT_REFUSED:
        assert f"cannot patch {path}: is read-only" in result.err
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_file_edited_during_the_run_is_not_overwritten(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    edited = c.input.read_bytes() + b"<!-- saved by someone else -->\r\n"
    real_fsync = os.fsync

    def someone_saves(fd: int) -> None:  # runs after mailpatch read the file, before the rename
        path.write_bytes(edited)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", someone_saves)
    result = run(capsysbinary, "patch", *c.args, path)
    assert result.code == EXIT_REFUSED
    assert f"cannot patch {path}: changed while" in result.err
    assert path.read_bytes() == edited
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_oversized_file_refused_unread(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    with path.open("r+b") as handle:  # sparse: a 20 MiB hole after the email
        handle.truncate(20 * 1024 * 1024 + 1)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    before = path.stat()
    result = run(capsysbinary, "patch", *c.args, path)
    assert result.code == EXIT_REFUSED
    assert re.search(rf"cannot patch {re.escape(str(path))}: is [\d,]+ bytes, over", result.err)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )


# --- help, version, python -m --------------------------------------------------------------


def test_group_help_lists_patch(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    for flag in ("--help", "-h"):
        result = run(capsysbinary, flag)
        assert result.code == EXIT_OK
        text = result.out.decode()
        assert text.startswith("Usage: mailpatch [OPTIONS] COMMAND")
        assert re.search(r"^\s+patch\s+Patch emails", text, re.M)


def test_group_help_mentions_exit_codes_and_event(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    result = run(capsysbinary, "--help")
    assert result.code == EXIT_OK
    exit_codes = " ".join(result.out.decode()[result.out.decode().index("Exit codes") :].split())
    for code in ("0 done", "1 --check/--diff", "2 usage", "123 a file was refused"):
        assert code in exit_codes
    assert re.search(r"--event\b(?!-)", result.out.decode())


def test_patch_help_mentions_exit_codes_and_options(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    result = run(capsysbinary, "patch", "--help")
    assert result.code == EXIT_OK
    text = result.out.decode()
    assert text.startswith("Usage: mailpatch patch [OPTIONS] PATH...")
    exit_codes = " ".join(text[text.index("Exit codes") :].split())
    for code in ("0 done", "1 --check/--diff", "2 usage", "123 a file was refused"):
        assert code in exit_codes
    assert re.search(r"--event GUID=ID\[@SESSION\]", text)
    for option in ("--endpoint", "--event-id", "--field", "--keep-qr", "--check", "--diff"):
        assert option in text
    assert "-o, --output FILE" in text


def test_version(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    result = run(capsysbinary, "--version")
    assert result.code == EXIT_OK
    import lxml.etree

    lxml_version = ".".join(map(str, lxml.etree.LXML_VERSION))
    libxml2 = ".".join(map(str, lxml.etree.LIBXML_VERSION))
    assert result.out.decode() == (
        f"mailpatch {__version__}\nlxml {lxml_version}\nlibxml2 {libxml2}\n"
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)


def test_packaging_ships_the_license_and_the_typing_marker() -> None:
    """py.typed for type checkers, the MIT LICENSE the metadata names (SPDX form)."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    meta = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    assert meta["project"]["license"] == "MIT"
    assert meta["project"]["license-files"] == ["LICENSE"]
    assert (root / "LICENSE").read_text("utf-8").startswith("MIT License")
    assert (root / "mailpatch" / "py.typed").exists()
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["mailpatch"]


_REFUSED = case("refuse", "no-button")
_BOM = case("patch", "bom")


@pytest.mark.parametrize(
    ("args", "stdin", "code", "stdout"),
    [
        pytest.param(["--help"], b"", EXIT_OK, b"Usage: mailpatch [OPTIONS] COMMAND", id="help"),
        pytest.param(
            ["patch", *_REFUSED.args, "refused.html"], b"", EXIT_REFUSED, b"", id="refused-123"
        ),
        pytest.param(
            ["patch", *_BOM.args, "-"],
            _BOM.input.read_bytes(),
            EXIT_OK,
            _BOM.expected.read_bytes(),
            id="stdin-to-real-stdout",
        ),
    ],
)
def test_python_dash_m(
    args: list[str], stdin: bytes, code: int, stdout: bytes, tmp_path: Path
) -> None:
    """The real process: exit status, and bytes through real binary stdin/stdout."""
    copy(_REFUSED, tmp_path, "refused.html")
    proc = subprocess.run(
        [sys.executable, "-m", "mailpatch", *args],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.startswith(stdout) if args == ["--help"] else proc.stdout == stdout
    assert b"Traceback" not in proc.stderr
    if code == EXIT_REFUSED:
        assert f"refused.html:{_REFUSED.error[1]}: ".encode() in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can hand a file to another owner")
def test_owner_kept_when_root_patches_someone_elses_file(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    os.chown(path, 12345, 12345)
    assert run(capsysbinary, "patch", *c.args, path).code == EXIT_OK
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (12345, 12345)
    assert path.read_bytes() == c.expected.read_bytes()


def test_other_commands_are_imported_only_when_named() -> None:
    """`patch` starts without them (start-up is a benchmark target); named or listed, they
    are there."""
    code = (
        "import sys, mailpatch._cli as c\n"
        "lazy = ('mailpatch._cli_lint', 'mailpatch._cli_ics', 'mailpatch._lint', "
        "'mailpatch._cli_preview', 'mailpatch.page._preview', 'mailpatch.page._render', "
        "'mailpatch.page._render_syntax', 'mailpatch.page._render_values', "
        "'mailpatch._cli_serve', 'mailpatch.page', 'mailpatch.page._serve', 'jinja2')\n"
        "print(sorted(m for m in sys.modules if m in lazy))\n"
        "import click\n"
        "print(c.cli.list_commands(click.Context(c.cli)))\n"
        "print(c.cli.get_command(click.Context(c.cli), 'lint').name)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines() == [
        "[]",
        "['ics', 'lint', 'patch', 'preview', 'serve']",
        "lint",
    ]


@pytest.mark.parametrize(
    ("flags", "env", "colored"),
    [
        pytest.param(["--color"], {}, True, id="forced"),
        pytest.param(["--color"], {"NO_COLOR": "1"}, True, id="forced-over-no-color"),
        pytest.param(["--no-color"], {}, False, id="off"),
        pytest.param([], {}, False, id="not-a-terminal"),
    ],
)
def test_diff_colour(
    flags: list[str],
    env: dict[str, str],
    colored: bool,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As black: colour on a terminal unless NO_COLOR, --color/--no-color decide; the
    coloured diff still applies once the escapes are taken out."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    c = case("patch", "crlf")
    path = copy(c, tmp_path)
    result = run(capsysbinary, "patch", "--diff", *flags, *c.args, path)
    assert result.code == EXIT_CHANGES
    assert (b"\x1b[" in result.out) is colored
    plain = re.sub(rb"\x1b\[[0-9;]*m", b"", result.out)
    assert apply_diff(c.input.read_bytes(), plain) == c.expected.read_bytes()


def test_no_color_is_honoured_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailpatch import _output

    monkeypatch.setattr(_output.sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _output.wants_color(None) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert _output.wants_color(None) is False
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")  # a terminal that shows no colour says so
    assert _output.wants_color(None) is False
    assert _output.wants_color(True) is True  # --color still wins


def test_stdin_filename_gives_stdin_its_file_s_settings_and_name(tmp_path: Path) -> None:
    """What editor integrations need: the configuration and excludes of the file stdin stands
    for, and its name in messages and diffs."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mailpatch]\nendpoint = "contoso.svc.dynamics.com"\nexclude = ["drafts/*"]\n'
        '[tool.mailpatch.events]\n"3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d" = "Summit"\n',
        "utf-8",
    )
    example = (
        Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "registration-email.html"
    ).read_bytes()

    def mailpatch(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "mailpatch", *args],
            input=example,
            capture_output=True,
            cwd=tmp_path,
            timeout=60,
        )

    patched = mailpatch("patch", "--stdin-filename", "emails/summit.html", "-")
    assert patched.returncode == 0 and b"readableEventId%22:%22Summit" in patched.stdout
    assert b"patched emails/summit.html (1 calendar button)" in patched.stderr
    diff = mailpatch("patch", "--diff", "--stdin-filename", "emails/summit.html", "-")
    assert diff.stdout.startswith(b"--- a/emails/summit.html\n+++ b/emails/summit.html\n")
    excluded = mailpatch("patch", "-v", "--stdin-filename", "emails/drafts/wip.html", "-")
    assert excluded.returncode == 0 and excluded.stdout == example
    assert b"excluded emails/drafts/wip.html" in excluded.stderr
    assert mailpatch("patch", "--stdin-filename", "x.html", "a.html").returncode == 2


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(
            ["lint", str(FIXTURES_ROOT / "lint" / "mp206-links-differ" / "input.html")],
            1,
            id="lint-found",
        ),
        pytest.param(["lint", str(FIXTURES_ROOT / "lint" / "clean-classic")], 0, id="lint-clean"),
        pytest.param(
            ["ics", "--event-file", str(FIXTURES_ROOT / "examples" / "event.toml")], 0, id="ics"
        ),
    ],
)
def test_every_command_exits_through_click(args: list[str], code: int) -> None:
    """`cli()` standalone (what CliRunner and the console script's click run) exits with what
    main() returns: lint returned its code from the callback, which click ignores (exit 0)."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code == main(args), result.output


# ---------------------------------------------------------------- text about the removed QR code

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures/examples/registration-email.html"
EXAMPLE_ARGS = ["--endpoint", "contoso.svc.dynamics.com", "--event-id", "ContosoSummit2026"]
DESK = "Show this code at the registration desk for a fast check-in."


def _place_of(data: bytes, words: str) -> str:
    """line:col of ``words`` in ``data``."""
    text = data.decode("utf-8")
    at = text.index(words)
    return f"{text.count(chr(10), 0, at) + 1}:{at - (text.rfind(chr(10), 0, at) + 1) + 1}"


@pytest.mark.parametrize(
    ("flags", "status", "in_result"),
    [
        pytest.param([], "patched", True, id="in-place"),
        pytest.param(["-v"], "patched", True, id="verbose"),
        pytest.param(["--check"], "would patch", False, id="check"),
        pytest.param(["--diff"], "would patch", False, id="diff"),
        pytest.param(["--output-dir", "out"], "wrote", True, id="output-dir"),
    ],
)
def test_text_about_the_removed_qr_code_is_a_warning(
    flags: list[str],
    status: str,
    in_result: bool,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Named with file and line:col of the file the person opens (the result written, or the
    input when nothing is written), quoted, never changed: the same bytes and exit code as an
    email without it."""
    monkeypatch.chdir(tmp_path)
    email = place(tmp_path, EXAMPLE.read_bytes(), "summit.html")
    result = run(capsysbinary, "patch", *EXAMPLE_ARGS, *flags, "summit.html")
    written = tmp_path / "out" / "summit.html" if "--output-dir" in flags else email
    where = "out/summit.html" if "--output-dir" in flags else "summit.html"
    at = _place_of(written.read_bytes() if in_result else EXAMPLE.read_bytes(), DESK)
    warning = (
        f"warning: {where}:{at}: refers to the removed QR code: '{DESK}' (edit it in the "
        "designer)\n"
    )
    assert warning in result.err
    assert result.err.index(status) < result.err.index(warning)
    assert result.code == (EXIT_CHANGES if status == "would patch" else EXIT_OK)
    # the same run over the email without those words: the same bytes but for the words
    plain = place(tmp_path, EXAMPLE.read_bytes().replace(DESK.encode(), b"See you."), "b.html")
    other = run(capsysbinary, "patch", *EXAMPLE_ARGS, *flags, "b.html")
    assert "warning" not in other.err and other.code == result.code
    target = tmp_path / "out" / "b.html" if "--output-dir" in flags else plain
    assert target.read_bytes() == written.read_bytes().replace(DESK.encode(), b"See you.")
    if "--diff" in flags:
        renamed = result.out.replace(b"/summit.html", b"/b.html")
        assert other.out == renamed.replace(DESK.encode(), b"See you.")


def test_text_about_the_qr_code_kept_or_quiet_is_not_a_warning(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """--keep-qr keeps the code the text is about; -q prints only errors."""
    email = place(tmp_path, EXAMPLE.read_bytes(), "summit.html")
    kept = run(capsysbinary, "patch", *EXAMPLE_ARGS, "--keep-qr", "--check", email)
    assert kept.code == EXIT_CHANGES and "warning" not in kept.err
    quiet = run(capsysbinary, "patch", *EXAMPLE_ARGS, "-q", email)
    assert quiet.code == EXIT_OK and quiet.err == ""


def test_text_about_the_removed_qr_code_in_json(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    import json

    email = place(tmp_path, EXAMPLE.read_bytes(), "summit.html")
    desk = DESK.encode() + b"</p>"
    email.write_bytes(EXAMPLE.read_bytes().replace(desk, desk + b"\n<p>Scan it at the door.</p>"))
    result = run(capsysbinary, "patch", *EXAMPLE_ARGS, "--format", "json", email)
    assert result.code == EXIT_OK
    [item] = json.loads(result.out)["files"]
    after = email.read_bytes()
    place_desk, place_door = _place_of(after, DESK), _place_of(after, "Scan it at the door.")
    assert item["qr_mentions"] == [
        {"line": int(p.split(":")[0]), "column": int(p.split(":")[1]), "text": t}
        for p, t in ((place_desk, DESK), (place_door, "Scan it at the door."))
    ]


# ---------------------------------------------------------------- real-time journeys emails

RTJ = Path(__file__).resolve().parent.parent / "fixtures/unchanged/real-time-journeys-email"
NATIVE = (
    "use real-time journeys' own Add to Calendar button (a Button's Link to > Add to Calendar, "
    "shown to registered contacts only): "
    "https://learn.microsoft.com/en-us/dynamics365/customer-insights/journeys/add-to-calendar"
)
SIGNS = "{{FirstName}}, {{CompanyAddress}}, {{PreferenceCenter}}"


@pytest.mark.parametrize("flags", [[], ["-v"]], ids=["default", "verbose"])
def test_an_email_for_real_time_journeys_is_pointed_at_its_own_button(
    flags: list[str], tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Not applicable, as before (exit 0, nothing written), and said: -v on its line, the
    summary with the native button's page, as lint says it; an outbound email is not."""
    rtj = place(tmp_path, (RTJ / "input.html").read_bytes(), "rtj.html")
    plain = place(tmp_path, b"<p>Hello {{contact.firstname}}</p>\n", "plain.html")
    before = [Snapshot.of(rtj), Snapshot.of(plain)]
    result = run(capsysbinary, "patch", *flags, rtj, plain)
    assert result.code == EXIT_OK
    assert [Snapshot.of(rtj), Snapshot.of(plain)] == before
    lines = [x for x in result.err.splitlines() if not x.startswith("config:")]
    verbose = [
        f"not applicable {rtj} (no ERQRCode block; looks like a real-time journeys email: "
        f"{SIGNS}; use real-time journeys' own Add to Calendar button)",
        f"not applicable {plain}",
    ]
    assert lines == [
        *(verbose if flags else []),
        "2 files without a QR block.",
        "1 file without an ERQRCode block looks like a real-time journeys email "
        f"({rtj}: {SIGNS}):",
        f"  {NATIVE}",
    ]


def test_an_email_for_real_time_journeys_in_json(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    import json

    rtj = place(tmp_path, (RTJ / "input.html").read_bytes(), "rtj.html")
    plain = place(tmp_path, b"<p>Hello</p>\n", "plain.html")
    result = run(capsysbinary, "patch", "--check", "--format", "json", rtj, plain)
    assert result.code == EXIT_OK
    files = json.loads(result.out)["files"]
    assert [(f["status"], f["real_time_journeys"]) for f in files] == [
        (
            "not_applicable",
            {
                "signs": SIGNS,
                "add_to_calendar": "https://learn.microsoft.com/en-us/dynamics365/"
                "customer-insights/journeys/add-to-calendar",
            },
        ),
        ("not_applicable", None),
    ]


# ---------------------------------------------------------------- colour on a terminal

BOLD, GREEN, YELLOW, RESET = "\x1b[1m", "\x1b[32m", "\x1b[33m", "\x1b[0m"
RED_BOLD = "\x1b[31m\x1b[1m"


@pytest.mark.parametrize(
    ("flags", "env", "runner_color", "colored"),
    [
        pytest.param([], {}, True, True, id="terminal"),
        pytest.param([], {}, False, False, id="not-a-terminal"),
        pytest.param([], {"NO_COLOR": "1"}, True, False, id="no-color-on-a-terminal"),
        pytest.param(["--no-color"], {}, True, False, id="no-color-option"),
        pytest.param(["--color"], {"NO_COLOR": "1"}, True, True, id="color-option-wins"),
    ],
)
def test_status_lines_in_colour_as_black_and_ruff(
    flags: list[str],
    env: dict[str, str],
    runner_color: bool,
    colored: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Status words coloured (would patch yellow, refused red, patched green), the file in
    bold, the summary's counts as their lines; none without a terminal or with NO_COLOR."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    place(tmp_path, EXAMPLE.read_bytes(), "a.html")
    place(tmp_path, case("refuse", "no-button").input.read_bytes(), "bad.html")
    args = ["patch", "--endpoint", "contoso.svc.dynamics.com", *flags]
    args += ["--event", "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d=S"]
    result = CliRunner().invoke(cli, [*args, "a.html", "bad.html"], env=env, color=runner_color)
    assert result.exit_code == EXIT_REFUSED
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stderr)
    assert ("\x1b[" in result.stderr) is colored
    assert plain.splitlines()[0] == "patched a.html (1 calendar button)"
    if colored:
        lines = result.stderr.splitlines()
        assert lines[0] == f"{GREEN}patched{RESET} {BOLD}a.html{RESET} (1 calendar button)"
        assert lines[1].startswith(f"{YELLOW}warning{RESET}: {BOLD}a.html{RESET}:73:65: ")
        assert lines[2].startswith(f"{RED_BOLD}error{RESET}: cannot patch {BOLD}bad.html{RESET}:")
        assert lines[3] == f"{GREEN}1 file patched{RESET}, {RED_BOLD}1 file refused{RESET}."


def test_would_patch_and_its_count_are_yellow(tmp_path: Path) -> None:
    place(tmp_path, EXAMPLE.read_bytes(), "a.html")
    result = CliRunner().invoke(
        cli, ["patch", *EXAMPLE_ARGS, "--check", str(tmp_path / "a.html")], color=True
    )
    assert result.exit_code == EXIT_CHANGES
    assert result.stderr.splitlines()[0] == (
        f"{YELLOW}would patch{RESET} {BOLD}{tmp_path / 'a.html'}{RESET} (1 calendar button)"
    )
    assert result.stderr.splitlines()[-1] == f"{YELLOW}1 file would be patched{RESET}."
