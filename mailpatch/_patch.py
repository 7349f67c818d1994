"""The pure core: ``patch(text, options) -> PatchResult``.

Decisions are taken on the token view (``_blocks``); the output is the input with two kinds
of span replaced -- a Button block's content, and an ERQRCode block (removed) -- so every
other byte is the input's own.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import field
from enum import StrEnum
from typing import NamedTuple

from mailpatch._blocks import (
    BLOCK_ATTR,
    BUTTON_TYPE,
    QR_TYPE,
    ButtonBlock,
    ButtonLink,
    Document,
    Element,
    Guids,
    LinkKind,
    Links,
    QrBlock,
    button_horizon,
    check_expressions_closed,
    check_not_cut_off,
    check_own_end_tag,
    label_of,
    locate,
    markers,
    markers_at_most,
    read_button_block,
    read_qr_block,
    scan,
    union_of,
)
from mailpatch._errors import ButtonChoice, Cause, MissingOption, Refusal, UnmappedEvent
from mailpatch._handlebars import GUID, WHOLE_LOOPS, Marker, normal_guid
from mailpatch._html import (
    TAG_NAME_ENDS,
    Kind,
    LineIndex,
    StartTag,
    attributes_over,
    comment_body,
    cut_off,
    tokenize,
)
from mailpatch._link import (
    DEFAULT_API_VERSION,
    DEFAULT_FIELDS,
    CalendarLink,
    DecodeError,
    LinkError,
    is_calendar_url,
    normalize_endpoint,
    read_calendar_link,
    slashless_host,
)
from mailpatch._moving import (
    Moved,
    check_movable,
    closed_by_bang,
    image_place,
    loop_span,
    own_tokens,
)
from mailpatch._record import record
from mailpatch._regex import lazy
from mailpatch._survey import Spans, Survey, survey_of

# "calendar/personal/ics" in any case, found from its '/' (a literal the search runs on)
_CALENDAR_HINT = lazy(r"/(?=[pP])(?i:personal/ics)(?<=(?i:calendar/personal/ics))")


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


@record
class EventRef:
    """What the API needs to know about one event: its readable id and, optionally, a session."""

    readable_id: str
    session_id: str | None = None


@record
class PatchOptions:
    """What a patch writes. The endpoint and the GUID keys are normalised as the command line
    reads them (``endpoint`` by ``normalize_endpoint``: ``https://HOST/`` is ``HOST``; keys in
    braces or upper case as the email's GUIDs are compared), or refused with ValueError
    (``LinkError``) naming the field: a script cannot write a link the command line would not."""

    endpoint: str | None = None  # the Events API host (normalize_endpoint)
    event: EventRef | None = None  # serves every QR block when they share one GUID
    events: Mapping[str, EventRef] = field(default_factory=dict)  # GUID -> event (normal_guid)
    fields: tuple[tuple[str, str], ...] = DEFAULT_FIELDS
    keep_qr: bool = False
    buttons: tuple[tuple[int, int | None], ...] = ()  # explicit choice: (line, col or None)
    force: bool = False  # patch protected / locked blocks
    api_version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        if self.endpoint is not None:
            if not isinstance(self.endpoint, str):
                raise LinkError(
                    f"endpoint {self.endpoint!r} is not text: type the host, such as "
                    "contoso.svc.dynamics.com"
                )
            object.__setattr__(self, "endpoint", normalize_endpoint(self.endpoint))
        if self.event is not None and not isinstance(self.event, EventRef):
            raise LinkError(f"event {self.event!r} is not an EventRef: type EventRef(readable id)")
        object.__setattr__(self, "events", _normal_events(self.events))


def _normal_events(events: Mapping[str, EventRef]) -> dict[str, EventRef]:
    """``events`` keyed by normal_guid, or LinkError for a key that is no GUID, a value that
    is no EventRef, or one GUID written twice."""
    normal: dict[str, EventRef] = {}
    for key, ref in events.items():
        if not isinstance(key, str) or not GUID.match(key.strip()):
            raise LinkError(
                f"events key {key!r} is not a GUID: type the event's GUID (msevtmgt_eventid), "
                "such as 3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"
            )
        if not isinstance(ref, EventRef):
            raise LinkError(f"events[{key!r}] is not an EventRef: type EventRef(readable id)")
        guid = normal_guid(key)
        if guid in normal:
            raise LinkError(f"events holds the same GUID twice: {guid}")
        normal[guid] = ref
    return normal


class EditKind(StrEnum):
    """What an Edit does: the verifier checks each kind by its own rule (``_verify._allowed``)."""

    BUTTON = "button"  # a Button's content replaced: the QR block's loop around its own
    QR = "qr"  # an ERQRCode block removed
    SCHEME = "scheme"  # the "//" inserted into a calendar link's "https:HOST/…"
    LINK = "link"  # a stale calendar link's href value written anew
    HREF = "href"  # one link of a Button, inside a BUTTON replacement only (never applied alone)


@record
class Edit:
    """``text[start:end]`` of the input becomes ``replacement``."""

    start: int
    end: int
    replacement: str
    what: EditKind
    # for BUTTON: where in ``replacement`` the Button's own content went (the QR image's
    # place), so the verifier can check it is read there as written
    inserted: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        # a kind given by its value ("qr") is that kind, and any other value is an error:
        # the verifier tells kinds apart by identity
        object.__setattr__(self, "what", EditKind(self.what))


class Pairing(NamedTuple):
    qr_offset: int
    button_offset: int
    guid: str
    link: CalendarLink | None  # None: the button already carried the loop


class Update(NamedTuple):
    """A patched Button whose calendar links were stale: written anew as ``link``."""

    button_offset: int
    guid: str
    link: CalendarLink
    stale: tuple[str, ...] = ()  # the links it had (HTML-unescaped), each once


@record
class PatchResult:
    """What ``patch`` made of an email: the output ``text``, the ``edits`` that made it from
    the input, and what they did (pairings, updates, what was left behind or not checked)."""

    text: str
    edits: tuple[Edit, ...] = ()
    pairings: tuple[Pairing, ...] = ()
    qr_blocks: int = 0  # ERQRCode blocks found
    patched_buttons: int = 0  # Button blocks that already carried an event loop
    updates: tuple[Update, ...] = ()  # patched Buttons whose stale links are rewritten
    # (QR block offset, visible text) outside a moved loop: removed with its QR block
    left_behind: tuple[tuple[int, str], ...] = ()
    # (GUID, reason) of patched Buttons whose links were not judged: no readable id or no
    # endpoint for them in the settings, or a loop not whole; they are left as they are
    unchecked: tuple[tuple[str, str], ...] = ()
    # What patch() keeps for verify(), none of it the caller's: the input's whole-text passes
    # (only for that very input text), and (input, edits, text) as patch() made them (``text``
    # is ``apply(input, edits)``). Set by _result(); a result made otherwise, or copied by
    # dataclasses.replace, has neither and is checked without them.
    _survey: Survey | None = field(default=None, init=False, compare=False, repr=False)
    _origin: tuple[str, tuple[Edit, ...], str] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    def _spliced_from(self, before: str) -> bool:
        """True when ``text`` is, by construction, ``before`` with ``edits`` applied: the very
        objects patch() built it from (strings and tuples cannot change; a result rebuilt with
        another text or other edits is a different object and says False)."""
        origin = self._origin
        return (
            origin is not None
            and origin[0] is before
            and origin[1] is self.edits
            and origin[2] is self.text
        )


def _result(
    text: str,
    edits: list[Edit],
    survey: Survey,
    pairings: tuple[Pairing, ...] = (),
    qr_blocks: int = 0,
    patched_buttons: int = 0,
    review: LinkReview | None = None,
    left_behind: Sequence[tuple[int, str]] = (),
) -> PatchResult:
    """The result of applying ``edits`` (sorted) to ``text``, its origin recorded."""
    done = tuple(edits)
    out = apply(text, edits)
    updates, unchecked = (review.updates, review.unchecked) if review else ((), ())
    result = PatchResult(
        out,
        done,
        pairings,
        qr_blocks,
        patched_buttons,
        updates=updates,
        left_behind=tuple(left_behind),
        unchecked=unchecked,
    )
    object.__setattr__(result, "_survey", survey)
    object.__setattr__(result, "_origin", (text, done, out))
    return result


def patch(text: str, options: PatchOptions) -> PatchResult:
    """Patch every ERQRCode block, update stale calendar links; raise Refusal or
    MissingOption rather than guess.

    Decide, then splice: ``plan`` reads the email and takes every decision (which Button
    each QR block goes to, with which link) or refuses; ``plan_edits`` turns the plan into
    typed edits; ``apply`` splices them into the original text.
    """
    return patch_read(text, options, read_email(text))


class Reading(NamedTuple):
    """An email as ``patch`` reads it before any decision: what a run must also know of it
    (``events_in``) comes from the same reading."""

    survey: Survey
    doc: Document
    buttons: list[ButtonBlock]
    qrs: list[QrBlock]  # every ERQRCode block, or those read before ``refusal``
    refusal: Refusal | None  # an ERQRCode block that cannot be read (patch() refuses it)


def read_email(text: str, every_button: bool = False) -> Reading | None:
    """The email's blocks located and read, or None when it cannot hold a QR block, a moved
    loop or a calendar link (``_may_apply``): most emails stop there.

    Button blocks past the point from which none can matter to a patch are left unread
    (``_blocks.button_horizon``: in a newsletter, the other sections' Buttons, and the text
    up to each of them), unless ``every_button``: ``patch_read`` reads them all where a
    refusal names Buttons, or ``--button`` chooses one."""
    if not _may_apply(text):
        return None
    survey = Survey(text)  # the whole-text passes, shared with verify() through the result
    horizon = None if every_button else button_horizon(text, survey)
    return _read_blocks(locate(text, survey, horizon), survey)


def _read_blocks(doc: Document, survey: Survey) -> Reading:
    buttons = [read_button_block(doc, el) for el in doc.blocks_of(BUTTON_TYPE)]
    qrs: list[QrBlock] = []
    if any(el.ancestors.outermost_qr_or_button for el in doc.blocks_of(QR_TYPE)):
        # patch() refuses the nesting before anything it would read of the blocks, and
        # reading each would walk the content of all inside it (9,000 nested: 1.4 s)
        try:
            _check_not_nested(doc, LineIndex(doc.source))
        except Refusal as exc:
            return Reading(survey, doc, buttons, qrs, exc)
    try:
        for el in doc.blocks_of(QR_TYPE):
            qrs.append(read_qr_block(doc, el))
    except Refusal as exc:
        return Reading(survey, doc, buttons, qrs, exc)
    return Reading(survey, doc, buttons, qrs, None)


def patch_read(text: str, options: PatchOptions, reading: Reading | None) -> PatchResult:
    """``patch`` of an email as ``read_email`` read it."""
    if reading is None:
        return PatchResult(text)
    if options.buttons and not reading.doc.every_button:  # a Button chosen by its place
        reading = read_email(text, every_button=True)
        assert reading is not None
    doc, survey = reading.doc, reading.survey
    try:
        decided = plan(doc, options, survey, reading)
        edits, left = plan_edits(doc, decided, options, survey)
    except (Refusal, MissingOption):
        if doc.every_button:
            raise
        # said with every Button the email has, as a reading of them all says it
        return patch_read(text, options, read_email(text, every_button=True))
    pairings = tuple(
        Pairing(qr.element.start, button.element.start, qr.guid, link)
        for qr, button, link in decided.pairs
        if link is not None
    )
    return _result(
        text,
        edits,
        survey,
        pairings,
        len(decided.qrs),
        len(decided.patched),
        decided.review,
        left,
    )


class Plan(NamedTuple):
    """Every decision ``patch`` takes, before any edit: what each QR block becomes."""

    qrs: list[QrBlock]
    buttons: list[ButtonBlock]
    patched: list[ButtonBlock]  # Buttons that already carried an event loop
    # (QR block, its Button, the link to write there; None when another QR block of the
    # same event already took that Button: the QR block is only removed)
    pairs: list[tuple[QrBlock, ButtonBlock, CalendarLink | None]]
    review: LinkReview  # the already patched Buttons' links, judged
    lines: LineIndex


def plan(
    doc: Document, options: PatchOptions, survey: Survey, reading: Reading | None = None
) -> Plan:
    """Read the email (unless ``reading`` holds it read) and decide, or refuse: every refusal
    of a patch is taken here but the ones that need the edits themselves
    (``_check_outside_expressions``) or the moved content (``_button_content``)."""
    text = doc.source
    lines = LineIndex(text)
    qr_elements = doc.blocks_of(QR_TYPE)
    reading = reading or _read_blocks(doc, survey)
    buttons = reading.buttons
    patched = [b for b in buttons if b.loop_guids]
    done_guids = union_of(b.loop_guids for b in patched)
    if not qr_elements:
        review = review_links(doc, patched, options, done_guids, survey)
        return Plan([], buttons, patched, [], review, lines)
    _check_not_nested(doc, lines)
    if reading.refusal is not None:
        raise reading.refusal
    qrs = reading.qrs
    for element in qr_elements:
        _check_unlocked(element, "ERQRCode", options, lines)
    for qr in qrs:
        bang = closed_by_bang(doc, qr.element.content_start, qr.element.content_end)
        if bang is not None:
            raise Refusal(
                "a comment in the ERQRCode block ends with '--!>': browsers end it there and "
                "show the rest (a '-->' in every registrant's button); write '-->'",
                bang.start,
            )
    for button in patched:
        _check_carried_loop(doc, button)
    todo = [q for q in qrs if normal_guid(q.guid) not in done_guids]
    # the events this email is for: an id given for "the" event serves only when there is one
    guids = {normal_guid(q.guid) for q in qrs} | done_guids
    _check_one_spelling(qrs)
    events = {normal_guid(q.guid): _event_for(q, guids, options) for q in todo}
    if todo and options.endpoint is None:
        raise MissingOption(
            "--endpoint is needed: the email has an ERQRCode block to patch at "
            + lines.label(todo[0].element.start)
        )
    free = [b for b in buttons if not b.loop_guids]
    pairs: list[tuple[QrBlock, ButtonBlock, CalendarLink | None]] = []
    taken: set[int] = set()
    for qr, button in _pair(doc, todo, free, events, options, lines):
        _check_apart(qr, button)
        if id(button) in taken:  # another QR block of its event: only removed
            pairs.append((qr, button, None))
            continue
        taken.add(id(button))
        _check_button_movable_into(doc, button, options, lines)
        assert options.endpoint is not None
        link = _link_for(options, options.endpoint, events[normal_guid(qr.guid)])
        pairs.append((qr, button, link))
    if not options.keep_qr:
        open_paragraphs = _open_paragraphs(text, qrs)
        for qr in qrs:
            opened = open_paragraphs.get(qr.element.start, -1)
            if opened >= 0:
                raise Refusal(
                    "the ERQRCode block closes the paragraph opened at "
                    f"{lines.label(opened)} (it has no </p>): removed, it "
                    "would let the text after it into that paragraph (or use --keep-qr)",
                    qr.element.start,
                )
    review = review_links(doc, patched, options, guids, survey)
    return Plan(qrs, buttons, patched, pairs, review, lines)


def _check_button_movable_into(
    doc: Document, button: ButtonBlock, options: PatchOptions, lines: LineIndex
) -> None:
    """A Button the loop may be moved into, or a Refusal saying why not."""
    _check_unlocked(button.element, "Button", options, lines, button=button)
    check_own_end_tag(doc, button.element, "Button")
    check_expressions_closed(doc, button.element, "Button")
    _check_conditionals(doc, button)
    _check_no_blocks_of_its_own(doc, button)
    check_not_cut_off(doc, button.element, "Button", "moved inside the loop,")


def plan_edits(
    doc: Document, decided: Plan, options: PatchOptions, survey: Survey
) -> tuple[list[Edit], list[tuple[int, str]]]:
    """The plan as typed edits, sorted, and the text that goes with each removed QR block."""
    edits: list[Edit] = []
    left: list[tuple[int, str]] = []  # text outside a moved loop, gone with its QR block
    loops: dict[int, Moved] = {}  # each QR block's loop span, read once

    def moved(qr: QrBlock) -> Moved:
        if qr.element.start not in loops:
            loops[qr.element.start] = loop_span(doc, qr)
        return loops[qr.element.start]

    for qr, button, link in decided.pairs:
        if link is not None:
            start, end, content, inserted = _button_content(doc, qr, moved(qr), button, link)
            edits.append(Edit(start, end, content, what=EditKind.BUTTON, inserted=inserted))
    if decided.qrs and not options.keep_qr:
        for qr in decided.qrs:
            edits.append(Edit(qr.element.start, qr.element.end, "", what=EditKind.QR))
            # what stands outside its loop goes with it: named, or refused if it matters
            left += [(qr.element.start, text) for text in moved(qr).left]
    edits += decided.review.edits
    # rewritten Buttons' links are written anew, and so are those of a Button nested in one
    rewritten = _union((b.element.start, b.element.end) for _, b, _ in decided.pairs)
    updated = {b.element.start for b in decided.review.updated}
    left_as_they_are = [
        b
        for b in decided.buttons
        if b.element.start not in updated and not _within(rewritten, b.element.start)
    ]
    edits += scheme_fixes(doc, left_as_they_are, survey)
    edits.sort(key=lambda e: e.start)
    if decided.qrs:
        _check_outside_expressions(survey, edits, decided.lines)
    _check_attribute_counts(doc, edits)
    return edits, left


# libxml2, which verifies every edit, compares each attribute of a tag with all before it: a
# tag of 40,000 attributes took 2 s a reading. Real emails have a dozen at most.
MAX_TAG_ATTRIBUTES = 1_000


def _check_attribute_counts(doc: Document, edits: list[Edit]) -> None:
    """Refuse an edit touching a start tag of more attributes than anyone writes."""
    text = doc.source
    for edit in edits:
        for token in doc.tokens_in(edit.start, max(edit.end, edit.start + 1)):
            if token.kind is Kind.START and attributes_over(text, token, MAX_TAG_ATTRIBUTES):
                raise Refusal(
                    f"this <{token.name}> tag has more than "
                    f"{MAX_TAG_ATTRIBUTES:,} attributes: mailpatch does not edit a tag of so "
                    "many (an export has a dozen at most; remove the extra ones)",
                    token.start,
                )


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans merged where they meet or overlap, in order: whether an offset lies in one
    is then a bisection (each Button was tested against every pair's Button)."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        elif lo < hi:
            merged.append((lo, hi))
    return merged


def _within(spans: list[tuple[int, int]], at: int) -> bool:
    """Whether ``at`` lies in one of ``spans`` (as ``_union`` makes them)."""
    i = bisect_right(spans, (at, 1 << 62)) - 1
    return i >= 0 and at < spans[i][1]


class LinkReview(NamedTuple):
    """What the current settings say of the calendar links in already patched Buttons."""

    edits: tuple[Edit, ...] = ()  # stale hrefs written anew ("link")
    updates: tuple[Update, ...] = ()
    unchecked: tuple[tuple[str, str], ...] = ()  # (GUID, why its links were not judged)
    updated: tuple[ButtonBlock, ...] = ()


def review_links(
    doc: Document,
    patched: Sequence[ButtonBlock],
    options: PatchOptions,
    guids: AbstractSet[str],
    survey: Survey | None = None,
    refuse: bool = True,
) -> LinkReview:
    """Compare each patched Button's calendar links with the link the settings build for its
    event, as written: a link whose href is not exactly that link's is stale and gets it.
    ``guids`` are every event the email is for (an ``options.event`` serves only when there
    is one).

    Written exactly, because the platform reads the raw text: a placeholder written
    ``%7B%7B…%7D%7D`` or ``&#123;…`` decodes the same but is never filled, a ``&quot;`` is
    not a ``%22``. (Only a missing "//" is left to the scheme fix: two characters.)

    A stale Button that is protected or locked (without --force), or nested in another
    Button, is refused as the first patch would refuse it. One whose event has no readable id
    or no endpoint in the settings, whose loop is not whole, or whose links a handlebars
    expression left open runs over, is left alone and listed as unchecked, with the reason.
    ``refuse=False`` (lint) only reports: a stale link is stale, whether or not patch may
    write it."""
    edits: list[Edit] = []
    updates: list[Update] = []
    unchecked: list[tuple[str, str]] = []
    updated: list[ButtonBlock] = []
    spans: Spans | None = None
    for button in patched:
        guid = button.loop_guids.least()
        event = _known_event(guid, guids, options)
        if event is None or options.endpoint is None or not button.loop_guids.single:
            unchecked.append((guid, _why_unchecked(button, event, options)))
            continue
        link = _link_for(options, options.endpoint, event)
        href = _href(link)
        if _up_to_date(button.links, href):
            continue  # up to date (a missing "//" is the scheme fix's, two characters)
        if not _loop_is_sound(doc, button):
            unchecked.append((guid, "its loop is not whole ('mailpatch lint' says why)"))
            continue
        calendar = [bl for bl in button.links if bl.kind is LinkKind.CALENDAR]
        stale = [bl for bl in calendar if _written(bl) != href]
        if spans is None:
            spans = survey_of(doc.source, survey).mustaches
        mine = [_href_edit(bl.tag, href, shift=0, what=EditKind.LINK) for bl in stale]
        if any(spans.around(at) >= 0 for e in mine for at in (e.start, e.end)):
            unchecked.append((guid, "a handlebars expression left open runs over its link"))
            continue
        if refuse:
            _check_may_update(doc, button, options)
        edits += mine
        was = tuple(dict.fromkeys(bl.url for bl in stale))
        updates.append(Update(button.element.start, guid, link, was))
        updated.append(button)
    return LinkReview(tuple(edits), tuple(updates), tuple(dict.fromkeys(unchecked)), tuple(updated))


def _up_to_date(links: Sequence[ButtonLink], href: str) -> bool:
    """Whether every calendar link among ``links`` is written ``href`` (give or take "//")."""
    if isinstance(links, Links):  # answered for the range (nested Buttons hold thousands)
        lo, hi = links.span
        return links.links_of.all_written(lo, hi, _written_fixed, _written_fixed, href)
    return all(_written_fixed(bl) == href for bl in links if bl.kind is LinkKind.CALENDAR)


def _written_fixed(link: ButtonLink) -> str | None:
    return _written(link, _with_slashes)


def _written(link: ButtonLink, fix: Callable[[str], str] | None = None) -> str | None:
    """The href exactly as written in the HTML (entities not decoded), after ``fix``."""
    attr = link.tag.get("href")
    if attr is None or attr.value is None:
        return None
    return fix(attr.value) if fix else attr.value


def _why_unchecked(button: ButtonBlock, event: EventRef | None, options: PatchOptions) -> str:
    if not button.loop_guids.single:
        return "its loop tests more than one event"
    if event is None:
        return "no readable event id for it in the settings"
    return "no endpoint in the settings"


def _check_may_update(doc: Document, button: ButtonBlock, options: PatchOptions) -> None:
    """A stale Button is refused where a first patch would refuse it: protected or locked
    (unless forced), or a Button block inside or around another (a closing tag missing?)."""
    lines = LineIndex(doc.source)
    _check_unlocked(button.element, "Button", options, lines, "update its calendar link", button)
    el = button.element
    if el.ancestors.outermost_qr_or_button is not None:  # inside another block
        raise Refusal(
            "the Button block with a stale calendar link is inside another block; is a "
            "closing </div> missing?",
            el.start,
        )
    others = doc.blocks_of(BUTTON_TYPE)
    at = bisect_right(doc.starts_of(BUTTON_TYPE), el.start)  # only what starts inside it
    for other in others[at : at + 1]:
        inside = el.start < other.start < el.end
        if other is not el and inside:
            raise Refusal(
                f"the Button block with a stale calendar link and the Button block at "
                f"{lines.label(other.start)} are one inside the other; is a closing </div> "
                "missing?",
                el.start,
            )


def _with_slashes(url: str) -> str:
    return "https://" + url[len("https:") :] if slashless_host(url) is not None else url


def _known_event(guid: str, guids: AbstractSet[str], options: PatchOptions) -> EventRef | None:
    """The readable id the settings give for event ``guid`` (normalised), or None."""
    if guid in options.events:
        return options.events[guid]
    if options.event is not None and guids == {guid}:
        return options.event
    return None


class EmailEvents(NamedTuple):
    """The events one email is for, as patch() reads them: what a run must know before it
    writes anything (which GUIDs an ``--event-id`` would reach; whether an endpoint is
    needed)."""

    qr: tuple[tuple[str, int], ...] = ()  # (normalised GUID, offset) of each ERQRCode block
    patched: frozenset[str] = frozenset()  # normalised GUIDs of Buttons already patched

    @property
    def guids(self) -> frozenset[str]:
        return frozenset(g for g, _ in self.qr) | self.patched

    @property
    def to_patch(self) -> tuple[tuple[str, int], ...]:
        """The ERQRCode blocks whose event no Button carries yet."""
        return tuple((g, at) for g, at in self.qr if g not in self.patched)


# every GUID an event {{#if}} names, for an email the patch will refuse (counted, not trusted)
_ANY_EVENT_GUID = lazy(
    r"msevtmgt_eventid\s*['\"]\s*\{?([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})"
)


def events_in(text: str) -> EmailEvents:
    """The events ``text`` is for."""
    return events_of(text, read_email(text))


def events_of(text: str, reading: Reading | None) -> EmailEvents:
    """The events ``text`` is for, as ``read_email`` read it. An email whose blocks cannot be
    read whole (the patch will refuse it) counts every GUID its event tests name, so that no
    id is given out on a guess."""
    if reading is None:
        return EmailEvents()
    if reading.refusal is not None:
        return EmailEvents(
            tuple((normal_guid(m.group(1)), m.start()) for m in _ANY_EVENT_GUID.finditer(text))
        )
    return EmailEvents(
        tuple((normal_guid(q.guid), q.element.start) for q in reading.qrs),
        union_of(b.loop_guids for b in reading.buttons),
    )


class ButtonSummary(NamedTuple):
    """One Button block as a person choosing among them sees it."""

    offset: int  # where its element starts
    label: str  # its visible text
    guids: Guids  # normalised GUIDs of the event loops it already carries
    calendar: tuple[str, ...]  # its calendar links (HTML-unescaped), as written, each once
    links_elsewhere: bool  # a link of it goes to a real page: taken only when named


def buttons_in(text: str) -> list[ButtonSummary]:
    """The Button blocks of ``text`` in document order; none when the blocks cannot be read
    whole (the patch refuses such an email and says why)."""
    if "button" not in text.lower():
        return []
    try:
        doc = locate(text)
        buttons = [read_button_block(doc, el) for el in doc.blocks_of(BUTTON_TYPE)]
    except Refusal:
        return []
    return [
        ButtonSummary(
            b.element.start,
            label_of(doc, b.element),  # (Buttons left open each hold all after them)
            b.loop_guids,
            tuple(dict.fromkeys(bl.url for bl in b.links if bl.kind is LinkKind.CALENDAR)),
            any(bl.kind is LinkKind.REAL for bl in b.links),
        )
        for b in buttons
    ]


def _link_for(options: PatchOptions, host: str, event: EventRef) -> CalendarLink:
    """The calendar link the settings build for one event."""
    return _calendar_link(
        host=host,
        readable_event_id=event.readable_id,
        fields=options.fields,
        session_id=event.session_id,
        api_version=options.api_version,
    )


# A batch writes the same few links into every email: build and encode each once.
_calendar_link = functools.lru_cache(maxsize=256)(CalendarLink)
_href = functools.lru_cache(maxsize=256)(CalendarLink.href)


def _last_tag(text: str, lo: int, hi: int, opener: str) -> int:
    """Start of the last ``opener`` + (space, '/' or '>') in ``text[lo:hi]``, ``opener``'s
    last letter in either case; -1 if none. ``str.rfind`` reads backwards from ``hi`` and
    stops at the first: a whole-text regular expression would read every byte."""
    best = -1
    for last in (opener[-1].lower(), opener[-1].upper()):
        needle, end = opener[:-1] + last, hi
        while True:
            at = text.rfind(needle, max(lo, best + 1), end)
            if at < 0:
                break
            after = text[at + len(needle) : at + len(needle) + 1]
            if after and after in TAG_NAME_ENDS:  # as the tokenizer ends a tag name
                best = at
                break
            end = at + len(needle) - 1  # an earlier one may still follow ``best``
    return best


def _open_paragraphs(text: str, qrs: list[QrBlock]) -> dict[int, int]:
    """For each QR block start: where a <p> left open before it begins (its tag closes it).

    ``locate`` reads only the blocks, so it cannot know; a cheap look back (the last '<p' after
    the last '</p') says when the whole document must be scanned to find out. The look back
    from each block stops at the previous block: what lies before that is carried over.
    """
    found = {q.element.start: q.element.open_paragraph for q in qrs}
    last_open = last_close = -1
    lo = 0
    for start in sorted(found):
        last_open = max(last_open, _last_tag(text, lo, start, "<p"))
        last_close = max(last_close, _last_tag(text, lo, start, "</p"))
        if last_open > last_close:
            full = scan(text)
            return {e.start: e.open_paragraph for e in full.blocks_of(QR_TYPE)}
        lo = start
    return found


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


def scheme_fixes(
    doc: Document, buttons: Iterable[ButtonBlock], survey: Survey | None = None
) -> list[Edit]:
    """Insert the missing ``//`` into ``https:HOST/…`` calendar links (lint's MP101).

    Microsoft's sample anchor reads ``https:{endpoint}/…`` and hand-patched emails copy it.
    When HOST is a host name the fix is certain: two characters inside the href, nothing else.
    Buttons whose loop is malformed are left alone: lint reports them, and safe mode would
    (rightly) refuse to write a Button it cannot vouch for. So is a link that a handlebars
    expression left open runs over ('{{!each …' never closed): the fix would change what
    Handlebars reads.
    """
    edits: list[Edit] = []
    for button in buttons:
        fixes = []
        links = button.links
        if isinstance(links, Links):  # only the few such links the email has
            lo, hi = links.span
            links = links.links_of.slashless(lo, hi, _slashless_calendar)
        for link in links:
            if _slashless_calendar(link):
                attr = link.tag.get("href")
                assert attr is not None
                at = attr.value_start + len("https:")
                fixes.append(Edit(at, at, "//", what=EditKind.SCHEME))
        if fixes and _loop_is_sound(doc, button):
            edits += fixes
    if edits:  # rare: only now the handlebars pass
        spans = survey_of(doc.source, survey).mustaches
        edits = [e for e in edits if spans.around(e.start) < 0]
    return edits


def _slashless_calendar(link: ButtonLink) -> bool:
    """A calendar link written ``https:HOST/…``, which the scheme fix completes."""
    if not is_calendar_url(link.url):  # cheap tests first: most links are not ours
        return False
    attr = link.tag.get("href")
    return attr is not None and attr.value is not None and slashless_host(attr.value) is not None


def _loop_is_sound(doc: Document, button: ButtonBlock) -> bool:
    """No loop at all, or one well-formed loop with every link inside its ``{{#if}}`` branch."""
    el = button.element
    found = markers_at_most(doc, el.content_start, el.content_end, _LONGEST_LOOP)
    if found is None:
        return False  # more markers than a whole loop has (nested Buttons: thousands)
    if not found:
        return True
    return [m.kind for m in found] in WHOLE_LOOPS and _links_in_branch(found, button)


_LONGEST_LOOP = max(len(kinds) for kinds in WHOLE_LOOPS)


def _links_in_branch(found: list[Marker], button: ButtonBlock) -> bool:
    """Every link of ``button`` inside the {{#if}} branch of the whole loop ``found``."""
    links = button.links
    if not links:
        return True
    # in document order: the first and the last decide
    return found[1].end <= links[0].tag.token.start and links[-1].tag.token.start < found[2].start


def _event_for(qr: QrBlock, guids: AbstractSet[str], options: PatchOptions) -> EventRef:
    """The event for one QR block; ``guids`` are every event the email is for (its QR
    blocks' and its patched Buttons'), normalised."""
    guid = normal_guid(qr.guid)
    event = _known_event(guid, guids, options)
    if event is not None:
        return event
    if options.event is not None:
        raise UnmappedEvent(
            guid,
            f"no readable event id for event {guid}: --event-id serves only an email whose "
            f"QR blocks and patched Buttons share one event, this one has {len(guids)} "
            f"({', '.join(sorted(guids))}); map each with --event GUID=ID",
            qr.element.start,
        )
    raise UnmappedEvent(
        guid,
        f"no readable event id for event {guid}: give --event-id ID"
        + (" (one event)" if len(guids) == 1 else "")
        + f" or --event {guid}=ID",
        qr.element.start,
    )


def _check_one_spelling(qrs: Sequence[QrBlock]) -> None:
    """Handlebars' eq compares exactly: two QR blocks testing one GUID in two spellings
    ('AAAA…' and 'aaaa…') cannot both match the registration's, so which loop to keep is
    not for mailpatch to guess."""
    seen: dict[str, QrBlock] = {}
    for q in qrs:
        first = seen.setdefault(normal_guid(q.guid), q)
        if first.guid.strip() != q.guid.strip():
            raise Refusal(
                f"two ERQRCode blocks test event {normal_guid(q.guid)} spelt differently "
                f"({first.guid.strip()!r} and {q.guid.strip()!r}); Handlebars compares them "
                "exactly, so at most one ever matches: make them the same",
                q.element.start,
            )


def _check_unlocked(
    element: Element,
    what: str,
    options: PatchOptions,
    lines: LineIndex,
    doing: str = "patch it",
    button: ButtonBlock | None = None,
) -> None:
    if options.force:
        return
    named = (ButtonChoice(element.start, button.label),) if button is not None else ()
    if (element.attr("data-protected") or "").strip().lower() == "true":
        raise Refusal(
            f'the {what} block is protected (data-protected="true"); use --force to {doing}',
            element.start,
            Cause.LOCKED,
            named,
        )
    for tag in (element.tag, *element.ancestors):
        if tag.get("data-locked") is not None:
            raise Refusal(
                f"the {what} block is locked (data-locked on the <{tag.token.name}> at "
                f"{lines.label(tag.token.start)}); use --force to {doing}",
                element.start,
                Cause.LOCKED,
                named,
            )


_BLOCK_NAMES = {QR_TYPE: "ERQRCode", BUTTON_TYPE: "Button"}


def _check_outside_expressions(survey: Survey, edits: list[Edit], lines: LineIndex) -> None:
    """No edit may start or end inside a ``{{…}}``: with a stray '{{' before a Button block,
    Handlebars would read the moved loop as part of that expression."""
    if not edits:
        return
    spans = survey.mustaches
    for edit in edits:
        for at in {edit.start, edit.end}:
            i = spans.around(at)
            if i >= 0:
                block = _BLOCK_NAMES[QR_TYPE if edit.what is EditKind.QR else BUTTON_TYPE]
                raise Refusal(
                    f"the handlebars expression opened at {lines.label(spans[i][0])} runs "
                    f"into the {block} "
                    "block (a stray '{{'?): moving the loop would change what Handlebars reads",
                    spans[i][0],
                )


def _check_not_nested(doc: Document, lines: LineIndex) -> None:
    """No ERQRCode block inside a Button or ERQRCode block, no Button inside an ERQRCode one.

    Usually a closing tag is missing. Left alone, a Button holding a QR block's loop would
    count as already patched and the loop would be deleted with the QR block.
    """
    for el in doc.blocks:
        inner = el.block_type
        if inner not in _BLOCK_NAMES:
            continue
        # the outermost such ancestor, kept by the locator (walking each block's ancestors
        # was quadratic in the nesting)
        ancestors = el.ancestors
        tag = ancestors.outermost_qr_or_button if inner == QR_TYPE else ancestors.outermost_qr
        if tag is not None:
            attr = tag.get(BLOCK_ATTR)
            outer = (attr.value or "").strip().lower() if attr is not None else ""
            raise Refusal(
                f"the {_BLOCK_NAMES[inner]} block is inside the {_BLOCK_NAMES[outer]} block "
                f"that starts at {lines.label(tag.token.start)}; is a closing </div> missing?",
                el.start,
            )


_CONDITIONAL = lazy(r"\[if\b[^\]]*\]>(.*)", re.S | re.I)  # its markup, after '[if …]>'


def _check_conditionals(doc: Document, button: ButtonBlock) -> None:
    """An Outlook conditional in the Button must be markup its links can be read from: its
    links (VML hrefs) are found by reading the conditional as markup, and a nested comment
    start, or a tag the conditional's end cuts off, would hide some of them from the
    relinking while Outlook may still follow them (the downlevel-revealed openers such as
    '<!--[if !mso]><!-- -->' are whole on their own and fine)."""
    el = button.element
    for tok in doc.tokens_in(el.content_start, el.content_end):
        if tok.kind is not Kind.COMMENT:
            continue
        lo, hi = comment_body(doc.source, tok)
        m = _CONDITIONAL.match(doc.source, lo, hi)
        if m is None or m.group(1).strip() in ("", "<!--", "<!"):
            continue  # not a conditional, or a downlevel-revealed opener, whole on its own
        if "<!--" in m.group(1):
            raise Refusal(
                "an Outlook conditional comment in the Button block holds another '<!--' "
                "(a comment cut short?); its links cannot all be found",
                tok.start,
            )
        if doc.source[max(lo, hi - 9) : hi].lower() == "<![endif]":  # its own closer
            hi -= 9
        inner = tokenize(doc.source, lo, hi)
        if inner and cut_off(doc.source, inner[-1]):  # '<v:roundrect href="#" …<![endif]-->'
            raise Refusal(
                "an Outlook conditional comment in the Button block ends inside a tag that is "
                f"never closed ({inner[-1].text(doc.source)[:40]!r}…); Outlook may still read "
                "its link, which could not be rewritten",
                inner[-1].start,
            )


def _check_no_blocks_of_its_own(doc: Document, button: ButtonBlock) -> None:
    """The loop is put around the Button's own content, which must hold no handlebars block
    markers of its own: stray closers would unbalance the loop, and nested blocks are more
    than the verifier (and the manual procedure) expect."""
    el = button.element
    found = markers(doc, el.content_start, el.content_end)
    if found:
        raise Refusal(
            "the Button block holds handlebars blocks of its own "
            f"({', '.join(m.kind.value for m in found)}); the loop is only put around a "
            "Button without them",
            found[0].start,
        )


def _check_carried_loop(doc: Document, button: ButtonBlock) -> None:
    """A Button that counts as already patched -- its QR block is then only removed -- must
    hold the loop whole, as mailpatch writes it: the markers in order, every link a calendar
    link inside the {{#if}}. Otherwise removing the QR block would lose the loop."""
    el = button.element
    check_expressions_closed(doc, el, "Button")
    found = markers(doc, el.content_start, el.content_end)
    kinds = [m.kind for m in found]
    problem = ""
    if kinds not in WHOLE_LOOPS:
        problem = "its loop markers are " + _listed([k.value for k in kinds])
    elif not button.links:
        problem = "it has no link"
    elif not _links_in_branch(found, button):
        problem = "a link sits outside its {{#if}}"
    elif _not_all_calendar(button.links):
        problem = "a link in its loop is not a calendar link"
    if problem:
        raise Refusal(
            "the Button block holds a loop for event "
            f"{_listed(sorted(button.loop_guids))} but not a whole one ({problem})",
            el.start,
        )


def _listed(items: Sequence[str], most: int = 6, sep: str = ", ", count: int = -1) -> str:
    """'a, b, c', or the first ``most`` of ``count`` (all of ``items`` by default) and how
    many more: a Button left open before thousands of others holds all their markers, events
    and labels, and a message is read."""
    more = (len(items) if count < 0 else count) - most
    shown = sep.join(items[:most])
    return f"{shown}{sep}and {more:,} more" if more > 0 else shown


def _not_all_calendar(links: Sequence[ButtonLink]) -> bool:
    if isinstance(links, Links):
        lo, hi = links.span
        return links.links_of.others(lo, hi) > 0
    return any(link.kind is not LinkKind.CALENDAR for link in links)


def _check_apart(qr: QrBlock, button: ButtonBlock) -> None:
    q, b = qr.element, button.element
    if q.start < b.end and b.start < q.end:
        raise Refusal("the ERQRCode block and its Button block overlap", q.start)


def _served_events(button: ButtonBlock, host: str | None) -> frozenset[str] | None:
    """The events a Button may be paired with: None for none (no links, or a real link),
    an empty set for any event (placeholder links only), else the one readable event id its
    calendar links carry."""
    links = button.links
    if isinstance(links, Links):  # a range of the document's links: answered for the range
        lo, hi = links.span
        return links.links_of.served(lo, hi, host, functools.partial(_linked_event, host=host))
    if not links:
        return None
    ids: set[str] = set()
    for link in links:
        kind = link.kind
        if kind is LinkKind.REAL:
            return None
        if kind is LinkKind.CALENDAR:
            readable_id = _linked_event(link, host)
            if readable_id is None:
                return None
            ids.add(readable_id)
    return frozenset(ids) if len(ids) <= 1 else None


def _linked_event(link: ButtonLink, host: str | None) -> str | None:
    """The readable id a Button's calendar link carries, if it goes to the settings' Events
    API host (a look-alike path on another host is a link elsewhere: never taken)."""
    try:
        entry = read_calendar_link(link.url)
    except DecodeError:
        return None
    return entry.readable_event_id if entry.host == host else None


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
        try:
            return _pair_explicit(qrs, buttons, options.buttons, lines)
        except Refusal as exc:
            named = _choices(doc, [b for b in buttons if b.links], options.endpoint)
            raise Refusal(exc.reason, exc.offset, Cause.CHOICE, named) from None

    def listing(cands: Sequence[ButtonBlock]) -> str:
        # thousands of Buttons made a message of 300 KB: each label is read for one shown
        shown = [
            f"{lines.label(b.element.start)} {label_of(doc, b.element)!r}"
            for b in cands[:_LISTED_BUTTONS]
        ]
        return _listed(shown, _LISTED_BUTTONS, "; ", len(cands))

    # each Button's links are judged once, and each event's candidates listed once: a
    # template with thousands of blocks would otherwise cost (QR blocks x Buttons)
    placeholders: list[ButtonBlock] = []  # serve any event
    linked: dict[str, list[ButtonBlock]] = {}  # readable event id -> Buttons linking to it
    for b in buttons:
        served = _served_events(b, options.endpoint)
        if served is not None:
            (linked.setdefault(next(iter(served)), []) if served else placeholders).append(b)
    by_event: dict[EventRef, list[ButtonBlock]] = {}
    for event in {events[normal_guid(q.guid)] for q in qrs}:
        own = linked.get(event.readable_id)  # (events without one share the placeholders)
        by_event[event] = sorted([*placeholders, *own], key=_start) if own else placeholders

    def candidates(q: QrBlock) -> list[ButtonBlock]:
        return by_event[events[normal_guid(q.guid)]]

    for q in qrs:
        if not candidates(q):
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
                Cause.NO_BUTTON,
                _choices(doc, real, options.endpoint),
            )
    # one Button for each QR block; else one for each event, its QR blocks sharing it
    groups: dict[str, list[QrBlock]] = {}  # by GUID: two events may share a readable id
    for q in qrs:
        groups.setdefault(normal_guid(q.guid), []).append(q)
    for units in ([[q] for q in qrs], list(groups.values())):
        found = assign([candidates(u[0]) for u in units])
        if isinstance(found, list):
            return [(q, found[i]) for i, unit in enumerate(units) for q in unit]
        if found is AMBIGUOUS:
            every = {id(b): b for u in units for b in candidates(u[0])}
            ordered = sorted(every.values(), key=_start)
            raise Refusal(
                f"ambiguous: {len(qrs)} ERQRCode block(s) and {len(every)} candidate Buttons "
                f"({listing(ordered)}) can be paired in more than one way; choose with "
                "--button LINE:COL",
                qrs[0].element.start,
                Cause.AMBIGUOUS,
                _choices(doc, ordered, options.endpoint),
            )
    every = {id(b): b for q in qrs for b in candidates(q)}
    raise Refusal(
        f"no Button block for every event: {len(groups)} event(s), {len(qrs)} ERQRCode "
        f"block(s), candidate Buttons {listing(sorted(every.values(), key=_start))}",
        qrs[0].element.start,
        Cause.TOO_FEW,
        _choices(doc, [b for b in buttons if b.links], options.endpoint),
    )


_LISTED_BUTTONS = 30  # Buttons a refusal's message names (Refusal.buttons holds them all)


def _choices(
    doc: Document, buttons: Sequence[ButtonBlock], host: str | None
) -> tuple[ButtonChoice, ...]:
    """Buttons as a Refusal names them for a choice, in document order (labels from the
    document's text index, as the listing's: Buttons left open each hold all after them)."""
    return tuple(
        ButtonChoice(b.element.start, label_of(doc, b.element), _served_events(b, host) is None)
        for b in sorted(buttons, key=_start)
    )


AMBIGUOUS = object()  # assign(): two assignments or more


def assign(candidates: Sequence[Sequence[ButtonBlock]]) -> list[ButtonBlock] | object | None:
    """The one assignment of a distinct Button to each unit (a QR block, or an event's QR
    blocks) from its candidates (each in document order), AMBIGUOUS when there are several,
    None when there is none.

    Units and Buttons are paired in document order where that is possible (QR, Button, QR,
    Button; Button, QR, Button, QR; sections), judged in linear time: the earliest such
    assignment (each unit the first candidate after the previous unit's) and the latest (each
    the last before the next's) bound every other one, so they are equal exactly when it is
    the only one. Where no order-preserving assignment exists (Buttons already linked to
    their events, in another order), the choices each unit is forced to make decide, or the
    pairing is refused.
    """
    n = len(candidates)
    starts: dict[int, list[int]] = {}  # by list: units share theirs (the placeholders)
    for c in candidates:
        if id(c) not in starts:
            starts[id(c)] = [b.element.start for b in c]
    earliest: list[ButtonBlock] = []
    at = -1
    for c in candidates:
        i = bisect_right(starts[id(c)], at)
        if i == len(c):
            break
        earliest.append(c[i])
        at = c[i].element.start
    if len(earliest) == n:
        latest: list[ButtonBlock] = []
        at = 1 << 62
        for c in reversed(candidates):
            i = bisect_left(starts[id(c)], at) - 1
            latest.append(c[i])  # exists: the earliest assignment is one
            at = c[i].element.start
        latest.reverse()
        same = all(a is b for a, b in zip(earliest, latest, strict=True))
        return earliest if same else AMBIGUOUS
    # no order-preserving assignment: make the forced choices, one after another
    chosen: list[ButtonBlock | None] = [None] * n
    taken: set[int] = set()
    progress = True
    while progress:
        progress = False
        for k, c in enumerate(candidates):
            if chosen[k] is not None:
                continue
            free = [b for b in c if id(b) not in taken]
            if not free:
                return None
            if len(free) == 1:
                chosen[k] = free[0]
                taken.add(id(free[0]))
                progress = True
    left = [c for k, c in enumerate(candidates) if chosen[k] is None]
    if left:  # each still has two choices or more: several assignments, unless too few
        untaken = {id(b) for c in left for b in c if id(b) not in taken}
        return AMBIGUOUS if len(untaken) >= len(left) else None
    return [b for b in chosen if b is not None]


def _start(block: ButtonBlock) -> int:
    return block.element.start


def _pair_explicit(
    qrs: list[QrBlock],
    buttons: list[ButtonBlock],
    chosen: tuple[tuple[int, int | None], ...],
    lines: LineIndex,
) -> list[tuple[QrBlock, ButtonBlock]]:
    """The Buttons named, in document order: one per QR block, or one per event (in the
    order of each event's first QR block)."""
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
    picked.sort(key=lambda b: b.element.start)
    if len(picked) == len(qrs):
        return list(zip(qrs, picked, strict=True))
    groups: dict[str, list[QrBlock]] = {}  # an event's QR blocks share its Button
    for q in qrs:
        groups.setdefault(normal_guid(q.guid), []).append(q)
    if len(picked) == len(groups):
        return [(q, b) for group, b in zip(groups.values(), picked, strict=True) for q in group]
    raise Refusal(
        f"{len(qrs)} ERQRCode block(s) for {len(groups)} event(s) to patch but "
        f"{len(picked)} Button(s) named with --button (one per block, or one per event)",
        qrs[0].element.start,
    )


def _button_content(
    doc: Document, qr: QrBlock, moved: Moved, button: ButtonBlock, link: CalendarLink
) -> tuple[int, int, str, tuple[int, int]]:
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
    # only the loop moves, and the button takes the image's place (see _moving)
    content_tokens = own_tokens(doc, el)
    lo, hi = image_place(doc, qr, content_tokens)
    check_movable(doc, qr, moved, (lo, hi), content_tokens)
    head = source[moved.start : lo]
    content = head + relinked + source[hi : moved.end]
    return el.content_start, el.content_end, content, (len(head), len(head) + len(relinked))


def _href_edit(tag: StartTag, href: str, shift: int, what: EditKind = EditKind.HREF) -> Edit:
    """Point one link at ``href`` (offsets relative to ``shift``)."""
    attr = tag.get("href")
    if attr is None:  # <a> without href: add one right after the tag name
        at = tag.token.start + 1 + len(tag.token.name) - shift
        return Edit(at, at, f' href="{href}"', what=what)
    if attr.value is None:  # bare `href`
        return Edit(attr.start - shift, attr.value_end - shift, f'href="{href}"', what=what)
    if attr.quote == "":
        return Edit(attr.value_start - shift, attr.value_end - shift, f'"{href}"', what=what)
    return Edit(attr.value_start - shift, attr.value_end - shift, href, what=what)
