"""Hostile emails built to size: deep nesting, thousands of blocks, endless values.

Shared by tests/test_pathological.py (which asserts outcomes, never timings) and
benchmarks/pathological.py (which prints timings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mailpatch._patch import EventRef, PatchOptions

ENDPOINT = "contoso.svc.dynamics.com"
GUID = "e4b81d2f-0a6c-ee11-9079-6045bd8e1f20"
IMG = '<img id="base64image" src="{{this.msevtmgt_qrcode}}" alt="Event registration QR code">'
BUTTON = (
    '<div data-editorblocktype="Button" align="center" class="buttonWrapper">'
    '<a class="buttonClass" href="#"><span>Add to calendar</span></a></div>\n'
)
TEXT = '<div data-editorblocktype="Text"><p>Text</p></div>\n'
VML_LINK = '<!--[if mso]><v:rect href="https://x.com"> '  # (no '-->': open to the end)
LINK_BUTTON = (  # a Button that links elsewhere, as a newsletter's other sections hold
    '<div data-editorblocktype="Button"><a href="https://contoso.com/x">Read more</a></div>\n'
)
ONE_EVENT = PatchOptions(endpoint=ENDPOINT, event=EventRef("ev-1"))


def guid(n: int) -> str:
    return f"{n:08x}" + GUID[8:]


def qr(event: str = GUID, img: str = IMG) -> str:
    return (
        '<div data-editorblocktype="ERQRCode">\n'
        "<!--{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}-->\n"
        f"<!--{{{{#if (eq this.msevtmgt_eventid '{event}')}}}}-->\n"
        f"{img}\n"
        "<!--{{/if}}-->\n"
        "<!--{{/each}}-->\n"
        "</div>\n"
    )


def nested(depth: int, inner: str, close: bool = True) -> str:
    return "<div>" * depth + inner + ("</div>" * depth if close else "")


def button_around(depth: int) -> str:
    """A Button whose link sits ``depth`` elements down."""
    return (
        '<div data-editorblocktype="Button">'
        + nested(depth, '<a class="buttonClass" href="#">Add</a>')
        + "</div>\n"
    )


def events_for(n: int) -> PatchOptions:
    return PatchOptions(endpoint=ENDPOINT, events={guid(i): EventRef(f"ev-{i}") for i in range(n)})


MANY_EVENTS = events_for(8_000)  # for the shapes of one event per pair
# the two block types the locator reads, written as text: a hit each, in no tag
BLOCK_TYPES_AS_TEXT = "data-editorblocktype=button "
OPEN_BUTTON = '<div data-editorblocktype="Button">'
OPEN_QR_WITH_MARKER = '<div data-editorblocktype="ERQRCode"><!--{{#if x}}-->'


def buttons_testing_events(n: int) -> str:
    """A QR block, then ``n`` Buttons left open, each testing an event of its own: every
    Button holds the tests of all after it."""
    return qr() + "".join(
        '<div data-editorblocktype="Button">'
        f"<!--{{{{#if (eq this.msevtmgt_eventid '{guid(i)}')}}}}-->"
        for i in range(n)
    )


@dataclass(frozen=True)
class Hostile:
    """An email that must end as ``outcome`` ("patched", "refused" or "not applicable")."""

    name: str
    build: Callable[[], str]
    outcome: str
    why: str  # the refusal message fragment, or what the case shows
    options: PatchOptions = field(default=ONE_EVENT)
    lint: bool = False  # linted too: the shape was lint's to read slowly


def cases(scale: int = 1) -> list[Hostile]:
    """The table; ``scale`` multiplies the block counts (the benchmark runs bigger ones)."""
    deep = 100_000
    blocks = 20_000 * scale
    pairs = 2_000 * scale
    mb11 = 11 * 1024 * 1024
    return [
        Hostile(
            "nesting-1000-around-blocks",
            lambda: nested(1000, qr() + BUTTON),
            "patched",
            "deeper than libxml2's default 256 levels: the verifier must read it whole",
        ),
        Hostile(
            "nesting-2000-inside-button",
            lambda: qr() + button_around(2000),
            "patched",
            "deeper than Python's recursion limit, within libxml2's huge-tree limit",
        ),
        Hostile(
            "nesting-100k-around-blocks",
            lambda: nested(deep, qr() + BUTTON),
            "refused",
            "cannot be verified",
        ),
        Hostile(
            "nesting-100k-unclosed",
            lambda: nested(deep, qr() + BUTTON, close=False),
            "refused",
            "cannot be verified",
        ),
        Hostile(
            "nesting-100k-inside-qr",
            lambda: qr(img=nested(deep, IMG)) + BUTTON,
            "refused",
            "cannot be verified",
        ),
        Hostile(
            "nesting-100k-inside-button",
            lambda: qr() + button_around(deep),
            "refused",
            "cannot be verified",
        ),
        Hostile(
            "100k-stray-end-tags-in-100k-nesting",
            lambda: nested(deep, "</span>" * deep + qr() + BUTTON),
            "refused",
            "cannot be verified",  # matching each end tag was O(depth): 10^10 steps
        ),
        Hostile(
            "100k-end-tags-blocked-by-a-table",
            lambda: "<div><table>" + "<span>" * deep + "</div>" * deep + qr() + BUTTON,
            "refused",
            "cannot be verified",  # each '</div>' stopped at the table after 100k spans
        ),
        Hostile(
            "nesting-100k-no-blocks",
            lambda: nested(deep, "<p>{{contact.firstname}}</p>"),
            "not applicable",
            "no QR block: never parsed deeper than a regex",
        ),
        Hostile(
            f"{blocks}-qr-blocks-one-button",
            lambda: qr() * blocks + BUTTON,
            "patched",
            "one event: its QR blocks share the one Button, all removed",
        ),
        Hostile(
            f"one-qr-block-{blocks}-buttons",
            lambda: qr() + BUTTON * blocks,
            "refused",
            "ambiguous",
        ),
        Hostile(
            f"{blocks}-qr-blocks-no-button",
            lambda: qr() * blocks,
            "refused",
            "no Button block to pair",
        ),
        Hostile(
            f"{pairs}-pairs-one-event",
            lambda: (qr() + BUTTON + TEXT) * pairs,
            "patched",
            "every QR block paired with the Button after it",
        ),
        Hostile(
            f"{pairs}-pairs-{pairs}-events",
            lambda: "".join(qr(guid(i)) + BUTTON + TEXT for i in range(pairs)),
            "patched",
            "one event per pair, each mapped",
            events_for(pairs),
        ),
        Hostile(
            f"{pairs}-qr-blocks-unmapped",
            lambda: "".join(qr(guid(i)) + BUTTON + TEXT for i in range(pairs)),
            "refused",
            "no readable event id for event",
        ),
        Hostile(
            "11mb-attribute-in-button",
            lambda: (
                qr()
                + '<div data-editorblocktype="Button"><a title="'
                + "x" * mb11
                + '" href="#">Add</a></div>'
            ),
            "patched",
            "over libxml2's default 10 MB text limit: read whole, not cut short",
        ),
        Hostile(
            "11mb-comment-before-blocks",
            lambda: "<!--" + "c" * mb11 + "-->" + qr() + BUTTON,
            "patched",
            "over libxml2's default 10 MB text limit: read whole, not cut short",
        ),
        Hostile(
            "unterminated-comment-after-blocks",
            lambda: qr() + BUTTON + "<!--" + "x" * 1_000_000,
            "patched",
            "the comment runs to the end of the file, after the blocks",
        ),
        Hostile(
            "unterminated-comment-before-blocks",
            lambda: "<!--" + "x" * 1_000_000 + qr() + BUTTON,
            "not applicable",
            "the blocks are inside the comment: there is no QR block",
        ),
        Hostile(
            "unterminated-tag-200k-attributes",
            lambda: qr() + BUTTON + "<div " + 'a="b" ' * 200_000,
            "patched",
            "a start tag cut off by the end of the file",
        ),
        Hostile(
            "unterminated-attribute-value",
            lambda: qr() + BUTTON + '<div title="' + "x" * 1_000_000,
            "patched",
            "an attribute value cut off by the end of the file",
        ),
        Hostile(
            "1m-unclosed-tags",
            lambda: qr() + BUTTON + "<p" * 1_000_000,
            "patched",
            "a million '<p' with no '>'",
        ),
        Hostile(
            "20k-conditional-comments-left-open-after-the-pair",
            lambda: qr() + BUTTON + "<!--[if mso]>x " * 20_000 + LINK_BUTTON,
            "patched",
            "each comment runs to the end of the file: looking for an href in it read the rest "
            "once per comment (4 s at 5,000, over a minute at 20,000)",
        ),
        Hostile(
            "20k-conditional-links-left-open-after-the-pair",
            lambda: qr() + BUTTON + VML_LINK * 20_000 + LINK_BUTTON,
            "patched",
            "each comment's links were read to the end of the file (10 s at 5,000)",
        ),
        Hostile(
            "160k-block-types-written-as-text-before-the-pair",
            lambda: BLOCK_TYPES_AS_TEXT * 160_000 + qr() + BUTTON,
            "patched",
            "each hit in the text read the rest of that text for where it ends (25 s at 80,000)",
        ),
        Hostile(
            "40k-qr-blocks-left-open-with-markers",
            lambda: qr() + BUTTON + OPEN_QR_WITH_MARKER * 40_000,
            "refused",
            "is inside the ERQRCode block",  # lint listed each block's markers: all after it
            lint=True,
        ),
        Hostile(
            "40k-loops-never-closed-then-40k-closers",
            lambda: qr() + BUTTON + "<p>{{#each x}}</p>" * 40_000 + "{{/if}}" * 40_000,
            "patched",
            "lint walked the 40,000 open loops for each '{{/if}}' (26 s at 20,000)",
            lint=True,
        ),
        Hostile(
            "12k-buttons-left-open-around-one-placeholder",
            lambda: qr() + OPEN_BUTTON * 12_000 + '<a href="#">x</a>',
            "refused",
            "ambiguous",  # each choice's label tokenized its Button to the end (42 s at 8,000)
        ),
        Hostile(
            "16k-buttons-left-open-each-testing-its-own-event",
            lambda: buttons_testing_events(16_000),
            "refused",
            "but not a whole one",  # each Button's GUIDs were a set of all after it: 4 GB
            # and 21 s at 12,000
            MANY_EVENTS,
        ),
    ]


# --- bounds: shapes that grow, to show time linear in size and memory a small multiple --------

CALENDAR_HREF = (  # Microsoft's sample anchor: "https:" without its "//" (lint MP101, patch fixes)
    f"https:{ENDPOINT}/EvtMgmt/api/v2.0/calendar/personal/ics?api-version=2016-06-30&amp;"
    "data=[{%22readableEventId%22:%22ev-1%22,%22data%22:{%22registrationId%22:"
    "%22{{this.msevtmgt_name}}%22}}]"
)
PATCHED_BUTTON = (  # as mailpatch writes it, for event GUID with readable id "ev-1"
    '<div data-editorblocktype="Button">'
    "<!--{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}-->"
    f"<!--{{{{#if (eq this.msevtmgt_eventid '{GUID}')}}}}-->"
    f'<a class="buttonClass" href="https://{ENDPOINT}/EvtMgmt/api/v2.0/calendar/personal/ics?'
    "api-version=2016-06-30&amp;data=[{%22readableEventId%22:%22ev-1%22,%22data%22:"
    "{%22registrationId%22:%22{{this.msevtmgt_name}}%22,%22firstname%22:"
    '%22{{contact.firstname}}%22}}]">Add</a><!--{{/if}}--><!--{{/each}}--></div>\n'
)
CALENDAR_BUTTON = (
    '<div data-editorblocktype="Button" align="center">'
    f'<a class="buttonClass" href="{CALENDAR_HREF}"><span>Add to calendar</span></a></div>\n'
)


@dataclass(frozen=True)
class Shape:
    """A hostile shape made of ``n`` repeated units: each command must take time linear in
    ``n`` (within a small constant of a plain email of the same size) and memory a small
    multiple of the input. ``n`` is what the issue measured; the unit tests build a few
    hundred units, the benchmark the full size and prints the figures."""

    name: str
    build: Callable[[int], str]
    n: int
    outcome: str  # what patching it ends as ("patched", "refused" or "not applicable")
    why: str  # the refusal message fragment, or what the shape shows
    options: PatchOptions = field(default=ONE_EVENT)
    units: int = 300  # what the unit tests build (past a bound, where the shape has one)
    preview: int = 0  # units at which the preview is measured too (0: not)


def shapes() -> list[Shape]:
    unclosed_button = '<div data-editorblocktype="Button">'
    unclosed_qr = '<div data-editorblocktype="ERQRCode">'
    return [
        Shape(
            "conditional-comments-left-open-after-the-pair",
            lambda n: qr() + BUTTON + "<!--[if mso]>x " * n + LINK_BUTTON,
            20_000,  # 300 KB
            "patched",
            "the horizon looked for an href in each comment up to its '-->' (the end)",
        ),
        Shape(
            "conditional-links-left-open-after-the-pair",
            lambda n: qr() + BUTTON + VML_LINK * n + LINK_BUTTON,
            20_000,  # 860 KB
            "patched",
            "the horizon read each comment's links to the end of the file",
        ),
        Shape(
            "unclosed-{{-after-blocks",
            lambda n: qr() + BUTTON + "{{ x " * n,
            65_800,  # 329 KB
            "patched",
            "each '{{' searched to the end of the file for its '}}' (lint, verify)",
        ),
        Shape(
            "unclosed-{{-in-paragraphs",
            lambda n: qr() + BUTTON + "<p>{{ x </p>\n" * n,
            25_300,  # 329 KB
            "patched",
            "one unclosed '{{' per text run, then markup",
        ),
        Shape(
            "unclosed-{{-in-a-button",
            lambda n: (
                qr()
                + '<div data-editorblocktype="Button"><a href="#">Add</a>'
                + "{{ x " * n
                + "</div>\n"
            ),
            65_800,
            "refused",
            "is never closed before the next '{{'",
        ),
        Shape(
            "unclosed-button-start-tags",
            lambda n: qr() + BUTTON + unclosed_button * n,
            8_000,
            "patched",
            "every Button nested in all those before it (ancestors, links, nesting check)",
        ),
        Shape(
            "buttons-with-https-links",
            lambda n: CALENDAR_BUTTON * n,
            10_000,
            "patched",
            "a '//' for every link (the scheme check)",
        ),
        Shape(
            "lint-calendar-links",
            lambda n: CALENDAR_BUTTON * n,
            50_000,
            "patched",
            "every link matched with its Button (lint)",
        ),
        # a block left open (or nested) holds the rest of the email: a reading of each block
        # that walks its content walks it again for each (found: each below was quadratic)
        Shape(
            "unclosed-buttons-before-the-qr-block",
            lambda n: unclosed_button * n + qr() + BUTTON,
            8_000,  # 289 KB
            "refused",
            "is inside the Button block",
        ),
        Shape(
            "unclosed-qr-start-tags",
            lambda n: (unclosed_qr + "<p>Show this code at the desk</p>\n") * n + qr() + BUTTON,
            4_000,
            "refused",
            "is inside the ERQRCode block",
        ),
        Shape(
            "nested-qr-blocks",
            lambda n: unclosed_qr * n + qr() + "</div>" * n + BUTTON,
            9_000,  # 362 KB
            "refused",
            "is inside the ERQRCode block",
        ),
        Shape(
            "unclosed-buttons-with-loop-comments",
            lambda n: qr() + BUTTON + (unclosed_button + '<!--{{#each x}}--><a href="#">x</a>') * n,
            8_000,
            "refused",
            "ambiguous",
        ),
        Shape(
            "unclosed-buttons-with-links-after",
            lambda n: qr() + BUTTON + (unclosed_button + '<a href="https://x.com/a">Read</a>') * n,
            8_000,
            "patched",
            "links elsewhere, each Button holding all after it (lint; patch leaves them unread)",
        ),
        Shape(
            "unclosed-buttons-then-a-placeholder",
            lambda n: (
                qr()
                + BUTTON
                + (unclosed_button + '<a href="https://x.com/a">Read</a>') * n
                + '<a href="#">x</a>'
            ),
            8_000,
            "patched",
            "a placeholder at the end: every Button read (each holds a link elsewhere)",
        ),
        Shape(
            "stale-patched-buttons",
            lambda n: PATCHED_BUTTON.replace("ev-1", "old-id") * n,
            2_000,  # 1.2 MB
            "updated",
            "every link written anew, each checked where libxml2 reads it",
        ),
        Shape(
            "nested-stale-patched-buttons",
            lambda n: PATCHED_BUTTON.replace("ev-1", "old-id").replace("</div>\n", "") * n,
            2_000,
            "refused",
            "is inside another block",
        ),
        Shape(
            "nested-patched-buttons",
            lambda n: PATCHED_BUTTON.replace("</div>\n", "") * n,
            2_000,
            "unchanged",
            "each loop held by all the Buttons around it (refused where it would be updated)",
        ),
        Shape(
            "pairs-for-many-events",
            lambda n: "".join(qr(guid(i)) + BUTTON + TEXT for i in range(n)),
            4_000,  # 2 MB
            "patched",
            "each Button was tested against every paired Button, and each event's candidates "
            "read again",
            MANY_EVENTS,
        ),
        Shape(
            "pairs-2000-deep",
            lambda n: "<div>" * 2_000 + "".join(qr(guid(i)) + BUTTON for i in range(n)),
            2_000,  # 950 KB
            "patched",
            "each edit verified in a rebuild of its 2,000 ancestors (libxml2's depth limit "
            "bounds them): linear, at some 5 s/MB",
            MANY_EVENTS,
        ),
        Shape(
            "attributes-on-the-button-link",
            lambda n: (
                qr()
                + '<div data-editorblocktype="Button"><a href="#"'
                + "".join(f' a{i}=""' for i in range(n))
                + ">Add</a></div>\n"
            ),
            40_000,  # 615 KB
            "refused",
            "more than 1,000 attributes",
            units=1_000,
        ),
        Shape(
            "attributes-on-the-qr-image",
            lambda n: (
                qr(
                    img='<img src="{{this.msevtmgt_qrcode}}"'
                    + "".join(f' a{i}=""' for i in range(n))
                    + ">"
                )
                + BUTTON
            ),
            40_000,
            "refused",
            "more than 1,000 attributes",
            units=1_000,
        ),
        Shape(
            "block-types-written-as-text-before-the-pair",
            lambda n: BLOCK_TYPES_AS_TEXT * n + qr() + BUTTON,
            40_000,  # 1.1 MB
            "patched",
            "each hit in text read the rest of that text for where it ends (the locator)",
        ),
        Shape(
            "qr-blocks-left-open-with-markers",
            lambda n: qr() + BUTTON + OPEN_QR_WITH_MARKER * n,
            10_000,  # 530 KB
            "refused",
            "is inside the ERQRCode block",
        ),
        Shape(
            "loops-never-closed-then-closers",
            lambda n: qr() + BUTTON + "<p>{{#each x}}</p>" * n + "{{/if}}" * n,
            20_000,  # 500 KB
            "patched",
            "lint walked the stack of open loops for each closer and calendar link",
        ),
        Shape(
            "buttons-left-open-around-one-placeholder",
            lambda n: qr() + OPEN_BUTTON * n + '<a href="#">x</a>',
            8_000,  # 280 KB
            "refused",
            "ambiguous",  # every Button a candidate, each named by a label read to the end
        ),
        Shape(
            "buttons-left-open-each-testing-its-own-event",
            buttons_testing_events,
            8_000,  # 920 KB
            "refused",
            "but not a whole one",
            MANY_EVENTS,
        ),
        Shape(
            "dense-{{…}}",
            lambda n: qr() + BUTTON + "{{a}}" * n,
            3_900_000,  # 19.5 MB
            "patched",
            "one Handlebars expression per five bytes (memory)",
            preview=200_000,  # 1 MB
        ),
        Shape(
            "{{!c}}-comment-line",
            lambda n: qr() + BUTTON + "<p>\n" + "{{!c}}    " * n + "word</p>",
            100_000,  # 1 MB
            "patched",
            "one line of comments then a word: exponential in pybars' whitespace regex",
            preview=100_000,
        ),
    ]
