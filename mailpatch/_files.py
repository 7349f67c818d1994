"""Bytes in, bytes out: strict decoding, BOM kept, atomic writes only when bytes change."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from mailpatch._html import LineIndex

BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_SIZE = 20 * 1024 * 1024  # generous: Gmail clips at ~102 KB, exports are far smaller


class FileProblem(Exception):
    """The file cannot be read or written as an email (refused by name, never 'fixed')."""


class EmailText(NamedTuple):  # cheaper to define than a dataclass (start-up)
    """A decoded email: the text the core sees, and the BOM to put back."""

    text: str
    bom: bool

    def encode(self, text: str | None = None) -> bytes:
        body = (self.text if text is None else text).encode("utf-8")
        return BOM + body if self.bom else body


def decode(data: bytes) -> EmailText:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem("is UTF-16 (starts with a UTF-16 byte order mark); save it as UTF-8")
    bom = data.startswith(BOM)
    body = data[len(BOM) :] if bom else data
    nul = body.find(b"\x00")
    if nul >= 0:
        raise FileProblem(f"is binary (NUL byte at {_where(body, nul, bom)})")
    try:
        return EmailText(body.decode("utf-8"), bom)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"is not UTF-8 (byte 0x{body[exc.start]:02x} at {_where(body, exc.start, bom)}); "
            "save it as UTF-8"
        ) from None


def _where(body: bytes, at: int, bom: bool) -> str:
    """'line 3, column 14 (byte offset 52)': where an editor shows the byte, and where a hex
    viewer does (the offset counts the BOM)."""
    before = body[:at].decode("utf-8", errors="replace")
    line, column = LineIndex(before).position(len(before))
    return f"line {line}, column {column} (byte offset {at + (3 if bom else 0)})"


def read_bytes(path: Path, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    return read_file(path, max_size)[0]


def read_file(path: Path, max_size: int = DEFAULT_MAX_SIZE) -> tuple[bytes, os.stat_result]:
    """The file's bytes, and its stat from just before they were read."""
    try:
        info = path.stat()
    except OSError as exc:
        raise FileProblem(f"cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem("is not a regular file")
    if info.st_size > max_size:
        raise FileProblem(f"is {info.st_size:,} bytes, over the {max_size:,}-byte limit")
    try:
        with path.open("rb") as handle:
            # read the size stat() gave, then whatever came since (up to the limit): asking
            # for max_size + 1 at once makes Python allocate that much for every file
            data = handle.read(info.st_size + 1)
            if len(data) > info.st_size:
                data += handle.read(max_size + 1 - len(data))
    except OSError as exc:
        raise FileProblem(f"cannot be read: {exc.strerror}") from None
    if len(data) > max_size:  # grew after stat
        raise FileProblem(f"is over the {max_size:,}-byte limit")
    return data, info


def read_stdin(max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Standard input, up to the size limit: an endless stdin is refused, not read."""
    data = sys.stdin.buffer.read(max_size + 1)
    if len(data) > max_size:
        raise FileProblem(f"is over the {max_size:,}-byte limit")
    return data


def write_atomic(path: Path, data: bytes, expect: bytes | None = None) -> str:
    """Replace the file's content in one step: temp file beside it, fsync, mode kept, rename;
    the real path written ("" for a stream).

    A symlink is followed: its target gets the new bytes and the link stays a link. With
    ``expect``, the file must still hold exactly those bytes (nobody edited it meanwhile).
    Ctrl-C or SIGTERM during the write takes effect once the temp file is renamed or gone.

    Only a regular file (or a new one) is replaced: a character device or a FIFO (``-o
    /dev/stdout``, ``/dev/null``, a named pipe) is written to as a stream, as a shell
    redirection would; anything else (a folder, a block device, a socket) is refused.
    """
    target = Path(os.path.realpath(path))
    try:
        kind = target.stat().st_mode
    except OSError:
        kind = None  # a new file (or one stat() cannot see: the write reports that)
    if kind is not None and not stat.S_ISREG(kind):
        if stat.S_ISCHR(kind) or stat.S_ISFIFO(kind):
            _stream_to(target, data)
            return ""
        raise FileProblem(f"is not a regular file ({_KINDS.get(stat.S_IFMT(kind), 'special')})")
    with _signals_held():
        return _replace_content(path, data, expect)


_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def _stream_to(target: Path, data: bytes) -> None:
    """Write to a device or a pipe in place (never replaced: it is not ours to remove)."""
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise FileProblem(f"cannot be written: {exc.strerror or exc}") from None


# a temporary name is ".NAME.XXXXXXXX.mailpatch", or ".NAME.RUN.XXXXXXXX.mailpatch" for a run
# that renames its results only once it has checked them all (``write_pending``): the name is
# cut so that it stays within the 255 bytes a file name may have (a long export name must not
# make its own write fail)
_TEMP_SUFFIX = ".mailpatch"
_NAME_MAX = 255
_TEMP_ROOM = _NAME_MAX - len(".") - len(".") - 8 - len(_TEMP_SUFFIX)  # mkstemp adds 8


def temp_prefix(name: str, run: str = "") -> str:
    encoded = os.fsencode(name)[: _TEMP_ROOM - (len(run) + 1 if run else 0)]
    return f".{os.fsdecode(encoded)}." + (f"{run}." if run else "")


_HELD = frozenset({signal.SIGINT, signal.SIGTERM}) if hasattr(signal, "pthread_sigmask") else None


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Block SIGINT and SIGTERM for the block (POSIX, main thread); pending ones arrive after.

    The cleanup of a failed write cannot cover every instant (inside ``mkstemp`` after the
    file exists, or a SIGTERM, which runs no Python at all); blocking the signals does.
    """
    if _HELD is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _replace_content(path: Path, data: bytes, expect: bytes | None) -> str:
    tmp, target = _write_temp(path, data)
    try:
        if expect is not None and _current(target) != expect:
            raise FileProblem("changed while mailpatch was working on it; not overwritten")
        os.replace(tmp, target)
    except BaseException as exc:
        _failed(tmp, exc)
        raise
    return str(target)


def _write_temp(path: Path, data: bytes, run: str = "") -> tuple[str, Path]:
    """``data`` in a new file beside ``path``'s real target, fsynced, with the target's mode
    (and owner, for root); the temp file's name and the target. Nothing is left on failure."""
    target = Path(os.path.realpath(path))
    try:
        owner: tuple[int, int] | None = None
        if target.exists():
            info = target.stat()
            mode = stat.S_IMODE(info.st_mode)
            if os.geteuid() == 0 and (info.st_uid, info.st_gid) != (0, 0):
                owner = (info.st_uid, info.st_gid)
            if not mode & 0o222:  # root could replace it anyway; the owner said read-only
                raise FileProblem("is read-only; not overwritten")
        else:  # a new output file: what open() would have given it
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        import tempfile  # only writes need it (--check and --diff never do)

        fd, tmp = tempfile.mkstemp(
            prefix=temp_prefix(target.name, run), suffix=_TEMP_SUFFIX, dir=target.parent
        )
    except OSError as exc:
        raise FileProblem(f"cannot be written: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if owner is not None:  # only root may give the file back to its owner
            with contextlib.suppress(OSError):
                os.chown(tmp, *owner)
    except BaseException as exc:
        _failed(tmp, exc)
        raise
    return tmp, target


def _failed(tmp: str, exc: BaseException) -> None:
    """Remove the temp file of a write that failed; an OSError becomes a FileProblem."""
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    if isinstance(exc, OSError):
        raise FileProblem(f"cannot be written: {exc.strerror or exc}") from None


class Pending(NamedTuple):
    """A result written and fsynced beside its file, to be renamed over it (``commit``) once
    the run it belongs to is known to be good, or removed (``discard``)."""

    temp: str
    target: str  # the file's real path
    read: tuple[int, ...]  # the file as it was read: device, inode, size, mtime, ctime
    crc: int  # of the bytes read (zlib.crc32): to tell a file saved again unchanged
    racy: bool  # modified so shortly before it was read that its stat cannot vouch for it


def _identity(info: os.stat_result) -> tuple[int, ...]:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


# A file modified this shortly before it was read may be modified again within the same tick
# of the file system's clock, its stat unchanged (git's "racily clean" entries): its bytes are
# compared instead.
_RACY_NS = 50_000_000  # some ticks of the coarsest clock (HZ=100: 10 ms)


def write_pending(
    path: Path, data: bytes, original: bytes, read: os.stat_result, run: str
) -> Pending:
    """Write ``data`` to a temp file beside ``path`` (named with ``run``), fsynced, for
    ``commit`` to rename over it later; ``original`` and ``read`` are what was read and its
    stat."""
    import zlib  # (0.4 ms/MB: only results that wait for their run are checked this way)

    target = Path(os.path.realpath(path))
    try:
        kind = target.stat().st_mode
    except OSError:
        kind = None
    if kind is not None and not stat.S_ISREG(kind):
        if stat.S_ISCHR(kind) or stat.S_ISFIFO(kind):  # it was a regular file when read
            raise FileProblem("changed while mailpatch was working on it; not overwritten")
        raise FileProblem(f"is not a regular file ({_KINDS.get(stat.S_IFMT(kind), 'special')})")
    with _signals_held():
        tmp, real = _write_temp(path, data, run)
    recent = time.time_ns() - _RACY_NS
    racy = read.st_mtime_ns > recent or read.st_ctime_ns > recent
    return Pending(tmp, str(real), _identity(read), zlib.crc32(original), racy)


def commit(pending: Pending) -> None:
    """Rename a pending result over its file, unless the file changed since it was read (a
    file saved again with the same bytes has not); FileProblem says why not, and the temp
    file is gone either way."""
    with _signals_held():
        try:
            unchanged = _identity(os.stat(pending.target)) == pending.read and not pending.racy
            if not unchanged:
                import zlib  # as in write_pending

                now = _current(Path(pending.target))
                same_size = now is not None and len(now) == pending.read[2]
                if not same_size or zlib.crc32(now) != pending.crc:  # type: ignore[arg-type]
                    raise FileProblem("changed while mailpatch was working on it; not overwritten")
            os.replace(pending.temp, pending.target)
        except BaseException as exc:
            if isinstance(exc, OSError) and exc.filename == pending.target:
                exc = FileProblem("changed while mailpatch was working on it; not overwritten")
            _failed(pending.temp, exc)
            raise exc from None


def discard(pending: Pending) -> None:
    with contextlib.suppress(OSError):
        os.unlink(pending.temp)


def discard_run(folders: Iterable[str], run: str) -> None:
    """Remove every temp file of run ``run`` in ``folders`` (a run cut short: its workers may
    have written some that it never heard of)."""
    marker = f".{run}."
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.startswith(".") and name.endswith(_TEMP_SUFFIX) and marker in name:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))


def sync_folders(folders: Iterable[str]) -> None:
    """fsync each folder, so that the renames into it survive a crash (best effort: a file
    system that cannot sync a folder has nothing more to give)."""
    for folder in folders:
        try:
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds exactly it; True when written."""
    try:
        if path.is_file() and path.read_bytes() == data:
            return False
    except OSError:
        pass  # unreadable: let the write report the problem
    write_atomic(path, data)
    return True
