"""Field placeholders: only what Handlebars reads as a plain path to a value.

The platform renders the email with Handlebars, so a ``{{…}}`` in a ``--field`` value is whatever
Handlebars makes of it: ``{{else.x}}`` stops the whole email compiling, ``{{if}}`` throws at send
time, ``{{helper arg}}`` calls a helper. The rule (``PLACEHOLDER`` and ``placeholder_problem`` in
``mailpatch/_link.py``) is tested here through the way users reach it (``build_fields``,
``CalendarLink``, ``mailpatch patch``, ``mailpatch lint``) and against the real Handlebars.js:
``tests/handlebars/classify.js`` compiles and renders each candidate on its own, in the
environment ``render.js`` gives the email tests (compat mode, the platform's ``eq`` helper).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mailpatch._cli import main
from mailpatch._link import (
    DEFAULT_FIELDS,
    PLACEHOLDER,
    CalendarLink,
    LinkError,
    build_fields,
    decode_calendar_url,
    encode_value,
    placeholder_problem,
    placeholder_problems,
)
from mailpatch._lint import lint

from handlebars_harness import HARNESS, Renderer

ROOT = Path(__file__).resolve().parent.parent
EMAIL = ROOT / "fixtures" / "examples" / "registration-email.html"
CLASSIFY_JS = HARNESS / "classify.js"
HOST = "contoso.svc.dynamics.com"
ENDPOINT = ["--endpoint", HOST, "--event-id", "X"]
HINT = "use a plain path such as {{contact.lastname}}"
FIRSTNAME_IN_LINK = "%22{{contact.firstname}}%22"

# The looser rule mailpatch had before, kept to show the Handlebars test would catch going
# back to it.
OLD_PLACEHOLDER = re.compile(
    r"\{\{\s*(?!else\s*\}\})([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}"
)


def link_with(value: str) -> CalendarLink:
    return CalendarLink(HOST, "Ev", fields=build_fields([("k", value)]))


# --------------------------------------------------------------------------- through the API

ACCEPTED = [
    pytest.param("{{contact.firstname}}", "{{contact.firstname}}", id="contact-firstname"),
    pytest.param("{{ contact.firstname }}", "{{contact.firstname}}", id="blanks-inside"),
    pytest.param("{{\tcontact.firstname\n}}", "{{contact.firstname}}", id="tab-and-newline"),
    pytest.param("{{this.msevtmgt_name}}", "{{this.msevtmgt_name}}", id="this-first"),
    pytest.param("{{a_b.c1}}", "{{a_b.c1}}", id="underscore-and-digit"),
    pytest.param("{{_}}", "{{_}}", id="underscore"),
    pytest.param("{{elsewhere}}", "{{elsewhere}}", id="else-as-a-prefix"),
    pytest.param("{{else_x}}", "{{else_x}}", id="else-underscore"),
    pytest.param("{{a.else}}", "{{a.else}}", id="else-after-a-dot"),
    pytest.param("{{if.x}}", "{{if.x}}", id="helper-name-as-a-path"),
    pytest.param("{{ifx}}", "{{ifx}}", id="helper-name-as-a-prefix"),
    pytest.param("{{true_x}}", "{{true_x}}", id="literal-as-a-prefix"),
    pytest.param("{{a.thisx}}", "{{a.thisx}}", id="this-as-a-prefix"),
    pytest.param("Hi {{a.b}}!", "Hi {{a.b}}!", id="text-around"),
    pytest.param("{{a}}{{b}}", "{{a}}{{b}}", id="two-in-a-row"),
    pytest.param("}}{{x}}", "}}{{x}}", id="close-braces-before"),
    pytest.param("{ {x} }", "{ {x} }", id="single-braces-are-text"),
    pytest.param("}}", "}}", id="close-without-open"),
    pytest.param("a{b", "a{b", id="lone-brace"),
    pytest.param("plain text", "plain text", id="no-placeholder"),
    pytest.param("", "", id="empty"),
]


@pytest.mark.parametrize(("value", "canonical"), ACCEPTED)
def test_accepted_values_stay_placeholders(value: str, canonical: str) -> None:
    link = link_with(value)
    assert link.intended()[0]["data"]["k"] == canonical
    assert decode_calendar_url(html.unescape(link.href())).data == link.intended()
    assert f"%22k%22:%22{encode_value(value)}%22" in link.url()
    # each placeholder is written literally for the platform, in its canonical form
    for m in PLACEHOLDER.finditer(value):
        assert "{{" + m.group(1) + "}}" in encode_value(value)
    assert list(placeholder_problems(value)) == []


REFUSED = [
    pytest.param("{{else.x}}", "'else' is a Handlebars keyword", id="else-dot"),
    pytest.param("{{else}}", "'else' is a Handlebars keyword", id="else"),
    pytest.param("{{ else }}", "'else' is a Handlebars keyword", id="else-blanks"),
    pytest.param("{{else if x}}", "'else' is a Handlebars keyword", id="else-if"),
    *[
        pytest.param(f"{{{{{name}}}}}", f"'{name}' is a Handlebars helper", id=name)
        for name in (
            "if",
            "unless",
            "each",
            "with",
            "lookup",
            "log",
            "helperMissing",
            "blockHelperMissing",
        )
    ],
    pytest.param("{{eq}}", "'eq' is a helper of the platform", id="eq"),
    pytest.param("{{ if }}", "'if' is a Handlebars helper", id="helper-blanks"),
    pytest.param("{{true}}", "'true' is a Handlebars literal", id="true"),
    pytest.param("{{false}}", "'false' is a Handlebars literal", id="false"),
    pytest.param("{{null}}", "'null' is a Handlebars literal", id="null"),
    pytest.param("{{undefined}}", "'undefined' is a Handlebars literal", id="undefined"),
    pytest.param("{{a.true}}", "'true' is a Handlebars literal", id="literal-after-a-dot"),
    pytest.param("{{true.x}}", "'true' is a Handlebars literal", id="literal-first"),
    pytest.param("{{this}}", "'this' alone is the whole record", id="this"),
    pytest.param("{{ this }}", "'this' alone is the whole record", id="this-blanks"),
    pytest.param("{{a.this}}", "'this' can only start a path", id="this-after-a-dot"),
    pytest.param("{{this.this}}", "'this' can only start a path", id="this-twice"),
    pytest.param("{{helper arg}}", "'helper' with arguments is a helper call", id="helper-arg"),
    pytest.param("{{lookup a b}}", "'lookup' with arguments", id="lookup-args"),
    pytest.param("{{x=1}}", "'x' with arguments is a helper call", id="hash-argument"),
    pytest.param("{{{triple}}}", "triple braces", id="triple-stash"),
    pytest.param("{{{x}}", "triple braces", id="triple-open"),
    pytest.param("{{x}}}", "a third }", id="triple-close"),
    pytest.param("{{&x}}", "unescaped", id="ampersand"),
    pytest.param("{{!x}}", "comment", id="comment"),
    pytest.param("{{!-- x --}}", "comment", id="long-comment"),
    pytest.param("{{>x}}", "partial", id="partial"),
    pytest.param("{{#x}}", "opens a Handlebars block", id="block"),
    pytest.param("{{#if x}}", "opens a Handlebars block", id="block-helper"),
    pytest.param("{{/x}}", "closes a Handlebars block", id="block-end"),
    pytest.param("{{^x}}", "inverse block", id="inverse"),
    pytest.param("{{~x~}}", "white-space control", id="tilde"),
    pytest.param("{{x~}}", "white-space control", id="tilde-right"),
    pytest.param("{{[x]}}", "literal segment", id="brackets"),
    pytest.param("{{../x}}", "relative", id="parent"),
    pytest.param("{{./x}}", "relative", id="current"),
    pytest.param("{{@root.x}}", "data variable", id="at-root"),
    pytest.param("{{(x)}}", "subexpression", id="subexpression"),
    pytest.param("{{'x'}}", "string literal", id="string"),
    pytest.param("\\{{x}}", "a backslash before {{", id="escaped"),
    pytest.param("{{a/b}}", "is not a plain path", id="slash-path"),
    pytest.param("{{a-b}}", "is not a plain path", id="dash"),
    pytest.param("{{1x}}", "is not a plain path", id="digit-first"),
    pytest.param("{{a..b}}", "is not a plain path", id="empty-name"),
    pytest.param("{{zoë}}", "is not a plain path", id="non-ascii"),
    pytest.param("{{\u00a0x}}", "is not a plain path", id="no-break-space"),
    pytest.param("{{", "no closing }}", id="open-only"),
    pytest.param("a {{ b", "no closing }}", id="unclosed"),
    pytest.param("{{}}", "it is empty", id="empty-braces"),
    pytest.param("{{ }}", "it is empty", id="blank-braces"),
]


@pytest.mark.parametrize(("value", "reason"), REFUSED)
def test_refused_values_name_the_field_and_the_reason(value: str, reason: str) -> None:
    [(expression, problem)] = placeholder_problems(value)
    assert reason in problem
    expected = (
        f"field 'k': {expression!r} is not a placeholder the platform can fill: {problem}; {HINT}"
    )
    with pytest.raises(LinkError) as raised:
        build_fields([("k", value)])
    assert str(raised.value) == expected
    # CalendarLink checks every field value itself, whoever built the fields
    with pytest.raises(LinkError) as raised:
        CalendarLink(HOST, "Ev", fields=(*DEFAULT_FIELDS, ("k", value)))
    assert str(raised.value) == expected


@pytest.mark.parametrize(
    ("value", "expression"),
    [
        pytest.param("Hi {{contact.firstname}}, {{if}}", "{{if}}", id="second-of-two"),
        pytest.param("{{a}}{{{b}}}", "{{{b}}}", id="triple-after-a-placeholder"),
        pytest.param("{{a}}}{{b}}", "{{a}}}", id="third-brace-before-a-placeholder"),
        pytest.param("x\\{{a}}", "\\{{a}}", id="escaped-after-text"),
        pytest.param("{{a}} {{", "{{", id="unclosed-at-the-end"),
    ],
)
def test_every_open_brace_pair_must_start_a_placeholder(value: str, expression: str) -> None:
    assert [e for e, _ in placeholder_problems(value)] == [expression]
    with pytest.raises(LinkError, match=re.escape(f"{expression!r} is not a placeholder")):
        link_with(value)


def test_the_default_fields_are_placeholders() -> None:
    link = CalendarLink(HOST, "Ev")
    assert link.intended()[0]["data"] == dict(DEFAULT_FIELDS)
    for _, value in DEFAULT_FIELDS:
        assert value in link.url()


# --------------------------------------------------------------------------- patch and lint


def test_patch_refuses_the_field_as_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    email = tmp_path / "registration-email.html"
    shutil.copyfile(EMAIL, email)
    before = email.read_bytes()
    assert main(["patch", *ENDPOINT, "--field", "k={{else.x}}", str(email)]) == 2
    assert email.read_bytes() == before
    err = capsys.readouterr().err
    assert (
        "field 'k': '{{else.x}}' is not a placeholder the platform can fill: "
        f"'else' is a Handlebars keyword; {HINT}"
    ) in err


def test_patch_takes_a_plain_path(tmp_path: Path) -> None:
    email = tmp_path / "registration-email.html"
    shutil.copyfile(EMAIL, email)
    assert main(["patch", *ENDPOINT, "--field", "k={{ contact.lastname }}", str(email)]) == 0
    assert "%22k%22:%22{{contact.lastname}}%22" in email.read_text("utf-8")


@pytest.fixture(scope="module")
def patched_email(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The example email, patched: a lint-clean link in the <a> and in Outlook's VML."""
    email = tmp_path_factory.mktemp("patched") / "registration-email.html"
    shutil.copyfile(EMAIL, email)
    assert main(["patch", *ENDPOINT, str(email)]) == 0
    text = email.read_text("utf-8")
    assert text.count(FIRSTNAME_IN_LINK) == 2
    assert [p.code for p in lint(text)] == []
    return text


def test_lint_reports_a_helper_in_an_existing_link(patched_email: str) -> None:
    text = patched_email.replace(FIRSTNAME_IN_LINK, "%22{{if}}%22")
    mp110 = [p.message for p in lint(text) if p.code == "MP110"]
    message = (
        "'{{if}}' is not a placeholder the platform can fill: 'if' is a Handlebars helper, "
        "not a value"
    )
    assert mp110 == [message, message]


@pytest.mark.parametrize(
    "value", [p.values[0] for p in ACCEPTED + REFUSED if p.values[0] and '"' not in p.values[0]]
)
def test_lint_and_patch_agree(patched_email: str, value: str) -> None:
    """An existing link holding the value as written (not encoded) is MP110 exactly when patch
    refuses the value."""
    edited = patched_email.replace(FIRSTNAME_IN_LINK, f"%22{html.escape(value)}%22")
    reported = any(p.code == "MP110" for p in lint(edited))
    try:
        link_with(value)
    except LinkError:
        refused = True
    else:
        refused = False
    assert reported == refused


# --------------------------------------------------------------------------- Handlebars.js

MARKER = "Zoë<1>"  # `<` tells an escaped value ({{x}}) from an unescaped one ({{{x}}}, {{&x}})
# Handlebars.escapeExpression
ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;"}
ESCAPES["="] = "&#x3D;"
PREFIX = f"https://{HOST}/ics?data=[{{%22k%22:%22"
SUFFIX = "%22}]"


def escaped(text: str) -> str:
    return "".join(ESCAPES.get(c, c) for c in text)


def hb(expression: str, path: str | None, *, on_purpose: bool = False, id: str) -> Any:
    """One candidate: ``path`` (dotted) is where the context holds MARKER, None for none.

    ``on_purpose``: Handlebars does render it as the value, and the rule refuses it anyway."""
    return pytest.param(expression, path, on_purpose, id=id)


CANDIDATES = [
    # plain paths: accepted, and Handlebars renders the value
    hb("{{contact.firstname}}", "contact.firstname", id="contact-firstname"),
    hb("{{ contact.firstname }}", "contact.firstname", id="blanks-inside"),
    hb("{{\tcontact.firstname\n}}", "contact.firstname", id="tab-and-newline"),
    hb("{{this.msevtmgt_name}}", "msevtmgt_name", id="this-first"),
    hb("{{a_b.c1}}", "a_b.c1", id="underscore-and-digit"),
    hb("{{x}}", "x", id="x"),
    hb("{{_}}", "_", id="underscore"),
    hb("{{elsewhere}}", "elsewhere", id="elsewhere"),
    hb("{{else_x}}", "else_x", id="else-underscore"),
    hb("{{a.else}}", "a.else", id="else-after-a-dot"),
    hb("{{this.else}}", "else", id="this-else"),
    hb("{{if.x}}", "if.x", id="helper-name-as-a-path"),
    hb("{{lookup.x}}", "lookup.x", id="lookup-as-a-path"),
    hb("{{ifx}}", "ifx", id="helper-name-as-a-prefix"),
    hb("{{true_x}}", "true_x", id="literal-as-a-prefix"),
    hb("{{a.thisx}}", "a.thisx", id="this-as-a-prefix"),
    # refused, and Handlebars does not render them as the value
    hb("{{else.x}}", "else.x", id="else-dot"),
    hb("{{ else.x }}", "else.x", id="else-dot-blanks"),
    hb("{{else}}", "else", id="else"),
    *[
        hb(f"{{{{{name}}}}}", name, id=name)
        for name in (
            "if",
            "unless",
            "each",
            "with",
            "lookup",
            "log",
            "helperMissing",
            "blockHelperMissing",
            "eq",
        )
    ],
    hb("{{helper arg}}", "helper", id="helper-arg"),
    hb("{{x=1}}", "x", id="hash-argument"),
    hb("{{{triple}}}", "triple", id="triple-stash"),
    hb("{{&x}}", "x", id="ampersand"),
    hb("{{{x}}", "x", id="triple-open"),
    hb("{{x}}}", "x", id="triple-close"),
    hb("{{this}}", "this", id="this"),
    hb("{{this.this}}", "this", id="this-twice"),
    hb("{{a.this}}", "a.this", id="this-after-a-dot"),
    hb("{{a.true}}", "a.true", id="true-after-a-dot"),
    hb("{{a.null}}", "a.null", id="null-after-a-dot"),
    hb("{{a.undefined}}", "a.undefined", id="undefined-after-a-dot"),
    hb("{{../x}}", "x", id="parent"),
    hb("{{!x}}", "x", id="comment"),
    hb("{{!-- x --}}", "x", id="long-comment"),
    hb("{{#x}}", "x", id="block"),
    hb("{{/x}}", "x", id="block-end"),
    hb("{{^x}}", "x", id="inverse"),
    hb("{{>x}}", "x", id="partial"),
    hb("{{(x)}}", "x", id="subexpression"),
    hb("\\{{x}}", "x", id="escaped"),
    hb("{{a..b}}", "a.b", id="empty-name"),
    hb("{{", None, id="open-only"),
    hb("{{x", "x", id="unclosed"),
    hb("{{}}", None, id="empty-braces"),
    hb("{{ }}", None, id="blank-braces"),
    # refused on purpose: Handlebars renders the value, but a plain path is all a link needs
    hb("{{true}}", "true", on_purpose=True, id="true"),
    hb("{{false}}", "false", on_purpose=True, id="false"),
    hb("{{null}}", "null", on_purpose=True, id="null"),
    hb("{{undefined}}", "undefined", on_purpose=True, id="undefined"),
    hb("{{true.x}}", "true.x", on_purpose=True, id="literal-first"),
    hb("{{~x~}}", "x", on_purpose=True, id="tilde"),
    hb("{{[x]}}", "x", on_purpose=True, id="brackets"),
    hb("{{./x}}", "x", on_purpose=True, id="current"),
    hb("{{this/x}}", "x", on_purpose=True, id="slash-after-this"),
    hb("{{a/b}}", "a.b", on_purpose=True, id="slash-path"),
    hb("{{@root.x}}", "x", on_purpose=True, id="at-root"),
    hb("{{a-b}}", "a-b", on_purpose=True, id="dash"),
    hb("{{1x}}", "1x", on_purpose=True, id="digit-first"),
    hb("{{zoë}}", "zoë", on_purpose=True, id="non-ascii"),
    hb("{{\u00a0x}}", "x", on_purpose=True, id="no-break-space"),
    hb("{{\vx}}", "x", on_purpose=True, id="vertical-tab"),
]


def context_for(path: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if path is not None:
        *parents, last = path.split(".")
        node = context
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = MARKER
    return context


def _deep_merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def run_classify(node: str, cases: list[tuple[str, Mapping[str, Any]]]) -> list[dict[str, str]]:
    request = {"cases": [{"template": t, "context": c} for t, c in cases]}
    proc = subprocess.run(
        [node, str(CLASSIFY_JS)],
        input=json.dumps(request).encode("utf-8"),
        capture_output=True,
        cwd=HARNESS,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    results = json.loads(proc.stdout.decode("utf-8"))["results"]
    assert len(results) == len(cases)  # a short answer would silently drop cases
    return results


@pytest.fixture(scope="module")
def rendered(handlebars: Renderer) -> dict[str, dict[str, str]]:
    """Each candidate expression in a URL-ish template, as Handlebars.js renders it."""
    expressions = [p.values[0] for p in CANDIDATES]
    assert len(set(expressions)) == len(expressions)
    results = run_classify(
        handlebars.node,
        [(PREFIX + p.values[0] + SUFFIX, context_for(p.values[1])) for p in CANDIDATES],
    )
    return dict(zip(expressions, results, strict=True))


def renders_the_value(result: Mapping[str, str]) -> bool:
    """Compiled, rendered without throwing, and the value (escaped) where the expression was."""
    return result.get("output") == PREFIX + escaped(MARKER) + SUFFIX


@pytest.mark.parametrize(("expression", "path", "on_purpose"), CANDIDATES)
def test_the_rule_is_what_handlebars_reads_as_a_value(
    rendered: dict[str, dict[str, str]], expression: str, path: str | None, on_purpose: bool
) -> None:
    result = rendered[expression]
    accepted = placeholder_problem(expression) is None
    try:
        link_with(expression)
    except LinkError:
        assert not accepted
    else:
        assert accepted
    if on_purpose:
        assert renders_the_value(result), f"Handlebars.js no longer renders it: {result}"
        assert not accepted
    else:
        assert accepted == renders_the_value(result), f"Handlebars.js: {result}"


def test_the_old_rule_fails_the_handlebars_table(rendered: dict[str, dict[str, str]]) -> None:
    """Loosening the rule back to OLD_PLACEHOLDER is caught by the table above."""
    wrongly_accepted = [
        expression
        for expression, result in rendered.items()
        if OLD_PLACEHOLDER.fullmatch(expression) and not renders_the_value(result)
    ]
    assert set(wrongly_accepted) >= {
        "{{else.x}}",
        "{{if}}",
        "{{each}}",
        "{{with}}",
        "{{unless}}",
        "{{lookup}}",
        "{{this}}",
        "{{a.this}}",
    }


def test_accepted_placeholders_in_the_link_are_filled(
    handlebars: Renderer,
) -> None:
    """The href mailpatch writes, rendered by Handlebars, sends the API the value."""
    accepted = [p for p in CANDIDATES if placeholder_problem(p.values[0]) is None]
    context: dict[str, Any] = {"msevtmgt_name": "REG-1", "contact": {"firstname": "Ann"}}
    for p in accepted:
        context = _deep_merge(context, context_for(p.values[1]))
    links = [link_with(p.values[0]) for p in accepted]
    outputs = handlebars([f'<a href="{link.href()}">x</a>' for link in links], [context])
    for p, [output] in zip(accepted, outputs, strict=True):
        href = re.fullmatch(r'<a href="([^"]*)">x</a>', output)
        assert href is not None, p.id
        data = decode_calendar_url(html.unescape(href.group(1))).data
        assert data[0]["data"]["k"] == MARKER, p.id
