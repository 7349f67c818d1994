"""The ``mailpatch`` command line: a thin click layer over the core, the runner and the files."""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import re
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import click

from mailpatch import __version__
from mailpatch._cli_options import options_over
from mailpatch._cli_select import (
    Configs,
    common_base,
    excluded_name,
    mirror_path,
    select,
    selection_options,
)
from mailpatch._config import Config
from mailpatch._errors import MissingOption
from mailpatch._files import (
    DEFAULT_MAX_SIZE,
    FileProblem,
    commit,
    decode,
    discard,
    discard_run,
    sync_folders,
    write_if_changed,
)
from mailpatch._html import LineIndex
from mailpatch._output import (
    EXIT_CHANGES,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    OutputLost,
    color_choice,
    flush_stdout,
    json_document,
    stand_in_for_closed_streams,
    wants_color,
    write_stdout,
)
from mailpatch._patch import PatchOptions
from mailpatch._run import (
    Mode,
    Outcome,
    Slot,
    Status,
    Write,
    Writes,
    endpoint_needed,
    internal_error,
    keep_freed_memory,
    one_event_only,
    prepare,
    read_events,
    summarize,
)
from mailpatch._status import CHANGED as _CHANGED  # moved: the page shows it
from mailpatch._status import status_line as _line

# 2: "updated"/"would_update" statuses, links_updated, unchecked_events, per-file config
JSON_SCHEMA_VERSION = 2
# A process pool costs some 0.1 s to start: it gains from this many files, or fewer that hold
# this many bytes (benchmarks/bench_jobs.py, 2 CPUs: 48 emails of 14 KB ran 0.86x as fast with
# -j 2, 64 of them 1.19x; 16 emails of 290 KB 0.82x, 32 of them 1.12x).
PARALLEL_THRESHOLD = 64
PARALLEL_BYTES = 8_000_000
PROGRESS_THRESHOLD = 20  # a progress bar for runs of at least this many files, on a terminal


def outcome_json(outcome: Outcome, with_diff: bool) -> dict[str, object]:
    line, _, column = outcome.position.partition(":")
    item: dict[str, object] = {
        "path": outcome.path,
        "status": outcome.status.name.lower(),
        "message": outcome.message or None,
        "line": int(line) if line else None,
        "column": int(column) if column else None,
        "buttons": outcome.buttons,
        "links_updated": outcome.links_updated,
        "links_fixed": outcome.links_fixed,
        "unchecked_events": [{"guid": g, "reason": why} for g, why in outcome.unchecked],
        "left_with_qr_block": list(outcome.left),
        "qr_mentions": [
            {"line": int(at.partition(":")[0]), "column": int(at.partition(":")[2]), "text": text}
            for at, text in outcome.qr_mentions
        ],
        "up_to_date": outcome.up_to_date,
        "real_time_journeys": _journeys_json(outcome.journeys),
        "link_changes": [
            {
                "guid": guid,
                "changes": [
                    {"part": c.part, "before": c.before, "after": c.after, "text": str(c)}
                    for c in changes
                ],
            }
            for guid, changes in outcome.link_changes
        ],
    }
    if with_diff:
        item["diff"] = outcome.output.decode("utf-8", "surrogateescape") if outcome.output else None
    return item


def _journeys_json(signs: str) -> dict[str, str] | None:
    if not signs:
        return None
    from mailpatch._journeys import ADD_TO_CALENDAR_URL

    return {"signs": signs, "add_to_calendar": ADD_TO_CALENDAR_URL}


def exit_code(outcomes: Sequence[Outcome]) -> int:
    if any(o.status in (Status.REFUSED, Status.ERROR) for o in outcomes):
        return EXIT_REFUSED
    if any(o.status in (Status.WOULD_PATCH, Status.WOULD_UPDATE) for o in outcomes):
        return EXIT_CHANGES
    return EXIT_OK


Job = tuple[str, PatchOptions, Mode]  # one file, with its own settings


def _process_one(job: Job, stdin: bytes | None = None) -> Outcome | Write:
    """One file's outcome (or the write still to do), whatever happens: a batch finishes
    every file and its summary."""
    try:
        return prepare(*job, stdin) if job[0] == "-" else prepare(*job)
    except MissingOption:
        raise  # a usage error: the run stops (before any write: see Mode.check_run)
    except Exception as exc:  # a bug, or a limit (RecursionError, MemoryError): this file only
        return internal_error(job[0], exc)


def _outcomes(jobs: Sequence[Job], stdin: bytes | None = None) -> Generator[Outcome, None, None]:
    """The outcomes of ``jobs`` in order, from this process. Writes in place run in writer
    threads when there are several (``Writes``). Stopped (Ctrl-C, SIGTERM), the run writes
    what it patched and verified so far, as one file at a time would have, before it stops."""
    writing = len(jobs) > 1 and any(not (m.check or m.diff or m.capture) for _, _, m in jobs)
    writes = Writes() if writing else None
    waiting: deque[Outcome | Slot] = deque()
    try:
        for job in jobs:
            step = _process_one(job, stdin)
            if isinstance(step, Write):
                waiting.append(writes.put(step) if writes is not None else _written(step))
            else:
                waiting.append(step)
            while waiting and (isinstance(waiting[0], Outcome) or waiting[0].done.is_set()):
                yield _taken(waiting.popleft())
        while waiting:
            yield _taken(waiting.popleft())
    finally:
        if writes is not None:
            writes.close()


def _written(write: Write) -> Outcome:
    try:
        return write()
    except Exception as exc:  # as _process_one reports it
        return internal_error(write.path, exc)


def _taken(step: Outcome | Slot) -> Outcome:
    return step if isinstance(step, Outcome) else step()


def _process_chunk(jobs: Sequence[Job]) -> list[Outcome]:
    """A worker's share: the outcomes of some jobs, their writes done."""
    try:
        return list(_outcomes(jobs))
    except _Stopped as exc:  # SIGTERM: the writes under way are done; now die of it
        signal.signal(exc.signum, signal.SIG_DFL)
        os.kill(os.getpid(), exc.signum)
        raise


def _plan(
    files: Sequence[str], settings: Sequence[tuple[PatchOptions, Mode]], stdin: bytes | None
) -> list[Job]:
    """Each file with its settings, every usage error found before anything is written.

    A readable id given with --event-id is tied here to the one event the run is for: every
    ERQRCode block and every patched Button in the files named must share one GUID, or the
    id could reach another event's email. An email to patch with no endpoint in its settings
    stops the run before the first write, not halfway through it."""
    event = next((o.event for o, _ in settings if o.event is not None), None)
    found: dict[str, list[str]] = {}  # GUID -> the files that hold it
    for path, (options, mode) in zip(files, settings, strict=True):
        if event is None and options.endpoint is not None:
            continue  # nothing to learn from this file before the run
        events = read_events(path, mode.max_size, stdin if path == "-" else None)
        if events is None:
            continue  # unreadable: the run reports it
        for guid in sorted(events.guids):
            found.setdefault(guid, []).append(path)
        if options.endpoint is None and events.to_patch:
            data = stdin if path == "-" else Path(path).read_bytes()
            assert data is not None
            where = f"{path}:{LineIndex(decode(data).text).label(events.to_patch[0][1])}"
            table = (
                f"[tool.mailpatch] in {mode.settings_file}"
                if mode.settings_file
                else ("[tool.mailpatch] of pyproject.toml")
            )
            raise click.UsageError(
                f"--endpoint is needed: {where} has an ERQRCode block to patch (give "
                f'--endpoint HOST, or endpoint = "HOST" in {table})'
            )
    if event is not None and len(found) > 1:
        raise click.UsageError(one_event_only(found, stdin))
    jobs: list[Job] = []
    for path, (options, mode) in zip(files, settings, strict=True):
        if options.event is not None:  # the id now reaches that one GUID and no other
            tied = {guid: options.event for guid in found}
            options = replace(options, event=None, events={**options.events, **tied})
        jobs.append((path, options, mode))
    return jobs


class _Run:
    """What a run must know of all its emails before it writes anything (``Mode.check_run``):
    whether it asks at all (an --event-id serves one event only; an email to patch needs an
    endpoint), each file's job, and the check itself once every email has reported."""

    def __init__(
        self,
        files: Sequence[str],
        settings: Sequence[tuple[PatchOptions, Mode]],
        stdin: bytes | None = None,
    ):
        self.files = files
        self.stdin = stdin  # what was read of stdin, for the usage error's listing
        self.settings = settings
        self.event = next((o.event for o, _ in settings if o.event is not None), None)
        self.checks = self.event is not None or any(o.endpoint is None for o, _ in settings)
        # a run of several files holds its results in temp files named with this
        self.token = os.urandom(4).hex() if self.checks and len(files) > 1 else ""

    def jobs(self) -> list[Job]:
        modes = {
            id(m): m._replace(check_run=self.checks, hold=self.token) for _, m in self.settings
        }
        return [
            (path, options, modes[id(mode)])
            for path, (options, mode) in zip(self.files, self.settings, strict=True)
        ]

    def check(self, outcomes: Sequence[Outcome]) -> None:
        """A usage error unless the run may write: the first email to patch without an
        endpoint, or an --event-id run whose emails are for several events."""
        for outcome, path, (_, mode) in zip(outcomes, self.files, self.settings, strict=True):
            if outcome.endpoint_needed:
                raise click.UsageError(
                    endpoint_needed(path, outcome.endpoint_needed, mode.settings_file)
                )
        if self.event is None:
            return
        found: dict[str, list[str]] = {}  # GUID -> the files that hold it
        for outcome, path in zip(outcomes, self.files, strict=True):
            for guid in outcome.events:
                found.setdefault(guid, []).append(path)
        if len(found) > 1:
            named = next((m.stdin_name for _, m in self.settings if m.stdin_name), None)
            raise click.UsageError(one_event_only(found, self.stdin, named))

    @contextlib.contextmanager
    def held(self) -> Iterator[_Held]:
        """Outcomes held until the run is checked; on the way out, every result that was not
        renamed into place is removed, whatever stopped the run (a usage error, Ctrl-C,
        SIGTERM or SIGHUP: see _signals_stop)."""
        held = _Held()
        try:
            yield held
        finally:
            held.close()
            if self.token and held.unfinished:
                folders = {os.path.dirname(os.path.realpath(f)) for f in self.files}
                discard_run(sorted(folders), self.token)


class _Held:
    """Outcomes in run order, their outputs (diffs, results for -o or --output-dir) kept in a
    temporary file rather than in memory; each pending result is renamed into place as its
    outcome is taken (``__iter__``)."""

    def __init__(self) -> None:
        self.items: list[Outcome] = []
        self._spans: list[tuple[int, int]] = []
        self._spool: Any = None
        self.unfinished = True  # not every pending result was renamed or removed

    def gather(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            span = (0, 0)
            if outcome.output:
                if self._spool is None:
                    import tempfile  # 3.6 ms: only once outputs are spooled

                    # closed by close(), which the run's context manager calls
                    self._spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
                span = (self._spool.tell(), len(outcome.output))
                self._spool.write(outcome.output)
                outcome = replace(outcome, output=b"")
            self.items.append(outcome)
            self._spans.append(span)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Outcome:
        return self.items[i]

    def __iter__(self) -> Iterator[Outcome]:
        for i, outcome in enumerate(self.items):
            at, size = self._spans[i]
            if size:
                self._spool.seek(at)
                outcome = replace(outcome, output=self._spool.read(size))
            pending = outcome.pending
            if pending is not None:
                try:
                    commit(pending)
                    outcome = replace(outcome, pending=None, wrote=pending.target)
                except FileProblem as exc:  # as a write in place reports it
                    outcome = Outcome(outcome.path, Status.REFUSED, str(exc))
                self.items[i] = replace(outcome, output=b"")  # renamed, or removed
            yield outcome
        self.unfinished = False

    def close(self) -> None:
        """Remove the pending results not renamed; drop the spool."""
        for outcome in self.items:
            if outcome.pending is not None:
                discard(outcome.pending)
        if self._spool is not None:
            self._spool.close()


class _Stopped(BaseException):
    """SIGTERM or SIGHUP, raised where the run is, so that it cleans up before it dies."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    raise _Stopped(signum)


@contextlib.contextmanager
def _signals_stop() -> Iterator[None]:
    """SIGTERM and SIGHUP (left at their defaults) raise _Stopped within; the process then
    dies of the signal, once the run has removed its temp files."""
    caught = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    previous = {}
    for signum in caught:
        if signal.getsignal(signum) is signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _stop)
    try:
        yield
    except _Stopped as exc:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        previous.clear()
        os.kill(os.getpid(), exc.signum)
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_all(
    jobs: Sequence[Job], workers: int, stdin: bytes | None = None
) -> Generator[Outcome, None, None]:
    """Outcomes in the order of ``jobs``, from one process or a pool of ``workers``."""
    if len(jobs) >= 2:
        keep_freed_memory()
    if workers <= 1 or len(jobs) < 2 or any(path == "-" for path, _, _ in jobs):
        yield from _outcomes(jobs, stdin)
        return
    from concurrent.futures import ProcessPoolExecutor  # 15 ms to import: only for a pool

    size = max(1, min(16, len(jobs) // (workers * 4)))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    # Ctrl-C reaches the whole process group. Workers ignore it and finish the file in hand
    # (each write is atomic); the parent stops handing out files. Left to the default, a
    # worker could die mid-write, or be terminated by the broken pool, leaving a temp file.
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),)
    )
    try:
        for outcomes in pool.map(_process_chunk, chunks):
            yield from outcomes
    except BaseException:  # KeyboardInterrupt, or the consumer gave up (GeneratorExit)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _start_worker(parent: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM (from the parent's death, or to the process group) lets the writes under way
    # finish (_process_chunk), then ends the worker
    signal.signal(signal.SIGTERM, _stop)
    _die_with_parent(parent)
    keep_freed_memory()


def _die_with_parent(parent: int | None) -> None:
    """On Linux, a worker gets SIGTERM when the parent dies (killed, not only Ctrl-C), so none
    is left running and holding the output pipe. SIGTERM waits for a write in progress (the
    write blocks it), so no file is left half-replaced."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # 2 ms: pool workers only

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:  # the parent died before prctl()
        os._exit(1)


def _print_version(ctx: click.Context) -> None:
    """mailpatch's version, and the parsers that decide verification (for bug reports): lxml
    and the libxml2 it runs, imported only here (start-up matters for every other command)."""
    import lxml.etree

    click.echo(f"mailpatch {__version__}")
    click.echo(f"lxml {'.'.join(map(str, lxml.etree.LXML_VERSION))}")
    click.echo(f"libxml2 {'.'.join(map(str, lxml.etree.LIBXML_VERSION))}")
    ctx.exit()


HELP = """Patch exported Dynamics 365 Marketing registration emails so that the "Add to calendar"
button downloads a personalised .ics from the Events API.

\b
Examples:
  mailpatch patch --endpoint contoso.svc.dynamics.com --event-id ContosoSummit2026 email.html
  mailpatch patch --diff emails/            # settings from [tool.mailpatch] in pyproject.toml
  mailpatch patch --check emails/           # CI: exit 1 if a template lost its patch
  mailpatch patch --endpoint contoso.svc.dynamics.com \\
      --event 0d2f4a6c-8e1b-ef11-a82e-000d3a4b5c6d=Summit_Day1 \\
      --event 5a7c9e1f-3b4d-ef11-a82e-000d3a4b5c6d=Summit_Labs two-events.html

\b
Exit codes: 0 done or nothing to do; 1 --check/--diff found files that would change;
            2 usage or configuration error; 123 a file was refused (others still processed).

Run `mailpatch patch --help` for every option.
"""


_ELSEWHERE = {  # command -> "module:attribute"
    "ics": "mailpatch._cli_ics:ics_command",
    "lint": "mailpatch._cli_lint:lint_command",
    "preview": "mailpatch._cli_preview:preview_command",
    "serve": "mailpatch._cli_serve:serve_command",
}


class _Commands(click.Group):
    """Commands that live in their own modules, so each can change without touching this
    file, imported only when named or listed: ``patch --check`` on one email is a start-up
    race (see benchmarks/bench.py), and lint and ics are not in it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_ELSEWHERE])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _ELSEWHERE:
            module, name = _ELSEWHERE[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
    help="Show the version, and lxml's and libxml2's (they decide verification), and exit.",
)
def cli() -> None:
    pass


@cli.command(
    "patch",
    epilog="""\b
Exit codes: 0 done or nothing to do; 1 --check/--diff found files that would change;
            2 usage or configuration error; 123 a file was refused (others still processed).
\b
Configuration: [tool.mailpatch] in pyproject.toml, or mailpatch.toml, found from each file's
folder upwards (keys as the long options: endpoint, events, fields, drop-fields, keep-qr,
exclude, include, …; readable ids only in the events table, tied to their GUIDs). Options on
the command line win over the file.
\b
A patched Button whose calendar link differs from what the settings build for its event is
stale: its links are written anew and the file reported as "updated" (--check exits 1).
\b
What it does, per ERQRCode block: moves its {{#each}}/{{#if (eq this.msevtmgt_eventid …)}}
loop into the Button block, around the button's own content; points every link in that
button (the <a> and Outlook's VML href) at the calendar API; removes the QR block.
Every byte outside those two blocks stays as it was, and every patch is verified before
it is written.""",
)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--endpoint",
    metavar="HOST_OR_URL",
    help="Events API endpoint, e.g. contoso.svc.dynamics.com (https:// and "
    "/EvtMgmt/api/v2.0/ are accepted and normalised).",
)
@click.option(
    "--event-id",
    metavar="ID",
    help="Readable event id (not the GUID) of the one event every email in the run is for "
    "(a run with two events is refused: map each with --event).",
)
@click.option("--session-id", metavar="ID", help="Session id to send with --event-id.")
@click.option(
    "--event",
    "events",
    multiple=True,
    metavar="GUID=ID[@SESSION]",
    help="Map an event GUID (as in the QR block) to its readable id, optionally "
    "with a session. Repeatable; needed when an email has several events.",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="Add or override a data field (fills {{KEY}} in the event's calendar "
    "content). VALUE may hold placeholders such as {{contact.lastname}}. "
    "Defaults: registrationId={{this.msevtmgt_name}}, "
    "firstname={{contact.firstname}}.",
)
@click.option(
    "--drop-field",
    "drop_fields",
    multiple=True,
    metavar="KEY",
    help='Leave a default field out, e.g. firstname (names with " & # \\ break '
    "the link at send time).",
)
@click.option("--api-version", metavar="VERSION", help="api-version (default 2016-06-30).")
@click.option(
    "--button",
    "buttons",
    multiple=True,
    metavar="LINE[:COL]",
    help="Use the Button block that starts there (explicit choice; repeatable, "
    "paired with QR blocks in document order).",
)
@click.option("--keep-qr/--no-keep-qr", default=None, help="Keep the original QR block.")
@click.option("--force", is_flag=True, help="Patch protected or locked blocks too.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would change.")
@click.option("--diff", is_flag=True, help="Write nothing; print a unified diff on stdout.")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write the result to FILE ('-' for stdout) instead of in place; one input.",
)
@click.option(
    "--output-dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write results into DIR, mirroring the input tree; inputs stay untouched.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json: one JSON document on stdout with every file's outcome.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Worker processes (default: the number of CPUs for {PARALLEL_THRESHOLD} files or "
    f"more, or {PARALLEL_BYTES // 1_000_000} MB in all; else 1).",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    metavar="BYTES",
    help=f"Refuse files larger than this (default {DEFAULT_MAX_SIZE:,}).",
)
@click.option(
    "--stdin-filename",
    metavar="NAME",
    help="With '-': the file stdin's email stands for (editor integrations): its folder's "
    "configuration and excludes apply, and messages, diffs and JSON name it.",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the status lines and the --diff (default: on a terminal, unless NO_COLOR "
    "is set or TERM=dumb).",
)
@selection_options
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no summary, no progress bar.")
@click.option(
    "-v", "--verbose", is_flag=True, help="A line for every file, the configuration file used."
)
def patch_command(
    paths: tuple[str, ...],
    check: bool,
    diff: bool,
    output: str | None,
    output_dir: str | None,
    excludes: tuple[str, ...],
    includes: tuple[str, ...],
    respect_gitignore: bool | None,
    config_path: str | None,
    output_format: str,
    jobs: int | None,
    max_size: int | None,
    stdin_filename: str | None,
    color: bool | None,
    quiet: bool,
    verbose: bool,
    **settings: Any,  # the settings options (@patch_settings), merged by options_over
) -> None:
    """Patch emails in place. PATH may be a file, a folder (walked for *.html, *.htm), '-'
    (stdin to stdout), or a settings file (pyproject.toml, mailpatch.toml): every email it
    governs, as pre-commit passes it when a commit changes only the settings."""
    _check_combinations(paths, output, output_dir, check, diff, output_format == "json")
    if settings.get("event_id") is not None and os.environ.get("PRE_COMMIT") == "1":
        raise click.UsageError(HOOK_EVENT_ID)
    if quiet and verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose cannot be combined")
    configs = Configs(config_path)
    unreadable: list[tuple[str, str]] = []  # folders and .gitignore files: refused by name
    files, skipped = select(paths, configs, excludes, includes, respect_gitignore, unreadable)
    if stdin_filename is not None and files != ["-"]:
        raise click.UsageError("--stdin-filename goes with '-' (stdin) as the only PATH")
    if stdin_filename is not None and excluded_name(
        stdin_filename, configs, excludes, includes, respect_gitignore
    ):
        # as black's --force-exclude with --stdin-filename: the email comes back unchanged
        write_stdout(sys.stdin.buffer.read())
        if verbose:
            click.echo(f"excluded {stdin_filename}", err=True)
        click.get_current_context().exit(EXIT_OK)
    if output is not None and (len(files) != 1 or Path(paths[0]).is_dir()):
        raise click.UsageError("-o/--output takes exactly one input file")
    if output_dir is not None:
        files, skipped = _outside_output_dir(output_dir, paths, files, skipped)
    # stdin's settings are those of the file it stands for (--stdin-filename), as in ruff
    file_configs = [configs.of(stdin_filename if f == "-" and stdin_filename else f) for f in files]
    options_of = partial(options_over, **settings)
    mode = Mode(
        check=check,
        diff=diff,
        capture=output is not None or output_dir is not None or files == ["-"],
        max_size=max_size or 0,
        stdin_name=stdin_filename,
    )
    per_file = _settings(file_configs, options_of, mode)
    stdin = None
    if files == ["-"]:  # no more than the size limit is read: an endless stdin is refused
        stdin = sys.stdin.buffer.read(per_file[0][1].max_size + 1)
    run = _Run(files, per_file, stdin)
    workers = _workers(jobs, file_configs, files)
    as_json = output_format == "json"
    # a diff in colour on a terminal, as black does; --no-color, NO_COLOR or a pipe: plain
    colored = diff and not as_json and wants_color(color)
    # status lines on stderr, in colour on a terminal; --no-color or NO_COLOR: plain
    choice = color_choice(color)
    echo = partial(click.echo, err=True, color=choice)
    used = configs.used()
    preamble: list[str] = []  # said before the files (once the run is found good)
    if verbose and not as_json:
        for config in used or [configs.of(paths[0])]:
            preamble.append(f"config: {config.source or 'none'} (project root {config.root})")
        preamble += [f"excluded {name}" for name in skipped]
    delivery = _Delivery(
        output,
        output_dir,
        common_base(paths),
        # (what a result must not be written over: only --output-dir writes elsewhere)
        {os.path.realpath(f) for f in files if f != "-"} if output_dir is not None else set(),
        as_json,
        diff,
        colored,
        quiet,
        verbose,
        stdin_filename,
        choice is not False,
    )
    outcomes: list[Outcome] = [Outcome(path, Status.REFUSED, why) for path, why in unreadable]
    preamble += [
        painted(said, o) if choice is not False else said
        for o in outcomes
        for said in [f"error: cannot patch {o.where}: {o.message}"]
    ]
    progress = not quiet and len(files) >= PROGRESS_THRESHOLD and _stderr_is_terminal()
    held: list[str] = []  # status lines wait for the progress bar to finish
    written: set[str] = set()  # folders renamed into: synced once the run ends

    def deliver(outcome: Outcome) -> None:
        kept, text = delivery.take(outcome)
        if text is not None:
            (held.append if progress else echo)(text)
        if kept.wrote:
            written.add(os.path.dirname(kept.wrote))
        elif kept.written_to:  # -o FILE, --output-dir
            written.add(os.path.dirname(os.path.realpath(kept.written_to)))
        outcomes.append(kept)

    # several files written in place: SIGTERM and SIGHUP wait for the writes under way (and,
    # in a held run, remove the temp files) before the process dies of them
    in_place = len(files) > 1 and not (check or diff or mode.capture)
    stopping = _signals_stop() if in_place or run.token else contextlib.nullcontext()
    try:
        stream = run_all(run.jobs(), workers, stdin)
        bar = (
            click.progressbar(
                stream, length=len(files), label="Patching", file=sys.stderr, show_pos=True
            )
            if progress
            else contextlib.nullcontext(stream)
        )
        # (the stream is closed first, whatever stops the run: the writes under way finish
        # before anything is cleaned up or said)
        with stopping:
            if not run.checks:
                for line in preamble:
                    echo(line)
                with contextlib.closing(stream), bar as items:
                    for outcome in items:
                        deliver(outcome)
            else:  # every email reports first: nothing is said or written before the run is good
                with run.held() as results:
                    with contextlib.closing(stream), bar as items:
                        results.gather(items)
                    run.check(results.items)
                    for line in preamble:
                        echo(line)
                    for outcome in results:
                        deliver(outcome)
    except MissingOption as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        sync_folders(sorted(written))
    for text in held:
        echo(text)
    code = exit_code(outcomes)
    if as_json:
        mode_name = "diff" if diff else "check" if check else "patch"
        configs_read = [None] * len(unreadable) + list(file_configs)
        write_stdout(_json_report(mode_name, outcomes, configs_read, used, skipped, code))
    elif not quiet:
        summary = _summary(outcomes)
        echo(painted_summary(summary) if choice is not False else summary)
    # exit through click, so `cli()` run standalone gives the same status as main()
    click.get_current_context().exit(code)


# pre-commit sets PRE_COMMIT=1 for its hooks, and may split their files into several runs
HOOK_EVENT_ID = """\
--event-id cannot be used in a pre-commit hook: pre-commit may split the files into several
runs, and a run that sees one event's emails cannot tell that others are for another event.
Tie each readable id to its event's GUID in pyproject.toml instead:

    [tool.mailpatch.events]
    "GUID" = "READABLE_ID"

(the GUID is the one the QR block's {{#if}} tests; without the table, each email that needs
an id is refused with its GUID named)"""


class _Delivery(NamedTuple):
    """Where each file's result goes and what is said of it, for one run."""

    output: str | None
    output_dir: str | None
    base: Path  # the named paths' common folder, mirrored under --output-dir
    inputs: set[str]  # real paths of the files the run reads: never written over
    as_json: bool
    diff: bool
    colored: bool
    quiet: bool
    verbose: bool
    stdin_filename: str | None
    paint: bool = False  # status lines styled (click strips the styles where not wanted)

    def take(self, outcome: Outcome) -> tuple[Outcome, str | None]:
        """Deliver one file's result (stdout, -o, --output-dir); return the outcome as the run
        keeps it (no file contents: memory stays flat) and its status line, or None."""
        if self.colored and outcome.status in _CHANGED and outcome.output:
            outcome = replace(outcome, output=color_diff(outcome.output))
        outcome = _deliver(
            outcome, self.output, self.output_dir, self.base, self.as_json, self.inputs
        )
        if outcome.path == "-" and self.stdin_filename:
            outcome = replace(outcome, path=self.stdin_filename)
        text = _line(outcome, self.verbose)
        failed = outcome.status in (Status.REFUSED, Status.ERROR)
        shown = text if text and not self.as_json and (failed or not self.quiet) else None
        if shown and self.paint:
            shown = painted(shown, outcome)
        kept = replace(outcome, output=outcome.output if self.as_json and self.diff else b"")
        return kept, shown


def _check_combinations(
    paths: Sequence[str],
    output: str | None,
    output_dir: str | None,
    check: bool,
    diff: bool,
    as_json: bool,
) -> None:
    """The options that cannot go together: usage errors before anything is read."""
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("'-' (stdin) must be the only PATH")
    writes_elsewhere = sum(x is not None for x in (output, output_dir))
    if writes_elsewhere > 1:
        raise click.UsageError("-o/--output and --output-dir cannot be combined")
    if writes_elsewhere and (check or diff):
        raise click.UsageError("-o/--output-dir cannot be combined with --check or --diff")
    if as_json and ("-" in paths or output == "-"):
        raise click.UsageError("--format json cannot be combined with stdout output ('-')")


def _settings(
    file_configs: Sequence[Config], options_of: Callable[[Config], PatchOptions], mode: Mode
) -> list[tuple[PatchOptions, Mode]]:
    """Each file's settings: the command line over its configuration, built once for each
    configuration, so that a bad value is a usage error before any file is read."""
    built: dict[int, tuple[PatchOptions, Mode]] = {}
    for config in {id(c): c for c in file_configs}.values():
        built[id(config)] = (
            options_of(config),
            mode._replace(
                max_size=mode.max_size or config.max_size or DEFAULT_MAX_SIZE,
                events_table=config.events_table if config.source else None,
                settings_file=str(config.source) if config.source else None,
            ),
        )
    return [built[id(c)] for c in file_configs]


def _workers(jobs: int | None, file_configs: Sequence[Config], files: Sequence[str]) -> int:
    """-j, or the configuration's jobs, or the CPUs for a batch (enough files or bytes);
    never more than the CPUs or the files (more would only wait, and cost memory)."""
    cpus = os.cpu_count() or 1
    workers = jobs or next((c.jobs for c in file_configs if c.jobs), None)
    if not workers:
        batch = len(files) >= PARALLEL_THRESHOLD or (
            len(files) > 1 and _bytes_reach(files, PARALLEL_BYTES)
        )
        workers = cpus if batch else 1
    return max(1, min(workers, cpus, len(files)))


def _bytes_reach(files: Sequence[str], size: int) -> bool:
    """Whether ``files`` hold at least ``size`` bytes in all (stats until they do)."""
    total = 0
    for path in files:
        with contextlib.suppress(OSError):
            total += os.stat(path).st_size
        if total >= size:
            return True
    return False


def _json_report(
    mode: str,
    outcomes: Sequence[Outcome],
    configs: Sequence[Config | None],
    used: Sequence[Config],
    skipped: Sequence[str],
    code: int,
) -> bytes:
    """The --format json document (schema JSON_SCHEMA_VERSION)."""
    document = {
        "mailpatch": __version__,
        "schema": JSON_SCHEMA_VERSION,
        "mode": mode,
        "config": str(used[0].source) if len(used) == 1 and used[0].source else None,
        "files": [
            {**outcome_json(o, mode == "diff"), "config": str(c.source) if c and c.source else None}
            for o, c in zip(outcomes, configs, strict=True)
        ],
        "excluded": list(skipped),
        "summary": _json_summary(outcomes),
        "exit_code": code,
    }
    return json_document(document)


def _json_summary(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Files by status; a result found already in place counts as ``up_to_date`` only, as the
    text summary says it (nothing was written: not "patched")."""
    same = [o.up_to_date and o.status in _CHANGED for o in outcomes]
    counts = {
        s.name.lower(): sum(o.status is s and not up for o, up in zip(outcomes, same, strict=True))
        for s in Status
    }
    return {**counts, "up_to_date": sum(same)}


def _summary(outcomes: list[Outcome]) -> str:
    """The run's summary; a result that -o or --output-dir found already in place (a second
    run into the same folder) is counted as such, not as patched: nothing was written."""
    fresh = [o for o in outcomes if not (o.up_to_date and o.status in _CHANGED)]
    same = len(outcomes) - len(fresh)
    text = summarize(outcomes)
    if same:
        said = f"{same} file{'s' if same != 1 else ''} already up to date"
        text = f"{summarize(fresh)[:-1]}, {said}." if fresh else f"{said}."
    journeys = [o for o in outcomes if o.journeys]
    if journeys:  # as lint says it: the email is for the native button, not for mailpatch
        from mailpatch._journeys import NATIVE_BUTTON

        n = len(journeys)
        what = "looks like a real-time journeys email" if n == 1 else "look like real-time "
        what += "" if n == 1 else "journeys emails"
        text += (
            f"\n{n} file{'s' if n != 1 else ''} without an ERQRCode block {what} "
            f"({journeys[0].path}: {journeys[0].journeys}):\n  {NATIVE_BUTTON}"
        )
    return text


_GREEN: dict[str, Any] = {"fg": "green"}
_YELLOW: dict[str, Any] = {"fg": "yellow"}
_RED: dict[str, Any] = {"fg": "red", "bold": True}
_LEADS = {  # how a status line starts -> its colour
    "error": _RED,
    "warning": _YELLOW,
    "would patch": _YELLOW,
    "would update": _YELLOW,
    "wrote": _GREEN,
    "patched": _GREEN,
    "updated": _GREEN,
}
_COUNTED = re.compile(
    r"\d+ files? (?:(would be (?:patched|updated))|(refused|failed verification)|"
    r"(patched|updated))"
)


def painted(text: str, outcome: Outcome) -> str:
    """A status line in colour: its status word coloured, the file it names in bold."""
    out = []
    for line in text.split("\n"):
        for lead, style in _LEADS.items():
            if line.startswith((lead + " ", lead + ":")):
                line = click.style(lead, **style) + line[len(lead) :]
                break
        path = outcome.written_to or outcome.path
        at = line.find(" " + path) + 1 if path else 0
        if at:
            line = line[:at] + click.style(path, bold=True) + line[at + len(path) :]
        out.append(line)
    return "\n".join(out)


def painted_summary(text: str) -> str:
    """The summary's counts coloured as the status lines: would be -> yellow, refused and
    failed -> red, patched and updated -> green."""

    def paint(m: re.Match[str]) -> str:
        style = _YELLOW if m.group(1) else _RED if m.group(2) else _GREEN
        return click.style(m.group(0), **style)

    return _COUNTED.sub(paint, text)


_KIND_COLORS = {"file": b"\x1b[1m", "hunk": b"\x1b[36m", "add": b"\x1b[32m", "del": b"\x1b[31m"}
_MARK, _UNMARK = "\x1b[7m", "\x1b[27m"  # reverse video, as git's diff-highlight


def color_diff(diff: bytes) -> bytes:
    """A unified diff with ANSI colours: headers bold, hunks cyan, added green, removed red,
    and in a changed line the part that changed in reverse video (a readable id that changed
    inside a 600-character link)."""
    from mailpatch._highlight import changed_spans, line_kinds  # a diff on a terminal only

    lines = diff.splitlines(keepends=True)
    bodies = [line.rstrip(b"\r\n").decode("utf-8", "surrogateescape") for line in lines]
    kinds = line_kinds(bodies)
    out = []
    for line, body, kind, spans in zip(
        lines, bodies, kinds, changed_spans(bodies, kinds), strict=True
    ):
        code = _KIND_COLORS.get(kind)
        if code is None:
            out.append(line)
            continue
        for lo, hi in reversed(spans):
            body = body[:lo] + _MARK + body[lo:hi] + _UNMARK + body[hi:]
        ending = line[len(line.rstrip(b"\r\n")) :]
        out.append(code + body.encode("utf-8", "surrogateescape") + b"\x1b[0m" + ending)
    return b"".join(out)


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _outside_output_dir(
    output_dir: str, paths: Sequence[str], files: list[str], skipped: list[str]
) -> tuple[list[str], list[str]]:
    """The files to patch with ``--output-dir``: never one in the output folder (an earlier
    run's results, which would nest as out/out/… and be overwritten before being read); an
    output folder that is an input folder is a usage error."""
    out = Path(output_dir).resolve()
    for given in paths:
        if given != "-" and Path(given).is_dir() and Path(given).resolve() == out:
            raise click.UsageError(
                f"--output-dir {output_dir} is the input folder {given}: the results would "
                "overwrite the exports; choose a folder outside it"
            )
    inside = [f for f in files if f != "-" and Path(f).resolve().is_relative_to(out)]
    return [f for f in files if f not in inside], [*skipped, *inside]


def _deliver(
    outcome: Outcome,
    output: str | None,
    output_dir: str | None,
    base: Path,
    as_json: bool,
    inputs: set[str] | None = None,
) -> Outcome:
    """Put a captured result where it was asked for: stdout, -o FILE, or the mirror folder.

    A result that cannot be written, or that would land on another file this run reads,
    turns the outcome into a refusal naming the target.
    """
    if not outcome.output:
        return outcome
    failed = outcome.status in (Status.REFUSED, Status.ERROR)
    target: Path | None = None
    if output_dir is not None:
        if failed:
            return outcome  # a refused email is not copied: the mirror holds only good results
        target = mirror_path(output_dir, outcome.path, base)
        out = os.path.realpath(output_dir)
        if os.path.commonpath([out, os.path.realpath(target.parent)]) != out:
            return replace(  # a link already inside the folder leads elsewhere: not followed
                outcome,
                status=Status.REFUSED,
                buttons=0,
                message=f"the result would land outside --output-dir, at {target}, through a "
                "link in it; not written",
            )
    elif output is not None and output != "-":
        if failed:
            return outcome  # -o FILE: a result or nothing; '-' echoes the input (docs/reference.md)
        target = Path(output)
    if target is None:
        if not as_json:  # with --format json a diff travels inside the document
            write_stdout(outcome.output)
        return outcome
    real = os.path.realpath(target)
    if output_dir is not None and inputs and real in inputs:
        return replace(
            outcome,
            status=Status.REFUSED,
            buttons=0,
            message=f"the result would overwrite {target}, which this run reads; not written",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        written = write_if_changed(target, outcome.output)
        outcome = replace(outcome, written_to=str(target), up_to_date=not written)
    except (FileProblem, OSError) as exc:
        problem = str(exc) if isinstance(exc, FileProblem) else (exc.strerror or str(exc))
        return replace(
            outcome,
            status=Status.REFUSED,
            buttons=0,
            message=f"the result cannot be written to {target}: {problem}",
        )
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code (tests call ``main([...])``)."""
    stand_in_for_closed_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    undecodable = next((a for a in args if _has_surrogates(a) and not os.path.lexists(a)), None)
    if undecodable is not None:  # Python hands undecodable argv bytes over as surrogates
        click.echo(
            f"Error: the argument {undecodable!a} is not UTF-8 text (a file name that "
            "is not UTF-8 is fine if the file exists)",
            err=True,
        )
        return EXIT_USAGE
    try:
        result = cli.main(args=args, prog_name="mailpatch", standalone_mode=False)
        flush_stdout()
    except click.exceptions.Exit as exc:
        flush_stdout()
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 130
    except OutputLost as exc:
        return exc.report()
    except OSError as exc:
        if exc.filename is not None:
            raise
        # what click writes itself (--help, --version) to a full or closed stdout
        return OutputLost(exc).report()
    except SystemExit as exc:
        if exc.code == 1 and type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            # click's own answer to a broken pipe under its --help: exit 1, "would change"
            return OutputLost(BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))).report()
        raise
    return result if isinstance(result, int) else EXIT_OK


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)
