"""The changed part of a long changed line, marked in both diffs (the page's and the CLI's
coloured --diff): a readable id that changed inside a 600-character calendar link."""

from __future__ import annotations

import re

import pytest

from mailpatch._cli import color_diff
from mailpatch._highlight import (
    REFINE_BUDGET,
    REFINE_LIMIT,
    changed_spans,
    common_ends,
    line_kinds,
)
from mailpatch._link import CalendarLink
from mailpatch._run import unified_diff

OLD = CalendarLink("contoso.svc.dynamics.com", "ContosoSummit2025").href()
NEW = CalendarLink("contoso.svc.dynamics.com", "ContosoCloudSummit2025").href()


def marked(lines: list[str]) -> list[list[str]]:
    """Each line's marked parts, as text."""
    spans = changed_spans(lines)
    return [[line[lo:hi] for lo, hi in marks] for line, marks in zip(lines, spans, strict=True)]


@pytest.mark.parametrize(
    ("before", "after", "ends"),
    [("abc", "abc", (3, 0)), ("abXc", "abYc", (2, 1)), ("aa", "aaa", (2, 0)), ("", "x", (0, 0)),
     ("xab", "ab", (0, 2))],
)  # fmt: skip
def test_common_ends_never_overlap(before: str, after: str, ends: tuple[int, int]) -> None:
    assert common_ends(before, after) == ends
    head, tail = ends
    assert head + tail <= min(len(before), len(after))


MARKED = [
    pytest.param(
        ["@@ -1 +1 @@", f'-<a href="{OLD}">', f'+<a href="{NEW}">'],
        [[], [], ["Cloud"]],
        id="an-id-grows-inside-a-link",
    ),
    pytest.param(
        ["@@ -1 +1 @@", "-id=Summit2025&x=1", "+id=Summit2026&x=1&y=2"],
        [[], ["5"], ["6", "&y=2"]],
        id="two-changes-two-marks",
    ),
    pytest.param(["@@ -1 +1 @@", "-abc", "+xyz"], [[], [], []], id="wholly-different"),
    pytest.param(
        ["@@ -1,2 +1 @@", "-a1", "-a2", "+a3"], [[], [], [], []], id="runs-of-unequal-length"
    ),
    pytest.param(
        ["@@ -1,2 +1,2 @@", "-a1 x", "-b1 y", "+a2 x", "+b2 y"],
        [[], ["1"], ["1"], ["2"], ["2"]],
        id="pairs-one-for-one",
    ),
    pytest.param(
        ["@@ -1 +1 @@", "--->", "+--!>"], [[], [], ["!"]], id="a-removed-line-starting-with-dashes"
    ),
    pytest.param(["--- a/x", "+++ b/x"], [[], []], id="file-names-are-not-changes"),
]


@pytest.mark.parametrize(("lines", "marks"), MARKED)
def test_changed_spans(lines: list[str], marks: list[list[str]]) -> None:
    assert marked(lines) == marks


def test_a_long_middle_is_marked_whole_not_compared_character_by_character() -> None:
    """difflib is quadratic: a minified email's one changed line is marked as one part."""
    a = "-<p>" + "a" * REFINE_LIMIT + "1</p>"
    b = "+<p>" + "b" * REFINE_LIMIT + "2</p>"
    whole = [[], ["a" * REFINE_LIMIT + "1"], ["b" * REFINE_LIMIT + "2"]]
    assert marked(["@@ -1 +1 @@", a, b]) == whole


def test_beyond_the_budget_middles_are_marked_whole() -> None:
    """However many changed lines a diff has, the character-by-character comparison stops at
    REFINE_BUDGET characters in all; the rest are marked whole (still correct, less fine)."""
    same = "z" * 198
    pair = [f"-id=1{same}2&a", f"+id=3{same}4&a"]  # two changes 200 characters apart
    refined = REFINE_BUDGET // (200 * 200)
    marks = marked(["@@ -1 +1 @@"] + [line for _ in range(refined + 3) for line in pair])
    assert marks[1:3] == [["1", "2"], ["3", "4"]]  # refined: two marks each
    assert marks[-2:] == [[f"1{same}2"], [f"3{same}4"]]  # beyond the budget: one each
    assert sum(len(m) == 2 for m in marks) == 2 * refined


def test_kinds_follow_the_hunks() -> None:
    lines = ["--- a/x", "+++ b/x", "@@ -1,2 +1,2 @@", " same", "---x", "+++x", "\\ No newline"]
    assert line_kinds(lines) == ["file", "file", "hunk", "", "del", "add", "note"]


def test_the_coloured_diff_marks_the_change_and_is_the_diff_without_its_escapes() -> None:
    before = f'<p>Hi</p>\r\n<a href="{OLD}">Add</a>\r\n<p>Bye</p>\r\n'
    after = before.replace(OLD, NEW)
    diff = unified_diff("email.html", before, after).encode()
    colored = color_diff(diff)
    assert re.sub(rb"\x1b\[[0-9;]*m", b"", colored) == diff
    (added,) = [line for line in colored.split(b"\r\n") if line.startswith(b"\x1b[32m+")]
    assert b"%22Contoso\x1b[7mCloud\x1b[27mSummit2025%22" in added
    assert colored.count(b"\x1b[7m") == 1  # the removed line lost nothing: no empty mark
