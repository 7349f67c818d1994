"""Where two versions of a line differ: the part a reader must look at in a long line.

A stale calendar link is one line of some 600 characters in which a readable id changed; a
unified diff shows the two lines, and this says which part of each to mark. As git's
diff-highlight: the common beginning and end of the two lines are left plain and what lies
between is marked, which is linear in the line's length and exact for one change in a line.
"""

from __future__ import annotations

from collections.abc import Sequence


def common_ends(before: str, after: str) -> tuple[int, int]:
    """The lengths of the common beginning and of the common end of two texts (not
    overlapping: together at most the shorter text's length)."""
    shortest = min(len(before), len(after))
    head = 0
    while head < shortest and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < shortest - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    return head, tail


def changed_middles(before: str, after: str) -> tuple[str, str]:
    """What lies between the common beginning and end of two texts, in each."""
    head, tail = common_ends(before, after)
    return before[head : len(before) - tail], after[head : len(after) - tail]


Span = tuple[int, int]  # [start, end) within a diff line, its '-' or '+' included


def line_kinds(lines: Sequence[str]) -> list[str]:
    """What each line of a unified diff is: 'file' (the ---/+++ names), 'hunk' (@@), 'del',
    'add', 'note' (no newline at end of file) or '' (context), for one file's diff. Read in
    order: inside a hunk a removed line may itself start with '--' (an HTML comment's end)."""
    kinds = []
    in_hunk = False
    for line in lines:
        if line.startswith("@@"):
            in_hunk, kind = True, "hunk"
        elif not in_hunk:
            kind = "file" if line.startswith(("---", "+++")) else ""
        else:
            kind = {"-": "del", "+": "add", "\\": "note"}.get(line[:1], "")
        kinds.append(kind)
    return kinds


# the longest middle part refined character by character, and the most work for one diff
# (difflib is quadratic: a pair of middles costs the product of their lengths, 300 x 300
# characters up to 23 ms here); a longer middle (a minified email's one changed line), or any
# beyond the budget, is marked whole: a changed id or field is a few dozen characters
REFINE_LIMIT = 300
REFINE_BUDGET = 2_000_000
_GAP = 4  # unchanged runs shorter than this between two changes are marked with them


def changed_spans(
    lines: Sequence[str], kinds: Sequence[str] | None = None
) -> list[tuple[Span, ...]]:
    """For each line of a unified diff (no line endings), the parts to mark.

    A run of removed lines followed by as many added lines is read as those lines changed,
    one for one. In each pair, what lies between the common beginning and end is compared
    character by character (within REFINE_LIMIT and REFINE_BUDGET), so that two changes in
    one link (an id and an added field) are two marks. Lines that are wholly different
    (nothing in common at either end), and runs of unequal length, are left unmarked: a mark
    would cover everything or guess the pairing.
    """
    kinds = line_kinds(lines) if kinds is None else kinds
    marks: list[tuple[Span, ...]] = [()] * len(lines)
    budget = [REFINE_BUDGET]
    i = 0
    while i < len(lines):
        if kinds[i] != "del":
            i += 1
            continue
        start = i
        while i < len(lines) and kinds[i] == "del":
            i += 1
        middle = i
        while i < len(lines) and kinds[i] == "add":
            i += 1
        if i - middle != middle - start:
            continue
        for old, new in zip(range(start, middle), range(middle, i), strict=True):
            marks[old], marks[new] = _pair_marks(lines[old], lines[new], budget)
    return marks


def _pair_marks(
    old: str, new: str, budget: list[int]
) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    a, b = old[1:], new[1:]  # without the '-' and '+'
    head, tail = common_ends(a, b)
    if head + tail == 0 or a == b:
        return (), ()
    a_end, b_end = len(a) - tail, len(b) - tail
    cost = (a_end - head) * (b_end - head)
    if max(a_end, b_end) - head > REFINE_LIMIT or cost > budget[0]:
        spans_a, spans_b = [(head, a_end)], [(head, b_end)]
    else:
        budget[0] -= cost
        import difflib

        matcher = difflib.SequenceMatcher(None, a[head:a_end], b[head:b_end], autojunk=False)
        spans_a, spans_b = [], []
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op != "equal":
                _add(spans_a, head + i1, head + i2)
                _add(spans_b, head + j1, head + j2)
    return _shifted(spans_a), _shifted(spans_b)


def _add(spans: list[Span], lo: int, hi: int) -> None:
    """Add [lo, hi) to ``spans``, joined to the last one across a short unchanged gap."""
    if lo == hi:
        return
    if spans and lo - spans[-1][1] < _GAP:
        spans[-1] = (spans[-1][0], hi)
    else:
        spans.append((lo, hi))


def _shifted(spans: list[Span]) -> tuple[Span, ...]:
    return tuple((lo + 1, hi + 1) for lo, hi in spans if lo < hi)
