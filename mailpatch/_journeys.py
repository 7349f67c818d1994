"""Does an email without an ERQRCode block look like a real-time journeys email?

Outbound marketing, where the ERQRCode loop and the Events API calendar call live, was removed
from every environment in May 2026. Real-time journeys has its own Add to Calendar button, and
its "Import emails" from outbound removed QR codes and ``#if``/``#else`` personalization. So an
email with no ERQRCode block that carries real-time journeys' markup is not "nothing to do": it
is an email for the native button, and the person is told so.

The signs, and how sure each is (Microsoft's pages are cited in README.md's "mailpatch in
2026"):

* documented: real-time journeys personalizes with *labels* whose data binding lives outside
  the HTML (``{{FirstName}}``, ``{{#if placeholderName}}``, ``{{#each Products}}``), and
  compliance tokens ``{{PreferenceCenter}}`` and ``{{CompanyAddress}}``; it does not support
  outbound's dotted entity paths (``{{contact.firstname}}``) or helpers (``(eq …)``).
* inferred from a public sample of its designer's HTML, not documented:
  ``class="msdynmkt_personalization"`` on a label's span, ``data-layout-version`` on the layout,
  and the ``layout-editable`` designer setting.

An email with outbound's own handlebars (a dotted entity path, or a helper call) is not taken
for a real-time one, whatever else it holds.
"""

from __future__ import annotations

import re
from typing import NamedTuple

ADD_TO_CALENDAR_URL = (
    "https://learn.microsoft.com/en-us/dynamics365/customer-insights/journeys/add-to-calendar"
)
NATIVE_BUTTON = (
    "use real-time journeys' own Add to Calendar button (a Button's Link to > Add to "
    f"Calendar, shown to registered contacts only): {ADD_TO_CALENDAR_URL}"
)

# documented tokens of real-time journeys (compliance profile and preference center)
_TOKENS = re.compile(r"\{\{\s*(PreferenceCenter|CompanyAddress)\s*\}\}")
# inferred from its designer's markup (one public sample): said as such
_MARKUP = re.compile(
    r"class\s*=\s*[\"']?msdynmkt_personalization\b|data-layout-version\b|"
    r"value\s*=\s*[\"']marketing-designer-layout-editable[\"']",
    re.I,
)

# Each alternative of _MARKUP holds one of these words, looked for first in the case-folded
# text (re.I matches the long s and the Kelvin sign too, as folding does):
# _MARKUP's case-insensitive alternation takes 7-10 ms over 240 KB of plain HTML (and patch
# asks of every email without an ERQRCode block), folding and three finds about 1.5 ms.
_MARKUP_WORDS = ("msdynmkt_personalization", "data-layout-version", "marketing-designer-layout")


def _has_markup_words(text: str) -> bool:
    folded = text.casefold()
    return any(word in folded for word in _MARKUP_WORDS)


# a label: a bare name, as real-time journeys writes them ({{FirstName}}, {{#if Name}},
# {{#each Products}}); outbound writes entity paths with a dot, or helper calls
_LABEL = re.compile(r"\{\{\s*(?:#(?:if|each|unless)\s+)?([A-Za-z][A-Za-z0-9_]*)\s*\}\}")
# (each quantifier is followed by a character it cannot take: no backtracking over long runs
# of white space, which email text may hold)
_OUTBOUND = re.compile(
    r"\{\{\{?\s*(?:#\w+\s+)?(?:\(\s*)?(?:contact|msdyncrm_\w+|msevtmgt_\w+|this|Message)\s*\.|"
    r"\{\{\s*#\w+\s*\(",
    re.I,
)
_NOT_LABELS = frozenset({"else", "this"})


class Sign(NamedTuple):
    offset: int
    text: str  # as it stands in the email, cut to 60 characters
    documented: bool  # Microsoft documents it; otherwise inferred from a sample


class JourneysLook(NamedTuple):
    signs: tuple[Sign, ...]  # the first few, in document order

    def summary(self) -> str:
        """'{{PreferenceCenter}}, class="msdynmkt_personalization" (inferred)'."""
        return ", ".join(s.text + ("" if s.documented else " (inferred)") for s in self.signs)


def journeys_look(text: str, most: int = 3) -> JourneysLook | None:
    """The real-time journeys signs in an email without an ERQRCode block, or None when it
    has none or holds outbound's own handlebars. A label alone is no sign: a bare ``{{name}}``
    is also what the event's Calendar content and many hand-written templates hold; labels are
    listed beside a compliance token or the designer's markup. One pass of each pattern, at C
    speed."""
    if "{{" in text and _OUTBOUND.search(text):
        return None
    found: list[Sign] = []
    for m in _TOKENS.finditer(text) if "{{" in text else ():
        found.append(Sign(m.start(), m.group(0), True))
        if len(found) >= most:
            break
    markup = _MARKUP.search(text) if _has_markup_words(text) else None
    if not found and markup is None:
        return None
    if len(found) < most and "{{" in text:  # documented signs first, then the inferred ones
        for m in _LABEL.finditer(text):
            if m.group(1) not in _NOT_LABELS and not _TOKENS.fullmatch(m.group(0)):
                found.append(Sign(m.start(), m.group(0), True))
                if len(found) >= most:
                    break
    if len(found) < most and markup is not None:
        for m in _MARKUP.finditer(text, markup.start()):
            found.append(Sign(m.start(), m.group(0)[:60], False))
            if len(found) >= most:
                break
    return JourneysLook(tuple(sorted(found)[:most]))
