"""A deterministic corpus of realistic Dynamics 365 Marketing emails for the benchmark.

Every email is assembled from the pieces the fixtures document (``fixtures/README.md``):
designer metas and ``/* @setting */`` CSS, classic ``wrapperContainer`` and newer-editor
``columnContainer`` layouts, Text/Image/Divider blocks, both Button forms, MSO conditionals and
VML, and the ERQRCode block's five lines. Size grows with the content real newsletters repeat
(agenda rows, speaker cards, text, image rows, real-link buttons, ghost tables for Outlook).

The same seed always gives the same bytes. Every file takes the same options (``ARGS``): one
GUID -> readable id mapping serves single- and multi-event emails alike.

    python benchmarks/corpus.py OUT [--count N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

ENDPOINT = "contoso.svc.dynamics.com"
EVENTS: tuple[tuple[str, str], ...] = (
    ("2c7e9a41-5f3b-ef11-a82e-000d3a4b7c91", "ADatumSecurityBriefing2025_4471"),
    ("e4b81d2f-0a6c-ee11-9079-6045bd8e1f20", "FabrikamPartnerDay2025"),
    ("0d2f4a6c-8e1b-ef11-a82e-000d3a4b5c6d", "ContosoCloudSummit2025_Day1"),
    ("5a7c9e1f-3b4d-ef11-a82e-000d3a4b5c6d", "ContosoCloudSummit2025_Labs"),
    ("9d3f0b6e-7c21-ee11-be6e-000d3ab7c9a1", "LitwareDevConf2025"),
    ("9b1d3f5a-7c8e-ee11-be37-6045bd8f0c4e", "MargiesTravelExpo2025"),
)
ARGS: tuple[str, ...] = (
    "--endpoint",
    ENDPOINT,
    *(arg for guid, readable in EVENTS for arg in ("--event", f"{guid}={readable}")),
)
# the run a single-event corpus takes (``corpus(one_event=True)``): --event-id, as most do
ONE_EVENT_ARGS: tuple[str, ...] = ("--endpoint", ENDPOINT, "--event-id", EVENTS[0][1])

_ORGS = (
    ("A. Datum", "adatum.com", "#005a9e"),
    ("Fabrikam", "partners.fabrikam.com", "#8a3ffc"),
    ("Contoso", "events.contoso.com", "#0078d4"),
    ("Litware", "dev.litwareinc.com", "#107c10"),
    ("Margie's Travel", "margiestravel.com", "#e3008c"),
    ("Northwind Traders", "northwindtraders.com", "#c4314b"),
)
_VOCABULARY = (
    "keynote session roadmap partners security cloud analytics workshop networking lunch "
    "registration venue agenda speakers breakout hands-on lab certification community "
    "customer insights marketing journeys segments consent data platform integration "
    "governance compliance automation dashboards reporting migration strategy innovation "
    "Zürich São Paulo Kyōto Reykjavík café résumé naïve"
)
_WORDS = tuple(_VOCABULARY.split())
_ENTITIES = ("&nbsp;", "&ndash;", "&mdash;", "&rsquo;", "&copy;", "&#128197;", "&#x2708;", "📅")


@dataclass(frozen=True)
class Email:
    name: str
    text: str
    qr_blocks: int
    editor: str
    markers: str
    crlf: bool
    bom: bool

    @property
    def data(self) -> bytes:
        text = self.text.replace("\n", "\r\n") if self.crlf else self.text
        return (b"\xef\xbb\xbf" if self.bom else b"") + text.encode("utf-8")


class _Writer:
    """Builds one email from pieces; ``rng`` picks every variation."""

    def __init__(self, rng: random.Random, editor: str, markers: str) -> None:
        self.rng = rng
        self.editor = editor
        self.markers = markers
        self.org, self.site, self.color = rng.choice(_ORGS)
        self.cdn = "https://mktdplp102wuda.azureedge.net/" + self.guid()
        self.tracking = 0

    def guid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def track(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def sentence(self, lo: int = 8, hi: int = 22) -> str:
        words = [self.rng.choice(_WORDS) for _ in range(self.rng.randint(lo, hi))]
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(len(words)), self.rng.choice(_ENTITIES))
        return " ".join(words).capitalize() + "."

    # -- head -------------------------------------------------------------------------------
    def head(self, title: str, extra_css: int) -> str:
        doctype = (
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" '
            'xmlns:o="urn:schemas-microsoft-com:office:office">\n'
            if self.editor == "classic"
            else '<!DOCTYPE html>\n<html lang="en" xmlns:v="urn:schemas-microsoft-com:vml" '
            'xmlns:o="urn:schemas-microsoft-com:office:office">\n'
        )
        settings = [
            ("font-family", "Arial, Helvetica, sans-serif", "font", "Font Family"),
            ("body-text-size", "14px", "text", "Body Font Size"),
            ("body-text-color", "#2b2b2b", "color", "Body Text Color"),
            ("heading-color", self.color, "color", "Heading Color"),
            ("button-color", self.color, "color", "Button Color"),
            ("outer-background-color", "#f3f2f1", "color", "Outer Background Color"),
            ("content-background-color", "#ffffff", "color", "Content Background Color"),
            ("link-color", self.color, "color", "Link Color"),
        ]
        metas = "".join(
            f'<meta type="xrm/designer/setting" name="{n}" value="{v}" datatype="{d}" '
            f'label="{lab}">\n'
            for n, v, d, lab in settings
        )
        css = [
            "body { font-family: /* @font-family */Arial, Helvetica, sans-serif/* @font-family */;"
            " font-size: /* @body-text-size */14px/* @body-text-size */; margin: 0; padding: 0;"
            " background-color: /* @outer-background-color */#f3f2f1/* @outer-background-color */;"
            " }",
            ".wrapperContainer, .emailWrapper { max-width: 600px; margin: 0 auto; }",
            f"h1, h2, h3 {{ color: /* @heading-color */{self.color}/* @heading-color */; "
            "font-weight: 600; margin: 0 0 12px 0; }",
            "p { margin: 0 0 12px 0; line-height: 1.5; }",
            f".buttonClass {{ background-color: /* @button-color */{self.color}/* @button-color */;"
            " }",
            "a[x-apple-data-detectors] { color: inherit !important; text-decoration: none "
            "!important; }",
        ]
        for i in range(extra_css):  # big templates carry their own component styles
            css.append(
                f".c{i} td, .c{i} th {{ padding: {i % 24}px {(i * 7) % 32}px; "
                f"color: #{(i * 2654435761) % 0xFFFFFF:06x}; font-size: {12 + i % 6}px; }}"
            )
        return (
            doctype + "<head>\n"
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            f"<title>{title}</title>\n"
            '<meta name="referrer" content="never">\n'
            '<meta type="xrm/designer/setting" name="type" '
            'value="marketing-designer-content-editor-document">\n'
            + metas
            + "<!--[if gte mso 9]><xml>\n<o:OfficeDocumentSettings>\n<o:AllowPNG/>\n"
            "<o:PixelsPerInch>96</o:PixelsPerInch>\n</o:OfficeDocumentSettings>\n"
            "</xml><![endif]-->\n"
            '<!--[if mso]>\n<style type="text/css">\n'
            "body, table, td, a, p { font-family: Arial, Helvetica, sans-serif !important; }\n"
            "</style>\n<![endif]-->\n"
            "<style>\n" + "\n".join(css) + "\n@media only screen and (max-width: 620px) {\n"
            "  .wrapperContainer { width: 100% !important; }\n"
            "  .buttonClass { display: block !important; }\n}\n</style>\n</head>\n"
        )

    # -- blocks -----------------------------------------------------------------------------
    def image(self, name: str, width: int = 600) -> str:
        return (
            '<div data-editorblocktype="Image">\n'
            '<div align="center" class="imageWrapper" style="padding: 0px;">\n'
            f'<a href="https://{self.site}/{name}" title="{self.org}"><img alt="{self.org} {name}" '
            f'src="{self.cdn}/{name}!" width="{width}" height="auto" style="max-width: '
            f'{width}px; width: 100%; height: auto; display: block; border: 0px;"></a>\n'
            "</div>\n</div>\n"
        )

    def text(self, paragraphs: int) -> str:
        body = "".join(f"<p>{self.sentence()}</p>\n" for _ in range(paragraphs))
        return f'<div data-editorblocktype="Text">\n<h2>{self.sentence(2, 5)}</h2>\n{body}</div>\n'

    def details(self) -> str:
        rows = "".join(
            f'<tr><td style="padding: 4px 0px; width: 90px; color: #616161;">{k}</td>'
            f'<td style="padding: 4px 0px;">{v}</td></tr>\n'
            for k, v in (
                ("When", "<strong>Tuesday, 7 October 2025</strong><br>10:00&ndash;16:00 BST"),
                ("Where", "The Brewery, 52 Chiswell Street, London EC1Y 4SD"),
                ("Organiser", self.org),
            )
        )
        return (
            '<div data-editorblocktype="Text">\n<table role="presentation" cellpadding="0" '
            'cellspacing="0" width="100%" style="font-size: 14px;">\n<tbody>\n'
            + rows
            + "</tbody>\n</table>\n</div>\n"
        )

    def agenda(self) -> str:
        rows = "".join(
            f'<tr class="c{self.rng.randrange(40)}"><td style="padding: 6px 8px; width: 80px; '
            f'color: #616161; vertical-align: top;">{9 + i}:{self.rng.choice(("00", "30"))}</td>'
            f'<td style="padding: 6px 8px;"><strong>{self.sentence(3, 7)}</strong><br>'
            f"{self.sentence(10, 20)}</td></tr>\n"
            for i in range(self.rng.randint(4, 9))
        )
        return (
            '<div data-editorblocktype="Text">\n<h2>Agenda</h2>\n<table role="presentation" '
            'cellpadding="0" cellspacing="0" width="100%" style="font-size: 14px;">\n<tbody>\n'
            + rows
            + "</tbody>\n</table>\n</div>\n"
        )

    def speakers(self) -> str:
        cells = "".join(
            f'<td width="33%" style="padding: 8px; vertical-align: top; text-align: center;">'
            f'<img alt="Speaker {i}" src="{self.cdn}/speaker-{self.rng.randrange(999)}!" '
            'width="120" height="120" style="border-radius: 60px; display: block; margin: 0 auto;">'
            f"<p><strong>{self.sentence(2, 3)}</strong><br>{self.sentence(6, 12)}</p></td>\n"
            for i in range(3)
        )
        return (
            '<div data-editorblocktype="Text">\n<table role="presentation" cellpadding="0" '
            'cellspacing="0" width="100%">\n<tbody>\n<tr>\n' + cells + "</tr>\n</tbody>\n"
            "</table>\n</div>\n"
        )

    def divider(self) -> str:
        return (
            '<div data-editorblocktype="Divider">\n<div class="dividerWrapper" align="center">\n'
            '<table aria-role="presentation" style="padding: 0px; margin: 0px; width: 100%">\n'
            '<tbody>\n<tr style="padding: 0px;">\n<td style="margin:0px; padding-top: 8px; '
            'padding-bottom: 8px; vertical-align:top;">\n<p style="margin: 0px; padding: 0px; '
            'border-bottom: 1px solid #d1d1d1; line-height: 0px; width: 100%;"><span>&nbsp;'
            "</span></p>\n</td>\n</tr>\n</tbody>\n</table>\n</div>\n</div>\n"
        )

    def ghost_section(self) -> str:
        """An Outlook ghost table around a free-standing section (MSO conditionals both ways)."""
        return (
            '<!--[if mso]>\n<table role="presentation" cellpadding="0" cellspacing="0" '
            'width="552"><tr><td>\n<![endif]-->\n<!--[if !mso]><!-->\n'
            '<div style="max-width:552px;margin:0 auto;">\n<!--<![endif]-->\n'
            f"<h2>{self.sentence(2, 5)}</h2>\n<p>{self.sentence()}<br>\n{self.sentence()}</p>\n"
            "<!--[if !mso]> <!---->\n"
            f'<p style="font-size:12px;color:#8a8886;">{self.sentence(5, 10)}</p>\n'
            "<!--<![endif]-->\n<!--[if !mso]><!-->\n</div>\n<!--<![endif]-->\n"
            "<!--[if mso]>\n</td></tr></table>\n<![endif]-->\n"
        )

    def hero(self) -> str:
        return (
            '<!--[if gte mso 9]>\n<v:rect xmlns:v="urn:schemas-microsoft-com:vml" fill="true" '
            'stroke="false" style="width:600px;height:220px;">\n'
            f'<v:fill type="tile" src="{self.cdn}/hero!" color="{self.color}" />\n'
            '<v:textbox inset="0,0,0,0">\n<![endif]-->\n'
            f'<div style="background-color:{self.color};color:#ffffff;padding:48px 24px;'
            f'text-align:center;">\n<h1 style="color:#ffffff;">{self.sentence(3, 6)}</h1>\n'
            f'<p style="color:#ffffff;">{self.sentence(4, 8)}</p>\n</div>\n'
            "<!--[if gte mso 9]>\n</v:textbox>\n</v:rect>\n<![endif]-->\n"
        )

    def button(self, href: str, label: str) -> str:
        self.tracking += 1
        t = self.track()
        if self.editor == "classic":
            return (
                '<div data-editorblocktype="Button" align="center">\n<!--[if mso]>\n'
                '<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" '
                f'xmlns:w="urn:schemas-microsoft-com:office:word" href="{href}" '
                f'data-msdyn-tracking-id="{t}" style="height:44px;v-text-anchor:middle;'
                f'width:240px;" arcsize="10%" strokecolor="{self.color}" '
                f'fillcolor="{self.color}">\n<w:anchorlock/>\n<center style="color:#ffffff;'
                'font-family:Arial, sans-serif;font-size:16px;font-weight:bold;">'
                f"{label}</center>\n"
                "</v:roundrect>\n<![endif]-->\n<!--[if !mso]><!-- -->\n"
                f'<a class="buttonClass" href="{href}" data-msdyn-tracking-id="{t}" '
                f'style="background-color:{self.color};border:1px solid {self.color};'
                "border-radius:4px;color:#ffffff;display:inline-block;font-size:16px;"
                "font-weight:bold;line-height:44px;text-align:center;text-decoration:none;"
                f'width:240px;-webkit-text-size-adjust:none;">{label}</a>\n'
                "<!--<![endif]-->\n</div>\n"
            )
        return (
            '<div data-editorblocktype="Button" align="center" class="buttonWrapper" '
            'style="padding: 12px 0px; text-align: center;">\n'
            f'<a class="buttonClass" href="{href}" style="background-color: {self.color}; '
            f"border: 0px solid {self.color}; border-radius: 4px; color: #ffffff; display: "
            "inline-block; font-size: 16px; font-weight: 600; line-height: 24px; padding: 12px "
            '28px; text-align: center; text-decoration: none; mso-hide: none !important;" '
            f'data-msdyn-tracking-id="{t}"><span>{label}</span></a>\n</div>\n'
        )

    def qr(self, guid: str) -> str:
        each = "{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}"
        cond = f"{{{{#if (eq this.msevtmgt_eventid '{guid}')}}}}"
        img = (
            '<img id="base64image" src="{{this.msevtmgt_qrcode}}" alt="Event registration QR code">'
        )
        if self.markers == "in-p":  # the HTML tab's habit of wrapping lines in paragraphs
            body = (
                f"<p><!--{each}--></p>\n<p>&nbsp;</p>\n<p>{cond}</p>\n<p></p>\n{img}\n<p></p>\n"
                "<p>{{/if}}</p>\n<p>&nbsp;</p>\n<p><!--{{/each}}--></p>\n"
            )
        else:
            body = (
                f"<!--{each}-->\n<!--{cond}-->\n{img}\n<!--{{{{/if}}}}-->\n<!--{{{{/each}}}}-->\n"
            )
        return f'<div data-editorblocktype="ERQRCode">\n{body}</div>\n'

    def footer(self) -> str:
        return (
            '<div data-editorblocktype="Text">\n<p style="font-size: 12px; color: #8a8886; '
            f'text-align: center;">You are receiving this email from {self.org}.<br>\n'
            "{{msdyncrm_contentsettings.msdyncrm_addressmain}}</p>\n"
            '<p style="font-size: 12px; color: #8a8886; text-align: center;">'
            '<a href="{{msdyncrm_contentsettings.msdyncrm_subscriptioncenter}}" '
            'title="Subscription center">Unsubscribe or manage your preferences</a> &nbsp;|&nbsp; '
            '<a href="{{msdyncrm_contentsettings.msdyncrm_forwardtoafriend}}" title="Forward">'
            "Forward to a friend</a></p>\n"
            f'<p style="font-size: 11px; color: #a19f9d; text-align: center;">&copy; 2025 '
            f"{self.org}. All rights reserved.</p>\n</div>\n"
        )

    # -- layout -----------------------------------------------------------------------------
    def section(self, blocks: list[str]) -> str:
        """One drop zone: the classic editor's flat list, or a newer-editor column cell."""
        inner = "".join(blocks)
        if self.editor == "classic":
            return inner
        return (
            "<tr>\n<td>\n"
            '<table role="presentation" class="containerWrapper" cellpadding="0" cellspacing="0" '
            'width="100%" style="width: 100%;">\n<tbody>\n<tr>\n'
            '<th data-container="true" class="columnContainer" data-container-width="100.00" '
            'style="padding: 0px 24px; vertical-align: top; width: 100%;">\n'
            + inner
            + "</th>\n</tr>\n</tbody>\n</table>\n</td>\n</tr>\n"
        )

    def body(self, sections: list[str]) -> str:
        pre = (
            '<div style="display:none;font-size:1px;line-height:1px;max-height:0px;'
            'max-width:0px;opacity:0;overflow:hidden;mso-hide:all;">'
            f"{self.sentence(6, 12)}&nbsp;&zwnj;&nbsp;&zwnj;</div>\n"
        )
        if self.editor == "classic":
            return (
                "<body>\n"
                + pre
                + '<div class="wrapperContainer" data-container="true">\n'
                + "".join(sections)
                + "</div>\n</body>\n</html>\n"
            )
        return (
            '<body style="margin: 0px; padding: 0px;">\n'
            + pre
            + '<table role="presentation" class="outer" cellpadding="0" cellspacing="0" '
            'width="100%" style="background-color: #f3f2f1; width: 100%;">\n<tbody>\n<tr>\n'
            '<td align="center" style="padding: 24px 0px;">\n'
            '<table role="presentation" class="emailWrapper" cellpadding="0" cellspacing="0" '
            'width="600" style="max-width: 600px; width: 100%; background-color: #ffffff;">\n'
            "<tbody>\n"
            + "".join(sections)
            + "</tbody>\n</table>\n</td>\n</tr>\n</tbody>\n</table>\n</body>\n</html>\n"
        )

    def filler(self) -> list[str]:
        """One piece of repeated newsletter content (a few KB)."""
        pick = self.rng.random()
        if pick < 0.30:
            return [self.text(self.rng.randint(2, 6))]
        if pick < 0.45:
            return [self.agenda()]
        if pick < 0.60:
            return [self.speakers()]
        if pick < 0.70:
            return [self.image(f"photo-{self.rng.randrange(999)}")]
        if pick < 0.80:
            return [self.ghost_section()]
        if pick < 0.88:
            return [self.hero()]
        if pick < 0.94:
            page = f"https://{self.site}/{self.rng.choice(('agenda', 'venue', 'faq'))}"
            return [self.button(page, "Read more")]
        return [self.divider()]


def make_email(
    rng: random.Random,
    name: str,
    size: int,
    events: int,
    editor: str | None = None,
    markers: str | None = None,
    crlf: bool | None = None,
    bom: bool | None = None,
    events_at: float | None = None,
    guids: list[str] | None = None,
) -> Email:
    """One email of about ``size`` bytes with ``events`` ERQRCode blocks (0 = a newsletter).

    ``events_at`` puts that fraction of the repeated content before the event sections
    (default: a random share up to a third, as registration emails put the code near the top).
    ``guids`` names the events (default: ``events`` drawn from ``EVENTS``).
    """
    editor = editor or rng.choice(("classic", "newer"))
    markers = markers or ("in-p" if rng.random() < 0.15 else "comments")
    crlf = rng.random() < 0.25 if crlf is None else crlf
    bom = rng.random() < 0.1 if bom is None else bom
    w = _Writer(rng, editor, markers)
    drawn = rng.sample([g for g, _ in EVENTS], events)
    guids = drawn if guids is None else guids[:events]
    head = w.head(f"{w.org}: {w.sentence(3, 6)}", extra_css=rng.randint(0, 120))
    sections: list[str] = [w.section([w.image("logo", 180), w.image("hero-banner")])]
    sections.append(w.section([w.text(2), w.details()]))
    for guid in guids:  # each event: QR, a line of text, its own placeholder Button
        sections.append(
            w.section([w.qr(guid), w.text(1), w.button("#", "Add to calendar"), w.divider()])
        )
        sections.append(w.section([w.text(2), w.divider()]))  # keeps pairing unambiguous
    if not guids and rng.random() < 0.5:  # newsletters often end in a real call to action
        sections.append(w.section([w.button(f"https://{w.site}/register", "Register now")]))
    footer = w.section([w.divider(), w.footer()])
    fixed = len(head) + sum(map(len, sections)) + len(footer) + 1200
    grow: list[str] = []
    grown = 0
    while fixed + grown < size:
        piece = w.section(w.filler())
        grow.append(piece)
        grown += len(piece)
    # filler goes between the event sections and the footer, some before the first event
    if events_at is not None:
        split = int(len(grow) * events_at)
    else:
        split = rng.randint(0, len(grow) // 3) if grow else 0
    ordered = sections[:2] + grow[:split] + sections[2:] + grow[split:] + [footer]
    return Email(name, head + w.body(ordered), events, editor, markers, crlf, bom)


def corpus(
    count: int, seed: int = 2025, min_kb: int = 20, max_kb: int = 400, one_event: bool = False
) -> list[Email]:
    """``count`` emails, sizes log-uniform in [min_kb, max_kb], 80 % with a QR block.

    ``one_event``: every QR block is for the first of ``EVENTS`` (a run ``--event-id`` serves:
    ``ONE_EVENT_ARGS``), one per email; otherwise 20 % of them hold two or three events."""
    rng = random.Random(seed)
    emails: list[Email] = []
    first = [EVENTS[0][0]]
    for i in range(count):
        size = int(1024 * min_kb * (max_kb / min_kb) ** rng.random())
        has_qr = i % 5 != 4  # exactly 80 %, spread evenly through the folder
        events = (2 if rng.random() < 0.8 else 3) if has_qr and rng.random() < 0.2 else has_qr
        if one_event:
            events = has_qr
        name = f"email-{i:04d}.html"
        emails.append(make_email(rng, name, size, int(events), guids=first if one_event else None))
    return emails


def write(folder: Path, emails: list[Email], seed: int | None = None) -> dict[str, object]:
    """Write the emails and ``manifest.json`` (options per file) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for email in emails:
        data = email.data
        (folder / email.name).write_bytes(data)
        files.append(
            {
                "name": email.name,
                "bytes": len(data),
                "qr_blocks": email.qr_blocks,
                "editor": email.editor,
                "markers": email.markers,
                "crlf": email.crlf,
                "bom": email.bom,
                "args": list(ARGS),
            }
        )
    manifest: dict[str, object] = {"seed": seed, "args": list(ARGS), "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
    return manifest


def generate(folder: Path, count: int, seed: int = 2025, **sizes: int) -> dict[str, object]:
    return write(folder, corpus(count, seed, **sizes), seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--min-kb", type=int, default=20)
    parser.add_argument("--max-kb", type=int, default=400)
    a = parser.parse_args()
    manifest = generate(a.folder, a.count, a.seed, min_kb=a.min_kb, max_kb=a.max_kb)
    files = manifest["files"]
    assert isinstance(files, list)
    total = sum(f["bytes"] for f in files)
    print(f"{len(files)} emails, {total / 1e6:.1f} MB in {a.folder}")


if __name__ == "__main__":
    main()
