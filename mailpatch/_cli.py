"""The ``mailpatch`` command line: a thin click layer over the core, the runner and the files."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from mailpatch import __version__
from mailpatch._errors import MissingOption
from mailpatch._files import FileProblem, write_if_changed
from mailpatch._options import build_options
from mailpatch._run import Mode, Outcome, Status, process, summarize

EXIT_OK, EXIT_CHANGES, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 123


def _stdout(data: bytes) -> None:
    if data:
        stream = click.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()


def _report(outcome: Outcome) -> None:
    made = f" ({outcome.buttons} calendar button{'s' if outcome.buttons != 1 else ''})"
    if outcome.status in (Status.REFUSED, Status.ERROR):
        click.echo(f"error: cannot patch {outcome.where}: {outcome.message}", err=True)
    elif outcome.status is Status.PATCHED:
        click.echo(f"patched {outcome.path}{made}", err=True)
    elif outcome.status is Status.WOULD_PATCH:
        click.echo(f"would patch {outcome.path}{made}", err=True)


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


# Commands that live in their own modules, so each can change without touching this file.
from mailpatch._cli_ics import ics_command  # noqa: E402
from mailpatch._cli_lint import lint_command  # noqa: E402

cli.add_command(lint_command)
cli.add_command(ics_command)


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
    to_stdout = paths == ("-",) or output is not None
    mode = Mode(check=check, diff=diff, to_stdout=to_stdout)
    outcomes: list[Outcome] = []
    for path in paths:
        data = click.get_binary_stream("stdin").read() if path == "-" else None
        try:
            outcome = process(path, options, mode, data)
        except MissingOption as exc:
            raise click.UsageError(str(exc)) from None
        failed = outcome.status in (Status.REFUSED, Status.ERROR)
        if output is None or output == "-":
            _stdout(outcome.stdout)
        elif not failed:  # -o FILE gets a result or nothing; '-' echoes the input (SPEC §4)
            try:
                write_if_changed(Path(output), outcome.stdout)
            except FileProblem as exc:
                raise click.FileError(output, hint=str(exc)) from None
        _report(outcome)
        outcomes.append(outcome)
    click.echo(summarize(outcomes), err=True)
    if any(o.status in (Status.REFUSED, Status.ERROR) for o in outcomes):
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
