"""Hostile sizes and shapes end as an outcome -- patched and verified, or refused -- never as
a hang, a RecursionError or a traceback. Timings live in benchmarks/pathological.py; here a
case passes by finishing with the right outcome (a quadratic locator would not finish)."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from mailpatch import decode
from mailpatch._blocks import scan
from mailpatch._errors import Refusal
from mailpatch._handlebars import closed_expressions, closing_bound
from mailpatch._html import Kind
from mailpatch._lint import lint
from mailpatch._patch import patch
from mailpatch._run import Mode, Status, process
from mailpatch._verify import verify

from pathological_inputs import Hostile, Shape, cases, qr, shapes

# slow (`pytest -m "not slow"` leaves it out; .ci/run runs it):
# hostile shapes of megabytes (100k-deep nesting, 20k blocks)
pytestmark = pytest.mark.slow

STATUS = {
    "patched": Status.PATCHED,
    "updated": Status.UPDATED,
    "refused": Status.REFUSED,
    "unchanged": Status.UNCHANGED,
    "not applicable": Status.NOT_APPLICABLE,
}
CASES = [pytest.param(c, id=c.name) for c in cases()]


@pytest.mark.parametrize("case", CASES)
def test_hostile_email_ends_as_an_outcome(case: Hostile, tmp_path: Path) -> None:
    path = tmp_path / "email.html"
    original = case.build().encode("utf-8")
    path.write_bytes(original)
    outcome = process(str(path), case.options, Mode())
    assert outcome.status is STATUS[case.outcome], outcome.message
    after = path.read_bytes()
    if case.outcome == "refused":
        assert case.why in outcome.message
        assert after == original
    elif case.outcome == "not applicable":
        assert after == original
    else:
        assert after != original
        text = decode(after).text
        assert "ERQRCode" not in text
        assert not patch(text, case.options).changed  # a second run is a no-op
    assert [p.name for p in tmp_path.iterdir()] == ["email.html"]  # no temp file left
    if case.lint:
        assert lint(original.decode("utf-8"))  # finishes, and finds what is wrong


def test_deep_nesting_refusal_names_the_limit(tmp_path: Path) -> None:
    case = next(c for c in cases() if c.name == "nesting-100k-around-blocks")
    path = tmp_path / "deep.html"
    path.write_text(case.build(), "utf-8")
    outcome = process(str(path), case.options, Mode())
    assert "Excessive depth" in outcome.message
    assert "XML_PARSE_HUGE" not in outcome.message  # libxml2's hint is no use to a user
    assert "INTERNAL ERROR" not in outcome.message


def test_patched_pairs_each_verify() -> None:
    """The many-pairs cases pass the full safe-mode check, not only a second patch."""
    case = next(c for c in cases() if c.name.endswith("-events"))
    text = case.build()
    result = patch(text, case.options)
    assert len(result.pairings) == 2_000
    verify(text, result, case.options)


def test_benchmark_script_runs() -> None:
    """benchmarks/pathological.py prints its figures (one small case; no time is asserted)."""
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "pathological.py"), "--only", "nesting-1000"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "nesting-1000-around-blocks" in run.stdout and "patched" in run.stdout


# --- bounds: the growing shapes, at a few hundred units (their figures: the benchmark) ---------

SHAPES = [pytest.param(s, id=s.name) for s in shapes()]


@pytest.mark.parametrize("shape", SHAPES)
def test_growing_shape_ends_as_an_outcome(shape: Shape, tmp_path: Path) -> None:
    path = tmp_path / "email.html"
    text = shape.build(shape.units)
    path.write_text(text, "utf-8")
    outcome = process(str(path), shape.options, Mode())
    assert outcome.status is STATUS[shape.outcome], outcome.message
    if shape.outcome == "refused":
        assert shape.why in outcome.message
    elif shape.outcome == "unchanged":
        assert decode(path.read_bytes()).text == text
    else:
        after = decode(path.read_bytes()).text
        assert after != text and "ERQRCode" not in after
        assert not patch(after, shape.options).changed  # a second run is a no-op
    problems = lint(text)  # finishes, and says the same of every repeated unit
    if "calendar-links" in shape.name or "https-links" in shape.name:
        assert [p.code for p in problems] == ["MP101", "MP201"] * 300  # (outside a loop)
        assert all(p.fixable for p in problems if p.code == "MP101")


def test_unclosed_expressions_are_found_as_the_regular_expression_finds_them() -> None:
    """The linear searches find what the lazy regular expressions found (quadratic)."""
    import re

    handlebars = re.compile(r"\{\{\{?(.*?)\}?\}\}", re.S)
    closed = re.compile(r"\{\{.*?\}\}", re.S)
    for text in ["{{ a {{b}} {{ c", "{{{x}}}} {{ {{y}}} {{", "}}{{", "{{}}}{{{ }}", "{ {{ x"]:
        for lo in range(len(text) + 1):
            for hi in range(lo, len(text) + 1):
                bound = closing_bound(text, lo, hi)
                assert [m.span() for m in handlebars.finditer(text, lo, bound)] == [
                    m.span() for m in handlebars.finditer(text, lo, hi)
                ]
                assert list(closed_expressions(text, lo, hi)) == closed.findall(text, lo, hi)


def test_nested_blocks_share_their_ancestors() -> None:
    """Thousands of nested Buttons: each element's ancestors read as the tuple of tags open
    around it, outermost first, and the nesting questions are answered without a walk."""
    text = qr() + '<div data-locked="1">' + '<div data-editorblocktype="Button">' * 50
    doc = scan(text)
    buttons = doc.blocks_of("button")
    assert len(buttons) == 50
    locked = next(t for t in doc.tokens if t.kind is Kind.START and "data-locked" in t.text(text))
    for depth, button in enumerate(buttons):
        expected = tuple([locked.start] + [b.start for b in buttons[:depth]])
        assert tuple(t.token.start for t in button.ancestors) == expected
        assert len(button.ancestors) == depth + 1
        assert button.ancestors == tuple(button.ancestors)
        assert button.ancestors.outermost_locked is not None
        assert button.ancestors.outermost_locked.token.start == locked.start
        outer = button.ancestors.outermost_qr_or_button
        assert (outer.token.start if outer else None) == (buttons[0].start if depth else None)
        assert button.ancestors.outermost_qr is None
    assert doc.blocks_of("erqrcode")[0].ancestors == ()


# Units of each growing shape for the memory bound: enough that what any run costs once
# (interned names, free lists) is small beside what grows.
_MEMORY_UNITS = {
    "unclosed-{{-in-paragraphs": 10_000,
    "unclosed-button-start-tags": 3_000,
    "buttons-with-https-links": 1_000,
}


def _peak(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("command", ["patch", "verify", "lint"])
@pytest.mark.parametrize(
    "shape", [pytest.param(s, id=s.name) for s in shapes() if s.name in _MEMORY_UNITS]
)
def test_each_command_holds_a_small_multiple_of_the_email(shape: Shape, command: str) -> None:
    """Peak memory at most 10x the email for every command (the issue's bound), on the shapes
    that cost the most a byte: lint's tokens are machine integers read one at a time (a
    list of tuples was 50x on unclosed '{{' paragraphs); blocks are rows of machine integers
    (8,000 unclosed Button start tags were 43x: a start tag, attribute, node and element
    apiece); attribute values are sliced when read (each href was held four times over)."""
    text = shape.build(_MEMORY_UNITS[shape.name])
    result = patch(text, shape.options)
    assert result.changed
    run = {
        "patch": lambda: patch(text, shape.options),
        "verify": lambda: verify(text, result, shape.options),
        "lint": lambda: lint(text),
    }[command]
    assert _peak(run) < 10 * len(text.encode("utf-8"))


def test_buttons_left_open_each_testing_an_event_hold_a_small_multiple_of_the_email() -> None:
    """Each Button left open holds the event tests of all after it: the GUIDs each Button
    carries must not be a set of all of them apiece (2,000 such Buttons, 230 KB, held some
    136 MB: quadratic; the refusal listed every event and marker too)."""
    shape = next(s for s in shapes() if s.name == "buttons-left-open-each-testing-its-own-event")
    text = shape.build(2_000)

    def run() -> None:
        with pytest.raises(Refusal, match=shape.why):
            patch(text, shape.options)

    assert _peak(run) < 10 * len(text.encode("utf-8"))


@pytest.mark.parametrize("shape", [s for s in SHAPES if "attributes-on" in s.id])
# ``count`` attributes and the href or src: 1,000 in all may be edited, 1,001 not
@pytest.mark.parametrize(("count", "status"), [(999, Status.PATCHED), (1_000, Status.REFUSED)])
def test_a_tag_edited_may_have_up_to_a_thousand_attributes(
    shape: Shape, count: int, status: Status, tmp_path: Path
) -> None:
    """libxml2, which verifies each edit, is quadratic in a tag's attributes: past 1,000 on a
    tag an edit touches, the email is refused (fast) rather than verified (40,000: 8 s)."""
    built = shape
    path = tmp_path / "email.html"
    path.write_bytes(built.build(count).encode("utf-8"))
    before = path.read_bytes()
    outcome = process(str(path), built.options, Mode())
    assert outcome.status is status, outcome.message
    assert (path.read_bytes() == before) is (status is Status.REFUSED)


# --- the preview: an email dense in expressions, a line of comments ----------------------------


@pytest.mark.parametrize("shape", [pytest.param(s, id=s.name) for s in shapes() if s.preview])
def test_preview_holds_about_ten_times_the_email(shape: Shape) -> None:
    """The whole page (the email read as Handlebars once, filled for each sample contact, its
    links decoded, the page made) peaks at about 10x the email: pybars took 1-7 GB a
    megabyte of expressions, and minutes on a line of 13 comments. The page itself holds
    six renders and the diff; the reading of a template is three integers a statement and is
    let go before the page is made. (Times: benchmarks/pathological.py.)"""
    from mailpatch.page._preview import preview_page

    small = shape.build(2)
    preview_page(small, shape.options, patched=patch(small, shape.options).text)  # (jinja's)
    text = shape.build(shape.preview // 4)
    patched = patch(text, shape.options).text
    page = _peak(lambda: preview_page(text, shape.options, patched=patched))
    assert page < 11 * len(text.encode("utf-8"))


def test_the_page_reads_buttons_left_open_each_testing_an_event_in_a_small_multiple() -> None:
    """The page's inspection (inspect_email, run on every email chosen) lists, for each
    event, every Button that carries it, and takes each Button's GUIDs whole: Buttons left
    open each hold the tests of all after them, so 500 of them (58 KB) held some 17 MB
    (2,000, 230 KB: 245 MB and 19 s), where patch refuses 16,000 in half a second. Now 12x at
    500 and at 8,000: the inspection is a row per event and a reference per Button, each a
    sentence, and this email has one of each every 115 bytes (patch's bound is 10x)."""
    from mailpatch.page._serve_view import inspect_email

    shape = next(s for s in shapes() if s.name == "buttons-left-open-each-testing-its-own-event")
    text = shape.build(500)
    assert _peak(lambda: inspect_email(text)) < 15 * len(text.encode("utf-8"))
