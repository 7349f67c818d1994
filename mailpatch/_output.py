"""Standard output for every command: bytes out, and a lost stdout said once, never a traceback.

stdout carries the product (diffs, '-' results, lint reports, JSON, an .ics); when it is full or
closed ('> /dev/full', '| head -0') the command reports that on stderr and exits 123. Written
here rather than through click.echo, which swallows a broken pipe and exits 1 ("would change").
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import sys
from typing import Any

# Every command's exit codes, in one table (the README's "Exit codes"): 1 is "would change"
# for patch and "problems found" for lint; 123 is a file refused or unreadable, or stdout lost
EXIT_OK, EXIT_CHANGES, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 123
EXIT_FOUND, EXIT_UNREADABLE, EXIT_LOST = EXIT_CHANGES, EXIT_REFUSED, EXIT_REFUSED


class OutputLost(Exception):
    """Standard output cannot be written."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause

    def report(self) -> int:
        """Say so on stderr (if it can be written) and return the exit code."""
        # what is left in Python's buffer would fail again at exit: send it nowhere
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(
                "error: standard output cannot be written "
                f"({self.cause.strerror or self.cause}); what it should carry is lost\n"
            )
            sys.stderr.flush()
        return EXIT_LOST


def write_stdout(data: bytes | str) -> None:
    """Write and flush ``data`` (text as UTF-8, a file name's undecodable bytes as they were)."""
    if not data:
        return
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    try:
        stream = sys.stdout.buffer
        stream.write(raw)
        stream.flush()
    except OSError as exc:
        raise OutputLost(exc) from None


def flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except OSError as exc:
        raise OutputLost(exc) from None


def color_choice(color: bool | None) -> bool | None:
    """Colour or not, as black and ruff decide: --color/--no-color, else off when NO_COLOR
    is set (https://no-color.org) or the terminal says it shows none (TERM=dumb), else None:
    the stream decides (a terminal; or click's test runner, for what goes through click.echo)."""
    if color is not None:
        return color
    return False if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb" else None


def wants_color(color: bool | None) -> bool:
    """Whether what goes to stdout as bytes (a diff, lint's report lines) is coloured."""
    choice = color_choice(color)
    return sys.stdout.isatty() if choice is None else choice


def json_document(document: Any) -> bytes:
    """A JSON report as UTF-8. A file name that is not UTF-8 is written with \\udcXX escapes
    (what os.fsdecode gives back to Python), never as bytes that would make it invalid."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return text.encode("utf-8", "backslashreplace")


class _Closed(io.BufferedIOBase):
    """A standard stream whose descriptor was closed before the start ('>&-'): Python gives
    None for it; here writing fails as writing to a closed descriptor does."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


def stand_in_for_closed_streams() -> None:
    """Give a closed stdout a stream that fails when written (reported as lost output, exit
    123, only if something is written), and a closed stderr one that takes nothing."""
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(_Closed(), encoding="utf-8", write_through=True)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (for the run)
