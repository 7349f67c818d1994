"""The page's inspection names the Buttons that carry each event: all that carry one event
(as mailpatch writes them) up to ten, then how many more; a Button whose loop tests several
events is named for each of them where it is the first such Button."""

from __future__ import annotations

import pytest

from mailpatch.page._serve_view import inspect_email

from pathological_inputs import GUID, PATCHED_BUTTON, guid

TWO = (  # a hand-made loop testing two events
    '<div data-editorblocktype="Button"><!--{{#each contact.regs}}-->'
    f"<!--{{{{#if (eq this.msevtmgt_eventid '{guid(1)}')}}}}-->"
    f"<!--{{{{#if (eq this.msevtmgt_eventid '{guid(2)}')}}}}-->"
    '<a href="#">Two</a><!--{{/if}}--><!--{{/if}}--><!--{{/each}}--></div>\n'
)


def where(text: str) -> dict[str, str]:
    return {row.guid: row.where for row in inspect_email(text).rows}


@pytest.mark.parametrize(("count", "named", "more"), [(1, 1, 0), (10, 10, 0), (13, 10, 3)])
def test_the_buttons_of_one_event_are_named_up_to_ten(count: int, named: int, more: int) -> None:
    text = "<p>x</p>\n" * 3 + PATCHED_BUTTON * count
    found = where(text)[GUID]
    assert found.count("calendar button 'Add' at line") == named
    assert found.endswith(f"{more:,} more calendar buttons") == bool(more)


def test_a_button_testing_two_events_is_named_for_each_where_it_is_the_first() -> None:
    found = where(PATCHED_BUTTON + TWO + TWO)
    assert list(found) == [GUID, guid(1), guid(2)]  # in the order of their first carriers
    assert found[guid(1)] == found[guid(2)] == "calendar button 'Two' at line 2"
