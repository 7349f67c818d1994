"""The Python Handlebars renderer (mailpatch._render) against the real Handlebars.js.

Every fixture's input and expected email is filled for the contexts the preview shows (no
registration; registered for each of the email's events; registered for two events) by both
engines, and the outputs must be identical, byte for byte. render.js runs Handlebars.js in
compat mode, which resolves ``contact.*`` inside ``#each`` from the root as Dynamics does;
the Python side gets the same from how its context is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from mailpatch._render import RenderError, context_of, escape, render

from test_handlebars import (
    PATCH_FIXTURES,
    REGISTRATIONS,
    Renderer,
    event_guids,
    handlebars,  # noqa: F401 (a fixture)
)
from test_handlebars import RenderError as JsRenderError

# Every character Handlebars.js escapes, and a name the platform must not take apart.
FIRSTNAME = 'Zoë "O\'Neil" <&> `=` \\ {{x}}'
DECOY = "00000000-0000-4000-8000-00000000d3c0"
CONTENT_SETTINGS = {
    "msdyncrm_addressmain": "Contoso & Co, 1 Main St",
    "msdyncrm_subscriptioncenter": "https://contoso.example/sub?a=1&b=2",
    "msdyncrm_forwardtoafriend": "#forward",
}


def contact(label: str, guids: Sequence[str]) -> tuple[str, dict[str, Any]]:
    registrations = [
        {"msevtmgt_eventid": g, "msevtmgt_name": f"REG-{n}", "msevtmgt_qrcode": "data:,qr"}
        for n, g in enumerate(guids, 1)
    ]
    data = {
        "contact": {"firstname": FIRSTNAME, "lastname": "Ng", REGISTRATIONS: registrations},
        "msdyncrm_contentsettings": CONTENT_SETTINGS,
    }
    return label, data


def contexts_for(guids: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """The preview's sample contacts for an email whose loops test ``guids``."""
    out = [contact("none", [])]
    out += [contact(f"registered {g}", [g]) for g in guids]
    if guids:
        out.append(contact("two events", [*guids[:2], DECOY][:2]))
    return out


@dataclass(frozen=True)
class Fixture:
    name: str
    templates: Mapping[str, str]  # "input" / "expected" -> text
    contexts: list[tuple[str, dict[str, Any]]]


def _fixtures() -> list[Fixture]:
    out = []
    for folder in sorted(p for p in PATCH_FIXTURES.iterdir() if (p / "input.html").is_file()):
        templates = {
            kind: (folder / f"{kind}.html").read_bytes().decode("utf-8-sig")
            for kind in ("input", "expected")
            if (folder / f"{kind}.html").is_file()
        }
        guids = list(dict.fromkeys(g for t in templates.values() for g in event_guids(t)))
        out.append(Fixture(folder.name, templates, contexts_for(guids)))
    return out


FIXTURES = _fixtures()


@pytest.fixture(scope="module")
def node(handlebars: Renderer) -> Renderer:  # noqa: F811 (the fixture)
    return handlebars


@pytest.fixture(scope="module")
def by_node(node: Renderer) -> dict[str, list[list[str]]]:
    """Handlebars.js' renders of each fixture, one node process per fixture, in parallel."""

    def one(fx: Fixture) -> list[list[str]]:
        return node(list(fx.templates.values()), [c for _, c in fx.contexts])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip((f.name for f in FIXTURES), pool.map(one, FIXTURES), strict=True))


def test_corpus_is_there() -> None:
    # the differential test below is only as strong as what it compares
    assert len(FIXTURES) >= 30
    assert sum(len(f.templates) * len(f.contexts) for f in FIXTURES) >= 200
    assert any(len(f.contexts) >= 4 for f in FIXTURES)  # a multi-event email


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_same_as_handlebars_js(fixture: Fixture, by_node: dict[str, list[list[str]]]) -> None:
    for (kind, template), row in zip(fixture.templates.items(), by_node[fixture.name], strict=True):
        for (label, context), expected in zip(fixture.contexts, row, strict=True):
            got = render(template, context)
            assert got == expected, f"{kind}.html for {label}: first difference at " + str(
                next(
                    (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
                    min(len(got), len(expected)),
                )
            )


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_registered_contact_sees_what_the_unregistered_does_not(fixture: Fixture) -> None:
    # guards the comparison above: the contexts really change what the email shows
    if len(fixture.contexts) < 2:
        pytest.skip("no event loop in this email")
    expected = fixture.templates["expected"]
    none = render(expected, fixture.contexts[0][1])
    registered = render(expected, fixture.contexts[1][1])
    assert none != registered
    assert "/calendar/personal/ics" in registered
    assert "/calendar/personal/ics" not in none


# --------------------------------------------------------------------------- single features

REGISTERED = {
    "contact": {
        "firstname": FIRSTNAME,
        REGISTRATIONS: [
            {"msevtmgt_eventid": "a", "msevtmgt_name": "R1"},
            {"msevtmgt_eventid": "b", "msevtmgt_name": "R2"},
        ],
    },
    "top": "T",
}
LOOP = "{{#each contact." + REGISTRATIONS + "}}"

CASES = {
    # entity-prefixed names resolve from the root inside the loop, as on the platform
    "global-name-in-loop": LOOP + "[{{this.msevtmgt_name}} {{contact.firstname}}]{{/each}}",
    "bare-name-in-loop": LOOP + "{{msevtmgt_name}}/{{top}};{{/each}}",
    "eq-subexpression": LOOP + "{{#if (eq this.msevtmgt_eventid 'b')}}B{{else}}-{{/if}}{{/each}}",
    "eq-strict": LOOP + "{{#if (eq this.msevtmgt_eventid 'A')}}A{{/if}}{{/each}}.",
    "each-else": "{{#each contact.none}}x{{else}}empty{{/each}}",
    "escaping": "{{contact.firstname}}|{{{contact.firstname}}}",
    "long-comment": "a{{!-- {{contact.firstname}} }} --}}b\n  {{!-- own line --}}  \nc",
    "standalone-lines": LOOP + "\n  {{#if this.msevtmgt_name}}\nx\n  {{/if}}\n{{/each}}\nend",
    "missing-name": "[{{contact.nobody}}][{{contact.firstname.deeper}}][{{nothing}}]",
    "object-and-truthiness": "{{#if contact}}obj{{/if}}{{#if contact.none}}no{{else}}yes{{/if}}",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_feature_as_handlebars_js(name: str, node: Renderer) -> None:
    context = {**REGISTERED, "contact": {**REGISTERED["contact"], "none": []}}
    ((expected,),) = node([CASES[name]], [context])
    assert render(CASES[name], context) == expected


def test_contact_inside_loop_is_the_contact() -> None:
    # without the root fallback pybars gives "" here, as plain Handlebars.js would
    out = render(CASES["global-name-in-loop"], REGISTERED)
    assert out.count(escape(FIRSTNAME)) == 2


@pytest.mark.parametrize(
    ("char", "escaped"),
    [
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("'", "&#x27;"),
        ("`", "&#x60;"),
        ("=", "&#x3D;"),
    ],
)
def test_escape_as_handlebars_js(char: str, escaped: str) -> None:
    assert render("{{v}}", {"v": f"a{char}b"}) == f"a{escaped}b"
    assert render("{{{v}}}", {"v": f"a{char}b"}) == f"a{char}b"


@pytest.mark.parametrize(
    "template",
    ["{{#each x}}never closed", "{{#if}}{{/each}}", "{{unknownhelper 'a' 'b'}}"],
)
def test_bad_template_is_a_render_error(template: str, node: Renderer) -> None:
    with pytest.raises(RenderError):
        render(template, {"x": [1]})
    with pytest.raises(JsRenderError):  # Handlebars.js refuses them too
        node([template], [{"x": [1]}])


def test_context_is_not_the_callers() -> None:
    data = {"contact": {REGISTRATIONS: [{"msevtmgt_name": "R"}]}}
    context_of(data)
    assert data == {"contact": {REGISTRATIONS: [{"msevtmgt_name": "R"}]}}


# Long literal text is compiled as a short stand-in and put back after the render (pybars
# parses a character at a time): whitespace control and standalone lines next to it must
# come out as Handlebars.js gives them.
_LONG = "word " * 80
_EDGES = ["", " ", "\n", "  \n  ", "x", "\n\t", " " * 100, "\n" * 70 + "  "]  # past _KEEP
STAND_IN_CASES = [
    before + _LONG + after + tag
    for before in _EDGES
    for after in _EDGES
    for tag in (
        "{{~#if contact.firstname~}}\n  {{contact.firstname}}\n{{~/if~}}",
        "\n  {{#if contact.firstname}}\n" + _LONG + "\n  {{/if}}\n",
        "{{!-- note --}}" + _LONG + "{{~contact.lastname}}",
    )
]


def test_long_text_is_compiled_as_a_stand_in() -> None:
    from mailpatch._render import _prepare_source

    prepared = _prepare_source("<img src='data:image/png;base64," + "A" * 1_000_000 + "'>")
    assert len(prepared.source) < 1_000 and len(prepared.pieces) == 1


def test_stand_ins_render_as_handlebars_js(node: Renderer) -> None:
    expected = node(STAND_IN_CASES, [REGISTERED])
    assert [render(t, REGISTERED) for t in STAND_IN_CASES] == [e[0] for e in expected]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param("{{!-- " * 20_000, "comment on line 1 is never closed", id="unclosed-long"),
        pytest.param("a {{! note", "comment opened on line 1 is never closed", id="short"),
        pytest.param("a {{x", "expression opened on line 1 is never closed", id="expression"),
        pytest.param("{{#if a}}x{{else if b}}y{{/if}}", "cannot render {{else if", id="else-if"),
        pytest.param("{{#if a}}" * 200 + "{{/if}}" * 200, "nested too deep", id="deep"),
    ],
)
def test_what_the_preview_cannot_render_is_said(template: str, message: str) -> None:
    """An unclosed comment or expression is an error, as in Handlebars.js (pybars rendered it
    as if closed at the end), found in one pass; what pybars cannot do is said plainly."""
    with pytest.raises(RenderError, match=re.escape(message)):
        render(template, {"a": True, "b": True})
