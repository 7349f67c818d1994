"""What the page of ``mailpatch serve`` says, in the words of a person who never opens a
terminal: the email's events and buttons as the page lists them, a refusal as a choice to make,
the outcome, what changed, and what to do next.

Pure functions of the email's text and of the core's structured results (``Refusal.cause`` and
``Refusal.buttons``, ``Outcome``, ``compare_links``), never of a message's wording: the core's
own message is shown beside them, for whoever wants it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from mailpatch._blocks import first_holders
from mailpatch._errors import Cause, Refusal
from mailpatch._html import LineIndex
from mailpatch._link import (
    DecodeError,
    LinkChange,
    LinkError,
    normalize_endpoint,
    read_calendar_link,
)
from mailpatch._patch import ButtonSummary, buttons_in, events_in
from mailpatch._run import Outcome, Status

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def number(n: int) -> str:
    """'two', as a sentence says a small count; digits from ten on."""
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else f"{n:,}"


def and_list(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def quoted(label: str) -> str:
    return f"'{label}'" if label else "(a button with no text)"


# ---------------------------------------------------------------- the email as the page lists it


@dataclass(frozen=True)
class ButtonRef:
    """A Button block as a designer finds it: its text and the line it starts on."""

    label: str
    line: int
    column: int
    links_elsewhere: bool = False  # it links to a real page (the link would be replaced)

    @property
    def value(self) -> str:
        """The choice as the command line's --button takes it."""
        return f"{self.line}:{self.column}"

    @property
    def named(self) -> str:
        return f"{quoted(self.label)} (line {self.line})"


@dataclass(frozen=True)
class EventRow:
    """One event of the email: its GUID, where it is, and the readable id it needs."""

    number: int  # 1, 2, …: "event 1" on the page
    guid: str
    where: str  # "QR code at line 40", "calendar button 'Add to calendar' at line 64"
    needed: bool  # a QR block waits for its readable id
    linked_id: str = ""  # the readable id its calendar links carry ('' none, or not one)
    linked_session: str = ""


@dataclass(frozen=True)
class Inspection:
    """What the page shows of an email as soon as it is chosen."""

    rows: tuple[EventRow, ...]
    buttons: tuple[ButtonRef, ...]
    endpoint: str  # the one Events API host the email's calendar links use, or ''

    def row(self, guid: str) -> EventRow | None:
        return self._by_guid.get(guid)

    @cached_property
    def _by_guid(self) -> dict[str, EventRow]:
        return {r.guid: r for r in self.rows}

    def as_json(self) -> dict[str, object]:
        return {
            "events": [
                {
                    "number": r.number,
                    "guid": r.guid,
                    "where": r.where,
                    "needed": r.needed,
                    "readable_id": r.linked_id,
                    "session": r.linked_session,
                }
                for r in self.rows
            ],
            "endpoint": self.endpoint,
            "buttons": [
                {
                    "label": b.label,
                    "line": b.line,
                    "column": b.column,
                    "links_elsewhere": b.links_elsewhere,
                }
                for b in self.buttons
            ],
        }


def button_ref(lines: LineIndex, offset: int, label: str, elsewhere: bool = False) -> ButtonRef:
    line, column = lines.position(offset)
    return ButtonRef(label, line, column, elsewhere)


def _endpoint_as_typed(host: str) -> bool:
    """Whether ``host`` is an endpoint the form takes as it is."""
    try:
        return normalize_endpoint(host) == host
    except LinkError:
        return False


def _linked(urls: Sequence[str]) -> set[tuple[str, str, str]]:
    """(host, readable id, session) of each calendar link that the API can read."""
    out = set()
    for url in urls:
        try:
            entry = read_calendar_link(url)
        except DecodeError:
            continue
        out.add((entry.host, entry.readable_event_id, entry.session_id or ""))
    return out


_LISTED_CARRIERS = 10  # Buttons named for one event; the rest are counted


def _carriers(summaries: Sequence[ButtonSummary]) -> dict[str, list[ButtonSummary]]:
    """The Buttons that carry each event, in document order, the events in the order their
    first carriers come (and a Button's own in GUID order). A Button carries one event, as
    mailpatch writes it; one whose loop tests several (hand-made, or left open before others:
    it holds the tests of all after it) is listed for each of them only where it is the
    first such Button, so that the lists stay as long as the email (Buttons left open, each
    testing its own event, listed every Button for every event after it: 2,000, 245 MB)."""
    carried: dict[str, list[ButtonSummary]] = {}
    for summary in summaries:
        if summary.guids.single:
            carried.setdefault(summary.guids.least(), []).append(summary)
    first = first_holders((s.guids, s) for s in summaries if s.guids and not s.guids.single)
    for guid, summary in first.items():
        carried.setdefault(guid, []).append(summary)
    order = {id(s): n for n, s in enumerate(summaries)}
    for carriers in carried.values():
        carriers.sort(key=lambda s: order[id(s)])
    return dict(sorted(carried.items(), key=lambda item: (order[id(item[1][0])], item[0])))


def inspect_email(text: str) -> Inspection:
    """The email's events (each QR block's GUID, then the GUIDs already patched Buttons
    carry), its Button blocks, and the endpoint and readable ids its calendar links already
    carry (an id only for its own GUID, and only when its links agree on one)."""
    events = events_in(text)
    lines = LineIndex(text)
    summaries = buttons_in(text)
    qr_lines: dict[str, list[int]] = {}
    for guid, at in events.qr:
        qr_lines.setdefault(guid, []).append(lines.position(at)[0])
    carried = _carriers(summaries)
    needed = {g for g, _ in events.to_patch}
    rows = []
    order = dict.fromkeys([*qr_lines, *carried, *sorted(events.patched)])
    for n, guid in enumerate(order, 1):
        where = []
        if guid in qr_lines:
            found = qr_lines[guid]
            where.append(
                f"QR code at line {found[0]}"
                if len(found) == 1
                else f"QR codes at lines {and_list([str(x) for x in found])}"
            )
        carriers = carried.get(guid, [])
        for summary in carriers[:_LISTED_CARRIERS]:
            where.append(
                f"calendar button {quoted(summary.label)} at line "
                f"{lines.position(summary.offset)[0]}"
            )
        if len(carriers) > _LISTED_CARRIERS:
            where.append(f"{len(carriers) - _LISTED_CARRIERS:,} more calendar buttons")
        own = [u for s in carriers if s.guids.single for u in s.calendar]
        ids = {(readable, session) for _, readable, session in _linked(own)}
        readable, session = next(iter(ids)) if len(ids) == 1 else ("", "")
        rows.append(
            EventRow(n, guid, ", ".join(where) or "in the email", guid in needed, readable, session)
        )
    # only a host the form would take back: a link to 127.0.0.1 or https://https://… is no
    # endpoint to offer (submitted, it was refused)
    hosts = {
        host
        for host, _, _ in _linked([u for s in summaries for u in s.calendar])
        if _endpoint_as_typed(host)
    }
    return Inspection(
        tuple(rows),
        tuple(button_ref(lines, s.offset, s.label, s.links_elsewhere) for s in summaries),
        next(iter(hosts)) if len(hosts) == 1 else "",
    )


# ---------------------------------------------------------------- a refusal, as a choice


@dataclass(frozen=True)
class ChoiceGroup:
    """One radio group: the Button that one event's calendar link goes to."""

    name: str  # the form field: button-GUID
    legend: str
    options: tuple[ButtonRef, ...]
    chosen: str = ""  # LINE:COL chosen before


@dataclass(frozen=True)
class Plain:
    """An outcome in plain words: a title, what happened, what to do; for a refusal, the
    choice that settles it and the core's own reason and place."""

    title: str
    text: str
    tone: str  # 'ok', 'notice' (nothing to do, or something to choose), 'error'
    advice: str = ""
    groups: tuple[ChoiceGroup, ...] = ()
    force: bool = False  # "convert, changing the protected block" would settle it
    where: str = ""  # "line 40, column 5"
    reason: str = ""  # the core's own words
    warnings: tuple[str, ...] = ()  # what the person should still do by hand
    native_button: bool = False  # point at real-time journeys' own Add to Calendar button


MAX_CHOICES = 2_000  # radio buttons on one page (events to pair x Buttons to choose from)
_EXPORT_AGAIN = (
    "in the designer, add a Button block whose link is '#', save, export the email again and "
    "convert that"
)


def plain_refusal(
    refusal: Refusal | None,
    message: str,
    text: str,
    inspection: Inspection,
    chosen: Mapping[str, str],
    names: Mapping[str, str],
) -> Plain:
    """A refusal in a designer's words, with the choice that settles it (``refusal`` is
    None when the patch itself passed and its check refused: ``message`` says why).
    ``chosen``: the button chosen before for each GUID; ``names``: each GUID's readable id."""
    if refusal is None:
        return Plain(
            "Not converted",
            "mailpatch checks every conversion before handing it over, and this one could not "
            "be checked, so it changed nothing.",
            "error",
            advice="Please report this with the email, so that mailpatch can learn it.",
            reason=message,
        )
    lines = LineIndex(text)
    line, column = lines.position(refusal.offset)
    where = f"line {line}, column {column}"
    choices = tuple(button_ref(lines, *b) for b in refusal.buttons)
    named = [b.named for b in choices]
    todo = [r for r in inspection.rows if r.needed]
    if len(todo) * len(choices) > MAX_CHOICES:  # a page of radio buttons no one could use
        choices = ()
    groups = tuple(
        ChoiceGroup(
            f"button-{r.guid}",
            "The calendar button"
            if len(todo) == 1
            else f"The button for event {r.number} ({names.get(r.guid) or r.guid})",
            choices,
            chosen.get(r.guid, ""),
        )
        for r in todo
    )
    cause = refusal.cause
    if cause is Cause.AMBIGUOUS and choices:
        if len(todo) == 1:
            said = (
                f"The {number(len(choices))} buttons {and_list(named)} could each take the "
                "calendar link: choose one."
            )
        else:
            said = (
                f"The calendar links of the {number(len(todo))} events could go to the buttons "
                f"{and_list(named)} in more than one way: choose the button for each event."
            )
        title = "Choose the calendar button" + ("s" if len(todo) > 1 else "")
        return Plain(title, said, "notice", groups=groups)
    if cause is Cause.NO_BUTTON and choices:
        links = "links to another page" if len(choices) == 1 else "link to other pages"
        return Plain(
            "Choose the calendar button",
            "No button in this email is waiting for the calendar link (in the designer, a "
            f"calendar button links to '#' until it is converted). {and_list(named)} "
            f"{links}: choose the one that should become the calendar button (its link is "
            "replaced by the calendar link).",
            "notice",
            advice=f"Or {_EXPORT_AGAIN}.",
            groups=groups,
        )
    if cause is Cause.NO_BUTTON:
        return Plain(
            "Not converted: the email has no button for the calendar link",
            "The calendar link goes on a Button block, and this email has none that mailpatch "
            "may use.",
            "error",
            advice=f"{_EXPORT_AGAIN[0].upper()}{_EXPORT_AGAIN[1:]}.",
        )
    if cause in (Cause.TOO_FEW, Cause.CHOICE) and choices:
        said = (
            f"This email has {number(len(todo))} events, but not a button waiting for a "
            "calendar link for each."
            if cause is Cause.TOO_FEW
            else "The buttons chosen do not fit this email's events."
        )
        return Plain(
            "Choose the calendar buttons" if len(todo) > 1 else "Choose the calendar button",
            f"{said} Choose a button for each event from {and_list(named)}.",
            "notice",
            advice=f"Or {_EXPORT_AGAIN}.",
            groups=groups,
        )
    if cause is Cause.LOCKED:
        block = f"The button {named[0]}" if named else f"The QR code block (line {line})"
        return Plain(
            "Not converted: a block is protected",
            f"{block} is protected or locked in the designer, so that nobody changes it by "
            "accident. mailpatch leaves such blocks as they are unless you allow it: if you may "
            "change it, convert again with the button below.",
            "notice",
            force=True,
        )
    return Plain(
        "Not converted",
        "mailpatch cannot convert this email safely, so it changed nothing.",
        "error",
        advice=(
            "This usually means the HTML was changed by hand or by another tool after the "
            "designer exported it. Export the email again from Dynamics 365 Marketing and "
            "convert that; if this happens again, ask whoever edits your templates to look at "
            f"line {line}."
        ),
        where=where,
        reason=refusal.reason,
    )


def plain_unreadable(name: str, problem: str) -> Plain:
    return Plain(
        "This file cannot be read as an email",
        f"{name} {problem}.",
        "error",
        advice="Export the email's HTML from the designer again, and choose that file.",
    )


# ---------------------------------------------------------------- the outcome and what changed


def plain_outcome(outcome: Outcome, names: Mapping[str, str]) -> Plain:
    """A conversion's outcome (not a refusal) in plain words."""
    name = outcome.path
    if outcome.status is Status.NOT_APPLICABLE:
        advice = (
            "mailpatch converts a registration email whose event QR code block the "
            "calendar button should take over: is this the right email?"
        )
        if outcome.journeys:
            advice = (
                f"It looks like a real-time journeys email ({outcome.journeys}). Real-time "
                "journeys has its own Add to Calendar button: in its designer, set a Button's "
                "Link to > Add to Calendar and choose the event."
            )
        return Plain(
            "Nothing to do",
            f"{name} has no event QR code and no calendar button, so there is nothing to convert.",
            "notice",
            advice=advice,
            native_button=bool(outcome.journeys),
        )
    unchecked = [
        f"the links of event {names.get(guid) or guid} were not checked ({why})"
        for guid, why in outcome.unchecked
    ]
    if outcome.status is Status.UNCHANGED:
        said = f"The calendar buttons in {name} already carry these settings."
        if unchecked:
            said += " But " + and_list(unchecked) + "."
        return Plain("Nothing to change", said, "notice" if unchecked else "ok")
    made = number(outcome.buttons)
    if outcome.status is Status.UPDATED:
        title = "Converted: calendar links brought up to date"
        said = f"{name} is converted: its calendar links now carry these settings."
    else:
        title = "Converted"
        buttons = (
            "calendar button now downloads"
            if outcome.buttons == 1
            else ("calendar buttons now download")
        )
        said = f"{name} is converted: {made} {buttons} each registrant's calendar file."
    if unchecked:
        said += " But " + and_list(unchecked) + "."
    return Plain(
        title,
        said,
        "ok",
        advice="Download it, then follow the next steps below.",
        warnings=qr_text_warnings(outcome),
    )


def qr_text_warnings(outcome: Outcome) -> tuple[str, ...]:
    """The text the converted email still has about the QR code it no longer shows."""
    return tuple(
        f"The email still says “{text}” (line {at.partition(':')[0]} of the converted "
        "email), but the QR code is gone: change or remove that text in the designer before "
        "you send it."
        for at, text in outcome.qr_mentions
    )


@dataclass(frozen=True)
class ChangeLine:
    text: str
    link_changes: tuple[LinkChange, ...] = ()


def plain_changes(
    outcome: Outcome,
    inspection: Inspection,
    patched: str,
    names: Mapping[str, str],
    keep_qr: bool,
) -> list[ChangeLine]:
    """What the conversion changed, one sentence each, the changed links in decoded terms."""
    out = []
    # GUID -> the first Button carrying its loop now
    carrying = first_holders((s.guids, s) for s in buttons_in(patched))
    for row in inspection.rows:
        now = carrying.get(row.guid) if row.needed else None
        if now is not None:
            out.append(
                ChangeLine(
                    f"The button {quoted(now.label)} now downloads the calendar file of "
                    f"{names.get(row.guid) or row.guid}; only contacts registered for that "
                    "event see it."
                )
            )
    if outcome.qr_removed:
        blocks = "QR code block was" if outcome.qr_removed == 1 else "QR code blocks were"
        out.append(ChangeLine(f"The {blocks} removed: the registration loop now wraps the button."))
    elif keep_qr and any(r.needed for r in inspection.rows):
        out.append(ChangeLine("The QR code block was kept, as asked."))
    for guid, changes in outcome.link_changes:
        known = inspection.row(guid)
        where = f" ({known.where})" if known else ""
        out.append(
            ChangeLine(
                f"The calendar link for {names.get(guid) or guid}{where} was out of date and "
                "is written anew:",
                changes,
            )
        )
    if outcome.links_fixed:
        n = outcome.links_fixed
        out.append(
            ChangeLine(
                f"{number(n).capitalize()} calendar link{'s' if n != 1 else ''} lacked the "
                "'//' after 'https:' (as in Microsoft's sample) and got it."
            )
        )
    for text in outcome.left:
        out.append(
            ChangeLine(
                f"Removed with the QR code block: '{text}'. If the email says it elsewhere too, "
                "remove that in the designer: there is no QR code any more."
            )
        )
    return out


NEXT_STEPS = (
    "In Dynamics 365 Marketing, open the email and switch the designer to its <b>HTML</b> tab.",
    "Select all the HTML there and replace it with the converted file's (open the file in a "
    "text editor such as Notepad, select all, copy, and paste it into the HTML tab).",
    "<b>Save before you leave the HTML tab.</b> Going back to the Designer tab without saving "
    "loses the registration loop.",
    "Send a test to a contact <b>registered</b> for the event: the calendar button appears and "
    "downloads a calendar file with their details. Send one to a contact <b>not registered</b>: "
    "the button does not appear.",
    "Later changes to the calendar button in the Designer tab can undo the conversion: convert "
    "the email again after editing it there.",
)


# ---------------------------------------------------------------- the command line


def command_line(
    endpoint: str | None,
    events: Mapping[str, tuple[str, str | None]],
    fields: Mapping[str, str],
    drop_fields: Sequence[str],
    keep_qr: bool,
    buttons: Sequence[str],
    force: bool,
    name: str,
) -> str:
    """The ``mailpatch patch`` command that converts the email as the page does (in place)."""
    args: list[list[str]] = [["mailpatch", "patch"]]
    if endpoint:
        args.append(["--endpoint", endpoint])
    table_only = False
    for guid, (readable, session) in events.items():
        if "@" in readable:  # the command line reads ID@SESSION: such an id goes in a table
            table_only = True
            continue
        args.append(["--event", f"{guid}={readable}" + (f"@{session}" if session else "")])
    args += [["--field", f"{key}={value}"] for key, value in fields.items()]
    args += [["--drop-field", key] for key in drop_fields]
    args += [["--keep-qr"]] * keep_qr + [["--button", b] for b in buttons] + [["--force"]] * force
    args.append([name])
    text = " \\\n    ".join(" ".join(shlex.quote(a) for a in group) for group in args)
    if table_only:
        text += "\n# an id holding '@' goes in [tool.mailpatch.events] (below), not on this line"
    return text
