"""verify() (one partial libxml2 parse) is at least as strict as verify_full() (two whole
parses compared, a second patch), and accepts every real patch."""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailpatch import decode
from mailpatch._errors import MissingOption, Refusal
from mailpatch._options import build_options
from mailpatch._patch import Edit, EditKind, PatchResult, apply, patch
from mailpatch._verify import VerifyError, verify, verify_full

from fixturecases import Case, cases

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import itertools

import corpus

PATCH = cases("patch")

# Markup that changes how a parser reads what follows, whole or cut short.
JUNK = [
    *("<p>", "</p>", "<div>", "</div>", "<td>", "</td>", "<tr>", "</tr>", "<table>", "</table>"),
    *("<b>", "<a>", "</a>", "<font>", "<center>", "<li>", "<dd>", "<h1>", "<br/>", "</br>"),
    *("<!--", "-->", "<![CDATA[", "<?xml x?>", '<a href="', '"', ">", "<", "&", "&amp", "x"),
    *("<style>", "</style>", "<title>", "<textarea>", "<xmp>", "<plaintext>", "<iframe>"),
    *("<html lang=x>", "<html>", "</html>", "<head>", "</head>", "<body class=y>", "</body>"),
    *("<frameset>", "<select>", "<option>", "<form>", "<svg>", "<math>", "<template>"),
    *("<meta charset=latin1>", "\n", "{{#if a}}", "{{/if}}"),
    '<div data-editorblocktype="ERQRCode">',
]
junk = st.lists(st.sampled_from(JUNK), min_size=1, max_size=6).map("".join)


def _verdict(check: object, before: str, result: PatchResult, case: Case) -> str | None:
    try:
        check(before, result, case.options)  # type: ignore[operator]
    except (VerifyError, Refusal, MissingOption) as exc:  # the full check's second patch may refuse
        return str(exc)
    return None


@pytest.mark.parametrize("case", PATCH, ids=[c.name for c in PATCH])
def test_real_patches_pass_both(case: Case) -> None:
    before = decode(case.input.read_bytes()).text
    result = patch(before, case.options)
    verify(before, result, case.options)
    verify_full(before, result, case.options)


@pytest.mark.parametrize("seed", range(12))
def test_corpus_patches_pass(seed: int) -> None:
    rng = random.Random(seed)
    email = corpus.make_email(rng, "e", rng.randint(20_000, 120_000), 1 + seed % 3)
    events = [a for i, a in enumerate(corpus.ARGS) if i and corpus.ARGS[i - 1] == "--event"]
    options = build_options(endpoint=corpus.ENDPOINT, events=events)
    before = decode(email.data).text
    result = patch(before, options)
    assert result.changed
    verify(before, result, options)


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(
    st.sampled_from(PATCH),
    st.data(),
)
@pytest.mark.slow
def test_whatever_full_rejects_fast_rejects(case: Case, data: st.DataObject) -> None:
    """Damage an honest patch at random (its edits moved, junk in the new content, junk around
    the blocks, junk in the input before patching): if the full comparison objects, the fast
    check objects too. (The reverse does not hold on junk: the fast check also refuses some
    trees it cannot rebuild, where the full one happened to pass. Refusing is the safe side.)"""
    before = decode(case.input.read_bytes()).text
    how = data.draw(st.sampled_from(["move", "content", "around", "input"]))
    if how == "input":  # junk in the input, then an honest patch
        at = data.draw(st.integers(0, len(before)))
        before = before[:at] + data.draw(junk) + before[at:]
        try:
            result = patch(before, case.options)
        except (Refusal, MissingOption):
            return
        full = _verdict(verify_full, before, result, case)
        if result.changed and full is not None:
            assert _verdict(verify, before, result, case) is not None, f"verify_full: {full}"
        return
    result = patch(before, case.options)
    edits = list(result.edits)
    i = data.draw(st.integers(0, len(edits) - 1))
    e = edits[i]
    if how == "move":
        start = max(0, e.start + data.draw(st.integers(-12, 12)))
        end = max(start, e.end + data.draw(st.integers(-12, 12)))
        if any(o is not e and o.start < end and start < o.end for o in edits):
            return
        edits[i] = dataclasses.replace(e, start=start, end=end)
    elif how == "content" and e.what == "button":
        at = data.draw(st.integers(0, len(e.replacement)))
        bad = e.replacement[:at] + data.draw(junk) + e.replacement[at:]
        edits[i] = dataclasses.replace(e, replacement=bad)
    else:
        at = data.draw(st.sampled_from([e.start, e.end]))
        kind = EditKind.BUTTON if e.what is EditKind.BUTTON else EditKind.QR
        edits.append(Edit(at, at, data.draw(junk), kind))
    edits.sort(key=lambda x: (x.start, x.end))
    if any(a.end > b.start for a, b in itertools.pairwise(edits)):
        return
    damaged = dataclasses.replace(result, text=apply(before, edits), edits=tuple(edits))
    full = _verdict(verify_full, before, damaged, case)
    fast = _verdict(verify, before, damaged, case)
    if full is not None:
        assert fast is not None, f"verify_full: {full}"


# -- handlebars expressions: the edited spans stand for the whole texts only when they can ----
_BRACES = st.lists(
    st.sampled_from(["{{", "}}", "{", "}", "a", "{{!--", "--}}", "{{~!--", "~}}", "{{{", "\n"]),
    max_size=12,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(
    pieces=st.lists(_BRACES, min_size=5, max_size=5),
    new=st.lists(_BRACES, min_size=2, max_size=2),
    kinds=st.lists(st.sampled_from(list(EditKind)), min_size=2, max_size=2),
)
# each one of the conditions, left out, lets one of these through
@example(pieces=["{", "a", "{}}", "", ""], new=["", ""], kinds=[EditKind.QR] * 2)  # '{' meets '{'
@example(pieces=["x", "a", "}}", "", ""], new=["{{y", ""], kinds=[EditKind.BUTTON] * 2)  # runs on
@example(pieces=["{{a", "b", "}}", "", ""], new=["", ""], kinds=[EditKind.QR] * 2)  # cut in two
# the loop moves from one edited span to another: kept
@example(
    pieces=["a", "{{#each x}}", "b", "c", "d"],
    new=["", "{{#each x}}c"],
    kinds=[EditKind.QR, EditKind.BUTTON],
)
def test_expressions_kept_where_edited_only_when_the_whole_texts_agree(
    pieces: list[str], new: list[str], kinds: list[EditKind]
) -> None:
    """Whenever the edited spans alone say the expressions are kept, comparing the whole
    texts says so too (the converse need not hold: the whole check then decides)."""
    from mailpatch._survey import Survey
    from mailpatch._verify import _check_expressions, _expressions_kept_where_edited

    head, first, between, second, _ = pieces
    before = "".join(pieces)
    at = len(head)
    edits = [Edit(at, at + len(first), new[0], what=kinds[0])]
    at += len(first) + len(between)
    edits.append(Edit(at, at + len(second), new[1], what=kinds[1]))
    options = build_options(endpoint="contoso.svc.dynamics.com")
    survey = Survey(before)
    if _expressions_kept_where_edited(before, edits, options, survey):
        _check_expressions(survey.expressions(), apply(before, edits), options, before, edits)


def test_a_loop_moved_between_edited_spans_is_judged_on_them_alone() -> None:
    """The common patch: the loop leaves the QR block and comes back in the Button."""
    from mailpatch._survey import Survey
    from mailpatch._verify import _expressions_kept_where_edited

    before = "<p>{{contact.firstname}}</p><div>{{#each x}}<img>{{/each}}</div><b>#</b>"
    qr = before.index("<div>")
    button = before.index("#</b>")
    edits = [
        Edit(qr, before.index("<b>"), "", what=EditKind.QR),
        Edit(button, button + 1, "{{#each x}}#{{/each}}", what=EditKind.BUTTON),
    ]
    options = build_options(endpoint="contoso.svc.dynamics.com")
    assert _expressions_kept_where_edited(before, edits, options, Survey(before))
