"""The lossless tokenizer: tokens concatenate to the input; each construct is one token."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailpatch._html import Kind, LineIndex, StartTag, Token, Tokens, comment_body, tokenize


def kinds(source: str) -> list[tuple[str, str]]:
    return [(t.kind.value, t.text(source)) for t in tokenize(source)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            '<!--[if mso]><v:rect href="#"><![endif]-->',
            [("comment", '<!--[if mso]><v:rect href="#"><![endif]-->')],
            id="mso-if",
        ),
        pytest.param(
            "<!--[if !mso]><!-- -->", [("comment", "<!--[if !mso]><!-- -->")], id="not-mso-revealed"
        ),
        pytest.param(
            "<!--[if !mso]><!-->", [("comment", "<!--[if !mso]><!-->")], id="not-mso-short"
        ),
        pytest.param(
            "<!--[if !mso]> <!---->", [("comment", "<!--[if !mso]> <!---->")], id="not-mso-spaced"
        ),
        pytest.param("<!--<![endif]-->", [("comment", "<!--<![endif]-->")], id="endif-comment"),
        pytest.param("<![endif]-->", [("other", "<![endif]-->")], id="endif-bogus"),
        pytest.param("<!-->x", [("comment", "<!-->"), ("text", "x")], id="abrupt-empty"),
        pytest.param("<!--->x", [("comment", "<!--->"), ("text", "x")], id="abrupt-dash"),
        pytest.param("<!--a--!>b", [("comment", "<!--a--!>"), ("text", "b")], id="bang-close"),
        pytest.param("<!--a", [("comment", "<!--a")], id="unterminated-comment"),
        pytest.param("<!DOCTYPE html>", [("other", "<!DOCTYPE html>")], id="doctype"),
        pytest.param('<a title="x>y">', [("start", '<a title="x>y">')], id="gt-in-value"),
        pytest.param(
            '<a style="x"data-id="1">',
            [("start", '<a style="x"data-id="1">')],
            id="no-space-after-quoted",
        ),
        pytest.param(
            "<style>a<b{}</style>",
            [("start", "<style>"), ("text", "a<b{}"), ("end", "</style>")],
            id="raw",
        ),
        pytest.param(
            "<TITLE><!--</TITLE>",
            [("start", "<TITLE>"), ("text", "<!--"), ("end", "</TITLE>")],
            id="rcdata-upper",
        ),
        pytest.param(
            "a < b <3 </ c>", [("text", "a < b <3 "), ("other", "</ c>")], id="lt-as-text"
        ),
        pytest.param("x<a b", [("text", "x"), ("other", "<a b")], id="unterminated-tag-dropped"),
        pytest.param("x</a", [("text", "x"), ("other", "</a")], id="unterminated-end-tag"),
        pytest.param(
            '<p class=\'x\n<div a="b">',
            [("other", '<p class=\'x\n<div a="b">')],
            id="quote-never-closed-runs-to-the-end",  # even when the input ends in '>'
        ),
        pytest.param('<a b="c>', [("other", '<a b="c>')], id="double-quote-never-closed"),
        pytest.param(
            "<a b='c' d=\"e\">f",
            [("start", "<a b='c' d=\"e\">"), ("text", "f")],
            id="quotes-closed",
        ),
    ],
)
def test_tokens(source: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(source) == expected


@given(st.text(alphabet=st.sampled_from(list("<>!-/=\"' aAbpdiv[]{}\r\n?é")), max_size=200))
def test_tokens_concatenate_to_the_input(source: str) -> None:
    tokens = tokenize(source)
    assert "".join(t.text(source) for t in tokens) == source
    assert all(a.end == b.start for a, b in itertools.pairwise(tokens))


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("<a " + "b" * 200_000, id="long-name"),
        pytest.param("<a " * 50_000, id="nested-open-tags"),
        pytest.param('<a x="' * 50_000, id="open-quotes"),
        pytest.param("</a " * 50_000, id="end-tags"),
    ],
)
def test_pathological_unterminated_tags_are_one_token(source: str) -> None:
    # quadratic rescanning took ~30 s on the nested case before tags could end at EOF
    assert len(tokenize(source)) <= 2


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        pytest.param('<a href="#" class=x>', [("href", "#", '"'), ("class", "x", "")], id="mixed"),
        pytest.param("<A HREF='#'>", [("href", "#", "'")], id="upper"),
        pytest.param("<a download href>", [("download", None, ""), ("href", None, "")], id="bare"),
        pytest.param('<a href="1" href="2">', [("href", "1", '"')], id="repeat-ignored"),
        pytest.param(
            '<a style="x"data-msdyn-tracking-id="7">',
            [("style", "x", '"'), ("data-msdyn-tracking-id", "7", '"')],
            id="ms-defect",
        ),
    ],
)
def test_attributes(tag: str, expected: list[tuple[str, str | None, str]]) -> None:
    (token,) = tokenize(tag)
    attrs = StartTag(tag, token).attrs
    assert [(a.name, a.value, a.quote) for a in attrs] == expected
    for a in attrs:
        if a.value is not None:
            assert tag[a.value_start : a.value_end] == a.value


def test_comment_body() -> None:
    source = "x<!--{{#each a}}-->"
    (_, comment) = tokenize(source)
    lo, hi = comment_body(source, comment)
    assert source[lo:hi] == "{{#each a}}"
    assert comment.kind is Kind.COMMENT


@pytest.mark.parametrize(
    ("source", "offset", "position"),
    [
        pytest.param("a\nb", 2, (2, 1), id="lf"),
        pytest.param("a\r\nb", 3, (2, 1), id="crlf-one-break"),
        pytest.param("a\rb\nc", 4, (3, 1), id="cr"),
        pytest.param("abc", 2, (1, 3), id="col"),
    ],
)
def test_line_index(source: str, offset: int, position: tuple[int, int]) -> None:
    assert LineIndex(source).position(offset) == position


@given(st.text(alphabet="<>/!-ab= \"'p{}", max_size=60), st.integers(0, 8), st.integers(0, 70))
def test_compact_tokens_read_as_the_list_they_store(source: str, lo: int, hi: int) -> None:
    """``Tokens`` holds machine integers, not tuples; read back, by index, slice, range or
    iteration, it is the very list ``tokenize`` gives."""
    listed = tokenize(source)
    stored = Tokens(listed, len(source))
    assert list(stored) == listed and len(stored) == len(listed)
    assert stored[lo:hi] == listed[lo:hi]
    assert list(stored.between(min(lo, len(listed)), min(hi, len(listed)))) == listed[lo:hi]
    assert list(stored.starts) == [t.start for t in listed]
    assert stored.end == (listed[-1].end if listed else 0)
    for i in (0, -1, len(listed) // 2):
        if listed:
            assert stored[i] == listed[i] and type(stored[i]) is Token
    with pytest.raises(IndexError):
        stored[len(listed)]
