"""One file in, one outcome out: read, patch, verify, write -- outcomes as data (like LibCST).

Nothing here prints: a diff or stdin's result travels in ``Outcome.stdout`` so the caller can
emit outcomes in input order, whichever worker produced them.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import NamedTuple

from mailpatch._errors import MissingOption, Refusal, UnmappedEvent
from mailpatch._files import DEFAULT_MAX_SIZE, FileProblem, decode, read_bytes, write_atomic
from mailpatch._html import LineIndex
from mailpatch._link import LinkChange, compare_links
from mailpatch._patch import EditKind, EmailEvents, PatchOptions, PatchResult, events_in, patch


class Status(Enum):
    PATCHED = "patched"
    WOULD_PATCH = "would patch"
    UPDATED = "updated"  # only stale calendar links written anew (no new calendar button)
    WOULD_UPDATE = "would update"
    UNCHANGED = "unchanged"  # has ERQRCode blocks or patched Buttons; nothing left to do
    NOT_APPLICABLE = "not applicable"  # no ERQRCode block
    REFUSED = "refused"  # bad input or an ambiguity: the file is untouched
    ERROR = "error"  # the patch failed its own verification: an internal error


@dataclass(frozen=True)
class Outcome:
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


def unified_diff(name: str, before: str, after: str) -> str:
    # split on \n, \r\n and \r only, as diff and git do (str.splitlines also splits on
    # U+2028, form feeds and more, which would shift the hunk line numbers)
    import difflib

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


def process(path: str, options: PatchOptions, mode: Mode, data: bytes | None = None) -> Outcome:
    """Patch one email. ``data`` is given for stdin; otherwise the file is read.

    Raises only MissingOption (a usage error); every problem with the file is an Outcome.
    """
    # --check and --diff write nothing but diffs: no echo of the input, even for '-'
    capture = mode.capture and not (mode.check or mode.diff)
    try:
        if data is None:
            data = read_bytes(Path(path), mode.max_size)
        elif len(data) > mode.max_size:  # stdin, read no further: nothing to echo whole
            message = f"is over the {mode.max_size:,}-byte limit (--max-size); nothing written"
            return Outcome(path, Status.REFUSED, message)
        email = decode(data)
    except FileProblem as exc:
        return Outcome(path, Status.REFUSED, str(exc), output=(data or b"") if capture else b"")
    echo = data if capture else b""  # the input itself is the result when nothing changes
    try:
        result = patch(email.text, options)
    except Refusal as exc:
        position = LineIndex(email.text).label(exc.offset)
        reason = exc.reason
        if isinstance(exc, UnmappedEvent) and mode.events_table:
            reason = (
                f'no readable event id for event {exc.guid}: add "{exc.guid}" = '
                f'"READABLE_ID" under {mode.events_table} (or give --event {exc.guid}=ID)'
            )
        return Outcome(path, Status.REFUSED, reason, position, output=echo)
    except MissingOption as exc:
        raise MissingOption(f"{path}: {exc}") from None
    if not result.changed:
        applies = result.qr_blocks or result.patched_buttons
        status = Status.UNCHANGED if applies else Status.NOT_APPLICABLE
        signs = "" if applies else journeys_signs(email.text)
        return Outcome(path, status, unchecked=result.unchecked, output=echo, journeys=signs)
    from mailpatch._verify import Unverifiable, VerifyError, verify  # lxml: once a file changes

    try:
        verify(email.text, result, options)
    except Unverifiable as exc:  # a limit of the verifier, not a bug: refused like bad input
        message = f"the patch cannot be verified ({exc}); nothing was written"
        return Outcome(path, Status.REFUSED, message, output=echo)
    except VerifyError as exc:
        return Outcome(
            path,
            Status.ERROR,
            f"INTERNAL ERROR: the patched email failed verification ({exc}); nothing was "
            "written. Please report this with the file.",
            output=echo,
        )
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
        )

    # a file whose only change is stale links written anew is "updated", not "patched"
    only_updated = bool(result.updates) and not result.pairings
    done = Status.UPDATED if only_updated else Status.PATCHED
    would = Status.WOULD_UPDATE if only_updated else Status.WOULD_PATCH
    new = email.encode(result.text)
    if mode.diff:
        name = (mode.stdin_name or "stdin") if path == "-" else path
        # (a file name that is not UTF-8 goes out as the bytes it is, as git writes it)
        diff = unified_diff(name, email.text, result.text).encode("utf-8", "surrogateescape")
        return made(would, diff)
    if mode.check:
        return made(would)
    if mode.capture:
        return made(done, new)
    try:
        write_atomic(Path(path), new, expect=data)
    except FileProblem as exc:
        return Outcome(path, Status.REFUSED, str(exc))
    return made(done)


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
