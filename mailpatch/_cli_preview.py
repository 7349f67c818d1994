"""``mailpatch preview``: one self-contained HTML page showing what each registrant would get."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from mailpatch._cli import _plan, patch_command
from mailpatch._cli_lint import _content
from mailpatch._cli_options import options_over
from mailpatch._cli_select import Configs, check_named_paths_exist
from mailpatch._errors import MissingOption
from mailpatch._files import DEFAULT_MAX_SIZE, FileProblem, decode, read_bytes, write_if_changed
from mailpatch._output import EXIT_OK, EXIT_REFUSED, write_stdout
from mailpatch._run import Mode, Outcome, Status, process
from mailpatch._status import status_line

# the settings as `patch` declares them: the same names, help and checks in both commands
_SETTINGS = (
    "endpoint",
    "event_id",
    "session_id",
    "events",
    "fields",
    "drop_fields",
    "api_version",
    "buttons",
    "keep_qr",
    "force",
    "config_path",
)


def patch_settings(command: click.Command) -> click.Command:
    """Give ``command`` patch's settings options (the click objects themselves), after its own:
    applied above ``@click.command``, to the command's public ``params``."""
    taken = {p.name: p for p in patch_command.params if p.name in _SETTINGS}
    missing = set(_SETTINGS) - set(taken)
    assert not missing, f"patch has no {missing}"  # a renamed option must not vanish quietly
    command.params.extend(taken[name] for name in _SETTINGS)
    return command


@patch_settings
@click.command(
    "preview",
    epilog="""\b
The page shows, for sample contacts (no registration; registered for each of the email's
events; registered for two) and those of --contacts: the original and the patched email as
Dynamics would fill them, each calendar link decoded (endpoint, readable event id, session,
every data field with its placeholder and the value it got) with what lint finds in it,
the .ics it would return (with --event-file), and the diff. It loads nothing from the network.
\b
contacts.toml:
  [[contacts]]
  label = "Zoë, registered"
  fields = { firstname = "Zoë", lastname = "Ng" }
  registrations = ["GUID", { event = "GUID", msevtmgt_name = "REG-0042" }]
\b
Exit codes: 0 page written; 2 usage error; 123 the email was refused or unreadable
            (the same message as 'mailpatch patch').""",
)
@click.argument("email", metavar="EMAIL")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    default="-",
    help="Write the page here ('-': stdout, the default; to a terminal, a new file in the "
    "temporary folder instead, named on stderr).",
)
@click.option(
    "--open",
    "open_page",
    is_flag=True,
    help="Open the page in the web browser (written to -o FILE, or to a new temporary file).",
)
@click.option(
    "--contacts",
    "contacts_file",
    metavar="FILE",
    help="More sample contacts: a TOML or JSON (.json) file, as below.",
)
@click.option(
    "--event-file",
    metavar="FILE",
    help="event.toml (as for 'mailpatch ics'): show the .ics each link would return.",
)
@click.option(
    "--calendar-content",
    metavar="FILE",
    help="The event's Calendar content HTML: warn about data keys it does not use and "
    "wildcards no link supplies (default: the event file's content).",
)
def preview_command(
    email: str,
    output: str,
    open_page: bool,
    contacts_file: str | None,
    event_file: str | None,
    calendar_content: str | None,
    config_path: str | None,
    **settings: Any,  # patch's settings options, merged as patch merges them
) -> None:
    """Write one HTML page showing what each registrant gets from EMAIL, before and after
    the patch (EMAIL may be '-' for stdin)."""
    # imported here: 'patch' starts faster without the renderer and jinja2
    from mailpatch._ics import EventError, load_event
    from mailpatch.page._preview import ContactsError, load_contacts, preview_page

    check_named_paths_exist([email], "'EMAIL'")  # a typo is a usage error, as for patch
    if output != "-" and email != "-" and _same_file(output, email):
        raise click.BadParameter("is the email itself: the page would replace it", param_hint="-o")
    config = Configs(config_path).of(email)
    options = options_over(config, **settings)  # as patch merges them
    try:
        contacts = load_contacts(Path(contacts_file)) if contacts_file else []
    except ContactsError as exc:
        raise click.BadParameter(str(exc), param_hint="--contacts") from None
    try:
        event = load_event(Path(event_file), {}) if event_file else None
    except EventError as exc:
        raise click.BadParameter(str(exc), param_hint="--event-file") from None
    content = _content(calendar_content) or _content(
        config.calendar_content, f"{config.source}: calendar-content"
    )
    max_size = config.max_size or DEFAULT_MAX_SIZE
    try:
        data = (
            sys.stdin.buffer.read(max_size + 1)
            if email == "-"
            else read_bytes(Path(email), max_size)
        )
    except FileProblem as exc:
        _refused(Outcome(email, Status.REFUSED, str(exc)))
    mode = Mode(
        capture=True,  # patch's own run on the email (its refusals), the result kept, not written
        max_size=max_size,
        events_table=config.events_table if config.source else None,
        settings_file=str(config.source) if config.source else None,
    )
    # patch's checks before a run (an endpoint is needed; --event-id tied to the one GUID)
    ((_, options, mode),) = _plan([email], [(options, mode)], data if email == "-" else None)
    try:
        outcome = process(email, options, mode, data)
    except MissingOption as exc:
        raise click.UsageError(str(exc)) from None
    if outcome.status in (Status.REFUSED, Status.ERROR):
        _refused(outcome)
    name = "stdin" if email == "-" else Path(email).name
    page = preview_page(
        decode(data).text,
        options,
        name=name,
        contacts=contacts,
        event=event,
        calendar_content=content,
        patched=decode(outcome.output).text,  # patched and verified by that run
    )
    # 85 KB of HTML is no use on a screen: to a terminal (or to be opened), it goes to a file
    to_terminal = output == "-" and _stdout_is_terminal()
    if output == "-" and not (to_terminal or open_page):
        write_stdout(page)
        click.get_current_context().exit(EXIT_OK)
    if output == "-":
        target = _scratch_file(name, page.encode("utf-8"))
    else:
        target = Path(output)
        try:
            write_if_changed(target, page.encode("utf-8"))
        except FileProblem as exc:
            raise click.FileError(output, hint=str(exc)) from None
    click.echo(f"wrote {target}", err=True)
    if open_page:
        from mailpatch._cli_serve import open_in_browser

        if not open_in_browser(target.resolve().as_uri()):
            click.echo(f"no web browser could be opened; open {target} in one", err=True)
    elif to_terminal:
        click.echo(
            "(the page is HTML, so it went to that file rather than onto the terminal: open it "
            "in a web browser, or give --open, -o FILE, or a pipe)",
            err=True,
        )
    click.get_current_context().exit(EXIT_OK)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _scratch_file(name: str, data: bytes) -> Path:
    """A new file, readable by its owner only, in the temporary folder, holding ``data``."""
    import tempfile

    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).stem)[:40] or "email"
    handle, path = tempfile.mkstemp(prefix=f"mailpatch-preview-{stem}-", suffix=".html")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return Path(path)


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (a symlink, a hard link or another spelling)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # the output does not exist yet
        return False


def _refused(outcome: Outcome) -> None:
    click.echo(status_line(outcome, verbose=False), err=True)
    click.get_current_context().exit(EXIT_REFUSED)
