"""The compact stores behind the locator (``BlockStore``, ``Tokens``, ``Hits``) read as the
objects they replaced: equal where those were equal, and nothing kept past its email."""

from __future__ import annotations

import pytest

from mailpatch import _html
from mailpatch._blocks import locate, scan
from mailpatch._html import StartTag, Tokens, iter_tokens, tokenize
from mailpatch._survey import Survey


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '<div data-protected="1"><div data-editorblocktype="ERQRCode">x</div></div>',
            id="an-ancestor-locate-does-not-read",
        ),
        pytest.param('<p>x<div data-editorblocktype="ERQRCode">x</div>', id="an-open-paragraph"),
    ],
)
def test_elements_of_two_readings_differ_where_their_fields_do(text: str) -> None:
    whole, located = scan(text).blocks[0], locate(text).blocks[0]
    assert (whole.start, whole.end) == (located.start, located.end)
    assert whole != located  # the ancestors, or the paragraph the tag closes, differ
    assert scan(text).blocks[0] == whole  # another store, the same fields


def test_an_element_is_equal_to_itself_and_hashable() -> None:
    doc = scan('<div data-editorblocktype="Button"><div data-editorblocktype="Button">')
    outer, inner = doc.blocks
    assert outer == doc.blocks_of("button")[0] and outer != inner
    assert len({outer, inner, doc.blocks[0]}) == 2
    assert inner.ancestors == (outer.tag,) and outer.ancestors == ()


def test_attributes_at_the_same_offsets_of_two_texts_are_not_equal() -> None:
    a, b = (StartTag(t, tokenize(t)[0]).get("href") for t in ('<a href="x">', '<a href="y">'))
    assert a is not None and b is not None
    assert (a.value, b.value) == ("x", "y") and a != b


@pytest.mark.parametrize(
    ("tag", "value"),
    [('<a href="x">', "x"), ("<a href='x'>", "x"), ("<a href=x>", "x"), ("<a href=>", ""),
     ("<a href>", None), ('<a href="">', "")],
)  # fmt: skip
def test_attribute_values_are_read_from_the_text(tag: str, value: str | None) -> None:
    attr = StartTag(tag, tokenize(tag)[0]).get("href")
    assert attr is not None and attr.value == value


def test_a_long_tag_name_is_not_kept_after_its_email() -> None:
    name = "x" + "y" * 100_000
    assert [t.name for t in iter_tokens(f"<{name}></{name.upper()}>")] == [name, name]
    assert all(len(raw) <= 32 for raw in _html._NAMES)


def test_tokens_read_back_as_they_were_stored() -> None:
    text = '<!DOCTYPE html><p class="a">x<!-- c --></P><style>p{}</style>' * 3_000
    tokens = tokenize(text)
    stored = Tokens(size=len(text))
    stored.extend(tokens[:10])  # waits with the batch: handed over with no copy
    assert stored.as_list() == tokens[:10]
    stored.extend(tokens[10:])
    assert list(stored) == tokens and stored[5000:5010] == tokens[5000:5010]
    assert stored[-1] == tokens[-1] and stored.end == len(text)


def test_survey_hits_read_as_tuples() -> None:
    text = '<div data-editorblocktype="Button"><div data-LOCKED="1">' * 3
    hits = Survey(text).hits
    assert len(hits) == 6 and hits[-1] == tuple(hits)[-1] and hits[1:3] == list(hits)[1:3]
