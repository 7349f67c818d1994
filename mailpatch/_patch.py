"""The pure core: ``patch(text, options) -> PatchResult``.

Decisions are taken on the token view (``_blocks``); the output is the input with two kinds
of span replaced -- a Button block's content, and an ERQRCode block (removed) -- so every
other byte is the input's own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mailpatch._blocks import (
    BUTTON_TYPE,
    QR_TYPE,
    ButtonBlock,
    ButtonLink,
    Document,
    Element,
    LinkKind,
    MarkerKind,
    QrBlock,
    locate,
    markers,
    read_button_block,
    read_qr_block,
)
from mailpatch._errors import MissingOption, Refusal
from mailpatch._html import LineIndex, StartTag
from mailpatch._link import (
    DEFAULT_API_VERSION,
    DEFAULT_FIELDS,
    CalendarLink,
    DecodeError,
    decode_calendar_url,
    is_calendar_url,
    slashless_host,
)

# "calendar/personal/ics" in any case, found from its '/' (a literal the search runs on)
_CALENDAR_HINT = re.compile(r"/(?=[pP])(?i:personal/ics)(?<=(?i:calendar/personal/ics))")


def _may_apply(text: str) -> bool:
    """False when the email cannot hold a QR block, a moved loop or a calendar link (which
    may need its "//"): most emails stop here.

    A loop is recognised by ``this.msevtmgt_eventid`` (case-sensitive, as Handlebars reads
    it); "erqrcode" in any case is found through its rare 'q' with ``str.find`` (C speed; a
    case-insensitive regular expression is ten times slower on non-ASCII text).
    """
    if "msevtmgt_eventid" in text:
        return True
    for q in "qQ":
        at = text.find(q, 2)
        while at >= 0:
            if text[at - 2 : at + 6].lower() == "erqrcode":
                return True
            at = text.find(q, at + 1)
    return _CALENDAR_HINT.search(text) is not None


@dataclass(frozen=True)
class EventRef:
    """What the API needs to know about one event: its readable id and, optionally, a session."""

    readable_id: str
    session_id: str | None = None


@dataclass(frozen=True)
class PatchOptions:
    endpoint: str | None = None  # a host, already normalised (see _link.normalize_endpoint)
    event: EventRef | None = None  # serves every QR block when they share one GUID
    events: Mapping[str, EventRef] = field(default_factory=dict)  # lower-case GUID -> event
    fields: tuple[tuple[str, str], ...] = DEFAULT_FIELDS
    keep_qr: bool = False
    buttons: tuple[tuple[int, int | None], ...] = ()  # explicit choice: (line, col or None)
    force: bool = False  # patch protected / locked blocks
    api_version: str = DEFAULT_API_VERSION


@dataclass(frozen=True)
class Edit:
    """``text[start:end]`` of the input becomes ``replacement``."""

    start: int
    end: int
    replacement: str
    what: str  # "button", "qr", or "scheme" (the "//" inserted into a calendar link)


@dataclass(frozen=True)
class Pairing:
    qr_offset: int
    button_offset: int
    guid: str
    link: CalendarLink | None  # None: the button already carried the loop


@dataclass(frozen=True)
class PatchResult:
    text: str
    edits: tuple[Edit, ...] = ()
    pairings: tuple[Pairing, ...] = ()
    qr_blocks: int = 0  # ERQRCode blocks found
    patched_buttons: int = 0  # Button blocks that already carried an event loop

    @property
    def changed(self) -> bool:
        return bool(self.edits)


def normal_guid(guid: str) -> str:
    return guid.strip().strip("{}").lower()


def patch(text: str, options: PatchOptions) -> PatchResult:
    """Patch every ERQRCode block; raise Refusal or MissingOption rather than guess."""
    if not _may_apply(text):
        return PatchResult(text)
    doc = locate(text)
    qr_elements = doc.blocks_of(QR_TYPE)
    buttons = [read_button_block(doc, el) for el in doc.blocks_of(BUTTON_TYPE)]
    already = sum(1 for b in buttons if b.loop_guids)
    if not qr_elements:
        fixes = scheme_fixes(doc, buttons)
        return PatchResult(apply(text, fixes), tuple(fixes), patched_buttons=already)
    qrs = [read_qr_block(doc, el) for el in qr_elements]
    lines = LineIndex(text)
    for element in qr_elements:
        _check_unlocked(element, "ERQRCode", options, lines)

    done_guids = {g for b in buttons for g in b.loop_guids}
    todo = [q for q in qrs if normal_guid(q.guid) not in done_guids]
    events = {normal_guid(q.guid): _event_for(q, qrs, options) for q in todo}
    if todo and options.endpoint is None:
        raise MissingOption(
            "--endpoint is needed: the email has an ERQRCode block to patch at "
            + lines.label(todo[0].element.start)
        )

    free = [b for b in buttons if not b.loop_guids]
    pairs = _pair(doc, todo, free, events, options, lines)
    edits: list[Edit] = []
    pairings: list[Pairing] = []
    for qr, button in pairs:
        _check_unlocked(button.element, "Button", options, lines)
        _check_apart(qr, button)
        event = events[normal_guid(qr.guid)]
        assert options.endpoint is not None
        link = _calendar_link(
            host=options.endpoint,
            readable_event_id=event.readable_id,
            fields=options.fields,
            session_id=event.session_id,
            api_version=options.api_version,
        )
        edits.append(Edit(*_button_content(doc, qr, button, link), what="button"))
        pairings.append(Pairing(qr.element.start, button.element.start, qr.guid, link))
    if not options.keep_qr:
        for qr in qrs:
            edits.append(Edit(qr.element.start, qr.element.end, "", what="qr"))
    rewritten = {id(button) for _, button in pairs}  # their links are written anew
    edits += scheme_fixes(doc, [b for b in buttons if id(b) not in rewritten])
    edits.sort(key=lambda e: e.start)
    return PatchResult(apply(text, edits), tuple(edits), tuple(pairings), len(qrs), already)


# A batch writes the same few links into every email: build and encode each once.
_calendar_link = functools.lru_cache(maxsize=256)(CalendarLink)
_href = functools.lru_cache(maxsize=256)(CalendarLink.href)


def apply(text: str, edits: list[Edit]) -> str:
    """``text`` with non-overlapping ``edits`` (sorted by start) applied."""
    out: list[str] = []
    pos = 0
    for edit in edits:
        out.append(text[pos : edit.start])
        out.append(edit.replacement)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


def scheme_fixes(doc: Document, buttons: list[ButtonBlock]) -> list[Edit]:
    """Insert the missing ``//`` into ``https:HOST/…`` calendar links (lint's MP101).

    Microsoft's sample anchor reads ``https:{endpoint}/…`` and hand-patched emails copy it.
    When HOST is a host name the fix is certain: two characters inside the href, nothing else.
    Buttons whose loop is malformed are left alone: lint reports them, and safe mode would
    (rightly) refuse to write a Button it cannot vouch for.
    """
    edits: list[Edit] = []
    for button in buttons:
        fixes = []
        for link in button.links:
            if not is_calendar_url(link.url):  # cheap tests first: most links are not ours
                continue
            attr = link.tag.get("href")
            if attr is None or attr.value is None:
                continue
            if slashless_host(attr.value) is not None:
                at = attr.value_start + len("https:")
                fixes.append(Edit(at, at, "//", what="scheme"))
        if fixes and _loop_is_sound(doc, button):
            edits += fixes
    return edits


def _loop_is_sound(doc: Document, button: ButtonBlock) -> bool:
    """No loop at all, or one well-formed loop with every link inside its ``{{#if}}`` branch."""
    found = markers(doc, button.element.content_start, button.element.content_end)
    if not found:
        return True
    kinds = [m.kind for m in found]
    loop = [MarkerKind.EACH, MarkerKind.IF_EVENT, MarkerKind.END_IF, MarkerKind.END_EACH]
    if kinds not in (loop, [*loop[:2], MarkerKind.ELSE, *loop[2:]]):
        return False
    branch_start, branch_end = found[1].end, found[2].start
    return all(branch_start <= link.tag.token.start < branch_end for link in button.links)


def _event_for(qr: QrBlock, qrs: list[QrBlock], options: PatchOptions) -> EventRef:
    guid = normal_guid(qr.guid)
    if guid in options.events:
        return options.events[guid]
    guids = sorted({normal_guid(q.guid) for q in qrs})
    if options.event is not None and len(guids) == 1:
        return options.event
    if options.event is not None:
        raise Refusal(
            f"no readable event id for event {guid}: --event-id serves only an email whose QR "
            f"blocks share one event, this one has {len(guids)} ({', '.join(guids)}); "
            "map each with --event GUID=ID",
            qr.element.start,
        )
    raise Refusal(
        f"no readable event id for event {guid}: give --event-id ID"
        + (" (one event)" if len(guids) == 1 else "")
        + f" or --event {guid}=ID",
        qr.element.start,
    )


def _check_unlocked(element: Element, what: str, options: PatchOptions, lines: LineIndex) -> None:
    if options.force:
        return
    if (element.attr("data-protected") or "").strip().lower() == "true":
        raise Refusal(
            f'the {what} block is protected (data-protected="true"); use --force to patch it',
            element.start,
        )
    for tag in (element.tag, *element.ancestors):
        if tag.get("data-locked") is not None:
            raise Refusal(
                f"the {what} block is locked (data-locked on the <{tag.token.name}> at "
                f"{lines.label(tag.token.start)}); use --force to patch it",
                element.start,
            )


def _check_apart(qr: QrBlock, button: ButtonBlock) -> None:
    q, b = qr.element, button.element
    if q.start < b.end and b.start < q.end:
        raise Refusal("the ERQRCode block and its Button block overlap", q.start)


def _candidate(button: ButtonBlock, event: EventRef) -> bool:
    if not button.links:
        return False
    for link in button.links:
        kind = link.kind
        if kind is LinkKind.REAL:
            return False
        if kind is LinkKind.CALENDAR and not _links_event(link, event):
            return False
    return True


def _links_event(link: ButtonLink, event: EventRef) -> bool:
    try:
        data = decode_calendar_url(link.url).data
        return bool(data) and data[0].get("readableEventId") == event.readable_id
    except (DecodeError, AttributeError, IndexError, KeyError, TypeError, ValueError):
        return False


def _pair(
    doc: Document,
    qrs: list[QrBlock],
    buttons: list[ButtonBlock],
    events: dict[str, EventRef],
    options: PatchOptions,
    lines: LineIndex,
) -> list[tuple[QrBlock, ButtonBlock]]:
    if not qrs:
        return []
    if options.buttons:
        return _pair_explicit(qrs, buttons, options.buttons, lines)

    ranks: dict[int, int] = {}

    def rank(block: ButtonBlock | QrBlock) -> int:
        if not ranks:  # counted only when a distance decides (the walk costs)
            starts = [b.element.start for b in (*qrs, *every.values())]
            ranks.update(doc.ranks(starts))
        return ranks[block.element.start]

    def listing(cands: list[ButtonBlock]) -> str:
        return "; ".join(f"{lines.label(b.element.start)} {b.label!r}" for b in cands)

    candidates = {
        id(q): [b for b in buttons if _candidate(b, events[normal_guid(q.guid)])] for q in qrs
    }
    every = {id(b): b for q in qrs for b in candidates[id(q)]}
    for q in qrs:
        if not candidates[id(q)]:
            real = [b for b in buttons if b.links]
            hint = ""
            if real:
                hint = (
                    "; Buttons that link elsewhere are never taken unless named with --button "
                    f"LINE:COL ({listing(real)})"
                )
            raise Refusal(
                f"no Button block to pair with the ERQRCode block for event {q.guid}: none "
                "links to a placeholder ('#', empty, about:blank) or to this event's calendar"
                + hint,
                q.element.start,
            )
    if len(every) > len(qrs):
        raise Refusal(
            f"ambiguous: {len(qrs)} ERQRCode block(s) and {len(every)} candidate Buttons "
            f"({listing(sorted(every.values(), key=_start))}); choose with --button LINE:COL",
            qrs[0].element.start,
        )
    pairs: list[tuple[QrBlock, ButtonBlock]] = []
    taken: set[int] = set()
    for q in qrs:
        cands = candidates[id(q)]
        tied = cands
        if len(cands) > 1:  # only now count the blocks between them (costs a walk)
            cands = sorted(cands, key=lambda b, q=q: abs(rank(b) - rank(q)))
            tied = [b for b in cands if abs(rank(b) - rank(q)) == abs(rank(cands[0]) - rank(q))]
        best = cands[0]
        if len(tied) > 1 or id(best) in taken:
            raise Refusal(
                "ambiguous: cannot tell which Button belongs to which ERQRCode block "
                f"({listing(sorted(every.values(), key=_start))}); choose with --button LINE:COL",
                q.element.start,
            )
        taken.add(id(best))
        pairs.append((q, best))
    return pairs


def _start(block: ButtonBlock) -> int:
    return block.element.start


def _pair_explicit(
    qrs: list[QrBlock],
    buttons: list[ButtonBlock],
    chosen: tuple[tuple[int, int | None], ...],
    lines: LineIndex,
) -> list[tuple[QrBlock, ButtonBlock]]:
    picked: list[ButtonBlock] = []
    for line, col in chosen:
        match = [
            b
            for b in buttons
            if lines.position(b.element.start)[0] == line
            and (col is None or lines.position(b.element.start)[1] == col)
        ]
        where = f"{line}:{col}" if col is not None else f"line {line}"
        if not match:
            raise Refusal(f"--button {where}: no Button block starts there", qrs[0].element.start)
        if len(match) > 1:
            raise Refusal(
                f"--button {where}: several Button blocks start on that line; add the column",
                qrs[0].element.start,
            )
        if match[0] not in picked:
            picked.append(match[0])
    if len(picked) != len(qrs):
        raise Refusal(
            f"{len(qrs)} ERQRCode block(s) to patch but {len(picked)} Button(s) named "
            "with --button",
            qrs[0].element.start,
        )
    picked.sort(key=lambda b: b.element.start)
    return list(zip(qrs, picked, strict=True))


def _button_content(
    doc: Document, qr: QrBlock, button: ButtonBlock, link: CalendarLink
) -> tuple[int, int, str]:
    """The QR block's content with its ``<img>`` replaced by the button's relinked content."""
    source = doc.source
    el = button.element
    href = _href(link)
    relinked = apply(
        source[el.content_start : el.content_end],
        sorted(
            (_href_edit(link_.tag, href, shift=el.content_start) for link_ in button.links),
            key=lambda e: e.start,
        ),
    )
    q = qr.element
    content = source[q.content_start : qr.img.start] + relinked + source[qr.img.end : q.content_end]
    return el.content_start, el.content_end, content


def _href_edit(tag: StartTag, href: str, shift: int) -> Edit:
    """Point one link at ``href`` (offsets relative to ``shift``)."""
    attr = tag.get("href")
    if attr is None:  # <a> without href: add one right after the tag name
        at = tag.token.start + 1 + len(tag.token.name) - shift
        return Edit(at, at, f' href="{href}"', what="href")
    if attr.value is None:  # bare `href`
        return Edit(attr.start - shift, attr.value_end - shift, f'href="{href}"', what="href")
    if attr.quote == "":
        return Edit(attr.value_start - shift, attr.value_end - shift, f'"{href}"', what="href")
    return Edit(attr.value_start - shift, attr.value_end - shift, href, what="href")
