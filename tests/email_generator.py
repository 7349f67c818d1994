"""Registration emails composed from independent variations, and what the generator knows.

Every email is synthesised from the pieces documented in
/work/shared/research/dynamics-email-html.md (no public source shows a whole designer export):
a document shell, line endings, a BOM, 1-3 events each with an ERQRCode block and a Button
block, laid out in drop zones. The generator knows what a careful person would do with it:
which Button each QR block pairs with (one Button per event, in document order, so the
pairing is unique), where every block is, and what the calendar link must decode to.

Beyond the issue's list it varies what the research notes also name or exports pass through:
upper-case tags and attribute names, block types in another case, indentation, attributes on
lines of their own, extra attributes on the block tags, quoting of the href, the QR <img>
self-closed / sized / reordered, a <span> or <a> in the image's <p>, MSO tables around the
image or the button, a button inside a <p>, labels with emoji or entities, Microsoft's sample
defect (no space before data-msdyn-tracking-id), an HTML comment outside the loop, a Button
that links elsewhere, emails that start or end with a block, and any interleaving of the QR
blocks and Buttons (each kind in event order).

``draw_spec(choose)`` makes the choices through ``choose(axis, options)``: hypothesis'
``draw(sampled_from(...))`` in ``emails()``, or ``random.Random.choice`` in ``seeded()``; so
both draw from one definition. ``build(spec)`` writes the email as segments whose kinds say
what may change: only ``qr`` (removed) and ``content`` (a Button's content, rewritten).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from mailpatch._patch import EventRef, PatchOptions

Choose = Callable[[str, Sequence[str]], str]

ENDPOINT = "contoso.svc.dynamics.com"
REGISTRATIONS = "msevtmgt_eventregistration_contact_msevtmgt_contactid"
# Three events (their record GUIDs, as Dynamics writes them: lower case) and one the email is
# never about, for decoy registrations. Two share all but their last digit.
GUIDS = (
    "3f2a9c1e-7b4d-ef11-a82e-000d3a4b5c60",
    "3f2a9c1e-7b4d-ef11-a82e-000d3a4b5c61",
    "9e8d7c6b-5a49-ef11-b0c1-6045bd8e1f20",
)
DECOY_GUID = "0a1b2c3d-4e5f-ef11-8899-aabbccddeeff"
IMG = '<img id="base64image" src="{{this.msevtmgt_qrcode}}" alt="Event registration QR code">'
# visible text in the QR block, outside its loop and in its {{else}} branches
DESK_TEXT, NOT_REGISTERED_TEXT, NO_REGISTRATION_TEXT = (
    "Show this code at the desk",
    "Not registered",
    "No registration yet",
)
DESK = f"<p>{DESK_TEXT}</p>"
NOT_REGISTERED = f"<p>{NOT_REGISTERED_TEXT}</p>"
NO_REGISTRATION = f"<p>{NO_REGISTRATION_TEXT}</p>"
HB_COMMENT = "{{!-- note {{x}} --}}"


# --- the axes: every variation has a name, unique across axes -------------------------------

# Variations mailpatch does not support (yet): implemented below, not generated while named
# here (remove a name to generate it). Empty: each-else, eq-reversed, eq-no-this and
# hb-comment ({{!-- note {{x}} --}} in the QR block and the Button) are all read now.
PENDING: frozenset[str] = frozenset()

MARKER_STYLES = (
    "marker-comment",
    "marker-two-spaces",
    "marker-spaced",
    "marker-leading-space",
    "marker-p-comment",
    "marker-p-bare",
    "marker-bare",
)
# marker-mixed: the {{#each}} block's markers take one style, the {{#if}} block's another (as
# in the designer's <p><!--{{#each}}--></p> … <p>{{#if}}</p>). A block's markers must share a
# style: '<!--{{#each}}-->…{{/each}}' renders, for no registration, an unclosed '<!--'.
MARKER_SLOTS = ("each", "if")
_SLOT = {"each": "each", "each-else": "each", "end-each": "each"}
EMAIL_AXES: dict[str, tuple[str, ...]] = {
    "shell": (
        "html5",
        "xhtml",
        "fragment-head",
        "fragment-meta",
        "fragment-comment",
        "fragment-blocks",  # nothing but blocks: the email may start or end with one
    ),
    "frame": ("greeting-and-footer", "blocks-only"),  # Text blocks before and after
    "meta": ("meta-type-first", "meta-alphabetical"),
    "endings": ("lf", "crlf", "mixed-endings"),
    "indent": ("indent-none", "indent-spaces", "indent-tab"),
    "tag-case": ("tags-lower", "tags-upper", "tags-and-attributes-upper"),
    "type-case": ("type-as-written", "type-other-case"),
    "tag-lines": ("tags-one-line", "tags-multiline"),
    "block-attrs": ("attrs-minimal", "attrs-extra"),
    "bom": ("no-bom", "bom"),
    "final-newline": ("final-newline", "no-final-newline"),
    "events": ("1-event", "2-events", "3-events"),
    "layout": (
        "qr-button",
        "button-qr",
        "sections",
        "text-between",
        "qrs-then-buttons",
        "interleaved",  # QR blocks and Buttons merged in any order, each kind in event order
        "columns",
    ),
    "zone": ("zone-none", "wrapper-container", "column-container"),
    "zone-scope": ("zone-document", "zone-per-event"),
    "flex": ("no-flex-shell", "flex-shell"),
    "agenda": ("no-agenda-button", "agenda-button"),
    "qr-kept": ("remove-qr", "keep-qr"),
}
EVENT_AXES: dict[str, tuple[str, ...]] = {
    "guid-case": ("guid-lower", "guid-upper"),
    "readable-id": ("id-plain", "id-unicode"),
    "marker": (*MARKER_STYLES, "marker-mixed"),
    "each-space": ("each-space", "each-no-space"),
    "gap": ("gap-none", "gap-nbsp", "gap-empty"),  # between markers wrapped in <p>
    "eq": ("eq-single", "eq-double", "eq-spaced", "eq-reversed", "eq-no-this"),
    "image": (
        "img-bare",
        "img-p",
        "img-p-style",
        "img-span-in-p",
        "img-link",
        "img-link-in-p",
        "img-mso-table",
    ),
    "img-tag": ("img-documented", "img-self-closed", "img-sized", "img-reordered"),
    "else": ("no-else", "if-else", "each-else"),
    "desk": ("no-desk", "desk-before", "desk-after", "desk-both"),
    "hb-comment": ("no-hb-comment", "hb-comment"),
    "qr-note": ("no-qr-note", "qr-note"),  # an HTML comment in the QR block, outside the loop
    "button": (
        "inline",
        "inline-mso-table",
        "inline-in-p",
        "inner-wrapper",
        "classic",
        "classic-table",
    ),
    "label": ("label-plain", "label-emoji", "label-entity"),
    "href": ("href-hash", "href-empty", "href-blank"),
    "href-quote": ("quote-double", "quote-single", "quote-none"),
    "glued": ("attrs-spaced", "attrs-glued"),  # Microsoft's sample: style="…"data-msdyn-…
    "vml": ("vml-roundrect", "vml-rect"),  # classic buttons only
}
ALL_VARIATIONS = frozenset(
    v for axes in (EMAIL_AXES, EVENT_AXES) for values in axes.values() for v in values
)


@dataclass(frozen=True)
class EventSpec:
    index: int
    guid_case: str
    readable_id: str
    marker: str
    each_space: str
    gap: str
    eq: str
    image: str
    img_tag: str
    else_: str
    desk: str
    hb_comment: str
    qr_note: str
    button: str
    label_form: str
    href: str
    href_quote: str
    glued: str
    vml: str
    mixed: tuple[str, ...] = ()  # marker-mixed: a style per MARKER_SLOTS entry

    def style(self, slot: str) -> str:
        if self.marker == "marker-mixed":
            return self.mixed[MARKER_SLOTS.index(_SLOT.get(slot, "if"))]
        return self.marker

    @property
    def guid(self) -> str:
        """As written in the email."""
        g = GUIDS[self.index]
        return g.upper() if self.guid_case == "guid-upper" else g

    @property
    def readable(self) -> str:
        n = self.index + 1
        return f"Summit2025_Day{n}" if self.readable_id == "id-plain" else f'Zürich Tag {n} & "Co"'

    @property
    def label(self) -> str:
        n = self.index + 1
        return {
            "label-plain": f"Add event {n} to calendar",
            "label-emoji": f"📅 Add event {n} to calendar",
            "label-entity": f"Add event {n} &amp; save the date",
        }[self.label_form]

    @property
    def desks(self) -> int:
        """How often the text outside the loop shows in its QR block."""
        return {"no-desk": 0, "desk-both": 2}.get(self.desk, 1)

    @property
    def tracked(self) -> bool:
        """Whether its links carry data-msdyn-tracking-id (where glued applies)."""
        return self.button != "inner-wrapper"

    @property
    def classic(self) -> bool:
        return self.button in ("classic", "classic-table")

    @property
    def in_p(self) -> bool:
        styles = self.mixed if self.marker == "marker-mixed" else (self.marker,)
        return any(s in ("marker-p-comment", "marker-p-bare") for s in styles)

    def variations(self) -> list[str]:
        """The variations this event's blocks really show (a gap only between <p> markers,
        a VML shape only in a classic button)."""
        out = [
            self.guid_case,
            self.readable_id,
            self.marker,
            self.each_space,
            self.eq,
            self.image,
            self.img_tag,
            self.else_,
            self.desk,
            self.hb_comment,
            self.qr_note,
            self.button,
            self.label_form,
            self.href,
            self.href_quote,
        ]
        if self.tracked:
            out.append(self.glued)
        if self.marker == "marker-mixed":
            out += sorted(set(self.mixed))
        if self.in_p:
            out.append(self.gap)
        if self.classic:
            out.append(self.vml)
        return out


@dataclass(frozen=True)
class Spec:
    shell: str
    meta: str
    endings: str
    indent: str
    tag_case: str
    type_case: str
    tag_lines: str
    block_attrs: str
    bom: str
    final_newline: str
    frame: str
    layout: str
    zone: str
    zone_scope: str
    flex: str
    agenda: str
    qr_kept: str
    events: tuple[EventSpec, ...]
    merge: tuple[str, ...] = ()  # interleaved: "qr" or "button", in document order

    @property
    def keep_qr(self) -> bool:
        return self.qr_kept == "keep-qr"

    @property
    def scope(self) -> str:
        """The zone scope that applies: every event in its own zone needs events apart."""
        if self.zone == "zone-none":
            return ""
        apart = self.layout not in ("qrs-then-buttons", "interleaved")
        return self.zone_scope if apart else "zone-document"

    def variations(self) -> list[str]:
        out = [
            self.shell,
            self.meta,
            self.endings,
            self.indent,
            self.tag_case,
            self.type_case,
            self.tag_lines,
            self.block_attrs,
            self.bom,
            self.final_newline,
            self.frame,
            f"{len(self.events)}-event" + ("s" if len(self.events) > 1 else ""),
            self.layout,
            self.zone,
            self.flex,
            self.agenda,
            self.qr_kept,
        ]
        if self.scope:
            out.append(self.scope)
        if self.shell == "fragment-blocks":
            out.remove(self.meta)  # no head, no metas
        for ev in self.events:
            out += ev.variations()
        return list(dict.fromkeys(out))

    def options(self) -> PatchOptions:
        return PatchOptions(
            endpoint=ENDPOINT,
            events={ev.guid.lower(): EventRef(ev.readable) for ev in self.events},
            keep_qr=self.keep_qr,
        )


def _field(axis: str) -> str:
    """The spec field an axis fills."""
    return {"else": "else_", "label": "label_form"}.get(axis, axis.replace("-", "_"))


def draw_spec(
    choose: Choose,
    excluded: Iterable[str] = PENDING,
    forced: Iterable[str] = (),
) -> Spec:
    """A spec from ``choose(axis, options)``; ``excluded`` variations are never offered, a
    ``forced`` one is taken wherever its axis is drawn."""
    excluded, forced = frozenset(excluded) - frozenset(forced), frozenset(forced)

    def pick(axis: str, values: Sequence[str]) -> str:
        offered = [v for v in values if v not in excluded]
        wanted = [v for v in offered if v in forced]
        return wanted[0] if wanted else choose(axis, offered)

    top = {axis: pick(axis, values) for axis, values in EMAIL_AXES.items()}
    count = int(top.pop("events")[0])
    events: list[EventSpec] = []
    for k in range(count):
        drawn = {_field(a): pick(f"{a}[{k}]", values) for a, values in EVENT_AXES.items()}
        mixed: tuple[str, ...] = ()
        if drawn["marker"] == "marker-mixed":
            mixed = tuple(pick(f"marker[{k}].{slot}", MARKER_STYLES) for slot in MARKER_SLOTS)
        events.append(EventSpec(k, **drawn, mixed=mixed))
    merge: list[str] = []
    if top["layout"] == "interleaved":
        left = {"qr": count, "button": count}
        for i in range(2 * count):
            kinds = [kind for kind, n in left.items() if n]
            kind = pick(f"merge[{i}]", kinds) if len(kinds) > 1 else kinds[0]
            merge.append(kind)
            left[kind] -= 1
    fields = {_field(axis): value for axis, value in top.items()}
    return Spec(**fields, events=tuple(events), merge=tuple(merge))


# --- the email ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    # "out" (never changes), "qr" (an ERQRCode block: removed unless kept), "open" / "close"
    # (a Button's start and end tags: never change), "content" (a Button's content: the one
    # place the patch writes), "other-button" (a Button linking elsewhere: never changes)
    kind: str
    text: str
    event: int = -1


class Email:
    """A generated email (not a dataclass: a failing example shows its variations; the test
    notes its text)."""

    def __init__(self, spec: Spec, segments: tuple[Segment, ...]) -> None:
        self.spec, self.segments = spec, segments
        self.text = "".join(s.text for s in segments)

    @property
    def data(self) -> bytes:
        body = self.text.encode("utf-8")
        return b"\xef\xbb\xbf" + body if self.spec.bom == "bom" else body

    def offsets(self, kind: str) -> dict[int, int]:
        """Event -> offset in ``text`` of its segment of ``kind``."""
        out: dict[int, int] = {}
        at = 0
        for s in self.segments:
            if s.kind == kind:
                out[s.event] = at
            at += len(s.text)
        return out

    def button_index(self) -> dict[int, int]:
        """Event -> index of its Button among all Button blocks, in document order."""
        buttons = [s.event for s in self.segments if s.kind in ("open", "other-button")]
        return {e: i for i, e in enumerate(buttons) if e >= 0}

    def pairing(self) -> dict[int, int]:
        """QR block offset -> offset of the Button it must pair with."""
        qrs, buttons = self.offsets("qr"), self.offsets("open")
        return {qrs[k]: buttons[k] for k in qrs}

    def __repr__(self) -> str:  # what a failing example shows
        return f"Email({self.spec.variations()})"


def _marker(style: str) -> Callable[[str], str]:
    return {
        "marker-comment": lambda m: f"<!--{m}-->",
        "marker-two-spaces": lambda m: f"<!--{m}  -->",
        "marker-spaced": lambda m: f"<!-- {m} -->",
        "marker-leading-space": lambda m: f" <!--{m}-->",
        "marker-p-comment": lambda m: f"<p><!--{m}--></p>",
        "marker-p-bare": lambda m: f"<p>{m}</p>",
        "marker-bare": lambda m: m,
    }[style]


def _if_marker(ev: EventSpec) -> str:
    g = ev.guid
    return {
        "eq-single": f"{{{{#if (eq this.msevtmgt_eventid '{g}')}}}}",
        "eq-double": f'{{{{#if (eq this.msevtmgt_eventid "{g}")}}}}',
        "eq-spaced": f"{{{{#if ( eq  this.msevtmgt_eventid '{g}' ) }}}}",
        "eq-reversed": f"{{{{#if (eq '{g}' this.msevtmgt_eventid)}}}}",
        "eq-no-this": f"{{{{#if (eq msevtmgt_eventid '{g}')}}}}",
    }[ev.eq]


_IMG_TAGS = {
    "img-documented": IMG,
    "img-self-closed": IMG.removesuffix(">") + " />",
    "img-sized": IMG.removesuffix(">") + ' width="200" height="200" style="display: block;">',
    "img-reordered": (
        '<img alt="Event registration QR code" src="{{this.msevtmgt_qrcode}}" id="base64image">'
    ),
}


def _image(ev: EventSpec) -> str:
    img = _IMG_TAGS[ev.img_tag]
    return {
        "img-bare": img,
        "img-p": f"<p>{img}</p>",
        "img-p-style": f'<p style="text-align: center;">\n{img}\n</p>',
        "img-span-in-p": f"<p><span>{img}</span></p>",
        "img-link": f'<a href="{{{{this.msevtmgt_qrcode}}}}">{img}</a>',
        "img-link-in-p": f'<p><a href="{{{{this.msevtmgt_qrcode}}}}">{img}</a></p>',
        "img-mso-table": (
            '<!--[if mso]><table role="presentation" align="center"><tr><td><![endif]-->\n'
            f"{img}\n<!--[if mso]></td></tr></table><![endif]-->"
        ),
    }[ev.image]


def qr_block(ev: EventSpec) -> str:
    def m(slot: str, marker: str) -> str:
        return _marker(ev.style(slot))(marker)

    each = f"{{{{#each contact.{REGISTRATIONS}{' ' if ev.each_space == 'each-space' else ''}}}}}"
    lines = [DESK] if ev.desk in ("desk-before", "desk-both") else []
    if ev.qr_note == "qr-note":
        lines.append("<!-- QR code: scanned at the entrance -->")
    lines.append(m("each", each))
    if ev.hb_comment == "hb-comment":
        lines.append(HB_COMMENT)
    lines += [m("if", _if_marker(ev)), _image(ev)]
    if ev.else_ == "if-else":
        lines += [m("if-else", "{{else}}"), NOT_REGISTERED]
    lines.append(m("end-if", "{{/if}}"))
    if ev.else_ == "each-else":
        lines += [m("each-else", "{{else}}"), NO_REGISTRATION]
    lines.append(m("end-each", "{{/each}}"))
    if ev.desk in ("desk-after", "desk-both"):
        lines.append(DESK)
    gap = {"gap-none": "", "gap-nbsp": "<p>&nbsp;</p>", "gap-empty": "<p></p>"}[ev.gap]
    sep = f"\n{gap}\n" if ev.in_p and gap else "\n"
    return '<div data-editorblocktype="ERQRCode">\n' + sep.join(lines) + "\n</div>"


_HREF = {"href-hash": "#", "href-empty": "", "href-blank": "about:blank"}
_ANCHOR_STYLE = (
    "background-color: #005a9e; border-radius: 4px; color: #ffffff; display: inline-block; "
    "padding: 12px 28px; text-decoration: none; mso-hide: none !important;"
)


def _href_attr(ev: EventSpec) -> str:
    value = _HREF[ev.href]
    if ev.href_quote == "quote-single":
        return f"href='{value}'"
    if ev.href_quote == "quote-none":
        return f"href={value}" if value else "href"
    return f'href="{value}"'


def button_block(ev: EventSpec) -> tuple[str, str, str]:
    """(start tag, content, end tag) of one event's Button."""
    href, label = _href_attr(ev), ev.label
    track = f'data-msdyn-tracking-id="{ev.index + 1:032x}"'
    glue = "" if ev.glued == "attrs-glued" else " "  # between style="…" and the tracking id
    note = f"\n{HB_COMMENT}" if ev.hb_comment == "hb-comment" else ""
    if ev.button in ("inline", "inline-mso-table", "inline-in-p"):
        start = (
            '<div data-editorblocktype="Button" align="center" class="buttonWrapper" '
            'style="padding: 12px 0px; text-align: center;">'
        )
        anchor = (
            f'<a class="buttonClass" {href} style="{_ANCHOR_STYLE}"{glue}{track}>'
            f"<span>{label}</span></a>"
        )
        if ev.button == "inline-in-p":
            anchor = f'<p style="text-align: center; margin: 0;">{anchor}</p>'
        if ev.button == "inline-mso-table":
            anchor = (
                '<!--[if mso]><table role="presentation" align="center"><tr>'
                '<td style="padding: 12px 28px;"><![endif]-->\n'
                f"{anchor}\n<!--[if mso]></td></tr></table><![endif]-->"
            )
        return start, f"{note}\n{anchor}\n", "</div>"
    start = '<div data-editorblocktype="Button" align="center">'
    if ev.button == "inner-wrapper":
        content = (
            f'{note}\n<div class="buttonWrapper" style="padding: 12px 0px;">'
            f'<a class="buttonClass" {href} style="{_ANCHOR_STYLE}">{label}</a></div>\n'
        )
        return start, content, "</div>"
    shape = "v:roundrect" if ev.vml == "vml-roundrect" else "v:rect"
    arc = ' arcsize="10%"' if shape == "v:roundrect" else ""
    anchor = f'<a class="buttonClass" {href} style="{_ANCHOR_STYLE}"{glue}{track}>{label}</a>'
    if ev.button == "classic-table":
        anchor = (
            '<table role="presentation" cellpadding="0" cellspacing="0"><tbody><tr>'
            f'<td align="center">{anchor}</td></tr></tbody></table>'
        )
    content = (
        f"{note}\n<!--[if mso]>\n"
        f'<{shape} xmlns:v="urn:schemas-microsoft-com:vml" '
        f'xmlns:w="urn:schemas-microsoft-com:office:word" {href} {track} '
        f'style="height:44px;v-text-anchor:middle;width:240px;"'
        f'{arc} strokecolor="#005a9e" fillcolor="#005a9e">\n'
        "<w:anchorlock/>\n"
        f'<center style="color:#ffffff;font-family:Arial, sans-serif;font-size:16px;">{label}'
        f"</center>\n</{shape}>\n<![endif]-->\n"
        f"<!--[if !mso]><!-- -->\n{anchor}\n<!--<![endif]-->\n"
    )
    return start, content, "</div>"


AGENDA_BUTTON = (
    '<div data-editorblocktype="Button" align="center" class="buttonWrapper">'
    '<a class="buttonClass" href="https://www.contoso.com/agenda?day=1&amp;track=2">'
    "<span>See the agenda</span></a></div>"
)
FLEX_OPEN = (
    '<div style="width:100%;flex:0 0 100%;display:flex;flex-direction:column"><div align="center">'
)
ZONES = {
    "wrapper-container": ('<div class="wrapperContainer" data-container="true">', "</div>"),
    "column-container": (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tbody><tr>'
        '<td data-container="true" class="columnContainer" data-container-width="100.00">',
        "</td></tr></tbody></table>",
    ),
}


def _metas(spec: Spec) -> str:
    if spec.meta == "meta-type-first":
        return (
            '<meta type="xrm/designer/setting" name="type" '
            'value="marketing-designer-content-editor-document">\n'
            '<meta type="xrm/designer/setting" name="button-color" value="#005a9e" '
            'datatype="color" label="Button Color">\n'
        )
    return (
        '<meta name="type" type="xrm/designer/setting" '
        'value="marketing-designer-content-editor-document">\n'
        '<meta datatype="color" label="Button Color" name="button-color" '
        'type="xrm/designer/setting" value="#005a9e">\n'
    )


_MSO_HEAD = (
    "<!--[if gte mso 9]><xml>\n<o:OfficeDocumentSettings>\n<o:AllowPNG/>\n"
    "<o:PixelsPerInch>96</o:PixelsPerInch>\n</o:OfficeDocumentSettings>\n</xml><![endif]-->\n"
)
_STYLE = (
    "<style>\np { margin: 0 0 12px 0; }\n.buttonClass { background-color: #005a9e; }\n</style>\n"
)


def _shell(spec: Spec) -> tuple[str, str]:
    """(text before the body's blocks, text after them)."""
    head = (
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        + _metas(spec)
        + "<title>You're registered</title>\n"
    )
    if spec.shell == "html5":
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n' + head + _STYLE + "</head>\n<body>\n",
            "</body>\n</html>",
        )
    if spec.shell == "xhtml":
        return (
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" '
            'xmlns:o="urn:schemas-microsoft-com:office:office">\n<head>\n'
            + head
            + _MSO_HEAD
            + _STYLE
            + "</head>\n<body>\n",
            "</body>\n</html>",
        )
    if spec.shell == "fragment-head":
        return "<head>\n" + head + _STYLE + "</head>\n", ""
    if spec.shell == "fragment-meta":
        return _metas(spec) + _STYLE, ""
    if spec.shell == "fragment-blocks":
        return "", ""
    return "<!-- Exported from Dynamics 365 Marketing -->\n" + _metas(spec), ""


GREETING = (
    '<div data-editorblocktype="Text">\n<h1>You&#39;re registered!</h1>\n'
    "<p>Hi {{contact.firstname}},&nbsp;see you there &#128197; 📅</p>\n</div>"
)
FOOTER = (
    '<div data-editorblocktype="Text">\n<p style="font-size: 12px;">'
    '<a href="{{msdyncrm_contentsettings.msdyncrm_subscriptioncenter}}">Unsubscribe</a>'
    " &nbsp;|&nbsp; &copy; 2025 Contoso</p>\n</div>"
)


def _text(n: int, words: str) -> list[Segment]:
    return [Segment("out", f'<div data-editorblocktype="Text">\n<p>{words} ({n})</p>\n</div>')]


def build(spec: Spec) -> Email:
    texts = iter(range(1, 100))

    def text(words: str = "Text block") -> list[Segment]:
        return _text(next(texts), words)

    def shelled(inner: list[Segment]) -> list[Segment]:
        if spec.flex != "flex-shell":
            return inner
        return [Segment("out", FLEX_OPEN), *inner, Segment("out", "</div></div>")]

    def qr(ev: EventSpec) -> list[Segment]:
        return shelled([Segment("qr", qr_block(ev), ev.index)])

    def button(ev: EventSpec) -> list[Segment]:
        start, content, end = button_block(ev)
        k = ev.index
        return shelled(
            [Segment("open", start, k), Segment("content", content, k), Segment("close", end, k)]
        )

    def lines(units: list[list[Segment]]) -> list[Segment]:
        out: list[Segment] = []
        for unit in units:
            out += [*unit, Segment("out", "\n")]
        return out

    def zoned(inner: list[Segment]) -> list[Segment]:
        if spec.zone == "zone-none":
            return inner
        opening, closing = ZONES[spec.zone]
        return [Segment("out", opening + "\n"), *inner, Segment("out", closing + "\n")]

    groups: list[list[Segment]] = []
    evs = spec.events
    if spec.layout == "qrs-then-buttons":
        groups.append(lines([qr(ev) for ev in evs] + [button(ev) for ev in evs]))
    if spec.layout == "interleaved":
        nexts = {"qr": iter(evs), "button": iter(evs)}
        made = {"qr": qr, "button": button}
        groups.append(lines([made[kind](next(nexts[kind])) for kind in spec.merge]))
    apart = spec.layout not in ("qrs-then-buttons", "interleaved")
    for i, ev in enumerate(evs if apart else ()):
        if spec.layout == "qr-button":
            units = [qr(ev), button(ev)]
        elif spec.layout == "button-qr":
            units = [button(ev), qr(ev)]
        elif spec.layout == "sections":
            units = [text(f"Session {ev.index + 1}"), qr(ev), text("Add it"), button(ev)]
        elif spec.layout == "text-between":
            units = [*([text()] if i else []), qr(ev), text(), button(ev)]
        else:  # columns: the QR block beside its Button, in one row
            cell = '<td data-container="true" class="columnContainer" data-container-width="50.00">'
            units = [
                [
                    Segment("out", '<table role="presentation" width="100%"><tbody><tr>\n' + cell),
                    *qr(ev),
                    Segment("out", "</td>\n" + cell),
                    *button(ev),
                    Segment("out", "</td>\n</tr></tbody></table>"),
                ]
            ]
        groups.append(lines(units))
    if spec.scope == "zone-per-event":
        groups = [zoned(g) for g in groups]
    body = [seg for g in groups for seg in g]
    if spec.agenda == "agenda-button":
        body += [Segment("other-button", AGENDA_BUTTON), Segment("out", "\n")]
    if spec.frame == "greeting-and-footer":
        body = [Segment("out", GREETING + "\n"), *body, Segment("out", FOOTER + "\n")]
    if spec.scope == "zone-document":
        body = zoned(body)
    before, after = _shell(spec)
    segments = [Segment("out", before), *body]
    if after:  # </body></html>: the body ends with a line break, the document may not
        segments.append(Segment("out", after + "\n"))
    if spec.final_newline == "no-final-newline":
        last = segments[-1]
        segments[-1] = Segment(last.kind, last.text.removesuffix("\n"), last.event)
    if spec.block_attrs == "attrs-extra":
        segments = [_with_attributes(s) for s in segments]
    segments = _cased(spec, segments)
    if spec.tag_lines == "tags-multiline":
        segments = [Segment(s.kind, _TAG.sub(_multiline, s.text), s.event) for s in segments]
    segments = _indented(spec.indent, segments)
    return Email(spec, tuple(_endings(spec.endings, segments)))


_TAG = re.compile(
    r"<(/?)([A-Za-z][\w:]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)"
)
_ATTR = re.compile(r"(\s+)([^\s=>/]+)")
_ATTR_VALUE = re.compile(r"(\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))")


def _with_attributes(s: Segment) -> Segment:
    """Block start tags with attributes before and after data-editorblocktype."""
    if s.kind == "qr":
        return Segment(
            s.kind,
            s.text.replace(
                '<div data-editorblocktype="ERQRCode">',
                '<div class="qrWrapper" data-editorblocktype="ERQRCode" align="center" '
                'data-msdyn-block-id="qr">',
                1,
            ),
            s.event,
        )
    if s.kind == "open":
        return Segment(
            s.kind,
            s.text.replace(
                '<div data-editorblocktype="Button"', '<div dir="ltr" data-editorblocktype="Button"'
            ).replace(">", ' data-msdyn-block-id="button">', 1),
            s.event,
        )
    return s


def _multiline(m: re.Match[str]) -> str:
    """A tag with each attribute after the first on a line of its own."""
    attrs, out, first = m.group(3), [], True
    pos = 0
    while pos < len(attrs):
        a = _ATTR.match(attrs, pos)
        if a is None:
            break
        out.append((a.group(1) if first else "\n    ") + a.group(2))
        first, pos = False, a.end()
        v = _ATTR_VALUE.match(attrs, pos)
        if v is not None:
            out.append(v.group(1))
            pos = v.end()
    return f"<{m.group(1)}{m.group(2)}{''.join(out)}{attrs[pos:]}"


def _upper_attributes(attrs: str) -> str:
    out, pos = [], 0
    while pos < len(attrs):
        m = _ATTR.match(attrs, pos)
        if m is None:
            break
        out.append(m.group(1) + m.group(2).upper())
        pos = m.end()
        v = _ATTR_VALUE.match(attrs, pos)
        if v is not None:
            out.append(v.group(1))
            pos = v.end()
    return "".join(out) + attrs[pos:]


def _cased(spec: Spec, segments: list[Segment]) -> list[Segment]:
    """Tag names (and attribute names) in upper case, as Windows tools write them; the block
    types in another case than the designer's (compared case-insensitively)."""

    def tag(m: re.Match[str]) -> str:
        attrs = m.group(3)
        if spec.tag_case == "tags-and-attributes-upper":
            attrs = _upper_attributes(attrs)
        return f"<{m.group(1)}{m.group(2).upper()}{attrs}"

    out = []
    for s in segments:
        text = s.text
        if spec.tag_case != "tags-lower":
            text = _TAG.sub(tag, text)
        if spec.type_case == "type-other-case":
            text = re.sub(r'(?i)(data-editorblocktype=")(ERQRCode|Button)"', _other_case, text)
        out.append(Segment(s.kind, text, s.event))
    return out


def _other_case(m: re.Match[str]) -> str:
    value = m.group(2)
    return m.group(1) + ("erqrcode" if value == "ERQRCode" else value.upper()) + '"'


def _indented(style: str, segments: list[Segment]) -> list[Segment]:
    """Every line but the first indented (the last line break of the email excepted)."""
    if style == "indent-none":
        return segments
    pad = "  " if style == "indent-spaces" else "\t"
    out = [Segment(s.kind, s.text.replace("\n", "\n" + pad), s.event) for s in segments]
    last = out[-1]
    if last.text.endswith("\n" + pad):
        out[-1] = Segment(last.kind, last.text.removesuffix(pad), last.event)
    return out


def _endings(style: str, segments: list[Segment]) -> list[Segment]:
    if style == "lf":
        return segments
    if style == "crlf":
        return [Segment(s.kind, s.text.replace("\n", "\r\n"), s.event) for s in segments]
    out, n = [], 0  # mixed: every other line break across the whole email is CRLF
    for s in segments:
        parts = s.text.split("\n")
        text = parts[0]
        for part in parts[1:]:
            text += ("\r\n" if n % 2 else "\n") + part
            n += 1
        out.append(Segment(s.kind, text, s.event))
    return out


# --- drawing --------------------------------------------------------------------------------


@st.composite
def emails(draw: st.DrawFn, excluded: Iterable[str] = PENDING, forced: Iterable[str] = ()) -> Email:
    def choose(axis: str, values: Sequence[str]) -> str:
        return draw(st.sampled_from(values), label=axis)

    return build(draw_spec(choose, excluded, forced))


def seeded(seed: int, excluded: Iterable[str] = PENDING, forced: Iterable[str] = ()) -> Email:
    rnd = random.Random(seed)
    return build(draw_spec(lambda _axis, values: rnd.choice(list(values)), excluded, forced))


# --- recipients -----------------------------------------------------------------------------

FIRSTNAME = "Zoë"
QR_PREFIX = "data:image/png;base64,QR-"


def registration(guid: str, name: str) -> dict[str, Any]:
    return {"msevtmgt_eventid": guid, "msevtmgt_name": name, "msevtmgt_qrcode": QR_PREFIX + name}


def _contexts() -> dict[str, list[dict[str, Any]]]:
    """Named registration lists, shared by every email (one batch renders them all). The
    platform's ``eq`` compares strictly, so a registration matches a loop only when its event
    id is the GUID as the loop writes it: the other case is one more decoy."""
    decoy = registration(DECOY_GUID, "REG-DECOY")
    out: dict[str, list[dict[str, Any]]] = {"no registration": [], "another event only": [decoy]}
    for case, fold in (("lower", str.lower), ("upper", str.upper)):
        for k, g in enumerate(GUIDS):
            out[f"event {k + 1} ({case})"] = [registration(fold(g), f"REG-{k + 1}{case[0]}")]
        out[f"every event ({case})"] = [
            decoy,
            *(registration(fold(g), f"REG-{k + 1}{case[0]}-all") for k, g in enumerate(GUIDS)),
        ]
        out[f"event 1 twice ({case})"] = [
            registration(fold(GUIDS[0]), f"REG-1{case[0]}-first"),
            registration(fold(GUIDS[1]), f"REG-2{case[0]}-between"),
            registration(fold(GUIDS[0]), f"REG-1{case[0]}-second"),
        ]
    out["every event, both cases"] = [
        registration(fold(g), f"REG-{k + 1}{case[0]}-both")
        for k, g in enumerate(GUIDS)
        for case, fold in (("lower", str.lower), ("upper", str.upper))
    ]
    return out


CONTEXTS = _contexts()


def context(name: str) -> dict[str, Any]:
    return {"contact": {"firstname": FIRSTNAME, REGISTRATIONS: CONTEXTS[name]}}


def matching(ev: EventSpec, registrations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The registrations an event's loop renders for: strict equality, like ``eq``."""
    return [r for r in registrations if r["msevtmgt_eventid"] == ev.guid]
