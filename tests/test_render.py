"""The preview's Handlebars interpreter (mailpatch.page._render) against the real Handlebars.js.

Every fixture's input and expected email, and generated emails (tests/email_generator.py),
are filled for the contexts the preview shows (no registration; registered for each of the
email's events; registered for two events) by both engines, and the outputs must be
identical, byte for byte; so must each Handlebars form in the table below, and contact
values holding any character. render.js runs Handlebars.js in compat mode, which resolves
``contact.*`` inside ``#each`` from the root as Dynamics does. What the preview does not
render is refused by name; every fill has bounds an email cannot pass.
(tests/test_render_hostile.py generates hostile templates.)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailpatch._errors import Refusal
from mailpatch._patch import patch
from mailpatch.page._render import MAX_NESTING, RenderError, context_of, escape, parse, render

from email_generator import CONTEXTS as GENERATED_CONTEXTS
from email_generator import PENDING, seeded
from email_generator import context as generated_context
from handlebars_harness import (
    PATCH_FIXTURES,
    REGISTRATIONS,
    LineRenderer,
    Renderer,
    event_guids,
)
from handlebars_harness import RenderError as JsRenderError

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
def node(handlebars: Renderer) -> Renderer:
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


@pytest.mark.slow
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


def _generated() -> list[str]:
    """Generated emails as they come and as mailpatch patches them."""
    out = []
    for seed in range(60):
        email = seeded(seed, PENDING)
        out.append(email.text)
        with contextlib.suppress(Refusal):
            out.append(patch(email.text, email.spec.options()).text)
    return out


GENERATED = _generated()


@pytest.mark.slow
def test_generated_emails_as_handlebars_js(handlebars_lines: LineRenderer) -> None:
    contexts = [generated_context(name) for name in GENERATED_CONTEXTS]
    expected = handlebars_lines(GENERATED, contexts)
    assert len(GENERATED) >= 100
    for template, row in zip(GENERATED, expected, strict=True):
        template_once = parse(template)  # read once, filled for each contact
        for context, want in zip(contexts, row, strict=True):
            assert isinstance(want, str), want
            assert render(template_once, context) == want


# --------------------------------------------------------------------------- single features

REGISTERED = {
    "contact": {
        "firstname": FIRSTNAME,
        REGISTRATIONS: [
            {"msevtmgt_eventid": "a", "msevtmgt_name": "R1"},
            {"msevtmgt_eventid": "b", "msevtmgt_name": "R2"},
        ],
        "none": [],
        "tags": {"2": "two", "b": "bee", "1": "one"},
        "zero": 0,
        "empty": "",
        "nothing": None,
        "yes": True,
        "numbers": [1, 2.5, -0.0, 1e21, 1e-7, 0.1],
        "nested": [[1, [2, None]], {"k": "v"}],
    },
    "top": "T",
    "count": 3,
}
LOOP = "{{#each contact." + REGISTRATIONS + "}}"

# Each form Handlebars.js fills, filled alike (the ids say what each shows).
CASES = {
    # entity-prefixed names resolve from the root inside the loop, as on the platform
    "global-name-in-loop": LOOP + "[{{this.msevtmgt_name}} {{contact.firstname}}]{{/each}}",
    "bare-name-in-loop": LOOP + "{{msevtmgt_name}}/{{top}};{{/each}}",
    "scoped-name-not-global": LOOP + "[{{this.top}}{{./top}}]{{/each}}",
    "eq-subexpression": LOOP + "{{#if (eq this.msevtmgt_eventid 'b')}}B{{else}}-{{/if}}{{/each}}",
    "eq-strict": LOOP + "{{#if (eq this.msevtmgt_eventid 'A')}}A{{/if}}{{/each}}.",
    "eq-types": "{{eq 1 1}}{{eq '1' 1}}{{eq count 3}}{{eq null contact.nothing}}{{eq}}",
    "helper-names": "{{@eq}}{{[eq] 1 1}}{{'eq' 1 1}}{{#@if top}}@if{{/@if}}",
    "each-else": "{{#each contact.none}}x{{else}}empty{{/each}}",
    "each-object": "{{#each contact.tags}}{{@index}}{{@key}}={{.}}{{#if @first}}^{{/if}}"
    "{{#if @last}}${{/if}};{{/each}}",
    "each-data": LOOP + "{{@index}}{{@key}}{{@first}}{{@last}}{{@root.top}}{{/each}}",
    "each-parent": LOOP + "{{#each ../contact.tags}}{{@../index}}{{../msevtmgt_name}}{{/each}}"
    "{{/each}}",
    "escaping": "{{contact.firstname}}|{{{contact.firstname}}}|{{&contact.firstname}}",
    "long-comment": "a{{!-- {{contact.firstname}} }} --}}b\n  {{!-- own line --}}  \nc",
    "short-comment": "a{{! note }}b\n  {{! own line }}\nc",
    "standalone-lines": LOOP + "\n  {{#if this.msevtmgt_name}}\nx\n  {{/if}}\n{{/each}}\nend",
    "standalone-else": "{{#if top}}\n  yes\n  {{else}}\n  no\n{{/if}}\n",
    "standalone-crlf": "a\r\n  {{#if top}}  \r\nyes\r\n  {{^}}\r\nno\r\n{{/if}}\r\nb",
    "tilde": "a  {{~top~}}  b  {{~#if top~}}  c  {{~else~}} d {{~/if~}}  e",
    "missing-name": "[{{contact.nobody}}][{{contact.firstname.deeper}}][{{nothing}}]",
    "object-and-truthiness": "{{#if contact}}obj{{/if}}{{#if contact.none}}no{{else}}yes{{/if}}"
    "{{#if contact.zero}}0{{/if}}{{#if contact.zero includeZero=true}}z{{/if}}"
    "{{#if contact.empty}}e{{/if}}{{#unless contact.nothing}}u{{/unless}}",
    "string-of-values": "{{contact.numbers}}|{{contact.nested}}|{{contact.tags}}|{{contact.yes}}"
    "|{{contact.zero}}|{{contact.nothing}}",
    "with-and-inverse": "{{#with contact}}{{firstname}}{{../top}}{{else}}no{{/with}}"
    "{{#with contact.none}}x{{else}}none{{/with}}{{^contact.none}}inv{{/contact.none}}",
    "mustache-sections": "{{#contact.tags}}{{b}}{{/contact.tags}}{{#contact.zero}}[{{.}}]"
    "{{/contact.zero}}{{#contact.yes}}Y{{/contact.yes}}{{#contact.none}}N{{else}}E"
    "{{/contact.none}}{{#contact.numbers}}{{.}},{{/contact.numbers}}",
    "else-if-chain": "{{#if contact.zero}}0{{else if contact.empty}}e{{else if top}}T"
    "{{else}}none{{/if}}",
    "literals": "{{lookup contact 'firstname'}}{{lookup contact.numbers 1}}{{#if true}}t{{/if}}"
    "{{#if null}}n{{else}}!n{{/if}}{{#if undefined}}u{{/if}}{{#if 0}}0{{/if}}",
    "this-and-dots": LOOP + "{{this.msevtmgt_name}}{{./msevtmgt_name}}{{../top}}{{/each}}"
    "{{this.top}}{{.}}",
    "literal-segments": "{{contact.[firstname]}}{{[top]}}{{contact.tags.[1]}}"
    "{{contact.numbers.[0]}}{{contact.firstname.length}}",
    "escapes": "\\{{top}} \\\\{{top}} {{top}}",
    "subexpressions": "{{#if (eq (lookup contact 'zero') 0)}}zero{{/if}}",
    "adjacent-numbers": "{{{count}}}{{{count}}}|{{count}}{{count}}|{{{contact.yes}}}{{{count}}}",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_feature_as_handlebars_js(name: str, node: Renderer) -> None:
    ((expected,),) = node([CASES[name]], [REGISTERED])
    assert render(CASES[name], REGISTERED) == expected


def test_contact_inside_loop_is_the_contact() -> None:
    # compat mode: without it Handlebars.js (and pybars before) gives "" here
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


@pytest.mark.slow
@pytest.mark.parametrize(
    "template",
    [
        "{{#each x}}never closed",
        "{{#if}}{{/each}}",
        "{{unknownhelper 'a' 'b'}}",
        "{{#if x x}}two{{/if}}",
        "{{if x}}",
        "{{@eq 1 1}}",
        "{{x}}}",
        "{{foo/this}}",
        "a\x00b",
    ],
)
def test_bad_template_is_a_render_error(template: str, node: Renderer) -> None:
    with pytest.raises(RenderError):
        render(template, {"x": [1]})
    with pytest.raises(JsRenderError):  # Handlebars.js refuses them too
        node([template], [{"x": [1]}])


def test_the_fast_path_knows_every_helper() -> None:
    """Call.plain (a name filled without calling call()) must name no helper a fill calls."""
    from mailpatch.page._render import HELPERS
    from mailpatch.page._render_syntax import HELPER_NAMES

    assert set(HELPERS) <= HELPER_NAMES


_TAG_WORDS = st.sampled_from(
    [
        "a",
        "b1",
        "this",
        "else",
        "elsewhere",
        "else$",
        "true",
        "null",
        "1",
        "-1",
        "1.5",
        "007",
        "x-y",
        "$",
        "_",
        "ÿ",
        "😀",
        "athis",
        "this-x",
    ]
)


@pytest.mark.slow
@settings(max_examples=500)
@given(
    st.sampled_from(["{{", "{{~"]),
    st.lists(_TAG_WORDS, min_size=1, max_size=4),
    st.lists(st.sampled_from([".", "/"]), min_size=3, max_size=3),
    st.sampled_from(["}}", "~}}", "}}}", " }}"]),
)
def test_plain_tags_are_read_as_the_lexer_reads_them(
    opening: str, words: list[str], separators: list[str], closing: str
) -> None:
    """The fast path for {{name.name}} (plain_call, and the reader's run of plain tags)
    gives what Handlebars' lexer and grammar give, or leaves the tag to them."""
    from mailpatch.page._render_syntax import parse_tag, plain_call

    name = words[0] + "".join(s + w for s, w in zip(separators, words[1:], strict=False))
    text = opening + name + closing
    try:
        fast = plain_call(text)
    except RenderError:
        with pytest.raises(RenderError, match="is invalid"):
            parse_tag(text, 0)
        return
    if fast is None:
        return
    slow = parse_tag(text + "x", 0)  # (the lexer's reading of the same text, not the end)
    for attribute in ("kind", "escaped", "name", "simple", "known", "plain", "params", "hash"):
        assert getattr(fast, attribute) == getattr(slow, attribute), attribute
    for attribute in ("data", "depth", "parts", "original", "scoped"):
        assert getattr(fast.path, attribute) == getattr(slow.path, attribute), attribute


def test_context_is_not_the_callers() -> None:
    data = {"contact": {REGISTRATIONS: [{"msevtmgt_name": "R"}]}}
    context_of(data)
    assert data == {"contact": {REGISTRATIONS: [{"msevtmgt_name": "R"}]}}


# Whitespace control and standalone lines next to long text (pybars once compiled it as
# stand-ins): as Handlebars.js gives them.
_LONG = "word " * 80
_EDGES = ["", " ", "\n", "  \n  ", "x", "\n\t", " " * 100, "\n" * 70 + "  "]
LONG_TEXT_CASES = [
    before + _LONG + after + tag
    for before in _EDGES
    for after in _EDGES
    for tag in (
        "{{~#if contact.firstname~}}\n  {{contact.firstname}}\n{{~/if~}}",
        "\n  {{#if contact.firstname}}\n" + _LONG + "\n  {{/if}}\n",
        "{{!-- note --}}" + _LONG + "{{~contact.lastname}}",
    )
]


@pytest.mark.slow
def test_whitespace_control_next_to_long_text(node: Renderer) -> None:
    expected = node(LONG_TEXT_CASES, [REGISTERED])
    assert [render(t, REGISTERED) for t in LONG_TEXT_CASES] == [e[0] for e in expected]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param("{{!-- " * 20_000, "a {{!-- comment is never closed", id="unclosed-long"),
        pytest.param("a {{! note", "a {{! comment is never closed", id="short"),
        pytest.param(
            "a\n{{x",
            "line 2: not a Handlebars template: the tag '{{x'… is never closed",
            id="expression",
        ),
        pytest.param(
            "a\n{{#each x}}",
            "line 2: not a Handlebars template: {{#each …}} is never closed",
            id="block",
        ),
        pytest.param("{{> footer}}", "does not render partials", id="partial"),
        pytest.param("{{#> layout}}x{{/layout}}", "does not render partials", id="partial-block"),
        pytest.param("{{*decorator}}", "does not render decorators", id="decorator"),
        pytest.param("{{#*inline 'p'}}x{{/inline}}", "does not render decorators", id="inline"),
        pytest.param("{{{{raw}}}}{{x}}{{{{/raw}}}}", "does not render raw blocks", id="raw"),
        pytest.param(
            "{{#each x as |item|}}{{item}}{{/each}}",
            "does not render block parameters",
            id="block-params",
        ),
        pytest.param("{{log x}}", "does not run {{log}}", id="log"),
        pytest.param("{{#if x __proto__=1}}y{{/if}}", "hash key named __proto__", id="proto"),
        pytest.param("{{#if a}}" * 200 + "{{/if}}" * 200, "nested too deep", id="deep"),
        pytest.param(
            "{{eq " + "(eq " * 100 + "1 1" + ")" * 100 + " 1}}",
            "nested too deep",
            id="deep-subexpressions",
        ),
        pytest.param("{{#each x}}{{this.[0]}}{{/each}}", "half of a character", id="half-emoji"),
    ],
)
def test_what_the_preview_does_not_render_is_refused_by_name(template: str, message: str) -> None:
    """Refused with the line, never rendered otherwise than Handlebars.js would."""
    with pytest.raises(RenderError, match=re.escape(message)):
        render(template, {"a": True, "x": ["😀"]})


@pytest.mark.slow
@pytest.mark.parametrize("comments", [13, 100_000])
def test_a_line_of_comments_then_a_word(comments: int) -> None:
    """pybars' whitespace regex backtracked exponentially on this line (13 comments: 41 s):
    comments on a line with text are no standalone line, and go, their spaces stay."""
    template = "<p>\n" + "{{!c}}    " * comments + "word</p>"
    assert render(template, {}) == "<p>\n" + "    " * comments + "word</p>"


def test_nesting_within_the_bound_renders() -> None:
    depth = MAX_NESTING - 1
    assert render("{{#if a}}" * depth + "x" + "{{/if}}" * depth, {"a": True}) == "x"


# --------------------------------------------------------------------------- bounds


@pytest.mark.slow
def test_output_is_bounded() -> None:
    """An {{#each}} within an {{#each}} over a long list multiplies the email: stopped."""
    template = "{{#each l}}{{#each ../l}}<p>{{.}} and {{../.}}</p>{{/each}}{{/each}}"
    data = {"l": list(range(2_000))}
    with pytest.raises(RenderError, match="would be longer than"):
        render(template, data)
    with pytest.raises(RenderError, match="would be longer than 1,000 characters"):
        render("{{#each l}}<p>{{.}}</p>{{/each}}", data, max_output=1_000)


@pytest.mark.slow
def test_steps_are_bounded() -> None:
    """Loops that print nothing still cost time: stopped too."""
    template = "{{#each l}}{{#each ../l}}{{#each ../../l}}{{/each}}{{/each}}{{/each}}"
    with pytest.raises(RenderError, match="takes more than"):
        render(template, {"l": list(range(200))})
    assert render(template, {"l": list(range(50))}) == ""


# --------------------------------------------------------------------------- contact values

_ANY = st.characters(codec=None, exclude_categories=())  # private use and surrogates included
PROBES = (
    "<p>{{contact.firstname}}|{{{contact.firstname}}}|{{&contact.firstname}}</p>"
    '<a href="x?n={{contact.firstname}}">{{contact.firstname.length}}</a>'
    "{{#each contact}}{{@key}}={{this}};{{/each}}{{lookup contact 'firstname'}}"
    "{{#if contact.firstname}}set{{else}}empty{{/if}}" + LOOP + "{{contact.firstname}}{{/each}}"
)


@pytest.mark.slow
@settings(max_examples=200)
@given(st.lists(st.text(_ANY, max_size=12), min_size=1, max_size=8))
def test_contact_values_print_as_handlebars_js(
    handlebars_lines: LineRenderer,
    names: list[str],
) -> None:
    """Any character in a contact's field, private-use ones included (pybars' stand-ins
    were \ue000N\ue001), prints exactly as Handlebars.js prints it."""
    template = FIXTURES[0].templates["expected"] + PROBES
    contexts = [
        {
            "contact": {
                "firstname": name,
                "lastname": name[::-1],
                REGISTRATIONS: [{"msevtmgt_eventid": name, "msevtmgt_name": name}],
            }
        }
        for name in names
    ]
    (expected,) = handlebars_lines([template], contexts)
    for context, want in zip(contexts, expected, strict=True):
        assert render(template, context) == want
