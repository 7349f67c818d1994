"""One file in, one outcome out: read, patch, verify, write -- outcomes as data (like LibCST).

Nothing here prints: a diff or stdin's result travels in ``Outcome.output`` so the caller can
emit outcomes in input order, whichever worker produced them.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import sys
import threading
from collections.abc import Callable
from enum import Enum
from functools import partial
from pathlib import Path
from typing import NamedTuple

from mailpatch._errors import MissingOption, Refusal, UnmappedEvent
from mailpatch._files import (
    DEFAULT_MAX_SIZE,
    EmailText,
    FileProblem,
    Pending,
    decode,
    read_bytes,
    read_file,
    write_atomic,
    write_pending,
)
from mailpatch._html import LineIndex
from mailpatch._link import LinkChange, compare_links
from mailpatch._patch import (
    EditKind,
    EmailEvents,
    PatchOptions,
    PatchResult,
    events_in,
    events_of,
    patch,
    patch_read,
    read_email,
)
from mailpatch._record import record


class Status(Enum):
    PATCHED = "patched"
    WOULD_PATCH = "would patch"
    UPDATED = "updated"  # only stale calendar links written anew (no new calendar button)
    WOULD_UPDATE = "would update"
    UNCHANGED = "unchanged"  # has ERQRCode blocks or patched Buttons; nothing left to do
    NOT_APPLICABLE = "not applicable"  # no ERQRCode block
    REFUSED = "refused"  # bad input or an ambiguity: the file is untouched
    ERROR = "error"  # the patch failed its own verification: an internal error


@record
class Outcome:
    """What became of one file: its status, what to say of it, and what the run needs."""

    path: str
    status: Status
    message: str = ""
    position: str = ""  # line:col of the cause, for refusals
    buttons: int = 0  # calendar buttons made
    links_updated: int = 0  # patched Buttons whose stale calendar links were written anew
    links_fixed: int = 0  # calendar links given their missing "//" (lint MP101)
    unchecked: tuple[tuple[str, str], ...] = ()  # (GUID, why) of patched Buttons not judged
    left: tuple[str, ...] = ()  # text outside a moved loop, removed with its QR block
    qr_removed: int = 0  # ERQRCode blocks removed
    written_to: str = ""  # where the result went, when not in place (-o FILE, --output-dir)
    up_to_date: bool = False  # written_to already held the result byte for byte: not written
    # (line:col, text) of visible text that still refers to the QR code the patch removed
    qr_mentions: tuple[tuple[str, str], ...] = ()
    journeys: str = ""  # no ERQRCode block, and real-time journeys' signs (mailpatch._journeys)
    # (GUID, what changed) of each patched Button whose stale calendar links were written anew
    link_changes: tuple[tuple[str, tuple[LinkChange, ...]], ...] = ()
    output: bytes = b""  # a diff, or the result bytes when Mode.capture (stdout, -o, --output-dir)
    # for the run (Mode.check_run): the email's event GUIDs, and where it has an ERQRCode
    # block to patch while its settings have no endpoint ("LINE:COL")
    events: tuple[str, ...] = ()
    endpoint_needed: str = ""
    pending: Pending | None = None  # Mode.hold: the result, waiting to be renamed into place
    wrote: str = ""  # the real path written in place (its folder is synced once the run ends)

    @property
    def changes(self) -> str:
        """'1 calendar button', '2 calendar buttons, 1 link fixed', …"""
        parts = []
        others = self.links_fixed or self.links_updated or self.qr_removed
        if self.buttons or not others:
            parts.append(f"{self.buttons} calendar button{'s' if self.buttons != 1 else ''}")
        elif self.qr_removed and not self.buttons:  # a QR block kept earlier, now removed
            n = self.qr_removed
            parts.append(f"{n} QR block{'s' if n != 1 else ''} removed")
        if self.links_updated:
            n = self.links_updated
            parts.append(f"stale links in {n} calendar button{'s' if n != 1 else ''}")
        if self.links_fixed:
            parts.append(f"{self.links_fixed} link{'s' if self.links_fixed != 1 else ''} fixed")
        return ", ".join(parts)

    @property
    def not_checked(self) -> str:
        """What -v says of the patched Buttons whose links were not judged."""
        return "; ".join(
            f"calendar link for event {guid} not checked: {why}" for guid, why in self.unchecked
        )

    @property
    def changed_links(self) -> str:
        """What -v says of the stale calendar links written anew, in decoded terms."""
        return "; ".join(
            f"calendar link for event {guid}: {', '.join(map(str, changes))}"
            for guid, changes in self.link_changes
        )

    @property
    def where(self) -> str:
        return self.path + (f":{self.position}" if self.position else "")


class Mode(NamedTuple):  # cheaper to define than a dataclass (start-up)
    check: bool = False
    diff: bool = False
    capture: bool = False  # return the result in Outcome.output instead of writing in place
    max_size: int = DEFAULT_MAX_SIZE
    # where this file's settings came from ('[tool.mailpatch.events] in x/pyproject.toml'):
    # an event without a readable id is then told to be added there
    events_table: str | None = None
    settings_file: str | None = None  # the configuration file itself, for other messages
    stdin_name: str | None = None  # --stdin-filename: the name stdin's email goes by
    # The run checks what only all its emails together can say (--event-id serves one event;
    # an email to patch needs an endpoint) before it writes anything: each email reports its
    # events (Outcome.events, .endpoint_needed), and an --event-id reaches only the one GUID
    # the email holds. The only file of a run is checked here, a usage error raised before
    # anything is written; in a run of several, in-place results go to temp files named with
    # ``hold`` (Outcome.pending), renamed once the run is found good.
    check_run: bool = False
    hold: str = ""


def unified_diff(name: str, before: str, after: str) -> str:
    # split on \n, \r\n and \r only, as diff and git do (str.splitlines also splits on
    # U+2028, form feeds and more, which would shift the hunk line numbers)
    import difflib  # --diff only

    lines = difflib.unified_diff(
        list(io.StringIO(before, newline="")),
        list(io.StringIO(after, newline="")),
        fromfile=f"a/{name.lstrip('/')}",
        tofile=f"b/{name.lstrip('/')}",
    )
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def read_events(path: str, max_size: int, data: bytes | None = None) -> EmailEvents | None:
    """The events one email is for (before a run writes anything), None if it cannot be read
    (the run itself then reports why)."""
    try:
        return events_in(decode(read_bytes(Path(path), max_size) if data is None else data).text)
    except FileProblem:
        return None


def endpoint_needed(path: str, label: str, settings_file: str | None) -> str:
    """The usage error for an email to patch whose settings have no endpoint."""
    table = (
        f"[tool.mailpatch] in {settings_file}"
        if settings_file
        else "[tool.mailpatch] of pyproject.toml"
    )
    return (
        f"--endpoint is needed: {path}:{label} has an ERQRCode block to patch (give "
        f'--endpoint HOST, or endpoint = "HOST" in {table})'
    )


def one_event_only(
    found: dict[str, list[str]], stdin: bytes | None = None, stdin_name: str | None = None
) -> str:
    """The usage error for an --event-id run whose emails are for several events (GUID -> the
    files that hold it, "-" for stdin, in the order the run meets them): one line an event,
    stdin named as --stdin-filename names it."""
    listing = _events_listing(found, stdin, stdin_name or "stdin")
    return (
        "--event-id serves only a run whose emails are all for one event; these are for "
        f"{len(found)}:\n{listing}\nMap each with --event GUID=ID, or in "
        "the events table [tool.mailpatch.events]"
    )


def _events_listing(found: dict[str, list[str]], stdin: bytes | None, stdin_name: str) -> str:
    """The GUID, where the run first meets it (file line:col: its ERQRCode block, or where a
    Button already patched names it) and how many other files hold it, in the order the run
    meets them. Each first file is read again: only a refused run pays for it."""
    order = list(dict.fromkeys(names[0] for names in found.values()))
    texts: dict[str, str] = {}
    blocks: dict[str, dict[str, int]] = {}  # file -> GUID -> its first ERQRCode block
    for path in order:
        try:
            data = stdin if path == "-" else Path(path).read_bytes()
            texts[path] = decode(data or b"").text
        except (OSError, FileProblem):
            texts[path] = ""
        blocks[path] = {}
        for guid, at in events_in(texts[path]).qr:
            blocks[path].setdefault(guid, at)
    places: list[tuple[int, int, str]] = []
    for guid, names in found.items():
        path = names[0]
        block = blocks[path].get(guid)
        named = re.search(re.escape(guid), texts[path], re.I) if block is None else None
        at = block if block is not None else (named.start() if named else -1)
        places.append((order.index(path), at, guid))
    lines = []
    for index, at, guid in sorted(places):
        path = order[index]
        where = (stdin_name if path == "-" else path) + (
            f":{LineIndex(texts[path]).label(at)}" if at >= 0 else ""
        )
        more = len(found[guid]) - 1
        lines.append(
            f"  {guid} first in {where}"
            + (f" (and {more} other file{'s' if more != 1 else ''})" if more else "")
        )
    return "\n".join(lines)


def internal_error(path: str, exc: Exception) -> Outcome:
    """A file that failed in a way mailpatch did not foresee: reported for that file alone."""
    return Outcome(
        path,
        Status.ERROR,
        f"INTERNAL ERROR: {type(exc).__name__}: {str(exc)[:200]}; nothing was written. "
        "Please report this with the file.",
    )


def process(path: str, options: PatchOptions, mode: Mode, data: bytes | None = None) -> Outcome:
    """Patch one email. ``data`` is given for stdin; otherwise the file is read.

    Raises only MissingOption (a usage error); every problem with the file is an Outcome.
    """
    step = prepare(path, options, mode, data)
    return step() if isinstance(step, Write) else step


class Write(NamedTuple):
    """A result still to write in place: calling it writes (or, for a held run, writes the temp
    file) and returns the outcome. A batch calls it in a writer thread (``Writes``)."""

    path: str
    new: bytes
    data: bytes  # as read
    info: os.stat_result | None
    mode: Mode
    made: Outcome  # the outcome once written

    def __call__(self) -> Outcome:
        path, mode = self.path, self.mode
        try:
            if mode.hold and self.info is not None:
                pending = write_pending(Path(path), self.new, self.data, self.info, mode.hold)
                return dataclasses.replace(self.made, pending=pending)
            wrote = write_atomic(Path(path), self.new, expect=self.data)
        except FileProblem as exc:
            return Outcome(path, Status.REFUSED, str(exc), events=self.made.events)
        return dataclasses.replace(self.made, wrote=wrote)


def prepare(
    path: str, options: PatchOptions, mode: Mode, data: bytes | None = None
) -> Outcome | Write:
    """``process`` up to the write: the outcome, or the Write still to do."""
    # --check and --diff write nothing but diffs: no echo of the input, even for '-'
    capture = mode.capture and not (mode.check or mode.diff)
    info = None
    try:
        if data is None:
            data, info = read_file(Path(path), mode.max_size)
        elif len(data) > mode.max_size:  # stdin, read no further: nothing to echo whole
            message = f"is over the {mode.max_size:,}-byte limit (--max-size); nothing written"
            return Outcome(path, Status.REFUSED, message)
        email = decode(data)
    except FileProblem as exc:
        return Outcome(path, Status.REFUSED, str(exc), output=(data or b"") if capture else b"")
    echo = data if capture else b""  # the input itself is the result when nothing changes
    if not mode.check_run:
        return _patched(path, options, mode, data, info, email, echo, patch, ())
    reading = read_email(email.text)
    events = events_of(email.text, reading)
    guids = tuple(sorted(events.guids))
    if options.endpoint is None and events.to_patch:
        label = LineIndex(email.text).label(events.to_patch[0][1])
        if not mode.hold:  # the run's only file: its usage error, before anything is written
            raise MissingOption(endpoint_needed(path, label, mode.settings_file))
        return Outcome(path, Status.REFUSED, events=guids, endpoint_needed=label)
    if options.event is not None:
        if len(guids) > 1:  # the run stops: nothing to patch
            if not mode.hold:
                raise MissingOption(
                    one_event_only(
                        {guid: [path] for guid in guids},
                        data if path == "-" else None,
                        mode.stdin_name,
                    )
                )
            return Outcome(path, Status.REFUSED, events=guids)
        # the id reaches this email's one GUID and no other (the run sees that it has one)
        tied = {guid: options.event for guid in guids}
        options = dataclasses.replace(options, event=None, events={**options.events, **tied})
    try:
        patcher = partial(patch_read, reading=reading)
        return _patched(path, options, mode, data, info, email, echo, patcher, guids)
    except MissingOption:
        raise
    except Exception as exc:  # reported for this file; the run still knows its events
        return dataclasses.replace(internal_error(path, exc), events=guids)


def _patched(
    path: str,
    options: PatchOptions,
    mode: Mode,
    data: bytes,
    info: os.stat_result | None,
    email: EmailText,
    echo: bytes,
    patcher: Callable[[str, PatchOptions], PatchResult],
    events: tuple[str, ...],
) -> Outcome | Write:
    """The outcome of patching the decoded ``email``, written where ``mode`` says."""
    try:
        result = patcher(email.text, options)
    except Refusal as exc:
        position = LineIndex(email.text).label(exc.offset)
        reason = exc.reason
        if isinstance(exc, UnmappedEvent) and mode.events_table:
            reason = (
                f'no readable event id for event {exc.guid}: add "{exc.guid}" = '
                f'"READABLE_ID" under {mode.events_table} (or give --event {exc.guid}=ID)'
            )
        return Outcome(path, Status.REFUSED, reason, position, output=echo, events=events)
    except MissingOption as exc:
        raise MissingOption(f"{path}: {exc}") from None
    if not result.changed:
        applies = result.qr_blocks or result.patched_buttons
        status = Status.UNCHANGED if applies else Status.NOT_APPLICABLE
        signs = "" if applies else journeys_signs(email.text)
        return Outcome(
            path, status, unchecked=result.unchecked, output=echo, journeys=signs, events=events
        )
    problem = verify_problem(email.text, result, options)
    if problem is not None:
        return Outcome(path, problem[0], problem[1], output=echo, events=events)

    def made(status: Status, output: bytes = b"") -> Outcome:
        return Outcome(
            path,
            status,
            buttons=len(result.pairings),
            links_updated=len(result.updates),
            links_fixed=sum(1 for e in result.edits if e.what is EditKind.SCHEME),
            unchecked=result.unchecked,
            left=tuple(text for _, text in result.left_behind),
            qr_removed=sum(1 for e in result.edits if e.what is EditKind.QR),
            link_changes=link_changes(result),
            qr_mentions=qr_text_left(email.text, result, mode.check or mode.diff),
            output=output,
            events=events,
        )

    # a file whose only change is stale links written anew is "updated", not "patched"
    only_updated = bool(result.updates) and not result.pairings
    done = Status.UPDATED if only_updated else Status.PATCHED
    would = Status.WOULD_UPDATE if only_updated else Status.WOULD_PATCH
    if mode.diff:
        name = (mode.stdin_name or "stdin") if path == "-" else path
        # (a file name that is not UTF-8 goes out as the bytes it is, as git writes it)
        diff = unified_diff(name, email.text, result.text).encode("utf-8", "surrogateescape")
        return made(would, diff)
    if mode.check:
        return made(would)
    new = email.encode(result.text)  # (not for --check or --diff: they write nothing)
    if mode.capture:
        return made(done, new)
    return Write(path, new, data, info, mode, made(done))


class Writes:
    """Writes in place, run in a few threads: their fsyncs overlap one another and the
    patching of the next emails. On a busy disk an fsync waits for milliseconds, and the file
    system commits fsyncs that wait together at once: 240 results took 1.0-1.6 s one after
    another and 0.3 s four at a time (benchmarks/README.md).

    ``put`` takes a Write and returns a slot, ``slot()`` waits for its outcome; ``close``
    waits for every write put. Once a write is interrupted (an exception that is no error,
    such as KeyboardInterrupt), writes not yet started never start: each file is as it was or
    fully written, never half."""

    THREADS = 4
    WAITING = 8  # writes queued at most (each holds its result's bytes)

    def __init__(self) -> None:
        import queue  # batches only

        self._queue: queue.SimpleQueue[tuple[Slot, Write] | None] = queue.SimpleQueue()
        self._room = threading.BoundedSemaphore(self.WAITING)
        self._threads = [
            threading.Thread(target=self._work, daemon=True) for _ in range(self.THREADS)
        ]
        self._stopped = False
        for thread in self._threads:
            thread.start()

    def put(self, write: Write) -> Slot:
        slot = Slot()
        self._room.acquire()
        self._queue.put((slot, write))
        return slot

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            slot, write = item
            try:
                if self._stopped:  # never started: the file stays as it was
                    slot.error = _NOT_WRITTEN
                else:
                    slot.outcome = write()
            except Exception as exc:  # a bug or a limit: this file only, as for the others
                slot.outcome = internal_error(write.path, exc)
            except BaseException as exc:  # an interrupt raised in a write: the run stops
                self._stopped = True
                slot.error = exc
            finally:
                self._room.release()
                slot.done.set()

    def close(self) -> None:
        """Wait for the writes put (those not interrupted) to finish."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()


_NOT_WRITTEN = RuntimeError("not written: the run stopped first")


class Slot:
    """Where a write's outcome (or what it raised) lands."""

    __slots__ = ("done", "error", "outcome")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None

    def __call__(self) -> Outcome:
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


def verify_problem(
    text: str, result: PatchResult, options: PatchOptions
) -> tuple[Status, str] | None:
    """None when the patch of ``text`` passes verify(); else what a run reports: REFUSED when
    the verifier cannot check it (a limit, like bad input), ERROR when it disagrees (a bug).
    The one judgement of a patch for the command line and the pages."""
    from mailpatch._verify import Unverifiable, VerifyError, verify  # lxml: once a file changes

    try:
        verify(text, result, options)
    except Unverifiable as exc:
        return Status.REFUSED, f"the patch cannot be verified ({exc}); nothing was written"
    except VerifyError as exc:
        return (
            Status.ERROR,
            f"INTERNAL ERROR: the patched email failed verification ({exc}); nothing was "
            "written. Please report this with the file.",
        )
    return None


def journeys_signs(text: str) -> str:
    """Why an email without an ERQRCode block looks like a real-time journeys one, or ''."""
    from mailpatch._journeys import journeys_look

    look = journeys_look(text)
    return look.summary() if look else ""


def qr_text_left(before: str, result: PatchResult, in_input: bool) -> tuple[tuple[str, str], ...]:
    """What the patched email still says about the QR code it removed ("Show this code at
    the registration desk"): named for the person to edit, never changed."""
    if not any(e.what is EditKind.QR for e in result.edits):
        return ()  # no QR block removed (none, or --keep-qr): the code is still shown
    from mailpatch._qr_text import mentions_left

    return mentions_left(before, result.text, result.edits, in_input)


def link_changes(result: PatchResult) -> tuple[tuple[str, tuple[LinkChange, ...]], ...]:
    """(GUID, changes) of each stale Button a patch wrote anew, from each link it had."""
    out = []
    for update in result.updates:
        new = update.link.url()
        changes = (c for old in update.stale for c in compare_links(old, new))
        out.append((update.guid, tuple(dict.fromkeys(changes))))
    return tuple(out)


# glibc's mallopt() parameters: the freed memory kept at the top of the heap, and the size
# from which an allocation gets its own mapping instead (the largest glibc takes: 32 MiB)
_M_TOP_PAD, _M_MMAP_THRESHOLD = -2, -3
_KEPT_HEAP = _ON_HEAP_BELOW = 32 * 1024 * 1024


def keep_freed_memory() -> None:
    """Ask glibc to keep the memory a file needed for the next one, instead of handing it back.

    Every email becomes a few strings of up to four bytes a character (the input, the output,
    the verifier's copy), made and freed per file. By default glibc maps allocations over
    128 KiB on their own (unmapped when freed) and returns the freed top of the heap to the
    system, so the next file page-faults it all in again: about 30,000 faults and a seventh of
    the CPU time over the benchmark's corpus. Here allocations up to 32 MiB stay on the heap
    and 32 MiB of freed heap are kept (setting either turns off glibc's own moving threshold,
    so both are set). Only the command line's batches ask (a library must not change its
    host's allocator); where there is no glibc, nothing happens.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # 2 ms to import: batches only

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a libc without mallopt
        return
    mallopt(_M_MMAP_THRESHOLD, _ON_HEAP_BELOW)
    mallopt(_M_TOP_PAD, _KEPT_HEAP)


_LABELS = {
    Status.PATCHED: "patched",
    Status.WOULD_PATCH: "would be patched",
    Status.UPDATED: "updated",
    Status.WOULD_UPDATE: "would be updated",
    Status.REFUSED: "refused",
    Status.ERROR: "failed verification",
    Status.UNCHANGED: "unchanged",
    Status.NOT_APPLICABLE: "without a QR block",
}


def summarize(outcomes: list[Outcome]) -> str:
    """'3 files patched, 1 file refused, 40 files unchanged.' in a fixed order."""
    parts = []
    for status, label in _LABELS.items():
        n = sum(1 for o in outcomes if o.status is status)
        if n:
            parts.append(f"{n} file{'s' if n != 1 else ''} {label}")
    return (", ".join(parts) if parts else "no files") + "."
