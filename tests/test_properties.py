"""Properties (hypothesis) over the fixtures, mutated, and over arbitrary bytes.

* The fixtures in fixtures/patch, with insertions outside the designer blocks (text,
  comments, MSO conditionals, entities, handlebars, emoji, elements), whitespace inside tags,
  tag and attribute names in another case, and LF/CRLF/mixed line endings: the patch is the
  same, confined to the recorded edits, deterministic, idempotent, verified, and its links
  decode to the intended object.
* Arbitrary bytes, and the fixtures with bytes flipped, cut, repeated or spliced: through
  ``process()`` and ``main(["patch", ...])`` each file is patched (and verifies) or left
  untouched with a message -- never a traceback.
* Emails assembled from the pieces an export can hold, at random: the core either refuses
  or writes a patch that passes the independent verifier.
* Values from the user, arbitrary strings: they never leave their layer of the link.

Profiles are in conftest.py: `ci` (derandomized, the default) and `long`.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import tempfile
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from mailpatch import Unverifiable, decode, verify
from mailpatch._blocks import BUTTON_TYPE, QR_TYPE, scan
from mailpatch._cli import EXIT_CHANGES, EXIT_OK, EXIT_REFUSED, main
from mailpatch._errors import MissingOption, Refusal
from mailpatch._html import Kind, StartTag
from mailpatch._link import PLACEHOLDER, decode_calendar_url, normalize_endpoint
from mailpatch._options import OptionsProblem, build_options
from mailpatch._patch import EventRef, PatchOptions, PatchResult, apply, patch
from mailpatch._run import Mode, Status, process

from conftest import GENERATED
from fixturecases import Case, cases

# slow (`pytest -m "not slow"` leaves it out; .ci/run runs it):
# hypothesis profiles: hundreds of generated emails a property
pytestmark = pytest.mark.slow

_RAW_TEXT = frozenset({"style", "script", "title", "textarea", "xmp", "iframe", "noembed"})
_CALENDAR = "/calendar/personal/ics"


# --- the fixtures, laid out for mutation ------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """A patch fixture with where it may be mutated without touching a designer block."""

    case: Case
    text: str
    options: PatchOptions
    result: PatchResult
    points: tuple[int, ...]  # insertion points: token boundaries and inside text
    tag_points: tuple[int, ...]  # before an attribute or a '>' of a tag: whitespace only
    names: tuple[tuple[int, int], ...]  # tag and attribute names, for case changes


def _layout(case: Case) -> Base:
    text = decode(case.input.read_bytes()).text
    doc = scan(text)
    blocks = [(b.start, b.end) for b in doc.blocks]

    def outside(lo: int, hi: int | None = None) -> bool:
        hi = lo if hi is None else hi
        return (
            all(hi <= s or lo >= e for s, e in blocks)
            if hi > lo
            else all(not s < lo < e for s, e in blocks)
        )

    points: list[int] = []
    tag_points: list[int] = []
    names: list[tuple[int, int]] = []
    in_raw = False
    for tok in doc.tokens:
        if not in_raw and outside(tok.start):
            points.append(tok.start)
            if tok.kind is Kind.TEXT:
                points += [p for p in range(tok.start + 1, tok.end) if outside(p)]
        if tok.kind in (Kind.START, Kind.END) and outside(tok.start, tok.end):
            name_at = tok.start + (1 if tok.kind is Kind.START else 2)
            names.append((name_at, name_at + len(tok.name)))
            if tok.kind is Kind.START:
                for attr in StartTag(text, tok).attrs:
                    names.append((attr.start, attr.start + len(attr.name)))
                    tag_points.append(attr.start)
            else:
                tag_points.append(tok.end - 1)
        if tok.kind is Kind.START and tok.name in _RAW_TEXT:
            in_raw = True
        elif tok.kind is Kind.END and in_raw:
            in_raw = False
    if outside(len(text)):
        points.append(len(text))
    options = case.options
    return Base(
        case,
        text,
        options,
        patch(text, options),
        tuple(points),
        tuple(tag_points),
        tuple(names),
    )


PATCH_CASES = cases("patch")
BASES = {c.name: _layout(c) for c in PATCH_CASES}
# --button names a LINE:COL, which an inserted newline moves: that case only changes endings
INSERTABLE = sorted(name for name, b in BASES.items() if not b.options.buttons)


# --- what gets inserted ---------------------------------------------------------------------

# No '{' in free text: a stray '{{' is a Handlebars error the patch rightly refuses to move a
# loop past (see test_assembled_emails_*); well-formed expressions come from HANDLEBARS.
_TEXT_CHARS = st.characters(blacklist_characters="<{\x00", blacklist_categories=("Cs",))
TEXT = st.text(_TEXT_CHARS, max_size=24)
ATTR_VALUE = st.text(
    st.characters(blacklist_characters='<"&{\x00', blacklist_categories=("Cs",)), max_size=16
)
COMMENT_BODY = (
    st.text(st.characters(blacklist_characters="{\x00", blacklist_categories=("Cs",)), max_size=24)
    .map(lambda s: re.sub("-{2,}", "-", s).strip("-").lstrip(">!"))
    .filter(lambda s: "--" not in s)
)
WHITESPACE = st.text(st.sampled_from(" \t\n\r\x0c"), min_size=1, max_size=6)
EMOJI = st.sampled_from(
    ["📅", "✈️", "👩🏽‍💻", "🇵🇹", "京都", "«»", "\u00a0", "\u200b", "\ufeff", "\u2028", "\u0085"]
)
ENTITY = st.sampled_from(
    ["&nbsp;", "&copy;", "&#128197;", "&#x2708;", "&amp;", "&lt;", "&#39;", "&bogus;", "&", "&#0;"]
)
IDENTIFIER = st.from_regex(
    r"[A-Za-z_][A-Za-z0-9_]{0,8}(\.[A-Za-z_][A-Za-z0-9_]{0,8}){0,2}", fullmatch=True
)
HANDLEBARS = st.one_of(
    IDENTIFIER.map(lambda p: "{{" + p + "}}"),
    st.sampled_from(
        [
            "{{contact.firstname}}",
            "{{{raw}}}",
            "{{#if contact.x}}yes{{else}}no{{/if}}",
            "{{#each contact.items}}{{this}}{{/each}}",
            "{{msdyncrm_contentsettings.msdyncrm_subscriptioncenter}}",
            "{{~trim~}}",
            "{{!a comment}}",
            "{{#if (eq this.msevtmgt_eventid 'e4b81d2f-0a6c-ee11-9079-6045bd8e1f20')}}{{/if}}",
            "}}",
        ]
    ),
)
MSO = st.builds(
    lambda form, body, inner: form.format(body=body, inner=inner),
    st.sampled_from(
        [
            "<!--[if mso]>{body}<![endif]-->",
            "<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/>"
            "</o:OfficeDocumentSettings></xml><![endif]-->",
            "<!--[if !mso]><!-- -->{inner}<!--<![endif]-->",
            "<!--[if !mso]><!-->{inner}<!--<![endif]-->",
            "<!--[if !mso]> <!---->{inner}<!--<![endif]-->",
            '<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="#" '
            'style="height:40px"><w:anchorlock/><center>{body}</center></v:roundrect><![endif]-->',
            '<!--[if mso]><table role="presentation"><tr><td><![endif]-->{inner}'
            "<!--[if mso]></td></tr></table><![endif]-->",
        ]
    ),
    COMMENT_BODY,
    TEXT.map(lambda t: f"<p>{t}</p>"),
)
ELEMENT = st.builds(
    lambda form, t, a: form.format(t=t, a=a),
    st.sampled_from(
        [
            "<p>{t}</p>",
            '<span style="color:#c00">{t}</span>',
            "<br>",
            "<br/>",
            '<img src="https://example.com/{a}.png" alt="{a}">',
            '<a href="https://example.com/{a}">{t}</a>',
            "<div>{t}</div>",
            '<table role="presentation"><tr><td>{t}</td></tr></table>',
            "<b>{t}</b>",
            '<font face="Arial">{t}</font>',
            "</nonexistent>",
        ]
    ),
    TEXT,
    ATTR_VALUE,
)
FRAGMENT = st.one_of(
    TEXT,
    COMMENT_BODY.map(lambda s: f"<!--{s}-->"),
    MSO,
    ENTITY,
    HANDLEBARS,
    EMOJI,
    ELEMENT,
    WHITESPACE,
)
CASE_CHANGE: st.SearchStrategy[Callable[[str], str]] = st.sampled_from(
    [
        str.upper,
        str.lower,
        str.swapcase,
        lambda s: "".join(c.upper() if i % 2 else c for i, c in enumerate(s)),
    ]
)


class Mutant:
    """A fixture and the changes made to it (not a dataclass: failing examples show repr)."""

    def __init__(self, base: Base, text: str, edits: tuple[tuple[int, int, str], ...]) -> None:
        self.base, self.text, self.edits = base, text, edits  # edits: (start, end, new text)

    def __repr__(self) -> str:  # what a failing example shows: the fixture and the changes
        return f"Mutant({self.base.case.name!r}, edits={list(self.edits)!r})"


@st.composite
def mutated_fixture(draw: st.DrawFn) -> Mutant:
    base = BASES[draw(st.sampled_from(INSERTABLE))]
    edits: list[tuple[int, int, str]] = []
    for at, fragment in draw(
        st.lists(st.tuples(st.sampled_from(base.points), FRAGMENT), min_size=1, max_size=10)
    ):
        edits.append((at, at, fragment))
    if base.tag_points:
        for at, space in draw(
            st.lists(st.tuples(st.sampled_from(base.tag_points), WHITESPACE), max_size=4)
        ):
            edits.append((at, at, space))
    if base.names:
        spans = draw(st.lists(st.sampled_from(base.names), max_size=12, unique=True))
        for lo, hi in spans:
            edits.append((lo, hi, draw(CASE_CHANGE)(base.text[lo:hi])))
    edits.sort(key=lambda e: (e[0], e[1]))  # an insertion before a name that starts there
    out: list[str] = []
    pos = 0
    for lo, hi, new in edits:
        out += [base.text[pos:lo], new]
        pos = hi
    out.append(base.text[pos:])
    return Mutant(base, "".join(out), tuple(edits))


# --- checks shared by the properties --------------------------------------------------------


def assert_confined(before: str, result: PatchResult) -> None:
    """Bytes outside the recorded edits are the input's, in order, and nothing else is."""
    out, cursor, pos = result.text, 0, 0
    for edit in result.edits:
        kept = before[pos : edit.start]
        assert out.startswith(kept, cursor)
        cursor += len(kept)
        assert out.startswith(edit.replacement, cursor)
        cursor += len(edit.replacement)
        pos = edit.end
    assert out[cursor:] == before[pos:]


def assert_edits_are_the_blocks(before: str, result: PatchResult) -> None:
    doc = scan(before)
    qr = {(b.start, b.end) for b in doc.blocks_of(QR_TYPE)}
    buttons = {(b.content_start, b.content_end) for b in doc.blocks_of(BUTTON_TYPE)}
    for edit in result.edits:
        if edit.what == "scheme":  # the "//" of a calendar link: inside a Button's content
            assert edit.replacement == "//", edit
            assert any(lo <= edit.start <= hi for lo, hi in buttons), edit
            continue
        assert (edit.start, edit.end) in (qr if edit.what == "qr" else buttons), edit


def assert_links_round_trip(result: PatchResult) -> None:
    """Each calendar href in the output, as lxml reads it, decodes to a pairing's object."""
    intended = [p.link.intended() for p in result.pairings if p.link is not None]
    root = lxml.html.document_fromstring(result.text.encode("utf-8"))
    hrefs = [a.get("href") for a in root.iter("a") if _CALENDAR in (a.get("href") or "")]
    assert len(hrefs) >= len(intended)
    ours = {entry[0]["readableEventId"] for entry in intended}
    for href in hrefs:
        data = decode_calendar_url(href).data
        if data[0].get("readableEventId") in ours:  # not a link a scheme fix only touched
            assert data in intended, href


def assert_sound_patch(before: str, result: PatchResult, options: PatchOptions) -> None:
    assert result.changed
    assert apply(before, list(result.edits)) == result.text
    assert_confined(before, result)
    assert_edits_are_the_blocks(before, result)
    assert patch(before, options) == result  # deterministic
    assert not patch(result.text, options).changed  # idempotent
    verify(before, result, options)
    assert_links_round_trip(result)


# --- 1. the fixtures, mutated outside the blocks -------------------------------------------


@given(mutated_fixture())
def test_mutations_outside_the_blocks_change_nothing_in_the_patch(mutant: Mutant) -> None:
    GENERATED["fixtures mutated outside the blocks"] += 1
    base = mutant.base
    note(f"fixture {base.case.name}")
    result = patch(mutant.text, base.options)
    assert_sound_patch(mutant.text, result, base.options)
    # the blocks are untouched, so each edit is the unmutated fixture's, at its new place
    assert [(e.what, e.replacement) for e in result.edits] == [
        (e.what, e.replacement) for e in base.result.edits
    ]
    assert [mutant.text[e.start : e.end] for e in result.edits] == [
        base.text[e.start : e.end] for e in base.result.edits
    ]


def _endings(text: str, style: str, choose: Callable[[], bool]) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    if style == "lf":
        return "\n".join(lines)
    if style == "crlf":
        return "\r\n".join(lines)
    out = [lines[0]]
    for line in lines[1:]:
        out += ["\r\n" if choose() else "\n", line]
    return "".join(out)


@given(
    st.sampled_from(sorted(BASES)),
    st.sampled_from(["lf", "crlf", "mixed"]),
    st.randoms(use_true_random=False),
)
def test_line_endings(name: str, style: str, rnd: Any) -> None:
    GENERATED["fixtures with LF/CRLF/mixed line endings"] += 1
    base = BASES[name]
    text = _endings(base.text, style, lambda: rnd.random() < 0.5)
    result = patch(text, base.options)
    assert_sound_patch(text, result, base.options)
    if style != "mixed":  # mailpatch adds no line break of its own: it commutes with endings
        expected = decode(base.case.expected.read_bytes()).text
        assert result.text == _endings(expected, style, lambda: False)


# --- 2. arbitrary bytes, and the fixtures damaged --------------------------------------------

ALL_CASES = [*cases("patch"), *cases("refuse"), *cases("unchanged")]
RAW = {c.name + "/" + c.folder.parent.name: (c.input.read_bytes(), c) for c in ALL_CASES}
ANY_OPTIONS = build_options(endpoint="contoso.svc.dynamics.com", event_id="ev-1")
ANY_ARGS = ["--endpoint", "contoso.svc.dynamics.com", "--event-id", "ev-1"]


class Damaged:
    """Bytes to patch, and how they were made (not a dataclass: failing examples show repr)."""

    def __init__(self, data: bytes, options: PatchOptions, args: list[str], how: str) -> None:
        self.data, self.options, self.args, self.how = data, options, args, how

    def __repr__(self) -> str:
        return f"Damaged({self.how})"


@st.composite
def damaged_bytes(draw: st.DrawFn) -> Damaged:
    """A fixture with bytes flipped, inserted, cut, repeated or spliced; or any bytes."""
    if draw(st.integers(0, 4)) == 0:
        data = draw(st.binary(max_size=4096))
        return Damaged(data, ANY_OPTIONS, ANY_ARGS, f"any bytes {data!r}")
    name = draw(st.sampled_from(sorted(RAW)))
    data, case = RAW[name]
    buf = bytearray(data)
    how = [name]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "cut", "repeat", "truncate", "splice"]))
        at = draw(st.integers(0, len(buf)))
        if kind == "flip" and buf:
            at = min(at, len(buf) - 1)
            buf[at] = draw(st.integers(0, 255))
            how.append(f"byte {at} = {buf[at]:#04x}")
        elif kind == "insert":
            new = draw(st.binary(min_size=1, max_size=8))
            buf[at:at] = new
            how.append(f"insert {new!r} at {at}")
        elif kind == "cut":
            size = draw(st.integers(1, 64))
            del buf[at : at + size]
            how.append(f"cut {size} at {at}")
        elif kind == "repeat":
            size = draw(st.integers(1, 512))
            buf[at:at] = buf[at : at + size]
            how.append(f"repeat {size} at {at}")
        elif kind == "truncate":
            del buf[at:]
            how.append(f"truncate at {at}")
        elif kind == "splice":
            other_name = draw(st.sampled_from(sorted(RAW)))
            other, _ = RAW[other_name]
            lo = draw(st.integers(0, len(other)))
            size = draw(st.integers(1, 2048))
            buf[at:at] = other[lo : lo + size]
            how.append(f"splice {other_name}[{lo}:{lo + size}] at {at}")
    try:
        options, args = case.options, case.args
    except (OptionsProblem, ValueError):
        options, args = ANY_OPTIONS, ANY_ARGS
    return Damaged(bytes(buf), options, args, "; ".join(how))


def _check_outcome_on_disk(before: bytes, after: bytes, status: Status, options: Any) -> None:
    if status is Status.PATCHED:
        email = decode(before)
        result = patch(email.text, options)
        assert after == email.encode(result.text)
        verify(email.text, result, options)
        assert not patch(decode(after).text, options).changed
    else:
        assert after == before


@given(damaged_bytes())
def test_any_bytes_through_process_patched_or_untouched(sample: Damaged) -> None:
    GENERATED["damaged or arbitrary bytes through process()"] += 1
    data, options = sample.data, sample.options
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "email.html"
        path.write_bytes(data)
        try:
            outcome = process(str(path), options, Mode())
        except MissingOption:  # a usage error (exit 2), raised before anything is written
            outcome = None
        note(f"{outcome}")
        after = path.read_bytes()
        assert [p.name for p in Path(tmp).iterdir()] == ["email.html"]
    if outcome is None:
        assert after == data
        return
    assert outcome.status is not Status.ERROR, outcome.message  # the verifier disagreed
    _check_outcome_on_disk(data, after, outcome.status, options)


@given(damaged_bytes(), st.sampled_from([[], ["--check"], ["--diff"]]))
def test_any_bytes_through_main_exit_code_and_no_traceback(
    sample: Damaged, mode: list[str]
) -> None:
    GENERATED["damaged or arbitrary bytes through main()"] += 1
    data, options, args = sample.data, sample.options, sample.args
    err, out = io.StringIO(), io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "email.html"
        path.write_bytes(data)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(["patch", *mode, *args, "--no-respect-gitignore", str(path)])
        after = path.read_bytes()
        assert [p.name for p in Path(tmp).iterdir()] == ["email.html"]
    note(err.getvalue())
    assert "Traceback" not in err.getvalue()
    assert "INTERNAL ERROR" not in err.getvalue()
    if mode:
        assert code in (EXIT_OK, EXIT_CHANGES, EXIT_REFUSED, 2)
        assert after == data
    else:
        assert code in (EXIT_OK, EXIT_REFUSED, 2)
        patched = f"patched {path}" in err.getvalue()
        _check_outcome_on_disk(data, after, Status.PATCHED if patched else Status.REFUSED, options)


# --- 3. emails assembled from an export's pieces, at random ----------------------------------

GUIDS = ["e4b81d2f-0a6c-ee11-9079-6045bd8e1f20", "0D2F4A6C-8E1B-EF11-A82E-000D3A4B5C6D"]
SOUP_OPTIONS = PatchOptions(
    endpoint="contoso.svc.dynamics.com",
    events={GUIDS[0]: EventRef("ev-1"), GUIDS[1].lower(): EventRef("ev-2", "s-1")},
)
MARKER_FORMS = [
    lambda m: f"<!--{m}-->",
    lambda m: f"<!-- {m} -->",
    lambda m: f" <!--{m}  -->",
    lambda m: m,
    lambda m: f"<p>{m}</p>",
    lambda m: f"<p><!--{m}--></p>",
    lambda m: f"<!--{m}--!>",
]
IMGS = [
    '<img id="base64image" src="{{this.msevtmgt_qrcode}}" alt="Event registration QR code">',
    '<IMG SRC="{{this.msevtmgt_qrcode}}"/>',
    '<img src="{{this.msevtmgt_qrcode}}" alt="a > b">',
    '<img src="x.png">',
]
HREFS = ["#", "", "about:blank", "https://example.com/agenda", "#", "&#35;"]


@st.composite
def qr_block(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from(MARKER_FORMS))
    sep = draw(st.sampled_from(["\n", "\r\n", "", "<p>&nbsp;</p>", "<p></p>\n"]))
    guid = draw(st.sampled_from(GUIDS))
    quote = draw(st.sampled_from(["'", '"']))
    parts = [
        "{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}",
        f"{{{{#if (eq this.msevtmgt_eventid {quote}{guid}{quote})}}}}",
    ]
    tail = ["{{/if}}", "{{/each}}"]
    if draw(st.booleans()):
        tail = ["{{else}}", "<p>not registered</p>", *tail]
    markers = [form(m) for m in parts]
    body = [*markers, draw(st.sampled_from(IMGS)), *[form(m) for m in tail]]
    if draw(st.integers(0, 9)) == 0:  # damage: drop or repeat one piece
        i = draw(st.integers(0, len(body) - 1))
        body = body[:i] + body[i + 1 :] if draw(st.booleans()) else [*body[: i + 1], *body[i:]]
    tag = draw(st.sampled_from(["ERQRCode", "erqrcode", " ERQRCODE "]))
    attrs = draw(st.sampled_from(["", ' data-protected="true"', ' class="x"']))
    return f'<div data-editorblocktype="{tag}"{attrs}>' + sep.join(["", *body, ""]) + "</div>"


@st.composite
def button_block(draw: st.DrawFn) -> str:
    href = draw(st.sampled_from(HREFS))
    label = draw(st.sampled_from(["Add to calendar", "📅 Save the date", "a &amp; b", ""]))
    link = f'<a class="buttonClass" href="{href}" style="color:#fff">{label}</a>'
    if draw(st.booleans()):
        link = (
            f'<!--[if mso]><v:roundrect href="{href}" style="height:40px"><w:anchorlock/>'
            f"<center>{label}</center></v:roundrect><![endif]-->"
            f"<!--[if !mso]><!-- -->{link}<!--<![endif]-->"
        )
    if draw(st.integers(0, 4)) == 0:
        link = draw(st.sampled_from(["<a>x</a>", "<a href>x</a>", "<a href=#>x</a>", "x"]))
    return f'<div data-editorblocktype="Button" align="center">{link}</div>'


NOISE = st.one_of(
    FRAGMENT,
    st.sampled_from(
        [
            "<div>",
            "</div>",
            "<table><tr><td>",
            "</td></tr></table>",
            "<p>",
            "</p>",
            '<div data-editorblocktype="Text"><p>Hello {{contact.firstname}}</p></div>',
            '<div class="wrapperContainer" data-container="true">',
            '<div data-locked="hard">',
            "<style>p{color:red}</style>",
            "<title>Hi</title>",
            "<!DOCTYPE html>",
            "<html><head><meta charset='utf-8'></head><body>",
            "</body></html>",
            "<!--",
            "-->",
            "<p class='x",
        ]
    ),
)


@st.composite
def assembled_email(draw: st.DrawFn) -> str:
    """Noise around one QR block and one Button (in either order), or any mix of pieces."""
    noise = st.lists(NOISE, max_size=4)
    if draw(st.integers(0, 3)) == 0:
        parts = draw(st.lists(st.one_of(qr_block(), button_block(), NOISE), max_size=14))
    else:
        blocks = [draw(qr_block()), draw(button_block())]
        if draw(st.booleans()):
            blocks.reverse()
        parts = [*draw(noise), blocks[0], *draw(noise), blocks[1], *draw(noise)]
    return draw(st.sampled_from(["\n", "\r\n", ""])).join(parts)


@given(assembled_email())
def test_assembled_emails_are_refused_or_verified(text: str) -> None:
    GENERATED["emails assembled from export pieces"] += 1
    try:
        result = patch(text, SOUP_OPTIONS)
    except Refusal:
        GENERATED["emails assembled ...: refused"] += 1
        return
    if not result.changed:
        return
    try:
        verify(text, result, SOUP_OPTIONS)
    except Unverifiable:  # past what libxml2 reads (e.g. after </html>): refused by process()
        GENERATED["emails assembled ...: unverifiable"] += 1
        return
    GENERATED["emails assembled ...: patched"] += 1
    assert_sound_patch(text, result, SOUP_OPTIONS)


# --- 4. values from the user never leave their layer ----------------------------------------

HOST = "contoso.svc.dynamics.com"
INJECT = st.one_of(
    st.text(min_size=1, max_size=40),
    st.text(st.sampled_from("{}\"'<>&=%#?@/\\:;, \t\n+~|`$[]"), max_size=12),
    st.sampled_from(
        [
            "{{contact.secret}}",
            "{{{raw}}}",
            "{{#each x}}",
            '"><script>alert(1)</script>',
            "' onmouseover='x",
            "&quot;",
            "%22,%22x%22:%22",
            '","injected":"',
            "&data=[]",
            "\u2028\u2029",
            "{{else}}",
            "{{this.msevtmgt_checkin_url}}",
            "}}{{",
        ]
    ),
)
_VALID_HOSTS = [HOST, "CONTOSO.svc.dynamics.com", "org1.crm4.dynamics.com", "ab--cd.dynamics.com"]
_ACCEPTED_ENDPOINT = st.builds(
    lambda pre, host, post: pre + host + post,
    st.sampled_from(["", "https://", "HTTPS://", " "]),
    st.sampled_from(_VALID_HOSTS),
    st.sampled_from(["", "/", "/EvtMgmt/api/v2.0/", "/evtmgmt/API/v2.0", ".", " "]),
)
ENDPOINT = st.one_of(
    _ACCEPTED_ENDPOINT,
    st.builds(  # hostile forms
        lambda pre, host, post: pre + host + post,
        st.sampled_from(["", "http://", "javascript:", "//", "https:///", "e.com@", "https://a@"]),
        st.sampled_from(
            [*_VALID_HOSTS, "a", "-x.com", "x_y.com", "a..b", "1.2.3.4", "xn--bcher-kva.de"]
        ),
        st.sampled_from(
            ["", ":443", "@evil.com", "/x", "?a=b", "#f", "\\@evil.com", "%2e", "/..", ";x"]
        ),
    ),
    st.text(max_size=40),
)
INJECTION_CASE = next(c for c in PATCH_CASES if c.name == "classic-vml-button")
INJECTION_TEXT = decode(INJECTION_CASE.input.read_bytes()).text
INJECTION_GUID = (
    scan(INJECTION_TEXT).blocks_of(QR_TYPE)[0].tag.source.split("msevtmgt_eventid '")[1][:36]
)
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
_RAW_HREF = re.compile(r"""\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


def assert_link_keeps_to_its_layers(options: PatchOptions) -> dict[str, Any]:
    """Patch the classic-editor fixture with ``options``; every layer of the link holds.

    Returns the decoded entry (readableEventId, sessionId, data) for the caller's checks.
    """
    host = options.endpoint
    assert host is not None and re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host)
    result = patch(INJECTION_TEXT, options)
    verify(INJECTION_TEXT, result, options)
    (pairing,) = result.pairings
    assert pairing.link is not None
    placeholders = {"{{" + m + "}}" for _, v in options.fields for m in PLACEHOLDER.findall(v)}
    # no handlebars expression in the output that was not there or is not a field placeholder
    added = set(_EXPRESSION.findall(result.text)) - set(_EXPRESSION.findall(INJECTION_TEXT))
    assert added <= placeholders
    button = next(e for e in result.edits if e.what == "button").replacement
    raw = [next(g for g in m.groups() if g is not None) for m in _RAW_HREF.finditer(button)]
    assert len(raw) == 2  # the VML href and the <a href>: no attribute was broken out of
    for value in raw:
        assert not set(value) & set("\"'<> \t\r\n\\`")
        assert "&" not in value.replace("&amp;", "")
        assert set(_EXPRESSION.findall(value)) <= placeholders
    root = lxml.html.document_fromstring(result.text.encode("utf-8"))
    (anchor,) = [a for a in root.iter("a") if _CALENDAR in (a.get("href") or "")]
    assert sorted(anchor.attrib) == ["class", "data-msdyn-tracking-id", "href", "style"]
    href = anchor.get("href")
    assert href == html.unescape(raw[1])
    url = urllib.parse.urlsplit(href)
    assert (url.scheme, url.netloc, url.hostname, url.port) == ("https", host, host, None)
    assert url.path == "/EvtMgmt/api/v2.0/calendar/personal/ics"
    assert [p.partition("=")[0] for p in url.query.split("&")] == ["api-version", "data"]
    decoded = decode_calendar_url(href)
    assert decoded.data == pairing.link.intended()
    assert decoded.params["api-version"] == options.api_version
    return decoded.data[0]


@given(ENDPOINT)
def test_endpoint_is_https_and_the_given_host_or_refused(endpoint: str) -> None:
    GENERATED["endpoints through option parsing and the patch"] += 1
    try:
        options = build_options(endpoint=endpoint, event_id="ev-1")
    except OptionsProblem:
        GENERATED["endpoints ...: refused as usage errors"] += 1
        return
    assert options.endpoint is not None
    # the host is one the user typed, in ASCII (str.lower() would turn a Kelvin sign into k)
    assert options.endpoint.isascii()
    assert options.endpoint in endpoint.encode("ascii", "replace").decode().lower()
    assert normalize_endpoint(endpoint) == options.endpoint
    assert_link_keeps_to_its_layers(options)


@given(
    endpoint=_ACCEPTED_ENDPOINT,
    mapped=st.booleans(),
    event_id=INJECT,
    session=st.none() | INJECT,
    fields=st.lists(st.tuples(INJECT, INJECT), max_size=3),
    drop_firstname=st.booleans(),
    api_version=st.one_of(st.none(), st.just("2016-06-30"), INJECT),
)
def test_user_values_never_leave_their_layer(
    endpoint: str,
    mapped: bool,
    event_id: str,
    session: str | None,
    fields: list[tuple[str, str]],
    drop_firstname: bool,
    api_version: str | None,
) -> None:
    GENERATED["user values through option parsing and the patch"] += 1
    readable, at, own_session = event_id.partition("@")  # ID or ID@SESSION
    try:
        options = build_options(
            endpoint=endpoint,
            event_id=None if mapped else event_id,
            session_id=None if mapped else session,
            events=[f"{INJECTION_GUID}={event_id}"] if mapped else [],
            fields=[f"{k}={v}" for k, v in fields],
            drop_fields=["firstname"] if drop_firstname else [],
            api_version=api_version,
        )
    except OptionsProblem:
        GENERATED["user values ...: refused as usage errors"] += 1
        return
    entry = assert_link_keeps_to_its_layers(options)
    assert entry["readableEventId"] == readable.strip()
    if not mapped and session is not None:
        assert entry["sessionId"] == session
    else:
        assert entry.get("sessionId") == (own_session.strip() if at else None)
