"""Safe mode: check the output with an independent reading before anything is written.

The locator is mailpatch's own tokenizer; the verifier reads input and output again with
libxml2 (lxml), a different parser, so a locator bug shows up as a mismatch instead of a
damaged email. Like black's safe mode, any failure means nothing is written.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import lxml.etree
import lxml.html

from mailpatch._html import Kind, LineIndex, tokenize
from mailpatch._link import PLACEHOLDER, DecodeError, decode_calendar_url, is_calendar_url
from mailpatch._patch import PatchOptions, PatchResult, normal_guid, patch

_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
_EVENT_IF = re.compile(r"\{\{~?#\s*if\s+\(\s*eq\s+this\.msevtmgt_eventid\s+['\"]([^'\"]*)['\"]")
_MARKER = re.compile(
    r"\{\{~?(?:(?P<each>#\s*each\s)|(?P<if>#\s*if\s)|(?P<else>\s*else\s*~?\}\})"
    r"|(?P<endif>/\s*if\s*~?\}\})|(?P<endeach>/\s*each\s*~?\}\}))"
)
_HUGE_HINT = re.compile(r",?\s*(?:use|try)\s+XML_PARSE_HUGE.*", re.S)
_HREF = re.compile(r"""\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


class VerifyError(Exception):
    """The output is not what mailpatch meant to write (an internal error: nothing is written)."""


class Unverifiable(VerifyError):
    """libxml2 cannot read the email whole (e.g. nesting deeper than it allows): the patch
    cannot be checked, so nothing is written -- a property of the file, not a mailpatch bug."""


def _block_type(el: Any) -> str:
    if not isinstance(el.tag, str):
        return ""
    for name, value in el.attrib.items():
        if name.lower() == "data-editorblocktype":
            return value.strip().lower()
    return ""


def _parse(text: str) -> Any:
    """The document as libxml2 reads it, or Unverifiable if libxml2 gives up part of it.

    Bytes with an explicit encoding, so an XHTML ``<?xml … encoding=…?>`` prolog is read too
    (lxml refuses str input that declares an encoding). ``huge_tree`` lifts libxml2's default
    limits (nesting depth 256, 10 MB text nodes), which would otherwise cut the tree short
    *silently*; past the remaining hard limits libxml2 logs a fatal error, and an email the
    verifier cannot read whole is not written.
    """
    if not text.strip():
        return None
    parser = lxml.html.HTMLParser(encoding="utf-8", huge_tree=True)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    for error in parser.error_log:
        if error.level == lxml.etree.ErrorLevels.FATAL:
            message = _HUGE_HINT.sub("", error.message.strip())  # an option users cannot set
            raise Unverifiable(f"libxml2 cannot read it whole: line {error.line}: {message}")
    return root


_DOCUMENT = frozenset({"html", "head", "body"})
_EDGE_SPACE = " \t\n\r\f"


def _skeleton(root: Any) -> list[tuple[Any, ...]]:
    """The document as events, every ERQRCode block dropped and every Button block emptied.

    Built by walking the tree (iteratively), never by editing it: lxml refuses to set text
    holding control characters that libxml2 itself read. Compared loosely where libxml2's
    reading depends on context a removed QR block can change: html/head/body are not
    positions (an implied body opens at the first content, and comments before it move
    outside <html>), and the whitespace at the edges of a text run is not compared (libxml2
    drops it at the start of a document). Those bytes are the input's anyway: step 1 checked
    every byte outside the edits.
    """
    if root is None:
        return []
    top = []
    node = root.getprevious()
    while node is not None:
        top.append(node)
        node = node.getprevious()
    top.reverse()
    node = root
    while node is not None:
        top.append(node)
        node = node.getnext()
    events: list[tuple[Any, ...]] = []
    pending: list[str] = []

    def emit(event: tuple[Any, ...]) -> None:
        text = "".join(pending).strip(_EDGE_SPACE)
        pending.clear()
        if text:
            events.append(("text", text))
        events.append(event)

    work: list[Any] = list(reversed(top))  # elements to visit, and ("end", element) markers
    while work:
        item = work.pop()
        if isinstance(item, tuple):
            if item[1].tag not in _DOCUMENT:
                emit(("end", item[1].tag))
            pending.append(item[1].tail or "")
            continue
        el = item
        if not isinstance(el.tag, str):  # a comment or processing instruction
            kind = "comment" if el.tag is lxml.etree.Comment else "pi"
            emit((kind, el.text or "", str(el) if kind == "pi" else ""))
            pending.append(el.tail or "")
            continue
        block = _block_type(el)
        if block == "erqrcode":
            pending.append(el.tail or "")  # the block goes, the text after it stays
            continue
        attrs = tuple(el.attrib.items())
        if el.tag not in _DOCUMENT:
            emit(("start", el.tag, attrs))
        elif attrs:
            emit(("attrs", el.tag, attrs))
        work.append(("end", el))
        if block != "button":  # a Button's content is the patch's to change
            pending.append(el.text or "")
            work.extend(reversed(list(el)))
    emit(("end-of-document",))
    return events


def _stream(el: Any) -> Iterator[tuple[str, str]]:
    """(kind, text) in document order below ``el``: text, comments, and link hrefs.

    Iterative (a stack of child iterators), so nesting as deep as libxml2 allows cannot hit
    Python's recursion limit.
    """
    if el.text and isinstance(el.tag, str):
        yield "text", el.text
    stack: list[tuple[Any, Iterator[Any]]] = [(None, iter(el))]
    while stack:
        parent, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if parent is not None and parent.tail:
                yield "text", parent.tail
            continue
        if child.tag is lxml.etree.Comment:
            body = child.text or ""
            yield "text", body
            for m in _HREF.finditer(body):  # VML links live inside MSO conditionals
                # comment text is raw markup: entities are still encoded
                yield "href", html.unescape(next(g for g in m.groups() if g is not None))
        elif isinstance(child.tag, str):
            if child.get("href") is not None:
                yield "href", child.get("href")
            if child.text:
                yield "text", child.text
            stack.append((child, iter(child)))
            continue  # its tail follows its content
        if child.tail:
            yield "text", child.tail


def _loop_sequence(button: Any) -> list[tuple[str, str]]:
    seq: list[tuple[str, str]] = []
    for kind, text in _stream(button):
        if kind == "href":
            seq.append(("link", text))
            continue
        for m in _MARKER.finditer(text):
            name = m.lastgroup or ""
            guid = ""
            if name == "if":
                ev = _EVENT_IF.match(text, m.start())
                guid = normal_guid(ev.group(1)) if ev else ""
            seq.append((name, guid))
    return seq


def _check_button(seq: list[tuple[str, str]], intended: dict[str, Any], where: str) -> str:
    names = [n for n, _ in seq if n != "link"]
    if names not in (
        ["each", "if", "endif", "endeach"],
        ["each", "if", "else", "endif", "endeach"],
    ):
        raise VerifyError(f"{where}: loop markers unbalanced or out of order: {names}")
    guid = next(g for n, g in seq if n == "if")
    if not guid:
        raise VerifyError(f"{where}: the loop's {{{{#if}}}} does not test an event GUID")
    inside = False
    links = 0
    for name, value in seq:
        if name == "if":
            inside = True
        elif name in ("else", "endif"):
            inside = False
        elif name == "link":
            if not inside:
                raise VerifyError(f"{where}: a link sits outside the loop's {{{{#if}}}} branch")
            links += 1
            if guid in intended:
                _check_link(value, intended[guid], where)
    if links == 0:
        raise VerifyError(f"{where}: no link inside the loop")
    return guid


def _check_link(url: str, intended: Any, where: str) -> None:
    if not is_calendar_url(url):
        raise VerifyError(f"{where}: a link in the loop is not the calendar link: {url[:80]!r}")
    try:
        decoded = decode_calendar_url(url)
    except (DecodeError, ValueError) as exc:
        raise VerifyError(f"{where}: the calendar link does not decode: {exc}") from None
    if decoded.data != intended:
        raise VerifyError(
            f"{where}: the calendar link decodes to {decoded.data!r}, not {intended!r}"
        )


def _check_before_html_end(before: str, result: PatchResult) -> None:
    """libxml2 drops everything after ``</html>``; browsers show it. An edit there cannot be
    checked, so it is Unverifiable, not a disagreement (the locator is right to see it)."""
    end = next((t for t in tokenize(before) if t.kind is Kind.END and t.name == "html"), None)
    if end is not None and result.edits[-1].end > end.start:
        raise Unverifiable(
            f"a block comes after the </html> at {LineIndex(before).label(end.start)}, and "
            "libxml2 drops all that follows </html>"
        )


def verify(before: str, result: PatchResult, options: PatchOptions) -> None:
    """Raise VerifyError unless ``result`` is a confined, balanced, decodable, stable patch."""
    if not result.changed:
        return
    after = result.text
    # 1. the splice really is the input with the recorded edits
    pos, pieces = 0, []
    for edit in result.edits:
        pieces += [before[pos : edit.start], edit.replacement]
        pos = edit.end
    if "".join([*pieces, before[pos:]]) != after:
        raise VerifyError("the output is not the input with the recorded edits")
    _check_before_html_end(before, result)
    before_root, after_root = _parse(before), _parse(after)
    # 2. no QR block left unless asked
    if after_root is not None and not options.keep_qr:
        left = [el for el in after_root.iter() if _block_type(el) == "erqrcode"]
        if left:
            raise VerifyError(f"{len(left)} ERQRCode block(s) left in the output")
    # 3. each Button with a loop: balanced, in order around its links; 4. links decode as meant
    intended = {normal_guid(p.guid): p.link.intended() for p in result.pairings if p.link}
    seen: set[str] = set()
    buttons = (
        []
        if after_root is None
        else [el for el in after_root.iter() if _block_type(el) == "button"]
    )
    for index, button in enumerate(buttons, 1):
        seq = _loop_sequence(button)
        if any(n == "if" and guid for n, guid in seq):  # an event loop (not any {{#each}})
            seen.add(_check_button(seq, intended, f"Button block #{index}"))
    missing = set(intended) - seen
    if missing:
        raise VerifyError(f"no Button carries the loop for event(s) {', '.join(sorted(missing))}")
    # 5. handlebars: nothing lost but the QR image's own, nothing added but link placeholders
    added = {"{{" + m.group(1) + "}}" for f in options.fields for m in PLACEHOLDER.finditer(f[1])}
    qr_img = (
        set()
        if before_root is None
        else {
            expr
            for block in before_root.iter()
            if _block_type(block) == "erqrcode"
            for img in block.iter("img")
            for value in img.attrib.values()
            for expr in _EXPRESSION.findall(value)
        }
    )
    had, has = set(_EXPRESSION.findall(before)), set(_EXPRESSION.findall(after))
    if not has - had <= added:
        raise VerifyError(f"handlebars expressions appeared: {sorted(has - had - added)}")
    if not had - has <= qr_img:
        raise VerifyError(f"handlebars expressions disappeared: {sorted(had - has)}")
    # 6. read by libxml2, nothing outside the QR and Button blocks differs
    if _skeleton(before_root) != _skeleton(after_root):
        raise VerifyError("content outside the ERQRCode and Button blocks changed")
    # 7. a second patch is a no-op
    if patch(after, options).changed:
        raise VerifyError("patching the output again would change it (not idempotent)")
