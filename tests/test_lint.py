"""`mailpatch lint`: every code against its fixture, silence on every patch output, the CLI."""

from __future__ import annotations

import html
import io
import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailpatch import decode
from mailpatch._blocks import QR_TYPE, Document, Element, markers, scan
from mailpatch._cli import main
from mailpatch._handlebars import Marker, MarkerKind, normal_guid
from mailpatch._html import Attr, LineIndex, StartTag, Token, tokenize
from mailpatch._link import RESERVED_FIELD, CalendarLink, build_fields, placeholder_problems
from mailpatch._lint import (
    RULES,
    CalendarContent,
    Link,
    NotPatched,
    Problem,
    _check_buttons,
    _check_loops,
    _check_qr_blocks,
    _tested_in,
    check_link,
    links,
    lint,
)
from mailpatch._patch import PatchOptions, patch

from fixturecases import FIXTURES, Case, cases
from handlebars_harness import MUTANTS

LINT = sorted(p for p in (FIXTURES / "lint").iterdir() if (p / "input.html").exists())
PATCH = cases("patch")
HOST = "https://contoso.svc.dynamics.com"
ICS = "/EvtMgmt/api/v2.0/calendar/personal/ics"
DATA = (
    "[{%22readableEventId%22:%22ContosoSummit2026%22,%22data%22:{%22registrationId%22:"
    "%22{{this.msevtmgt_name}}%22,%22firstname%22:%22{{contact.firstname}}%22}}]"
)
GOOD = f"{HOST}{ICS}?api-version=2016-06-30&amp;data={DATA}"
LOOP = (
    "<!--{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}-->\n"
    "<!--{{#if (eq this.msevtmgt_eventid '2c7e9a41-5f3b-ef11-a82e-000d3a4b7c91')}}-->\n"
)
END = "<!--{{/if}}-->\n<!--{{/each}}-->\n"


def lint_args(folder: Path) -> list[str]:
    """options.json as lint options (the same mapping the patch fixtures use)."""
    path = folder / "options.json"
    options = json.loads(path.read_text("utf-8")) if path.exists() else {}
    out: list[str] = []
    for key, value in options.items():
        out += [f"--{key}"] if value is True else [f"--{key}", str(value)]
    return out


def codes(text: str) -> list[str]:
    return [p.code for p in lint(text)]


def button(body: str) -> str:
    return f'<div data-editorblocktype="Button" align="center">\n{body}</div>\n'


def anchor(href: str = GOOD) -> str:
    return f'<a class="buttonClass" href="{href}">Add to calendar</a>\n'


def vml(href: str = GOOD) -> str:
    return (
        f'<!--[if mso]><v:roundrect href="{href}"><center>Add</center></v:roundrect><![endif]-->\n'
    )


# --- fixtures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", LINT, ids=[p.name for p in LINT])
def test_fixture_report(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(folder)
    expected = (folder / "expected.txt").read_text("utf-8")
    assert main(["lint", *lint_args(folder), "input.html"]) == (1 if expected else 0)
    assert capsys.readouterr().out == expected


def test_every_code_has_a_fixture() -> None:
    reported = {
        line.split()[1]
        for p in LINT
        for line in (p / "expected.txt").read_text("utf-8").splitlines()
    }
    assert reported == set(RULES)
    for folder in LINT:  # a folder named after a code shows that code
        named = re.match(r"mp\d{3}", folder.name)
        if named:
            assert f" {named.group().upper()} " in (folder / "expected.txt").read_text("utf-8")


@pytest.mark.parametrize("case", PATCH, ids=[c.name for c in PATCH])
def test_patch_outputs_are_lint_clean(
    case: Case, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = ["--keep-qr"] if case.options.keep_qr else []  # kept on purpose, as patch was told
    assert main(["lint", *keep, str(case.expected)]) == 0
    assert capsys.readouterr().out == ""


# The Handlebars harness renders these broken patches and sees the defect; lint must see it
# without rendering (two independent readings of the same mistake).
MUTANT_CODES = {
    "link-outside-loop": "MP201",
    "dead-outlook-button": "MP205",
    "loop-without-if": "MP202",
    "qr-block-left": "MP204",
}


@pytest.mark.parametrize("name", sorted(MUTANT_CODES))
def test_lint_sees_what_the_handlebars_harness_renders(name: str) -> None:
    template, _ = MUTANTS[name]
    assert MUTANT_CODES[name] in codes(template)


text_ = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
key = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12).filter(
    lambda k: k.lower() != RESERVED_FIELD
)
# (a '{{' that starts no plain-path placeholder is refused before any link is built)
value = st.one_of(
    text_.filter(lambda v: not any(placeholder_problems(v))),
    st.sampled_from(["{{contact.lastname}}", "{{ this.x_y }}", "a{{b.c}}d"]),
)


@pytest.mark.slow
@given(
    event_id=text_.filter(str.strip),
    session=st.none() | text_.filter(bool),
    fields=st.lists(st.tuples(key, value), max_size=4),
)
def test_every_link_mailpatch_writes_lints_clean(
    event_id: str, session: str | None, fields: list[tuple[str, str]]
) -> None:
    link = CalendarLink(
        "contoso.svc.dynamics.com", event_id, build_fields(fields), session_id=session
    )
    found = check_link(_link(link.href()))
    # a user's key may be one letter off "firstname": that is what MP107 is for
    assert all(p.code == "MP107" and "did you mean" in p.message for p in found), found


def test_rules_are_stable_and_documented() -> None:
    for code, rule in RULES.items():
        assert re.fullmatch(r"MP[1-3]\d\d", code) and rule.code == code
        assert re.fullmatch(r"[a-z0-9-]+", rule.name)
        assert rule.hint and "\n" not in rule.hint
    assert len({r.name for r in RULES.values()}) == len(RULES)


# --- one link on its own -----------------------------------------------------------------------


def _link(href: str) -> Link:
    source = f'<a href="{href}">x</a>'
    tok: Token = tokenize(source)[0]
    tag = StartTag(source, tok)
    attr = tag.get("href")
    assert isinstance(attr, Attr) and attr.value is not None
    return Link(tag, attr, html.unescape(attr.value), in_mso=False)


def with_data(data: str, query: str = "api-version=2016-06-30&amp;data=") -> str:
    return f"{HOST}{ICS}?{query}{data}"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        pytest.param(GOOD, [], id="mailpatch-link"),
        pytest.param(GOOD.replace("&amp;", "&"), [], id="bare-ampersand"),
        pytest.param(GOOD.replace("https://", "https:"), ["MP101"], id="no-slashes"),
        pytest.param(GOOD.replace("https://", "HTTPS:"), ["MP101"], id="no-slashes-upper"),
        pytest.param(
            GOOD.replace("https://contoso.svc.dynamics.com", "https:{endpoint}"),
            ["MP101"],
            id="ms-sample-endpoint",
        ),
        pytest.param(GOOD.replace("https://", "http://"), ["MP102"], id="http"),
        pytest.param(GOOD.replace(HOST, ""), ["MP102"], id="relative"),
        pytest.param(GOOD.replace(".com", ".com:8443"), ["MP102"], id="port"),
        pytest.param(GOOD.replace("https://", "https://u:p@"), ["MP102"], id="credentials"),
        pytest.param(with_data(DATA, "data="), ["MP103"], id="no-api-version"),
        pytest.param(with_data(DATA.replace("%22", "&quot;")), ["MP104"], id="quot-entity"),
        pytest.param(with_data(DATA.replace("%22", "%27")), ["MP105"], id="single-quotes"),
        pytest.param(with_data(DATA[:-1]), ["MP105"], id="truncated"),
        pytest.param(with_data("%FF"), ["MP105"], id="not-utf8-escape"),
        pytest.param(f"{HOST}{ICS}?api-version=2016-06-30", ["MP105"], id="no-data"),
        pytest.param(with_data("[]"), ["MP105"], id="empty-array"),
        pytest.param(with_data("{}"), ["MP105"], id="object-not-array"),
        pytest.param(
            with_data(DATA.replace("%22ContosoSummit2026%22", "%22%22")), ["MP106"], id="empty-id"
        ),
        pytest.param(
            with_data(DATA.replace("readableEventId", "readableEventID")),
            ["MP107"],
            id="readableEventID",
        ),
        pytest.param(
            with_data(DATA.replace("readableEventId", "eventId")),
            ["MP107", "MP106"],
            id="unknown-entry-key",
        ),
        pytest.param(
            with_data(DATA.replace("registrationId", "registrationid")),
            ["MP107"],
            id="registrationid",
        ),
        pytest.param(with_data(DATA.replace("firstname", "firstName")), ["MP107"], id="firstName"),
        pytest.param(with_data(DATA.replace("%22data%22", "%22Data%22")), ["MP107"], id="Data"),
        pytest.param(
            with_data(DATA.replace("firstname", "lastname")), [], id="custom-field-not-a-typo"
        ),
        pytest.param(
            with_data(DATA.replace("firstname", "msevtmgt_checkin_url")),
            ["MP108"],
            id="reserved",
        ),
        pytest.param(
            with_data(DATA.replace("registrationId", "firstname2")),
            ["MP109"],
            id="no-registration-id",
        ),
        pytest.param(
            with_data(DATA.replace("{{contact.firstname}}", "{{{contact.firstname}}}")),
            ["MP110"],
            id="triple-stash",
        ),
        pytest.param(
            with_data(DATA.replace("{{contact.firstname}}", "{{else}}")), ["MP110"], id="else"
        ),
        pytest.param(
            with_data(DATA.replace("{{contact.firstname}}", "{{ contact.firstname }}")),
            [],
            id="spaces-in-placeholder",
        ),
        pytest.param(
            with_data(DATA.replace("%22ContosoSummit2026%22", "42")), ["MP106"], id="numeric-id"
        ),
        pytest.param(
            with_data(DATA.replace("%22data%22:", "%22sessionId%22:%225f0c%22,%22data%22:")),
            [],
            id="session",
        ),
    ],
)
def test_check_link(href: str, expected: list[str]) -> None:
    assert [p.code for p in check_link(_link(href))] == expected


@pytest.mark.parametrize(
    ("content", "keys", "expected"),
    [
        pytest.param("<p>{{firstname}}</p>", ("registrationId", "firstname"), [], id="all-used"),
        pytest.param(
            "<p>{{firstname}} {{lastname}}</p>",
            ("registrationId", "firstname"),
            ["MP301"],
            id="missing-wildcard",
        ),
        pytest.param(
            "<p>{{firstname}}</p>",
            ("registrationId", "firstname", "company"),
            ["MP302"],
            id="unused-key",
        ),
        pytest.param(
            '<a href="{{msevtmgt_checkin_url}}">Check in</a>',
            ("registrationId",),
            [],
            id="checkin-url-is-the-platforms",
        ),
        pytest.param(
            "<p>{{firstName}}</p>",
            ("registrationId", "firstname"),
            ["MP107"],
            id="content-decides-spelling",
        ),
        pytest.param("<p>no wildcards</p>", ("registrationId",), [], id="registration-id-only"),
    ],
)
def test_calendar_content(content: str, keys: tuple[str, ...], expected: list[str]) -> None:
    fields = ",".join(f"%22{k}%22:%22{{{{contact.{k.lower()}}}}}%22" for k in keys)
    href = with_data(f"[{{%22readableEventId%22:%22Ev%22,%22data%22:{{{fields}}}}}]")
    found = check_link(_link(href), CalendarContent.parse("content.html", content))
    assert [p.code for p in found] == expected


def test_calendar_content_positions_name_the_first_use() -> None:
    content = CalendarContent.parse("c.html", "<p>\r\n{{a}} {{b}}\n{{a}}</p>")
    assert content.wildcards == {"a": "2:1", "b": "2:7"}


# --- where a link sits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html_", "expected"),
    [
        pytest.param(button(LOOP + anchor() + END), [], id="in-loop"),
        pytest.param(button(LOOP + vml() + anchor() + END), [], id="classic-in-loop"),
        pytest.param(button(anchor()), ["MP201"], id="no-loop"),
        pytest.param(
            button(anchor()) + button(LOOP + anchor("#") + END), ["MP201"], id="before-loop"
        ),
        pytest.param(
            button(LOOP.splitlines()[0] + "\n" + anchor() + "<!--{{/each}}-->\n"),
            ["MP202"],
            id="each-without-event-if",
        ),
        pytest.param(
            button(LOOP + "<!--{{else}}-->\n" + anchor() + END), ["MP202"], id="else-branch"
        ),
        pytest.param(
            button(LOOP.splitlines()[0] + "\n<!--{{else}}-->\n" + anchor() + "<!--{{/each}}-->\n"),
            ["MP201"],
            id="each-else-no-registrations",
        ),
        pytest.param(
            button(LOOP + "<!--{{#if contact.firstname}}-->" + anchor() + "<!--{{/if}}-->" + END),
            [],
            id="nested-if",
        ),
        pytest.param(button(LOOP + anchor() + "<!--{{/if}}-->\n"), ["MP203"], id="each-unclosed"),
        pytest.param(button(LOOP + anchor() + END + "<!--{{/if}}-->"), ["MP203"], id="stray-close"),
        pytest.param("<p>{{else}}</p>", ["MP203"], id="stray-else"),
        pytest.param(
            button(LOOP + vml("#") + anchor() + END), ["MP205"], id="vml-left-at-placeholder"
        ),
        pytest.param(
            button(LOOP + vml() + anchor("about:blank") + END), ["MP205"], id="anchor-left"
        ),
        pytest.param(
            button(LOOP + vml(GOOD.replace("Summit2026", "Summit2025")) + anchor() + END),
            ["MP206"],
            id="links-differ",
        ),
        pytest.param(
            button(LOOP + anchor() + END) + button(anchor("https://www.contoso.com/agenda")),
            [],
            id="real-link-in-another-button",
        ),
        pytest.param(
            "<p>{{#if contact.firstname}}Hi {{contact.firstname}}{{/if}}</p>",
            [],
            id="other-handlebars-balanced",
        ),
        pytest.param(
            '<!--[if mso]><v:rect href="https://www.contoso.com"></v:rect><![endif]-->',
            [],
            id="vml-real-link-no-button",
        ),
    ],
)
def test_placement(html_: str, expected: list[str]) -> None:
    assert codes(html_) == expected


@pytest.mark.parametrize(
    ("html_", "fixable"),
    [
        pytest.param(button(LOOP + anchor(GOOD.replace("//", "", 1)) + END), True, id="in-loop"),
        pytest.param(button(anchor(GOOD.replace("//", "", 1))), True, id="button-without-loop"),
        pytest.param(
            f'<p><a href="{GOOD.replace("//", "", 1)}">x</a></p>', False, id="outside-a-button"
        ),
        pytest.param(
            button(LOOP + anchor(GOOD.replace("//", "", 1)) + "<!--{{/each}}-->"),
            False,
            id="malformed-loop",
        ),
    ],
)
def test_mp101_is_fixable_exactly_where_patch_fixes_it(html_: str, fixable: bool) -> None:
    [mp101] = [p for p in lint(html_) if p.code == "MP101"]
    assert mp101.fixable is fixable
    assert mp101.message.endswith("(mailpatch patch fixes it)") is fixable
    fixed = patch(html_, PatchOptions()).text
    assert ("MP101" in codes(fixed)) is not fixable


def test_qr_block_beside_its_patched_button_is_a_warning() -> None:
    qr = (
        '<div data-editorblocktype="ERQRCode">\n'
        + LOOP
        + '<img src="{{this.msevtmgt_qrcode}}">\n'
        + END
        + "</div>\n"
    )
    problems = lint(qr + button(LOOP + anchor() + END))
    assert [(p.code, p.rule.severity.value) for p in problems] == [("MP204", "warning")]
    other_event = button(LOOP.replace("2c7e9a41", "3d8f0b52") + anchor() + END)
    assert codes(qr + other_event) == []  # that QR block is for an event not patched yet


def _qr_blocks_read_one_by_one(
    doc: Document, patched: dict[str, Element], lines: LineIndex
) -> tuple[list[Problem], list[NotPatched]]:
    """``_check_qr_blocks`` as it was: each block's event tests listed from its markers
    (quadratic where blocks left open each hold all after them). The reference for the one
    it became."""
    problems: list[Problem] = []
    not_patched: list[NotPatched] = []
    for element in doc.blocks_of(QR_TYPE):
        guids = [
            normal_guid(m.guid)
            for m in markers(doc, element.content_start, element.content_end)
            if m.kind is MarkerKind.IF_EVENT
        ]
        carrier = next((patched[g] for g in guids if g in patched), None)
        if carrier is None:
            not_patched.append(NotPatched(element.start, guids[0] if guids else ""))
            continue
        problems.append(
            Problem(
                "MP204",
                element.start,
                f"ERQRCode block for event {guids[0]} is still here beside the patched Button at "
                f"{lines.label(carrier.start)}: registrants get both",
            )
        )
    return problems, not_patched


def _qr_blocks_as_checked(text: str) -> tuple[object, object]:
    doc = scan(text)
    lines = LineIndex(text)
    patched: dict[str, Element] = {}
    list(_check_buttons(doc, links(doc), lines, patched))
    return _check_qr_blocks(doc, patched, lines), _qr_blocks_read_one_by_one(doc, patched, lines)


OTHER = LOOP.replace("2c7e9a41", "3d8f0b52")
QR_OPEN = '<div data-editorblocktype="ERQRCode">\n'
_QR_PIECES = st.sampled_from(
    [QR_OPEN, "</div>\n", LOOP, OTHER, END, '<img src="{{this.msevtmgt_qrcode}}">\n',
     button(LOOP + anchor() + END), button(OTHER + anchor() + END), button(anchor()),
     '<div data-editorblocktype="Button">', anchor(), "{{#if x}}", "<!--", "-->", "<p>"]
)  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        QR_OPEN + LOOP + "</div>\n" + button(LOOP + anchor() + END),
        (QR_OPEN + LOOP) * 3 + OTHER + button(OTHER + anchor() + END),  # nested: inner GUID
        QR_OPEN + OTHER + LOOP + "</div>" + button(LOOP + anchor() + END),  # the second event
        QR_OPEN + "</div>" + button(LOOP + anchor() + END),  # no event test
    ],
)
def test_qr_blocks_are_checked_as_reading_each_one_by_one_does(text: str) -> None:
    checked, reference = _qr_blocks_as_checked(text)
    assert checked == reference
    assert checked[0] or checked[1]  # a block was read


@settings(max_examples=300, deadline=None)
@given(st.lists(_QR_PIECES, max_size=16).map("".join))
def test_any_mix_of_qr_blocks_is_checked_as_reading_each_one_by_one_does(text: str) -> None:
    checked, reference = _qr_blocks_as_checked(text)
    assert checked == reference


def _tested_one_by_one(doc: Document) -> set[str]:
    """What ``_tested_in`` gives for the QR blocks, as it was: each block's tests read on their
    own (quadratic where blocks left open each hold all after them)."""
    return {
        normal_guid(m.guid)
        for el in doc.blocks_of(QR_TYPE)
        for m in markers(doc, el.content_start, el.content_end)
        if m.kind is MarkerKind.IF_EVENT
    }


@pytest.mark.parametrize(
    ("text", "tested"),
    [
        (QR_OPEN + LOOP + "</div>" + QR_OPEN + OTHER + "</div>", 2),
        ((QR_OPEN + LOOP) * 3 + OTHER, 2),  # nested: read once
        (QR_OPEN + "</div>" + LOOP, 0),  # outside every QR block
    ],
)
def test_the_events_tested_in_qr_blocks_are_those_each_block_tests(text: str, tested: int) -> None:
    doc = scan(text)
    assert _tested_in(doc, doc.blocks_of(QR_TYPE)) == _tested_one_by_one(doc)
    assert len(_tested_one_by_one(doc)) == tested


@settings(max_examples=300, deadline=None)
@given(st.lists(_QR_PIECES, max_size=16).map("".join))
def test_any_mix_tests_the_events_each_qr_block_tests(text: str) -> None:
    doc = scan(text)
    assert _tested_in(doc, doc.blocks_of(QR_TYPE)) == _tested_one_by_one(doc)


def _loops_checked_walking_the_stack(text: str) -> list[Problem]:
    """``_check_loops`` as it was: the stack of open markers walked for every marker and
    calendar link (quadratic under thousands never closed). The reference for the one it
    became."""
    doc = scan(text)
    lines = LineIndex(text)
    events: list[tuple[int, int, object]] = [(m.start, 0, m) for m in markers(doc, 0, len(text))]
    events += [(link.tag.token.start, 1, link) for link in links(doc) if link.calendar]
    events.sort(key=lambda e: (e[0], e[1]))
    stack: list[list[object]] = []  # [marker, in_else]
    out: list[Problem] = []
    shown = {
        MarkerKind.EACH: "{{#each}}",
        MarkerKind.IF_EVENT: "{{#if (eq this.msevtmgt_eventid …)}}",
        MarkerKind.IF_OTHER: "{{#if}}",
    }
    opens = (MarkerKind.EACH, MarkerKind.IF_EVENT, MarkerKind.IF_OTHER)
    for _, _, item in events:
        if isinstance(item, Link):
            each = next(
                (i for i, (m, e) in enumerate(stack) if m.kind is MarkerKind.EACH and not e), -1
            )
            if each < 0:
                out.append(Problem("MP201", item.offset, "outside"))
            elif not any(
                m.kind is MarkerKind.IF_EVENT and not e for m, e in stack[each + 1 :]
            ):
                out.append(Problem("MP202", item.offset, "not in its if"))
            continue
        assert isinstance(item, Marker)
        if item.kind is MarkerKind.OTHER_BLOCK:
            continue
        if item.kind in opens:
            stack.append([item, False])
        elif item.kind in (MarkerKind.ELSE, MarkerKind.ELSE_CHAIN):
            if stack:
                stack[-1][1] = True
            else:
                said = "{{else}} outside any {{#if}} or {{#each}}"
                out.append(Problem("MP203", item.start, said))
        else:
            closing = item.kind is MarkerKind.END_EACH
            closes = (MarkerKind.EACH,) if closing else (MarkerKind.IF_EVENT, MarkerKind.IF_OTHER)
            name = "{{/each}}" if closing else "{{/if}}"
            depth = next(
                (i for i in range(len(stack) - 1, -1, -1) if stack[i][0].kind in closes), -1
            )
            if depth < 0:
                out.append(Problem("MP203", item.start, f"{name} closes nothing"))
                continue
            for m, _ in stack[depth + 1 :]:
                out.append(
                    Problem(
                        "MP203",
                        item.start,
                        f"{name} comes before the {shown[m.kind]} at "
                        f"{lines.label(m.start)} is closed",
                    )
                )
            del stack[depth:]
    out += [Problem("MP203", m.start, f"{shown[m.kind]} is never closed") for m, _ in stack]
    return out


def _loops_checked(text: str) -> list[Problem]:
    doc = scan(text)
    found = list(_check_loops(doc, links(doc), LineIndex(text)))
    # the placement messages are the lint's own: compared by code and offset
    return [Problem(p.code, p.offset, p.message if p.code == "MP203" else "") for p in found]


def _reference(text: str) -> list[Problem]:
    return [
        Problem(p.code, p.offset, p.message if p.code == "MP203" else "")
        for p in _loops_checked_walking_the_stack(text)
    ]


_LOOP_PIECES = st.sampled_from(
    ["{{#each a}}", "{{/each}}", "{{#if b}}", "{{/if}}", "{{else}}", "{{else if c}}",
     "{{#unless d}}", "{{/unless}}", LOOP, OTHER, END, anchor(), "<p>", "</p>"]
)  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "{{#each a}}" * 5 + "{{/if}}" * 3 + anchor(),  # nothing to close: each closes nothing
        "{{#if b}}" * 5 + LOOP + anchor() + END + "{{/each}}",
        LOOP + "{{else}}" + anchor() + "{{/if}}" + anchor() + "{{/each}}",
        "{{#each a}}{{else}}" + LOOP + anchor() + END,  # the first {{#each}} is in its else
        "{{#if b}}{{#each a}}{{#if b}}" + anchor() + "{{/each}}" + anchor(),
        LOOP + "{{#each a}}" + anchor() + "{{/each}}" + END + anchor(),  # the outer loop holds it
    ],
)
def test_loops_are_checked_as_walking_the_stack_does(text: str) -> None:
    assert _loops_checked(text) == _reference(text)
    assert _loops_checked(text)  # (each has something to say)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LOOP_PIECES, max_size=24).map("".join))
def test_any_mix_of_markers_is_checked_as_walking_the_stack_does(text: str) -> None:
    assert _loops_checked(text) == _reference(text)


def test_positions_count_characters_after_bom_and_crlf() -> None:
    text = "<p>📅 Grüße</p>\n" + button(LOOP + anchor(GOOD.replace("https://", "https:")) + END)
    data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    email = decode(data).text
    [problem] = lint(email)
    assert LineIndex(email).label(problem.offset) == "5:30"


# --- the command -------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(
        tmp_path, "bad.html", button(LOOP + vml("#") + anchor(GOOD.replace("//", "", 1)) + END)
    )
    assert main(["lint", "--format", "json", bad]) == 1
    out = capsys.readouterr()
    document = json.loads(out.out)
    assert document["schema"] == 2 and document["exit_code"] == 1
    report = document["problems"]
    assert [(r["code"], r["line"], r["column"]) for r in report] == [
        ("MP205", 4, 33),
        ("MP101", 5, 30),
    ]
    first = report[1]
    assert first["path"] == bad
    assert first["name"] == "https-without-slashes" and first["severity"] == "error"
    assert first["hint"] == RULES["MP101"].hint and first["fixable"] is True
    assert report[0]["fixable"] is False
    assert out.err == ""


def test_json_format_clean_lists_no_problem_and_unreadable_files_with_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = write(tmp_path, "ok.html", button(LOOP + anchor() + END))
    assert main(["lint", "--format", "json", ok]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["problems"] == [] and document["unreadable"] == []
    latin1 = tmp_path / "latin1.html"
    latin1.write_bytes("<p>caf\xe9</p>".encode("latin-1"))
    assert main(["lint", "--format", "json", ok, str(latin1)]) == 123
    document = json.loads(capsys.readouterr().out)
    (unread,) = document["unreadable"]
    assert unread["path"] == str(latin1) and "is not UTF-8" in unread["reason"]
    assert document["summary"] == {"problems": 0, "files": 1, "unreadable": 1, "not_patched": 0}


def test_github_annotations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--format", "github", str(DIFFER)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"::error file={DIFFER},line=24,col=30,title=MP206 links-differ::")
    assert "this calendar link differs from the one at 18%3A108" not in line  # message: raw
    assert "differs from the one at 18:108" in line


def test_text_summary_gives_one_hint_per_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slashless = anchor(GOOD.replace("https://", "https:"))
    one = write(tmp_path, "one.html", button(LOOP + slashless + slashless + END))
    two = write(tmp_path, "two.html", button(LOOP + anchor() + END))
    assert main(["lint", one, two]) == 1
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 2
    assert out.err.splitlines() == [
        "Found 2 problems in 1 of 2 files (2 fixable with 'mailpatch patch').",
        f"  MP101 https-without-slashes (2): {RULES['MP101'].hint}",
    ]


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        pytest.param(["--ignore", "MP999"], 2, "unknown code(s) MP999", id="unknown-code"),
        pytest.param(["--format", "xml"], 2, "Invalid value for '--format'", id="bad-format"),
        pytest.param(
            ["--calendar-content", "missing.html"], 2, "cannot be read", id="content-missing"
        ),
        pytest.param([], 2, "Missing argument", id="no-path"),
    ],
)
def test_usage_errors(
    args: list[str],
    code: int,
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    ok = write(tmp_path, "ok.html", "<p>hi</p>")
    assert main(["lint", *args, *([ok] if args else [])]) == code
    assert fragment in capsys.readouterr().err


def test_folders_and_configuration_as_patch_has_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    qr = (
        '<div data-editorblocktype="ERQRCode">\n'
        + LOOP
        + '<img src="{{this.msevtmgt_qrcode}}">\n'
        + END
        + "</div>\n"
    )
    (tmp_path / "emails" / "drafts").mkdir(parents=True)
    (tmp_path / "emails" / ".cache").mkdir()
    write(tmp_path / "emails", "summit.html", button(anchor()))  # MP201
    write(tmp_path / "emails", "kept.htm", qr + button(LOOP + anchor() + END))  # MP204
    write(tmp_path / "emails" / "drafts", "wip.html", button(anchor()))  # excluded
    write(tmp_path / "emails" / ".cache", "old.html", button(anchor()))  # hidden folder
    write(tmp_path / "emails", "notes.txt", button(anchor()))  # not an email
    (tmp_path / "pyproject.toml").write_text('[tool.mailpatch]\nexclude = ["drafts/*"]\n', "utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "emails"]) == 1
    out = capsys.readouterr()
    assert [line.split(": ")[0:2] for line in out.out.splitlines()] == [
        [
            "emails/kept.htm:1:1",
            "MP204 ERQRCode block for event 2c7e9a41-5f3b-ef11-a82e-"
            "000d3a4b7c91 is still here beside the patched Button at 8:1",
        ],
        ["emails/summit.html:2:30", "MP201 calendar link outside the registration loop"],
    ]
    assert "in 2 of 2 files" in out.err
    assert main(["lint", "--exclude", "summit.html", "--keep-qr", "emails"]) == 0
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mailpatch]\nkeep-qr = true\nexclude = ["drafts/*", "summit.html"]\n', "utf-8"
    )
    assert main(["lint", "emails"]) == 0  # keep-qr from the configuration
    assert main(["lint", "--no-keep-qr", "emails"]) == 1


def test_bad_configuration_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mailpatch.toml").write_text('endpiont = "x"\n', "utf-8")
    write(tmp_path, "e.html", "<p>hi</p>")
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "e.html"]) == 2
    assert "endpiont" in capsys.readouterr().err


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<p>caf\xe9</p>", id="latin-1"),
        pytest.param(b"\xff\xfe<\x00p\x00>\x00", id="utf-16"),
        pytest.param(b"<p>\x00</p>", id="binary"),
    ],
)
def test_unreadable_files_exit_123_and_the_others_are_still_linted(
    data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.html", data)
    found = write(tmp_path, "found.html", button(anchor()))
    assert main(["lint", bad, found]) == 123
    out = capsys.readouterr()
    assert f"error: cannot lint {bad}: " in out.err
    assert out.out.startswith(f"{found}:2:30: MP201 ")


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(tmp_path / "nope.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unreadable_file_exits_123(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dangling.html").symlink_to(tmp_path / "gone.html")
    assert main(["lint", str(tmp_path / "dangling.html")]) == 123
    assert "cannot be read" in capsys.readouterr().err


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(button(anchor()).encode("utf-8")))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["lint", "-"]) == 1
    assert capsys.readouterr().out.startswith("-:2:30: MP201 ")


def test_ignore_and_keep_qr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    email = write(tmp_path, "e.html", button(anchor()) + button(LOOP + vml("#") + anchor() + END))
    assert main(["lint", "--ignore", "mp201,MP205", email]) == 0
    assert main(["lint", "--ignore", "MP201", email]) == 1
    assert " MP205 " in capsys.readouterr().out


def test_calendar_content_that_is_not_utf8_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = write(tmp_path, "content.html", b"<p>\xe9</p>")
    ok = write(tmp_path, "ok.html", "<p>hi</p>")
    assert main(["lint", "--calendar-content", content, ok]) == 2
    assert "is not UTF-8" in capsys.readouterr().err


def test_nothing_is_written(tmp_path: Path) -> None:
    path = Path(write(tmp_path, "e.html", button(anchor(GOOD.replace("https://", "https:")))))
    before = path.read_bytes(), path.stat().st_mtime_ns
    assert main(["lint", str(path)]) == 1
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


# --- habits from ruff: --exit-zero, --statistics, -q, -v --------------------------------------

DIFFER = FIXTURES / "lint" / "mp206-links-differ" / "input.html"
CLEAN = FIXTURES / "lint" / "clean-classic" / "input.html"


def test_exit_zero_reports_but_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", "--exit-zero", str(DIFFER)]) == 0
    assert " MP206 " in capsys.readouterr().out
    (tmp_path / "dangling.html").symlink_to(tmp_path / "gone.html")  # unreadable: still 123
    assert main(["lint", "--exit-zero", str(DIFFER), str(tmp_path / "dangling.html")]) == 123


def test_statistics_count_each_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--statistics", str(DIFFER), str(DIFFER)]) == 1
    assert capsys.readouterr().out == "1  MP206  links-differ\n"  # one file, named twice
    both = FIXTURES / "lint"
    assert main(["lint", "--statistics", str(both)]) == 1
    lines = capsys.readouterr().out.splitlines()
    counts = [int(line.split()[0]) for line in lines]
    assert counts == sorted(counts, reverse=True) and len(lines) == len(set(lines))
    assert main(["lint", "--statistics", "--format", "json", str(DIFFER)]) == 2


def test_quiet_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "-q", str(DIFFER)]) == 1
    captured = capsys.readouterr()
    assert captured.err == "" and " MP206 " in captured.out
    assert main(["lint", "-v", str(DIFFER), str(CLEAN)]) == 1
    err = capsys.readouterr().err
    assert f"linted {DIFFER}: 1 problem" in err and f"linted {CLEAN}: 0 problems" in err
    assert main(["lint", "-q", "-v", str(DIFFER)]) == 2


def test_an_inline_comment_suppresses_its_codes_on_its_line_and_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DIFFER.read_text("utf-8")
    lines = text.split("\n")
    assert "MP206" not in "".join(lines[22:24])
    lines[22] += "<!-- mailpatch: ignore MP206, mp999 -->"  # the line before line 24
    kept = tmp_path / "kept.html"
    kept.write_text("\n".join(lines), "utf-8")
    assert main(["lint", str(kept)]) == 0
    lines[22] = lines[22].replace("MP206", "MP205")
    kept.write_text("\n".join(lines), "utf-8")
    assert main(["lint", str(kept)]) == 1  # another code: still reported
    assert " MP206 " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("query", "code"),
    [
        pytest.param("&amp;data=[{}]&amp;data=oops", "MP105", id="data-twice"),
        pytest.param("&amp;api-version=2017-01-01", "MP103", id="api-version-twice"),
    ],
)
def test_a_parameter_given_twice_is_reported(query: str, code: str) -> None:
    """The link decoder took the last 'data=', lint the first: '&data=<valid>&data=oops'
    passed lint and broke the decoder. Given twice, neither reading is certain."""
    found = check_link(_link(GOOD + query))
    assert code in {p.code for p in found}, found


def test_an_unforeseen_failure_is_that_file_s_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As patch: a bug in one file ends as that file's error (123), the others linted."""
    import mailpatch._lint as core

    real = core.lint_email

    def lint_email(text: str, *args: object) -> object:
        if "MP206-me" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return real(text, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(core, "lint_email", lint_email)
    bad = tmp_path / "bad.html"
    bad.write_text("<!-- MP206-me -->", "utf-8")
    assert main(["lint", str(bad), str(DIFFER)]) == 123
    captured = capsys.readouterr()
    assert "INTERNAL ERROR: RecursionError" in captured.err and " MP206 " in captured.out


def test_mp207_is_fixable_in_the_text_the_json_and_the_summary_alike(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """patch rewrites a stale link (its 'updated' status): the message, the JSON and the
    summary all say so, where the message did and the other two did not."""
    stale = FIXTURES / "lint" / "mp207-stale-link"
    config = ["--config", str(stale / "mailpatch.toml")]
    assert main(["lint", *config, str(stale / "input.html")]) == 1
    out = capsys.readouterr()
    assert all(line.endswith("(mailpatch patch fixes it)") for line in out.out.splitlines())
    assert out.err.splitlines()[0] == (
        "Found 2 problems in 1 of 1 file (2 fixable with 'mailpatch patch')."
    )
    assert main(["lint", "--format", "json", *config, str(stale / "input.html")]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [p["fixable"] for p in problems] == [True, True]


def test_a_raw_export_has_no_problem_but_its_qr_blocks_are_said_to_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lint on an export nobody patched: exit 0 and no problem, and the summary, -v and the
    JSON say how many ERQRCode blocks are not patched yet (where "No problems" alone read as
    'done')."""
    raw = str(FIXTURES / "patch" / "multi-event" / "input.html")
    clean = write(tmp_path, "ok.html", button(LOOP + anchor() + END))
    assert main(["lint", raw, clean]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "No problems in 2 files.",
        "2 ERQRCode blocks in 1 file are not patched yet: 'mailpatch patch' moves each into "
        "its Button.",
    ]
    assert main(["lint", "-v", raw]) == 0
    assert f"linted {raw}: 0 problems, 2 ERQRCode blocks not patched yet" in capsys.readouterr().err
    assert main(["lint", "--format", "json", raw]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["not_patched"] == 2 and document["problems"] == []
    assert [u["guid"] for u in document["not_patched"]] == [
        "0d2f4a6c-8e1b-ef11-a82e-000d3a4b5c6d",
        "5a7c9e1f-3b4d-ef11-a82e-000d3a4b5c6d",
    ]
    assert main(["lint", clean]) == 0
    assert capsys.readouterr().err == "No problems in 1 file.\n"


def test_a_real_time_journeys_email_is_pointed_at_the_native_button(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No ERQRCode block, and real-time journeys' labels: nothing for mailpatch to patch, and
    lint says where the calendar button comes from there (exit 0: not a problem)."""
    rtj = str(FIXTURES / "unchanged" / "real-time-journeys-email" / "input.html")
    outbound = str(FIXTURES / "unchanged" / "no-qr-block" / "input.html")
    assert main(["lint", rtj, outbound]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "No problems in 2 files.",
        "1 file without an ERQRCode block looks like a real-time journeys email "
        f"({rtj}: {{{{FirstName}}}}, {{{{CompanyAddress}}}}, {{{{PreferenceCenter}}}}):",
        "  use real-time journeys' own Add to Calendar button (a Button's Link to > Add to "
        "Calendar, shown to registered contacts only): "
        "https://learn.microsoft.com/en-us/dynamics365/customer-insights/journeys/add-to-calendar",
    ]
    assert main(["lint", "--format", "json", rtj, outbound]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["real_time_journeys"] == [
        {"path": rtj, "signs": "{{FirstName}}, {{CompanyAddress}}, {{PreferenceCenter}}"}
    ]


@pytest.mark.parametrize(
    ("flags", "env", "terminal", "colored"),
    [
        pytest.param([], {}, True, True, id="terminal"),
        pytest.param([], {}, False, False, id="pipe"),
        pytest.param([], {"NO_COLOR": "1"}, True, False, id="no-color"),
        pytest.param(["--no-color"], {}, True, False, id="no-color-option"),
        pytest.param(["--color"], {"NO_COLOR": "1"}, False, True, id="color-option"),
    ],
)
def test_report_lines_in_colour_as_ruff(
    flags: list[str],
    env: dict[str, str],
    terminal: bool,
    colored: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """The file in bold, an error's code red and a warning's yellow; plain in a pipe, with
    NO_COLOR or --no-color, and then the very lines of the fixtures."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    error = FIXTURES / "lint" / "mp102-not-https"
    warning = FIXTURES / "lint" / "mp204-qr-block-left"
    monkeypatch.chdir(FIXTURES / "lint")
    paths = [f"{error.name}/input.html", f"{warning.name}/input.html"]
    assert main(["lint", *flags, *paths]) == 1
    out = capsysbinary.readouterr().out.decode("utf-8")
    plain = "".join(
        re.sub(r"^input\.html", f"{folder.name}/input.html", line, flags=re.M)
        for folder in (error, warning)
        for line in (folder / "expected.txt").read_text("utf-8").splitlines(keepends=True)
    )
    if not colored:
        assert out == plain
        return
    bold, red, yellow, reset = "\x1b[1m", "\x1b[31m\x1b[1m", "\x1b[33m\x1b[1m", "\x1b[0m"

    def paint(m: re.Match[str]) -> str:
        tint = yellow if m[3] == "MP204" else red
        return f"{bold}{m[1]}{reset}{m[2]}{tint}{m[3]}{reset}"

    painted = re.sub(r"^([^:]+)(:\d+:\d+: )(MP\d+)", paint, plain, flags=re.M)
    assert out == painted
