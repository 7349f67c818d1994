"""The real Handlebars.js, and what the tests that render with it share.

``tests/handlebars/render.js`` runs the ``handlebars`` npm package in compat mode (recursive
lookup, the way the platform resolves ``contact.*`` inside ``#each``) with the platform's ``eq``
helper: ``Renderer`` for a batch in one node process, ``LineRenderer`` for a session of batches
(the fixtures ``handlebars`` and ``handlebars_lines`` in ``conftest.py`` start them). Here too:
the hand-written patched sample and its broken mutants, and how a rendered email's links are
read (every href a client can follow, Outlook's VML branches included).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent


HARNESS = Path(__file__).resolve().parent / "handlebars"


RENDER_JS = HARNESS / "render.js"


PATCH_FIXTURES = ROOT / "fixtures" / "patch"


ICS_MARKER = "/calendar/personal/ics"


REGISTRATIONS = "msevtmgt_eventregistration_contact_msevtmgt_contactid"


# The event GUID in a loop marker: either quote, any case, any spacing.
GUID_MARKER = re.compile(
    r"\{\{~?\s*#if\s*\(\s*eq\s+(?:(?:this\.)?msevtmgt_eventid\s+)?(['\"])"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\1"
    r"\s*(?:(?:this\.)?msevtmgt_eventid\s*)?\)\s*~?\}\}",
    re.IGNORECASE,
)


# A downlevel-hidden conditional comment that Outlook (mso) renders: `[if mso]>…<![endif]`,
# `[if gte mso 9]>…`; `[if !mso]>` branches are for the other clients, not Outlook.
MSO_BRANCH = re.compile(r"\A\s*\[if\s+(?!!)[^\]]*\]>(?P<body>.*)<!\[endif\]\s*\Z", re.DOTALL)


GUID_A = "6c6e9d1b-0c3f-4a47-9f2a-1d2e3f4a5b6c"


GUID_B = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"


HREF_A = (
    "https://org1a2b.svc.dynamics.com/EvtMgmt/api/v2.0/calendar/personal/ics"
    "?api-version=2016-06-30&amp;data=[{%22readableEventId%22:%22SpringSummit2025%22,"
    "%22data%22:{%22registrationId%22:%22{{this.msevtmgt_name}}%22,"
    "%22firstname%22:%22{{contact.firstname}}%22,%22lang%22:%22{{contact.x_lang}}-fixed%22}}]"
)


# Readable id `Ünï {{x}} "q" & <b>`: static text must reach the API intact and never form a
# Handlebars expression, which only the real engine can prove.
HREF_B = (
    "https://org1a2b.svc.dynamics.com/EvtMgmt/api/v2.0/calendar/personal/ics"
    "?api-version=2016-06-30&amp;data=[{%22readableEventId%22:"
    "%22%C3%9Cn%C3%AF%20%7B%7Bx%7D%7D%20%5C%22q%5C%22%20%26%20%3Cb%3E%22,"
    "%22sessionId%22:%22S-1%22,%22data%22:{%22registrationId%22:%22{{this.msevtmgt_name}}%22,"
    "%22firstname%22:%22{{contact.firstname}}%22,%22lang%22:%22{{contact.x_lang}}-fixed%22}}]"
)


# Hand-written (synthesised) patched email: a classic Button (VML + <a>, markers in bare
# comments, single quotes, lower-case GUID) and a newer-editor Button (markers in <p> wrappers
# with empty paragraphs, double quotes, upper-case GUID, a session and an extra field), plus
# an unrelated Button and a greeting placeholder that must be left alone.
SAMPLE_PATCHED = f"""\
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" \
xmlns:o="urn:schemas-microsoft-com:office:office">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta type="xrm/designer/setting" name="type" value="marketing-designer-content-editor-document">
<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/><o:PixelsPerInch>96\
</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
<title>Your registration</title>
</head>
<body>
<div class="wrapperContainer" data-container="true">
<div data-editorblocktype="Text"><p>Hello {{{{contact.firstname}}}}&nbsp;&#128197; \
&copy; 2025</p></div>
<div data-editorblocktype="Button" align="center" class="buttonWrapper">
<!--{{{{#each contact.{REGISTRATIONS} }}}}-->
<!--{{{{#if (eq this.msevtmgt_eventid '{GUID_A}')}}}}-->
<!--[if mso]>
<v:rect xmlns:v="urn:schemas-microsoft-com:vml" xmlns:w="urn:schemas-microsoft-com:office:word" \
href="{HREF_A}" style="height:40px;v-text-anchor:middle;width:200px;" stroke="f" \
fillcolor="#0078d4" data-msdyn-tracking-id="b1f3">
<w:anchorlock/>
<center style="color:#ffffff;font-family:sans-serif;font-size:16px;">Add to calendar</center>
</v:rect>
<![endif]-->
<!--[if !mso]><!-- -->
<a class="buttonClass" href="{HREF_A}" style="background-color:#0078d4;color:#ffffff;\
mso-hide: none !important;" data-msdyn-tracking-id="b1f3">Add to calendar</a>
<!--<![endif]-->
<!--{{{{/if}}}}-->
<!--{{{{/each}}}}-->
</div>
<div data-editorblocktype="Button" align="center" class="buttonWrapper" style="padding:10px">
<p><!-- {{{{#each contact.{REGISTRATIONS}}}}} --></p>
<p>&nbsp;</p>
<p><!--{{{{#if (eq this.msevtmgt_eventid "{GUID_B}")}}}}--></p>
<a class="buttonClass" href="{HREF_B}" style="mso-hide: none !important;"><span>Add the \
workshop 📅</span></a>
<p><!--{{{{/if}}}}  --></p>
<p></p>
<p><!--{{{{/each}}}}--></p>
</div>
<div data-editorblocktype="Button" align="center"><a class="buttonClass" \
href="https://example.com/agenda?a=1&amp;b=2"><span>Agenda</span></a></div>
</div>
</body>
</html>
"""


# A QR block left behind (as if the tool had not removed it).
_QR_BLOCK = f"""\
<div data-editorblocktype="ERQRCode">
<!--{{{{#each contact.{REGISTRATIONS} }}}}-->
<!--{{{{#if (eq this.msevtmgt_eventid '{GUID_A}')}}}}-->
<img id="base64image" src="{{{{this.msevtmgt_qrcode}}}}" alt="Event registration QR code">
<!--{{{{/if}}}}-->
<!--{{{{/each}}}}-->
</div>
"""


def _mutate(old: str, new: str, count: int = 1) -> str:
    # Fail loudly if the sample changes and a mutant stops being the defect it claims to be.
    assert SAMPLE_PATCHED.count(old) == count, old
    return SAMPLE_PATCHED.replace(old, new)


_EACH_A = f"<!--{{{{#each contact.{REGISTRATIONS} }}}}-->\n"


_IF_A = f"<!--{{{{#if (eq this.msevtmgt_eventid '{GUID_A}')}}}}-->\n"


_END_A = "<!--{{/if}}-->\n<!--{{/each}}-->\n"


# Broken patches the checks must reject; each is (template, contact the defect shows for).
MUTANTS: dict[str, tuple[str, str]] = {
    # The link outside the loop: everyone gets it, with an empty registrationId.
    "link-outside-loop": (
        _mutate(_EACH_A, "").replace(_IF_A, "").replace(_END_A, ""),
        "unregistered",
    ),
    # Outlook renders the VML link: left as '#', Outlook users get a dead button.
    "dead-outlook-button": (
        _mutate(f'href="{HREF_A}" style="height', 'href="#" style="height'),
        "registered",
    ),
    # Without the #if the button repeats for every registration, other events' included.
    "loop-without-if": (
        _mutate(_IF_A, "").replace("<!--{{/if}}-->\n<!--{{/each}}", "<!--{{/each}}"),
        "registered",
    ),
    # The QR block must be gone unless --keep-qr.
    "qr-block-left": (_mutate("</body>", _QR_BLOCK + "</body>"), "registered"),
    # A placeholder that reaches the recipient unfilled (here Handlebars' escaped mustache).
    "unfilled-placeholder": (
        _mutate("Hello {{contact.firstname}}", "Hello \\{{contact.firstname}}"),
        "registered",
    ),
}


class RenderError(RuntimeError):
    """render.js reported a problem (bad input, Handlebars parse or runtime error)."""


@dataclass(frozen=True)
class Renderer:
    node: str

    def __call__(
        self, templates: Sequence[str], contexts: Sequence[Mapping[str, Any]]
    ) -> list[list[str]]:
        request = json.dumps({"templates": list(templates), "contexts": list(contexts)})
        proc = subprocess.run(
            [self.node, str(RENDER_JS)],
            input=request.encode("utf-8"),
            capture_output=True,
            cwd=HARNESS,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip()
            raise RenderError(message or f"render.js exited with {proc.returncode}")
        rendered = json.loads(proc.stdout.decode("utf-8"))["rendered"]
        # Guard the protocol itself: a short answer would silently drop cases.
        assert len(rendered) == len(templates)
        assert all(len(row) == len(contexts) for row in rendered)
        return rendered


class LineRenderer:
    """One node process (render.js --lines) for a whole module: a batch in, its results out,
    a line each; for the differential tests, which render thousands of small batches.

    Each result is per template and per context: the string Handlebars.js printed, or
    ``{"error": message}`` where it threw (a template it cannot parse throws for every
    context)."""

    def __init__(self, node: str) -> None:
        self.process = subprocess.Popen(
            [node, str(RENDER_JS), "--lines"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # what {{log}} and denied property lookups log
            cwd=HARNESS,
            text=True,
            encoding="utf-8",
        )

    def __call__(
        self, templates: Sequence[str], contexts: Sequence[Mapping[str, Any]]
    ) -> list[list[str | dict[str, str]]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        request = json.dumps({"templates": list(templates), "contexts": list(contexts)})
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        assert "failure" not in answer, answer
        results: list[list[str | dict[str, str]]] = answer["results"]
        # Guard the protocol itself: a short answer would silently drop cases.
        assert len(results) == len(templates)
        assert all(len(row) == len(contexts) for row in results)
        return results

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def harness_problems() -> list[str]:
    problems: list[str] = []
    if shutil.which("node") is None:
        problems.append("`node` is not on PATH")
    installed = HARNESS / "node_modules" / "handlebars" / "package.json"
    if not installed.is_file():
        problems.append(f"{installed.parent} is missing (run `npm ci` in {HARNESS})")
    else:
        # A stale install would test another engine than the one package.json pins.
        pinned = json.loads((HARNESS / "package.json").read_text("utf-8"))["dependencies"]
        version = json.loads(installed.read_text("utf-8"))["version"]
        if version != pinned["handlebars"]:
            problems.append(
                f"handlebars {version} is installed but {pinned['handlebars']} is pinned "
                f"(run `npm ci` in {HARNESS})"
            )
    return problems


def event_guids(html: str) -> list[str]:
    """The GUIDs of every loop marker, as written, first occurrence first."""
    return list(dict.fromkeys(m.group(2) for m in GUID_MARKER.finditer(html)))


@dataclass(frozen=True)
class Href:
    url: str  # as a browser reads it: HTML-unescaped
    where: str  # the element, "mso:" prefixed when from Outlook's conditional branch
    button: int | None  # index of the enclosing Button block, in document order

    @property
    def is_calendar(self) -> bool:
        return ICS_MARKER in self.url.lower()


def parse_html(html: str) -> Any:
    # Bytes with an explicit encoding: lxml refuses str input that has an XML declaration.
    parser = lxml.html.HTMLParser(encoding="utf-8")
    return lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)


def _is_button(el: Any) -> bool:
    return isinstance(el.tag, str) and el.get("data-editorblocktype", "").lower() == "button"


def collect_hrefs(html: str) -> list[Href]:
    """Every href a client can follow: elements, and Outlook's `<!--[if mso]>` VML branches."""
    doc = parse_html(html)
    buttons = {el: i for i, el in enumerate(el for el in doc.iter() if _is_button(el))}

    def button_of(node: Any) -> int | None:
        for el in (node, *node.iterancestors()):
            if el in buttons:
                return buttons[el]
        return None

    found: list[Href] = []
    for node in doc.iter():
        if node.tag is etree.Comment:
            m = MSO_BRANCH.match(node.text or "")
            if m is None or not m.group("body").strip():
                continue
            # Outlook parses the comment body as markup; so do we.
            branch = lxml.html.fragment_fromstring(m.group("body"), create_parent="div")
            found.extend(
                Href(el.get("href"), f"mso:{el.tag}", button_of(node))
                for el in branch.iter()
                if isinstance(el.tag, str) and el.get("href") is not None
            )
        elif isinstance(node.tag, str) and node.get("href") is not None:
            found.append(Href(node.get("href"), node.tag, button_of(node)))
    return found
