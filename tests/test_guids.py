"""A Button's GUIDs (``_blocks.Guids``) read from the marker index's range are the set the
range's tests name: each question against the frozenset made from them, and the unions and
first holders against the plain loops they replaced (quadratic where Buttons nest)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailpatch._blocks import Guids, MarkerIndex, first_holders, union_of
from mailpatch._handlebars import normal_guid
from mailpatch._html import tokenize

GUIDS = [f"{i:08x}-0a6c-ee11-9079-6045bd8e1f20" for i in range(5)]


def index_of(tested: list[int]) -> MarkerIndex:
    """The marker index of a text whose event tests name GUIDS[k] for each k in ``tested``
    (upper case for odd k: the index holds them normalised)."""
    written = [GUIDS[k].upper() if k % 2 else GUIDS[k] for k in tested]
    text = "".join(f"<p>x</p><!--{{{{#if (eq this.msevtmgt_eventid '{g}')}}}}-->" for g in written)
    return MarkerIndex(text, tokenize(text))


tests_and_ranges = st.lists(st.integers(0, 4), min_size=1, max_size=40).flatmap(
    lambda tested: st.tuples(
        st.just(tested),
        st.lists(
            st.tuples(st.integers(0, len(tested) - 1), st.integers(1, len(tested))).map(
                lambda r: (min(r), max(r[1], min(r) + 1))
            ),
            min_size=1,
            max_size=8,
        ),
    )
)


@settings(max_examples=300, deadline=None)
@given(tests_and_ranges, st.sampled_from([*GUIDS, "nope"]))
def test_a_range_answers_as_the_set_of_its_guids(
    case: tuple[list[int], list[tuple[int, int]]], probe: str
) -> None:
    tested, ranges = case
    index = index_of(tested)
    assert index.guids == [normal_guid(GUIDS[k]) for k in tested]
    for lo, hi in ranges:
        whole = frozenset(index.guids[lo:hi])

        # afresh for each question (one that reads them all keeps the set)
        fresh = [Guids(frozenset(), index, lo, hi) for _ in range(6)]
        assert bool(fresh[0]) == bool(whole)
        assert fresh[1].single == (len(whole) == 1)
        assert len(fresh[2]) == len(whole)
        assert fresh[3].least() == min(whole)
        assert (probe in fresh[4]) == (probe in whole)
        assert all(f._set is None for f in fresh[:2] + fresh[3:5])  # (none read them all)
        view = fresh[5]
        assert set(view) == whole and view == whole and hash(view) == hash(whole)
        assert view | {"x"} == whole | {"x"}  # (a plain set comes out of the operators)
        made = Guids(whole)  # the other kind: a set made from a Button's markers
        assert (made.single, made.least(), made == view) == (view.single, view.least(), True)
    # least(): read while the questions have read little, then from the sparse table
    for scanned in (0, 10**9):
        index._scanned, index._mins = scanned, None
        for lo, hi in ranges:
            assert index.least(lo, hi) == min(index.guids[lo:hi])
        assert (index._mins is not None) == (
            scanned > 0 and not all(index.next_other[lo] >= hi for lo, hi in ranges)
        )


@settings(max_examples=300, deadline=None)
@given(tests_and_ranges, st.booleans())
def test_unions_and_first_holders_read_each_test_once_and_agree(
    case: tuple[list[int], list[tuple[int, int]]], some_made: bool
) -> None:
    tested, ranges = case
    index = index_of(tested)
    ranges = sorted(ranges)  # Buttons in document order: their ranges start in order
    views = [
        Guids(frozenset(index.guids[lo:hi])) if some_made and n % 3 == 0 else
        Guids(frozenset(), index, lo, hi)
        for n, (lo, hi) in enumerate(ranges)
    ]  # fmt: skip
    assert union_of(views) == frozenset(g for lo, hi in ranges for g in index.guids[lo:hi])
    expected: dict[str, int] = {}
    for n, (lo, hi) in enumerate(ranges):
        for guid in index.guids[lo:hi]:
            expected.setdefault(guid, n)
    assert first_holders((view, n) for n, view in enumerate(views)) == expected
