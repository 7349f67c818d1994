"""Options as users type them, turned into PatchOptions.

A value that cannot be used raises OptionsProblem, this layer's own type: the command line turns
it into click's usage errors (``_cli_options``), the local page into a message beside the form.
Nothing here imports click (``tests/test_layers.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from mailpatch._config import Config, ConfigEvent, guid_as_id_problem
from mailpatch._handlebars import GUID, normal_guid
from mailpatch._link import CalendarLink, LinkError, build_fields, normalize_endpoint
from mailpatch._patch import EventRef, PatchOptions


class OptionsProblem(Exception):
    """A setting as typed that cannot be used: ``option`` names the one at fault (as the
    command line spells it), or is None when the fault is a combination of settings."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.option = option


def _event_ref(value: str, option: str) -> EventRef:
    """ID or ID@SESSION as typed on the command line (an id holding '@' goes in the events
    table of the configuration, where values are taken literally)."""
    readable, at, session = value.partition("@")
    if not readable.strip() or (at and not session.strip()):
        raise OptionsProblem(f"{value!r}: expected ID or ID@SESSION", option)
    problem = guid_as_id_problem(readable)
    if problem:
        raise OptionsProblem(problem, option)
    return EventRef(readable.strip(), session.strip() if at else None)


def pair_value(value: str, option: str, what: str = "KEY=VALUE") -> tuple[str, str]:
    """KEY=VALUE as typed on the command line: (KEY stripped, VALUE as it is)."""
    key, eq, rest = value.partition("=")
    if not eq or not key.strip():
        raise OptionsProblem(f"{value!r}: expected {what}", option)
    return key.strip(), rest


def _button_choice(value: str) -> tuple[int, int | None]:
    line, _, col = value.partition(":")
    try:
        return int(line), (int(col) if col else None)
    except ValueError:
        msg = f"{value!r}: expected LINE or LINE:COL"
        raise OptionsProblem(msg, "--button") from None


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
    config_events: Sequence[ConfigEvent] = (),
    config_fields: Sequence[tuple[str, str]] = (),
) -> PatchOptions:
    """PatchOptions from option strings as a user types them, over the configuration's
    (already checked) events and fields; OptionsProblem if invalid."""
    try:
        host = normalize_endpoint(endpoint) if endpoint is not None else None
    except LinkError as exc:
        raise OptionsProblem(str(exc), "--endpoint") from None
    mapping: dict[str, EventRef] = {
        e.guid: EventRef(e.readable_id, e.session_id) for e in config_events
    }
    if event_id is not None and events:
        raise OptionsProblem(
            "--event-id and --event cannot be combined: with several events, map each one "
            "with --event GUID=ID"
        )
    for value in events:
        guid, typed = pair_value(value, "--event", "GUID=ID or GUID=ID@SESSION")
        if not GUID.match(guid):
            raise OptionsProblem(f"{guid!r} is not a GUID", "--event")
        mapping[normal_guid(guid)] = _event_ref(typed, "--event")
    single = None
    if event_id is not None:
        single = _event_ref(event_id, "--event-id")
        if session_id is not None:
            single = EventRef(single.readable_id, session_id)
    elif session_id is not None:
        raise OptionsProblem("needs --event-id", "--session-id")
    try:
        field_list = build_fields(
            [*config_fields, *(pair_value(v, "--field", "KEY=VALUE") for v in fields)],
            drop_fields,
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
            for ref in [*mapping.values(), *([single] if single else [])]:
                CalendarLink(host, ref.readable_id, field_list, ref.session_id, options.api_version)
    except LinkError as exc:
        raise OptionsProblem(str(exc)) from None
    return options


def options_over(
    config: Config,
    *,
    endpoint: str | None,
    event_id: str | None,
    session_id: str | None,
    events: Sequence[str],
    fields: Sequence[str],
    drop_fields: Sequence[str],
    keep_qr: bool | None,
    buttons: Sequence[str],
    force: bool,
    api_version: str | None,
) -> PatchOptions:
    """The command line's settings over one configuration's, as every command merges them:
    a value given wins, lists add up, the events table and fields come from the file."""
    return build_options(
        endpoint=endpoint if endpoint is not None else config.endpoint,
        event_id=event_id,
        session_id=session_id,
        events=events,
        fields=fields,
        drop_fields=list(dict.fromkeys([*config.drop_fields, *drop_fields])),
        keep_qr=bool(config.keep_qr if keep_qr is None else keep_qr),
        buttons=buttons,
        force=force,
        api_version=api_version or config.api_version,
        config_events=config.events,
        config_fields=config.fields,
    )
