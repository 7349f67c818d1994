"""The lint core: ``lint(text, content) -> list[Problem]`` for calendar links already in emails.

Users who patched by hand, or whose designer later touched the button, need to know whether
their links work. Every check reads the same token view the patcher uses (``_blocks``); nothing
is rewritten here. Each check has a stable code, a severity and a one-line fix hint (``RULES``).
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, NamedTuple

from mailpatch._blocks import (
    BUTTON_TYPE,
    CONDITIONAL,
    QR_TYPE,
    Document,
    Element,
    Guids,
    first_holders,
    markers,
    read_button_block,
    scan,
    union_of,
)
from mailpatch._handlebars import GUID_LIKE, Marker, MarkerKind, normal_guid
from mailpatch._html import (
    Attr,
    Kind,
    LineIndex,
    StartTag,
    Token,
    comment_body,
    tokenize,
    unescape,
)
from mailpatch._journeys import JourneysLook, journeys_look
from mailpatch._link import (
    PLACEHOLDER,
    REQUIRED_FIELD,
    RESERVED_FIELD,
    LinkError,
    is_calendar_url,
    is_reserved_field,
    normalize_endpoint,
    placeholder_message,
    placeholder_problems,
    slashless_host,
)
from mailpatch._patch import PatchOptions, review_links, scheme_fixes


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"  # maybe intended; still reported (and still exit 1, like any finding)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    hint: str


_RULES = [
    Rule(
        "MP101",
        "https-without-slashes",
        Severity.ERROR,
        "write https://HOST/EvtMgmt/api/v2.0/… ('mailpatch patch' adds the // when HOST is a "
        "host name)",
    ),
    Rule(
        "MP102",
        "not-https-host",
        Severity.ERROR,
        "start the link with https:// and the Events API host, e.g. "
        "https://contoso.svc.dynamics.com/EvtMgmt/api/v2.0/…",
    ),
    Rule(
        "MP103",
        "no-api-version",
        Severity.ERROR,
        "add api-version=2016-06-30 to the query (write & between parameters as &amp;)",
    ),
    Rule(
        "MP104",
        "raw-quote",
        Severity.ERROR,
        'write every JSON quote in the link as %22: a raw " ends the href attribute',
    ),
    Rule(
        "MP105",
        "data-not-json",
        Severity.ERROR,
        "data= must be a JSON array such as [{%22readableEventId%22:%22ID%22,%22data%22:{…}}]; "
        "'mailpatch patch' writes one",
    ),
    Rule(
        "MP106",
        "no-readable-event-id",
        Severity.ERROR,
        "add %22readableEventId%22:%22ID%22 with the event's readable id (not its GUID)",
    ),
    Rule(
        "MP107",
        "misspelled-key",
        Severity.ERROR,
        "keys are case-sensitive: readableEventId, sessionId, data; in data registrationId and "
        "the Calendar content's wildcards",
    ),
    Rule(
        "MP108",
        "reserved-field",
        Severity.ERROR,
        f"remove {RESERVED_FIELD} from data: the platform fills it and must never be sent it",
    ),
    Rule(
        "MP109",
        "no-registration-id",
        Severity.ERROR,
        "add %22registrationId%22:%22{{this.msevtmgt_name}}%22 to data: the API needs it",
    ),
    Rule(
        "MP110",
        "complex-placeholder",
        Severity.ERROR,
        "use a plain path such as {{contact.firstname}}: names of ASCII letters, digits and _ "
        "joined by dots; no helpers, keywords, literals, triple braces or other Handlebars syntax",
    ),
    Rule(
        "MP111",
        "event-id-is-guid",
        Severity.ERROR,
        "readableEventId takes the event's readable id (event record, Website and form tab), "
        "not the GUID its {{#if}} tests",
    ),
    Rule(
        "MP201",
        "link-outside-loop",
        Severity.ERROR,
        "put the link inside {{#each contact.msevtmgt_eventregistration_contact_msevtmgt_"
        "contactid}}{{#if (eq this.msevtmgt_eventid 'GUID')}} … {{/if}}{{/each}}",
    ),
    Rule(
        "MP202",
        "link-outside-event-if",
        Severity.ERROR,
        "put the link between {{#if (eq this.msevtmgt_eventid 'GUID')}} and its {{else}} or "
        "{{/if}}",
    ),
    Rule(
        "MP203",
        "unbalanced-markers",
        Severity.ERROR,
        "close every {{#each}} with {{/each}} and every {{#if}} with {{/if}}, innermost first",
    ),
    Rule(
        "MP204",
        "qr-block-left",
        Severity.WARNING,
        "delete the ERQRCode block (or lint with --keep-qr if both are meant to stay)",
    ),
    Rule(
        "MP205",
        "link-not-calendar",
        Severity.ERROR,
        "point every link in the Button (the <a> and Outlook's VML href) at the same calendar URL",
    ),
    Rule(
        "MP206",
        "links-differ",
        Severity.ERROR,
        "make every link in the Button the same calendar URL",
    ),
    Rule(
        "MP207",
        "stale-link",
        Severity.ERROR,
        "'mailpatch patch' writes the link the settings build for the event (endpoint, "
        "readable id, fields, api-version)",
    ),
    Rule(
        "MP301",
        "wildcard-not-supplied",
        Severity.ERROR,
        "add the key to the link's data ('mailpatch patch --field KEY=VALUE'), or take the "
        "wildcard out of the Calendar content",
    ),
    Rule(
        "MP302",
        "unused-data-key",
        Severity.WARNING,
        "drop the key from data ('mailpatch patch --drop-field KEY'), or use it in the Calendar "
        "content",
    ),
]
RULES: Mapping[str, Rule] = {rule.code: rule for rule in _RULES}

ENTRY_KEYS = ("readableEventId", "sessionId", "data")
DEFAULT_DATA_KEYS = ("registrationId", "firstname")  # what mailpatch and Microsoft's docs send


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    offset: int  # into the decoded text (no BOM), for line:col
    message: str
    fixable: bool = False  # `mailpatch patch` fixes exactly this (where the fix is certain)

    @property
    def rule(self) -> Rule:
        return RULES[self.code]


@dataclass(frozen=True)
class CalendarContent:
    """The event's Calendar content: the wildcards its HTML expects from each link's data."""

    name: str  # file name, for messages
    wildcards: Mapping[str, str] = field(default_factory=dict)  # key -> "line:col" of first use

    @classmethod
    def parse(cls, name: str, text: str) -> CalendarContent:
        lines = LineIndex(text)
        found: dict[str, str] = {}
        for m in PLACEHOLDER.finditer(text):
            key = m.group(1)
            if key != RESERVED_FIELD and key not in found:
                found[key] = lines.label(m.start())
        return cls(name, found)


@dataclass(frozen=True, slots=True)
class Link:
    """An href in the email: an ``<a>`` (or any tag), or a VML shape inside an MSO comment."""

    tag: StartTag
    attr: Attr
    url: str  # HTML-unescaped
    in_mso: bool

    @property
    def offset(self) -> int:
        return self.attr.value_start

    @property
    def calendar(self) -> bool:
        return is_calendar_url(self.url)


def links(doc: Document) -> list[Link]:
    """Every href in document order, including those Outlook reads inside ``<!--[if mso]>``."""
    source = doc.source
    out: list[Link] = []

    def take(tokens: Iterable[Token], in_mso: bool) -> None:
        for tok in tokens:
            if tok.kind is not Kind.START or "href" not in source[tok.start : tok.end].lower():
                continue
            tag = StartTag(source, tok)
            attr = tag.get("href")
            if attr is not None and attr.value is not None:
                out.append(Link(tag, attr, unescape(attr.value), in_mso))

    for tok in doc.tokens:
        if tok.kind is Kind.START:
            take([tok], in_mso=False)
        elif tok.kind is Kind.COMMENT:
            lo, hi = comment_body(source, tok)
            if CONDITIONAL.match(source, lo, hi):
                take(tokenize(source, lo, hi), in_mso=True)
    return out


def lint(
    text: str, content: CalendarContent | None = None, settings: PatchOptions | None = None
) -> list[Problem]:
    """Every problem in one email, in document order (then by code). With ``settings``, a
    patched Button's links are also compared with the link they build for its event."""
    return lint_email(text, content, settings).problems


class NotPatched(NamedTuple):
    """An ERQRCode block whose event no Button carries yet: work for patch, not a problem."""

    offset: int
    guid: str  # the event its loop tests ('' when it names none)


class LintResult(NamedTuple):
    problems: list[Problem]
    not_patched: list[NotPatched]
    journeys: JourneysLook | None = None  # no ERQRCode block, and real-time journeys' markup


def lint_email(
    text: str, content: CalendarContent | None = None, settings: PatchOptions | None = None
) -> LintResult:
    """``lint``, and the ERQRCode blocks not patched yet (a raw export has no problem, but is
    not done either)."""
    if "{{" not in text and not re.search(r"calendar/personal/ics|erqrcode", text, re.I):
        # most emails: no loop and no calendar link, nothing to read further
        return LintResult([], [], journeys_look(text))
    doc = scan(text)
    lines = LineIndex(text)
    found = links(doc)
    problems: list[Problem] = []
    for link in found:
        if link.calendar:
            problems += check_link(link, content)
    problems += _check_loops(doc, found, lines)
    patched: dict[str, Element] = {}  # GUID -> a Button that carries its calendar link
    problems += _check_buttons(doc, found, lines, patched)
    left, not_patched = _check_qr_blocks(doc, patched, lines)
    problems += left
    if settings is not None:
        problems += _check_stale(doc, settings)
    problems = _mark_fixable(doc, problems)
    journeys = None if doc.blocks_of(QR_TYPE) else journeys_look(text)
    return LintResult(sorted(problems, key=lambda p: (p.offset, p.code)), not_patched, journeys)


FIXES_IT = " (mailpatch patch fixes it)"


def _mark_fixable(doc: Document, problems: list[Problem]) -> list[Problem]:
    """Say "fixable" only where patch's own fix would apply: the same function decides."""
    # read one at a time: no list of every Button of a link-dense email
    buttons = (read_button_block(doc, el) for el in doc.blocks_of(BUTTON_TYPE))
    inserts = {edit.start for edit in scheme_fixes(doc, buttons)}
    return [
        replace(p, fixable=True, message=p.message + FIXES_IT)
        if p.code == "MP101" and p.offset + len("https:") in inserts
        else p
        for p in problems
    ]


# --- one calendar link -------------------------------------------------------------------------


def check_link(link: Link, content: CalendarContent | None = None) -> list[Problem]:
    """What is wrong with one calendar link on its own (not where it sits)."""
    at = link.offset
    url = link.url
    out = [Problem(code, at, msg) for code, msg in _scheme_and_host(url)]
    out += [Problem("MP110", at, msg) for msg in _placeholders(url)]
    cut = _cut_by_quote(link)
    if cut is not None:
        lost = 'a raw " ends the href here; the rest of the link is lost'
        return [*out, Problem("MP104", cut, lost)]
    if '"' in url:
        return [*out, Problem("MP104", at, 'the link holds a raw " (JSON quotes must be %22)')]
    query = urllib.parse.urlsplit(url).query
    params: dict[str, str] = {}
    twice: list[str] = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key in params and key in ("data", "api-version"):
            twice.append(key)
        params.setdefault(key, value)
    if twice:  # servers and libraries take the first or the last: which one is not known
        code = "MP105" if "data" in twice else "MP103"
        return [
            *out,
            Problem(code, at, f"{twice[0]}= is given twice: which one counts is not known"),
        ]
    if "api-version" not in params:
        out.append(Problem("MP103", at, "no api-version= parameter"))
    if "data" not in params:
        return [*out, Problem("MP105", at, "no data= parameter")]
    try:
        data = json.loads(urllib.parse.unquote(params["data"], errors="strict"))
    except UnicodeDecodeError:
        return [*out, Problem("MP105", at, "data holds a percent-escape that is not UTF-8")]
    except RecursionError:
        return [*out, Problem("MP105", at, "data is not JSON: nested too deep")]
    except json.JSONDecodeError as exc:
        near = exc.doc[max(0, exc.pos - 1) : exc.pos + 2]
        bare = " (a placeholder outside %22…%22)" if "{{" in near else ""
        msg = f"data is not JSON: {exc.msg} at character {exc.pos}{bare}"
        return [*out, Problem("MP105", at, msg)]
    if not isinstance(data, list) or not data or not all(isinstance(e, dict) for e in data):
        return [*out, Problem("MP105", at, "data is not a JSON array of objects")]
    for entry in data:
        out += [Problem(code, at, msg) for code, msg in _entry(entry, content)]
    return out


def _scheme_and_host(url: str) -> Iterator[tuple[str, str]]:
    shown = url[:40] + ("…" if len(url) > 40 else "")
    if slashless_host(url) is not None:
        yield "MP101", f"{shown!r} has no // after https:"
        return
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() != "https":
        yield "MP102", f"{shown!r} is not an https:// link"
        return
    if not rest.startswith("//"):
        host = rest.split("/", 1)[0]
        yield "MP101", f"{shown!r} has no // after https:, and {host!r} is not a host name"
        return
    host = rest[2:].split("/", 1)[0]
    try:
        normalize_endpoint(host)
    except LinkError:
        yield "MP102", f"{host!r} in the link is not an Events API host name"


def _placeholders(url: str) -> Iterator[str]:
    """Each ``{{…}}`` that is not a placeholder the platform can fill: the rule patch applies
    to a field value, here over the whole link (every ``{{`` must start a placeholder)."""
    for expression, problem in placeholder_problems(url):
        yield placeholder_message(expression, problem)


def _cut_by_quote(link: Link) -> int | None:
    """Where a raw ``"`` closed a double-quoted href early (the attribute runs on after it)."""
    attr = link.attr
    if attr.quote != '"':
        return None
    after = link.tag.source[attr.value_end + 1 : attr.value_end + 2]
    return attr.value_end if after and not (after.isspace() or after in "/>") else None


def _near(key: str, known: Iterable[str]) -> str | None:
    """The known key that ``key`` is probably a misspelling of, if any."""
    lower = {k.lower(): k for k in known}
    if key in lower.values():
        return None
    if key.lower() in lower:
        return lower[key.lower()]
    close = difflib.get_close_matches(key.lower(), list(lower), n=1, cutoff=0.8)
    return lower[close[0]] if close else None


def _entry(entry: dict[str, Any], content: CalendarContent | None) -> Iterator[tuple[str, str]]:
    for key in entry:
        if key in ENTRY_KEYS:
            continue
        guess = _near(key, ENTRY_KEYS)
        if guess is not None:
            yield "MP107", f"{key!r}: did you mean {guess!r}?"
        else:
            yield "MP107", f"unknown key {key!r} (known: {', '.join(ENTRY_KEYS)})"
    event_id = entry.get("readableEventId")
    if not isinstance(event_id, str) or not event_id.strip():
        if "readableEventId" in entry:
            yield "MP106", "readableEventId is empty or not a string"
        elif _near("readableEventId", entry) is None:  # a misspelling is reported already
            yield "MP106", "no readableEventId"
    elif GUID_LIKE.match(event_id.strip()):
        yield (
            "MP111",
            (
                f"readableEventId {event_id.strip()!r} is an event GUID: the API needs the "
                "readable id, so every registrant's download fails"
            ),
        )
    data = entry.get("data")
    if not isinstance(data, dict):
        if "data" in entry or _near("data", entry) is None:
            yield "MP109", 'no "data" object with registrationId'
        return
    yield from _data(data, content)


def _data(data: dict[str, Any], content: CalendarContent | None) -> Iterator[tuple[str, str]]:
    wildcards = dict(content.wildcards) if content is not None else {}
    known = {REQUIRED_FIELD, *(wildcards if content is not None else DEFAULT_DATA_KEYS)}
    meant: dict[str, str] = {}  # misspelled key -> the known key it stands for
    for key, value in data.items():
        if is_reserved_field(key):
            yield "MP108", f"{key!r} is passed in data"
            continue
        guess = _near(key, known)
        if guess is not None and guess not in data:
            meant[key] = guess
            yield "MP107", f"data key {key!r}: did you mean {guess!r}?"
        if not isinstance(value, str):
            yield "MP105", f"data value of {key!r} is not a string"
    if REQUIRED_FIELD not in data and REQUIRED_FIELD not in meant.values():
        yield "MP109", f"data has no {REQUIRED_FIELD}"
    if content is None:
        return
    supplied = set(data) | set(meant.values())
    for key, where in wildcards.items():
        if key not in supplied:
            yield "MP301", f"{{{{{key}}}}} in {content.name}:{where} is not in this link's data"
    for key in data:
        unused = key not in wildcards and key != REQUIRED_FIELD and key not in meant
        if unused and key.lower() != RESERVED_FIELD:
            yield "MP302", f"data key {key!r} is not used by {content.name}"


# --- where links sit: the registration loop ----------------------------------------------------


@dataclass(slots=True)
class _Frame:
    marker: Marker
    in_else: bool = False
    # What _close and _placement ask of the frames up to this one (itself included), kept
    # with each: a stack of thousands of markers never closed was walked again for every
    # marker and calendar link after them. Indexes into the stack, -1 for none.
    last_each: int = -1  # the innermost {{#each}}
    last_if: int = -1  # the innermost {{#if}}, of either kind
    first_each: int = -1  # the outermost {{#each}} not in its {{else}}
    last_event_if: int = -1  # the innermost event {{#if}} not in its {{else}}


def _push(stack: list[_Frame], frame: _Frame) -> None:
    below = stack[-1] if stack else None
    at = len(stack)
    kind = frame.marker.kind
    frame.last_each = at if kind is MarkerKind.EACH else below.last_each if below else -1
    frame.last_if = at if kind is not MarkerKind.EACH else below.last_if if below else -1
    stack.append(frame)
    _settle(stack)


def _settle(stack: list[_Frame]) -> None:
    """Set what the top frame's ``in_else`` decides (it alone may change: {{else}})."""
    top, at = stack[-1], len(stack) - 1
    below = stack[-2] if at else None
    kind, live = top.marker.kind, not top.in_else
    first_each = below.first_each if below else -1
    if first_each < 0 and kind is MarkerKind.EACH and live:
        first_each = at
    top.first_each = first_each
    last_event_if = below.last_event_if if below else -1
    top.last_event_if = at if kind is MarkerKind.IF_EVENT and live else last_event_if


def _check_loops(doc: Document, found: list[Link], lines: LineIndex) -> Iterator[Problem]:
    """Balance every block marker; check each calendar link sits in an event's loop."""
    marks = markers(doc, 0, len(doc.source))
    events: list[tuple[int, int, Marker | Link]] = [(m.start, 0, m) for m in marks]
    events += [(link.tag.token.start, 1, link) for link in found if link.calendar]
    events.sort(key=lambda e: (e[0], e[1]))
    stack: list[_Frame] = []
    opens = (MarkerKind.EACH, MarkerKind.IF_EVENT, MarkerKind.IF_OTHER)
    for _, _, item in events:
        if isinstance(item, Link):
            yield from _placement(item, stack)
            continue
        kind = item.kind
        if kind is MarkerKind.OTHER_BLOCK:
            continue  # another helper's block ({{#unless}}…): not the loop's to judge here
        if kind in opens:
            _push(stack, _Frame(item))
        elif kind in (MarkerKind.ELSE, MarkerKind.ELSE_CHAIN):
            if stack:
                stack[-1].in_else = True
                _settle(stack)
            else:
                yield Problem("MP203", item.start, "{{else}} outside any {{#if}} or {{#each}}")
        else:
            yield from _close(item, stack, lines)
    for frame in stack:
        yield Problem("MP203", frame.marker.start, f"{_shown(frame.marker)} is never closed")


def _close(item: Marker, stack: list[_Frame], lines: LineIndex) -> Iterator[Problem]:
    each = item.kind is MarkerKind.END_EACH
    name = "{{/each}}" if each else "{{/if}}"
    depth = -1 if not stack else stack[-1].last_each if each else stack[-1].last_if
    if depth < 0:
        yield Problem("MP203", item.start, f"{name} closes nothing")
        return
    for frame in stack[depth + 1 :]:
        yield Problem(
            "MP203",
            item.start,
            f"{name} comes before the {_shown(frame.marker)} at "
            f"{lines.label(frame.marker.start)} is closed",
        )
    del stack[depth:]


def _shown(marker: Marker) -> str:
    return {
        MarkerKind.EACH: "{{#each}}",
        MarkerKind.IF_EVENT: "{{#if (eq this.msevtmgt_eventid …)}}",
        MarkerKind.IF_OTHER: "{{#if}}",
    }.get(marker.kind, marker.kind.value)


def _placement(link: Link, stack: list[_Frame]) -> Iterator[Problem]:
    # {{else}} of an #each renders for contacts without registrations: outside the loop
    each = stack[-1].first_each if stack else -1
    if each < 0:
        yield Problem(
            "MP201",
            link.offset,
            "calendar link outside the registration loop: it renders for every contact, "
            "with an empty registration id",
        )
        return
    if stack[-1].last_event_if <= each:
        yield Problem(
            "MP202",
            link.offset,
            "calendar link inside the loop but not in its {{#if (eq this.msevtmgt_eventid …)}} "
            "branch: it renders once per registration, for every event",
        )


# --- Button blocks and QR blocks ---------------------------------------------------------------


def _check_buttons(
    doc: Document, found: list[Link], lines: LineIndex, patched: dict[str, Element]
) -> Iterator[Problem]:
    """Links in Buttons that disagree; fills ``patched`` (GUID -> a Button that carries that
    event's calendar link)."""
    starts = [link.tag.token.start for link in found]  # in document order: bisect, not a scan
    # Each Button's links are a range of ``found``; what is asked of the range is found by
    # jumps, as many as there are problems: a Button left open before thousands of others
    # holds all their links, and each was looked at again for each Button.
    calendar = [link.calendar for link in found]
    after = _LinkJumps(found, calendar)
    holders: list[tuple[Guids, Element]] = []  # (read once, all together: first_holders)
    for element in doc.blocks_of(BUTTON_TYPE):
        lo = bisect.bisect_left(starts, element.content_start)
        hi = bisect.bisect_left(starts, element.content_end)
        i = after.calendar[lo]
        if i >= hi:
            continue
        holders.append((read_button_block(doc, element).loop_guids, element))
        first = found[i]
        for k in sorted([*after.plain_in(lo, hi), *after.other_urls_in(i, hi)]):
            link = found[k]
            if not calendar[k]:
                yield Problem("MP205", link.offset, _dead_link(link, first, lines))
            else:
                yield Problem(
                    "MP206",
                    link.offset,
                    f"this calendar link differs from the one at {lines.label(first.offset)}",
                )
    for guid, element in first_holders(holders).items():
        patched.setdefault(guid, element)


def _check_qr_blocks(
    doc: Document, patched: dict[str, Element], lines: LineIndex
) -> tuple[list[Problem], list[NotPatched]]:
    """QR blocks left beside their event's patched Button (MP204), and those not patched yet."""
    problems: list[Problem] = []
    not_patched: list[NotPatched] = []
    # A block's event tests are a range of the document's (found by bisection), and the
    # first one of a patched event is known for each test at once: a block left open before
    # thousands of others holds all their tests, and each was listed again for each block.
    index = doc.marker_index()
    tests, test_guids = index.test_starts, index.guids
    carried = [len(tests)] * (len(tests) + 1)  # [i]: the first test from i of a patched event
    for i in range(len(tests) - 1, -1, -1):
        carried[i] = i if test_guids[i] in patched else carried[i + 1]
    for element in doc.blocks_of(QR_TYPE):
        lo, hi = element.content_start, element.content_end
        if doc.aligned(lo) and doc.aligned(hi):
            i, j = bisect.bisect_left(tests, lo), bisect.bisect_left(tests, hi)
            first = test_guids[i] if i < j else ""
            button = patched[test_guids[carried[i]]] if carried[i] < j else None
        else:  # not whole tokens: read again
            guids = [
                normal_guid(m.guid) for m in markers(doc, lo, hi) if m.kind is MarkerKind.IF_EVENT
            ]
            first = guids[0] if guids else ""
            button = next((patched[g] for g in guids if g in patched), None)
        if button is None:
            not_patched.append(NotPatched(element.start, first))
            continue
        problems.append(
            Problem(
                "MP204",
                element.start,
                f"ERQRCode block for event {first} is still here beside the patched Button at "
                f"{lines.label(button.start)}: registrants get both",
            )
        )
    return problems, not_patched


class _LinkJumps:
    """For the links of an email in order: where the next calendar link is, the next other
    link, and the next calendar link whose URL differs from a given one's."""

    def __init__(self, found: list[Link], calendar: list[bool]) -> None:
        n = len(found)
        self.calendar = [n] * (n + 1)  # [i]: the first calendar link at or after i
        self.plain = [n] * (n + 1)  # [i]: the first link at or after i that is not one
        self.other_url = [n] * n  # [i], calendar link i: the next calendar link with another URL
        self.urls = [link.url for link in found]
        for i in range(n - 1, -1, -1):
            self.calendar[i] = i if calendar[i] else self.calendar[i + 1]
            self.plain[i] = self.plain[i + 1] if calendar[i] else i
            if calendar[i]:
                c = self.calendar[i + 1]
                if c < n:
                    self.other_url[i] = c if self.urls[c] != self.urls[i] else self.other_url[c]

    def plain_in(self, lo: int, hi: int) -> Iterator[int]:
        k = self.plain[lo]
        while k < hi:
            yield k
            k = self.plain[k + 1]

    def other_urls_in(self, first: int, hi: int) -> Iterator[int]:
        """The calendar links before ``hi`` after calendar link ``first`` whose URL is not its."""
        url = self.urls[first]
        k = self.other_url[first]
        while k < hi:
            yield k
            k = self.calendar[k + 1]
            if k < hi and self.urls[k] == url:
                k = self.other_url[k]


def _check_stale(doc: Document, settings: PatchOptions) -> Iterator[Problem]:
    """Links that patch would write anew: the same review decides (``review_links``)."""
    buttons = [read_button_block(doc, el) for el in doc.blocks_of(BUTTON_TYPE)]
    patched = [b for b in buttons if b.loop_guids]
    guids = set(union_of(b.loop_guids for b in patched))
    guids |= _tested_in(doc, doc.blocks_of(QR_TYPE))
    review = review_links(doc, patched, settings, guids, refuse=False)
    for edit in review.edits:
        update = max(
            (u for u in review.updates if u.button_offset <= edit.start),
            key=lambda u: u.button_offset,
        )
        yield Problem(
            "MP207",
            edit.start,
            f"this calendar link is not the one the settings build for event {update.guid} "
            f"(readable id {update.link.readable_event_id!r} at {update.link.host}): "
            "registrants would get a stale invitation" + FIXES_IT,
            fixable=True,  # patch's own review found it: patch rewrites exactly this link
        )


def _tested_in(doc: Document, elements: list[Element]) -> set[str]:
    """The GUIDs the event tests in the contents of ``elements`` (in document order) name,
    read once: where contents overlap (blocks left open hold all after them), they are read
    as one span."""
    spans: list[list[int]] = []
    for el in elements:
        lo, hi = el.content_start, el.content_end
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    return {
        normal_guid(m.guid)
        for lo, hi in spans
        for m in markers(doc, lo, hi)
        if m.kind is MarkerKind.IF_EVENT
    }


def _dead_link(link: Link, calendar: Link, lines: LineIndex) -> str:
    url = link.url if len(link.url) <= 40 else link.url[:40] + "…"
    if link.in_mso:
        who = "Outlook's VML link"
        effect = "Outlook desktop users get a dead button"
    else:
        who = f"this <{link.tag.token.name}>"
        effect = "readers outside Outlook desktop get the wrong target"
    return (
        f"{who} points to {url!r}, not the calendar link at {lines.label(calendar.offset)}: "
        f"{effect}"
    )
