"""The ``mailpatch`` command line: a thin layer over the core and the file layer."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import click

from mailpatch import __version__
from mailpatch._blocks import GUID
from mailpatch._errors import MissingOption, Refusal
from mailpatch._files import FileProblem, decode, read_bytes, write_atomic, write_if_changed
from mailpatch._html import LineIndex
from mailpatch._link import LinkError, build_fields, normalize_endpoint
from mailpatch._patch import EventRef, PatchOptions, normal_guid, patch

EXIT_OK, EXIT_CHANGES, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 123


class Status(Enum):
    PATCHED = "patched"
    WOULD_PATCH = "would patch"
    UNCHANGED = "unchanged"  # has ERQRCode blocks, already patched
    NOT_APPLICABLE = "not applicable"  # no ERQRCode block
    REFUSED = "refused"


@dataclass(frozen=True)
class Outcome:
    path: str
    status: Status
    message: str = ""
    position: str = ""  # line:col of the cause, for refusals


@dataclass(frozen=True)
class Mode:
    check: bool = False
    diff: bool = False
    output: str | None = None


def _event_ref(value: str, option: str) -> EventRef:
    readable, at, session = value.partition("@")
    if not readable.strip() or (at and not session.strip()):
        raise click.BadParameter(f"{value!r}: expected ID or ID@SESSION", param_hint=option)
    return EventRef(readable.strip(), session.strip() if at else None)


def _pair_value(value: str, option: str, what: str) -> tuple[str, str]:
    key, eq, rest = value.partition("=")
    if not eq or not key.strip():
        raise click.BadParameter(f"{value!r}: expected {what}", param_hint=option)
    return key.strip(), rest


def _button_choice(value: str) -> tuple[int, int | None]:
    line, _, col = value.partition(":")
    try:
        return int(line), (int(col) if col else None)
    except ValueError:
        msg = f"{value!r}: expected LINE or LINE:COL"
        raise click.BadParameter(msg, param_hint="--button") from None


def build_options(
    *,
    endpoint: str | None = None,
    event_id: str | None = None,
    session_id: str | None = None,
    events: Sequence[str] = (),
    fields: Sequence[str] = (),
    drop_fields: Sequence[str] = (),
    keep_qr: bool = False,
    buttons: Sequence[str] = (),
    force: bool = False,
    api_version: str | None = None,
) -> PatchOptions:
    """PatchOptions from option strings as a user types them; click.BadParameter if invalid."""
    try:
        host = normalize_endpoint(endpoint) if endpoint is not None else None
    except LinkError as exc:
        raise click.BadParameter(str(exc), param_hint="--endpoint") from None
    mapping: dict[str, EventRef] = {}
    for value in events:
        guid, ref = _pair_value(value, "--event", "GUID=ID or GUID=ID@SESSION")
        if not GUID.match(guid):
            raise click.BadParameter(f"{guid!r} is not a GUID", param_hint="--event")
        mapping[normal_guid(guid)] = _event_ref(ref, "--event")
    single = None
    if event_id is not None:
        single = _event_ref(event_id, "--event-id")
        if session_id is not None:
            single = EventRef(single.readable_id, session_id)
    elif session_id is not None:
        raise click.BadParameter("needs --event-id", param_hint="--session-id")
    try:
        field_list = build_fields(
            [_pair_value(v, "--field", "KEY=VALUE") for v in fields], drop_fields
        )
        options = PatchOptions(
            endpoint=host,
            event=single,
            events=mapping,
            fields=field_list,
            keep_qr=keep_qr,
            buttons=tuple(_button_choice(b) for b in buttons),
            force=force,
            **({"api_version": api_version} if api_version else {}),
        )
        if host is not None:  # build one link now so a bad value is a usage error, not per file
            from mailpatch._link import CalendarLink

            for ref in [*mapping.values(), *([single] if single else [])]:
                CalendarLink(host, ref.readable_id, field_list, ref.session_id, options.api_version)
    except LinkError as exc:
        raise click.UsageError(str(exc)) from None
    return options


def _diff(name: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def process(path: str, options: PatchOptions, mode: Mode) -> Outcome:
    """Patch one file (or stdin for '-') and report what happened; never raises for bad input."""
    stdin = path == "-"
    data = b""
    try:
        data = click.get_binary_stream("stdin").read() if stdin else read_bytes(Path(path))
        email = decode(data)
    except FileProblem as exc:
        if stdin:
            _stdout_bytes(data)
        return Outcome(path, Status.REFUSED, str(exc))
    try:
        result = patch(email.text, options)
    except Refusal as exc:
        if stdin or mode.output:
            _emit(path, mode, data, stdin)
        return Outcome(path, Status.REFUSED, exc.reason, LineIndex(email.text).label(exc.offset))
    except MissingOption as exc:
        raise click.UsageError(f"{path}: {exc}") from None
    name = "stdin" if stdin else path
    if not result.changed:
        if stdin or mode.output:
            _emit(path, mode, data, stdin)
        applies = result.qr_blocks or result.patched_buttons
        return Outcome(path, Status.UNCHANGED if applies else Status.NOT_APPLICABLE)
    new = email.encode(result.text)
    count = len(result.pairings)
    summary = f"{count} calendar button{'s' if count != 1 else ''}"
    if mode.diff:
        _stdout_bytes(_diff(name, email.text, result.text).encode("utf-8"))
        return Outcome(path, Status.WOULD_PATCH, summary)
    if mode.check:
        if stdin:
            _stdout_bytes(data)
        return Outcome(path, Status.WOULD_PATCH, summary)
    if stdin or mode.output:
        _emit(path, mode, new, stdin)
        return Outcome(path, Status.PATCHED, summary)
    try:
        write_atomic(Path(path), new)
    except FileProblem as exc:
        return Outcome(path, Status.REFUSED, str(exc))
    return Outcome(path, Status.PATCHED, summary)


def _emit(path: str, mode: Mode, data: bytes, stdin: bool) -> None:
    if mode.output and mode.output != "-":
        try:
            write_if_changed(Path(mode.output), data)
        except FileProblem as exc:
            raise click.FileError(mode.output, hint=str(exc)) from None
    elif stdin or mode.output == "-":
        _stdout_bytes(data)


def _stdout_bytes(data: bytes) -> None:
    stream = click.get_binary_stream("stdout")
    stream.write(data)
    stream.flush()


def _report(outcome: Outcome, mode: Mode) -> None:
    where = outcome.path + (f":{outcome.position}" if outcome.position else "")
    if outcome.status is Status.REFUSED:
        click.echo(f"error: cannot patch {where}: {outcome.message}", err=True)
    elif outcome.status is Status.PATCHED:
        click.echo(f"patched {outcome.path} ({outcome.message})", err=True)
    elif outcome.status is Status.WOULD_PATCH:
        click.echo(f"would patch {outcome.path} ({outcome.message})", err=True)


def summarize(outcomes: Sequence[Outcome]) -> str:
    order = [
        Status.PATCHED,
        Status.WOULD_PATCH,
        Status.REFUSED,
        Status.UNCHANGED,
        Status.NOT_APPLICABLE,
    ]
    parts = []
    for status in order:
        n = sum(1 for o in outcomes if o.status is status)
        if n:
            noun = "file" if n == 1 else "files"
            parts.append(f"{n} {noun} {status.value}")
    return ", ".join(parts) + "." if parts else "No files."


HELP = """Patch exported Dynamics 365 Marketing registration emails so that the "Add to calendar"
button downloads a personalised .ics from the Events API.

\b
Example:
  mailpatch patch --endpoint contoso.svc.dynamics.com --event-id contoso-summit-2026 email.html
  mailpatch patch --diff --endpoint contoso.svc.dynamics.com --event-id ev-1 email.html
"""


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailpatch")
def cli() -> None:
    pass


@cli.command(
    "patch",
    epilog="""\b
Exit codes: 0 done or nothing to do; 1 --check/--diff found files that would change;
            2 usage or configuration error; 123 a file was refused (others still processed).
\b
What it does, per ERQRCode block: moves its {{#each}}/{{#if (eq this.msevtmgt_eventid …)}}
loop into the Button block, around the button's own content; points every link in that
button (the <a> and Outlook's VML href) at the calendar API; removes the QR block.
Every byte outside those two blocks stays as it was.""",
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
    help="Readable event id (not the GUID), when every QR block is for one event.",
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
@click.option("--keep-qr", is_flag=True, help="Keep the original QR block.")
@click.option("--force", is_flag=True, help="Patch protected or locked blocks too.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would change.")
@click.option("--diff", is_flag=True, help="Write nothing; print a unified diff on stdout.")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write the result to FILE ('-' for stdout) instead of in place; one input.",
)
def patch_command(
    paths: tuple[str, ...],
    endpoint: str | None,
    event_id: str | None,
    session_id: str | None,
    events: tuple[str, ...],
    fields: tuple[str, ...],
    drop_fields: tuple[str, ...],
    api_version: str | None,
    buttons: tuple[str, ...],
    keep_qr: bool,
    force: bool,
    check: bool,
    diff: bool,
    output: str | None,
) -> int:
    """Patch emails in place (PATH may be '-' for stdin → stdout)."""
    if output is not None and len(paths) != 1:
        raise click.UsageError("-o/--output takes exactly one input PATH")
    if output is not None and (check or diff):
        raise click.UsageError("-o/--output cannot be combined with --check or --diff")
    if paths.count("-") > 1 or ("-" in paths and len(paths) > 1):
        raise click.UsageError("'-' (stdin) must be the only PATH")
    for path in paths:
        if path != "-" and Path(path).is_dir():
            raise click.UsageError(f"{path} is a folder; pass the email files")
    options = build_options(
        endpoint=endpoint,
        event_id=event_id,
        session_id=session_id,
        events=events,
        fields=fields,
        drop_fields=drop_fields,
        keep_qr=keep_qr,
        buttons=buttons,
        force=force,
        api_version=api_version,
    )
    mode = Mode(check=check, diff=diff, output=output)
    outcomes = []
    for path in paths:
        outcome = process(path, options, mode)
        _report(outcome, mode)
        outcomes.append(outcome)
    click.echo(summarize(outcomes), err=True)
    if any(o.status is Status.REFUSED for o in outcomes):
        return EXIT_REFUSED
    if any(o.status is Status.WOULD_PATCH for o in outcomes):
        return EXIT_CHANGES
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code (tests call ``main([...])``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="mailpatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 130
    return result if isinstance(result, int) else EXIT_OK
