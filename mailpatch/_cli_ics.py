"""``mailpatch ics``: write the .ics the Events API would return for one registrant."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import click

from mailpatch._cli_options import pair_value
from mailpatch._files import FileProblem, write_if_changed
from mailpatch._link import (
    PLACEHOLDER,
    RESERVED_FIELD,
    DecodeError,
    is_calendar_url,
    is_reserved_field,
    read_calendar_link,
)
from mailpatch._output import write_stdout


def _link_data(url: str) -> dict[str, str]:
    """The ``data`` object of a calendar link as copied from HTML (``&amp;`` and all)."""
    url = html.unescape(url.strip())
    if not is_calendar_url(url):
        raise click.BadParameter(
            "not a calendar link (…/calendar/personal/ics?…)", param_hint="--link"
        )
    try:
        data = read_calendar_link(url).data
    except DecodeError as exc:
        raise click.BadParameter(
            f"{exc} (run 'mailpatch lint' on the email)", param_hint="--link"
        ) from None
    if data is None or not all(isinstance(v, str) for v in data.values()):
        raise click.BadParameter("the link has no data object of strings", param_hint="--link")
    if any(is_reserved_field(key) for key in data):
        raise click.BadParameter(
            f"the link passes {RESERVED_FIELD} in data, which the API refuses (lint: MP108)",
            param_hint="--link",
        )
    return dict(data)


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, rest = pair_value(value, "--data")
        if is_reserved_field(key):
            raise click.BadParameter(
                f"{RESERVED_FIELD} is not data: give it with --checkin-url", param_hint="--data"
            )
        out[key] = rest
    return out


def _dtstamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date-time", param_hint="--dtstamp"
        ) from None
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    try:
        return stamp.astimezone(UTC)
    except OverflowError:  # '9999-12-31T23:59-14:00' is past year 9999 in UTC
        raise click.BadParameter(
            f"{value!r} is out of range (as UTC)", param_hint="--dtstamp"
        ) from None


@click.command(
    "ics",
    epilog="""\b
event.toml (every key can also be given, or overridden, as an option):
  name = "Contoso Summit 2026"
  start = "2026-03-14T09:00"          # ISO 8601; local time in `timezone`
  end = "2026-03-14T17:30"
  timezone = "Europe/Lisbon"          # IANA
  location = "Centro de Congressos, Lisboa"
  organizer = "Contoso Events <events@contoso.com>"
  content = "calendar-content.html"   # relative to the toml
\b
Wildcards {{key}} in the content are filled from the link's data and --data (which wins),
{{msevtmgt_checkin_url}} from --checkin-url; a wildcard without a value is left as is, with
a warning. Exit codes: 0 written; 2 usage error (bad or missing event details).""",
)
@click.option(
    "--event-file", "event_file", metavar="FILE", help="event.toml with the event details."
)
# the old name, which 'patch --event GUID=ID' made confusing: still read, with a warning
@click.option("--event", "old_event_file", metavar="FILE", hidden=True)
@click.option("--name", help="Event name (SUMMARY).")
@click.option("--start", metavar="ISO", help="Start, e.g. 2026-03-14T09:00.")
@click.option("--end", metavar="ISO", help="End, e.g. 2026-03-14T17:30.")
@click.option("--timezone", metavar="IANA", help="Time zone, e.g. Europe/Lisbon.")
@click.option("--location", help="Location.")
@click.option("--organizer", metavar="EMAIL", help="Organizer, 'Name <email>' or email.")
@click.option("--content", metavar="FILE", help="The event's Calendar content HTML.")
@click.option(
    "--link", metavar="URL", help="Take the data from this calendar link (as in the HTML)."
)
@click.option(
    "--data", "data", multiple=True, metavar="KEY=VALUE", help="A data value. Repeatable."
)
@click.option("--checkin-url", metavar="URL", help="Fills {{msevtmgt_checkin_url}}.")
@click.option("--uid", help="UID (default: derived from the event and the registrationId).")
@click.option("--dtstamp", metavar="ISO", help="DTSTAMP (default: now), for reproducible output.")
@click.option(
    "-o", "--output", metavar="FILE", default="-", help="Write here ('-': stdout, the default)."
)
def ics_command(
    event_file: str | None,
    old_event_file: str | None,
    name: str | None,
    start: str | None,
    end: str | None,
    timezone: str | None,
    location: str | None,
    organizer: str | None,
    content: str | None,
    link: str | None,
    data: tuple[str, ...],
    checkin_url: str | None,
    uid: str | None,
    dtstamp: str | None,
    output: str,
) -> None:
    """Write the .ics the Events API would return for one registrant (a preview, offline)."""
    if old_event_file is not None:
        if event_file is not None:
            raise click.UsageError("give the event file once, with --event-file")
        click.echo("warning: 'ics --event FILE' is now 'ics --event-file FILE'", err=True)
        event_file = old_event_file
    # imported here, not at the top: 'patch' and 'lint' start faster without them
    from mailpatch._ics import EventError, build_ics, load_event

    given = {
        "name": name,
        "start": start,
        "end": end,
        "timezone": timezone,
        "location": location,
        "organizer": organizer,
        "content": content,
    }
    try:
        event = load_event(Path(event_file) if event_file else None, given)
    except EventError as exc:
        raise click.UsageError(str(exc)) from None
    values = {**(_link_data(link) if link else {}), **_pairs(data)}
    try:
        ics, missing = build_ics(
            event, values, checkin_url=checkin_url, uid=uid, dtstamp=_dtstamp(dtstamp)
        )
    except (OverflowError, ValueError) as exc:  # year 9999: its time zone rules end there
        raise click.UsageError(f"the event's dates cannot be written: {exc}") from None
    for key, value in values.items():
        if PLACEHOLDER.search(value):
            click.echo(
                f"warning: {key} is {value!r}, which the platform fills at send time; "
                f"give --data {key}=…",
                err=True,
            )
    for key in missing:
        hint = "--checkin-url URL" if key == RESERVED_FIELD else f"--data {key}=…"
        click.echo(f"warning: {{{{{key}}}}} has no value and is left as is; give {hint}", err=True)
    if output == "-":
        write_stdout(ics)
    else:
        try:
            write_if_changed(Path(output), ics)
        except FileProblem as exc:
            raise click.FileError(output, hint=str(exc)) from None
        click.echo(f"wrote {output}", err=True)
    click.get_current_context().exit(0)  # as patch and lint: through click
