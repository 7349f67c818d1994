"""Safe mode: check the output with an independent reading before anything is written.

The locator is mailpatch's own tokenizer; the verifier reads the email again with libxml2
(lxml), a different parser, so a locator bug shows up as a mismatch instead of a damaged
email. Like black's safe mode, any failure means nothing is written.

``verify`` proves with one libxml2 parse what ``verify_full`` (two parses, two serialisations,
a second patch) shows by comparison. The output is the input with recorded edits: by
construction when patch() says it built that very text from that very input (see
``PatchResult._spliced_from``), else by a text comparison. Each edit is then tied to what
libxml2 reads, using comment sentinels written into the input at the edit's two ends:

* an ERQRCode edit must span exactly one element, sentinel / element / sentinel as siblings;
* a Button edit must span exactly a Button element's content, sentinels first and last child.

libxml2's tree builder carries its state in the stack of open elements (and an insertion
mode that only moves forward), so an element that opens and closes between two sibling
sentinels can be removed without changing how anything after it is read; a new Button
content is parsed inside a rebuild of the Button's own ancestors and must leave that stack as
it found it. The input is therefore parsed only up to its last edit -- past it, input and
output are the same bytes read from the same state -- unless the rest could hold an ERQRCode
block. The loop and links are read from libxml2's tree of the new content.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any

import lxml.etree

from mailpatch._blocks import CONDITIONAL, QR_HIT
from mailpatch._errors import MissingOption, Refusal
from mailpatch._handlebars import HB_COMMENT, MUSTACHE, closed_expressions, normal_guid
from mailpatch._html import (
    HTML_SPACE,
    Kind,
    LineIndex,
    comment_body,
    iter_tokens,
    malformed,
    tokenize,
    unescape,
)
from mailpatch._link import (
    PLACEHOLDER,
    CalendarLink,
    DecodeError,
    LinkError,
    decode_calendar_url,
    is_calendar_url,
    normalize_endpoint,
)
from mailpatch._patch import Edit, EditKind, PatchOptions, PatchResult, patch
from mailpatch._regex import lazy
from mailpatch._survey import HitKind, Survey, survey_of

_EVENT_IF = lazy(
    r"\{\{~?#\s*if\s+\(\s*eq\s+(?:(?:this\.)?msevtmgt_eventid\s+['\"]([^'\"]*)['\"]"
    r"|['\"]([^'\"]*)['\"]\s+(?:this\.)?msevtmgt_eventid)"
)
# the loop as the patch writes it: [{{else}}] in the {{#if}}, [{{else}}] on the {{#each}}
_LOOPS = (
    ["each", "if", "endif", "endeach"],
    ["each", "if", "else", "endif", "endeach"],
    ["each", "if", "endif", "else", "endeach"],
    ["each", "if", "else", "endif", "else", "endeach"],
)
_MARKER = lazy(
    r"\{\{~?(?:(?P<each>#\s*each\s)|(?P<if>#\s*if\s)|(?P<else>\s*else\b|\^\s*~?\}\})"
    r"|(?P<endif>/\s*if\s*~?\}\})|(?P<endeach>/\s*each\s*~?\}\})|(?P<other>[#^/]))"
)


_HUGE_HINT = lazy(r",?\s*(?:use|try)\s+XML_PARSE_HUGE.*", re.S)


class VerifyError(Exception):
    """The output is not what mailpatch meant to write (an internal error: nothing is written)."""


class Unverifiable(VerifyError):
    """libxml2 cannot read the email whole (e.g. nesting deeper than it allows, or a block after
    ``</html>``, which it drops): the patch cannot be checked, so nothing is written -- a
    property of the file, not a mailpatch bug."""


def _block_type(el: Any) -> str:
    if not isinstance(el.tag, str):
        return ""
    for name in el.attrib:  # (names, then one get: lxml's attrib.items() is quadratic)
        if name.lower() == "data-editorblocktype":
            return str(el.get(name)).strip().lower()
    return ""


def _blocks_of(root: Any, kind: str) -> list[Any]:
    return [] if root is None else [el for el in _everything(root) if _block_type(el) == kind]


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
    import lxml.html  # only the reference check parses whole documents

    parser = lxml.html.HTMLParser(encoding="utf-8", huge_tree=True)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    _check_read_whole(parser)
    return root


def _check_read_whole(parser: Any) -> None:
    """Unverifiable if libxml2 gave up part of what ``parser`` last read (a fatal error)."""
    for error in parser.error_log:
        if error.level == lxml.etree.ErrorLevels.FATAL:
            message = _HUGE_HINT.sub("", error.message.strip())  # an option users cannot set
            raise Unverifiable(f"libxml2 cannot read it whole: line {error.line}: {message}")


def _everything(root: Any) -> list[Any]:
    """Every element, including those libxml2 puts in a second root after a stray </html>."""
    return [el for top in (root, *root.itersiblings()) for el in top.iter()]


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
            for href in _comment_links(body):  # VML links live inside MSO conditionals
                yield "href", href
        elif isinstance(child.tag, str):
            # a link is an <a> (an href on '<aa …>' is none, to browsers or the locator);
            # in an Outlook conditional, any VML shape's href (above)
            if child.tag == "a" and child.get("href") is not None:
                yield "href", child.get("href")
            if child.text:
                yield "text", child.text
            stack.append((child, iter(child)))
            continue  # its tail follows its content
        if child.tail:
            yield "text", child.tail


def _comment_links(body: str) -> list[str]:
    """The hrefs of the tags in a comment's text (an Outlook conditional holds VML markup), as
    libxml2 reads that text as HTML: quoted values hold what they hold (a 'title=" href=x"'
    is no link), entities are decoded, and an href in prose is none.

    A link the locator rewrote there must be seen here: if the text looks as if it holds an
    href attribute and libxml2 reads none (a '<plaintext>' before it, limits), or libxml2 gives
    up, that is no proof, and the patch is not verified."""
    if not CONDITIONAL.match(body) or "href" not in body.lower():
        return []  # a comment that is no Outlook conditional holds no live link
    root = _read(f"<div>{body}</div>".encode("utf-8", "surrogatepass"))
    links = [] if root is None else [el.get("href") for el in root.iter() if _has_href(el)]
    if root is None or (not links and _HREF_ATTRIBUTE.search(body)):
        raise Unverifiable("libxml2 cannot read the links in an Outlook conditional comment")
    return links


def _has_href(el: Any) -> bool:
    return isinstance(el.tag, str) and el.get("href") is not None


# what an href attribute in a tag looks like (only to notice links libxml2 did not read)
_HREF_ATTRIBUTE = lazy(r"<[^>]*\shref\s*=", re.I)


def _loop_sequence(button: Any) -> list[tuple[str, str]]:
    seq: list[tuple[str, str]] = []
    for kind, text in _stream(button):
        if kind == "href":
            seq.append(("link", text))
            continue
        if "{{" not in text:  # most of a Button's text: no marker, no comment
            continue
        text = HB_COMMENT.sub("", text)  # '{{!-- … --}}' is text to Handlebars
        for m in _MARKER.finditer(text):
            name = m.lastgroup or ""
            guid = ""
            if name == "if":
                ev = _EVENT_IF.match(text, m.start())
                guid = normal_guid(ev.group(1) or ev.group(2)) if ev else ""
            seq.append((name, guid))
    return seq


def _check_button(seq: list[tuple[str, str]], intended: dict[str, Any], where: str) -> str:
    names = [n for n, _ in seq if n != "link"]
    if names not in _LOOPS:
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


def _check_edits_apart(edits: Sequence[Edit]) -> None:
    """The recorded edits are in order and do not overlap."""
    pos = 0
    for edit in edits:
        if edit.start < pos or edit.end < edit.start:
            raise VerifyError("the recorded edits overlap")
        pos = edit.end


def _check_splice(before: str, after: str, edits: Sequence[Edit]) -> None:
    """The output really is the input with the recorded edits, in order, not overlapping
    (compared piece by piece, without building a copy)."""
    _check_edits_apart(edits)
    pos = out = 0
    same = len(after) == len(before) + sum(len(e.replacement) - e.end + e.start for e in edits)
    for edit in edits:
        for piece in (before[pos : edit.start], edit.replacement):
            same = same and after.startswith(piece, out)
            out += len(piece)
        pos = edit.end
    if not (same and after.startswith(before[pos:], out)):
        raise VerifyError("the output is not the input with the recorded edits")


def _check_loops(buttons: list[Any], result: PatchResult, event_loops_only: bool) -> None:
    """Each Button's loop balanced and in order around its links, every link decoding to its
    pairing's object, and a loop for every event patched. ``event_loops_only`` judges only
    Buttons whose ``{{#if}}`` tests an event (a whole document holds Buttons the patch did
    not write); otherwise any marker makes a Button a loop to judge."""
    intended = {normal_guid(p.guid): p.link for p in result.pairings if p.link}
    if event_loops_only:  # the whole document: the Buttons whose stale links were updated too
        intended.update({normal_guid(u.guid): u.link for u in result.updates})
    seen: set[str] = set()
    for index, button in enumerate(buttons, 1):
        seq = _loop_sequence(button)
        if event_loops_only:
            judged = any(n == "if" and guid for n, guid in seq)
        else:
            judged = any(n != "link" for n, _ in seq)
        if judged:
            seen.add(_check_button(seq, intended, f"Button block #{index}"))
    missing = set(intended) - seen
    if missing:
        raise VerifyError(f"no Button carries the loop for event(s) {', '.join(sorted(missing))}")


def _check_expressions(
    had: set[str], after: str, options: PatchOptions, before: str, edits: Sequence[Edit]
) -> None:
    """Handlebars: nothing lost but a removed QR block's own, nothing added but link
    placeholders. ``had`` holds the input's expressions."""
    added = {"{{" + m.group(1) + "}}" for f in options.fields for m in PLACEHOLDER.finditer(f[1])}
    # the QR image's expressions go with the removed block (all of them: libxml2 keeps only the
    # first of two same-named attributes, so its tree cannot say which); the rest of the
    # block's content moves into the Button and stays
    qr_img = {
        expr
        for edit in edits
        if edit.what in (EditKind.QR, EditKind.LINK)  # (a stale link's placeholders go with it)
        for expr in closed_expressions(before, edit.start, edit.end)
    }
    has = set(closed_expressions(after))  # (linear where unclosed '{{' abound)
    if not has - had <= added:
        raise VerifyError(f"handlebars expressions appeared: {sorted(has - had - added)}")
    if not had - has <= qr_img:
        raise VerifyError(f"handlebars expressions disappeared: {sorted(had - has)}")


def _expressions_kept_where_edited(
    before: str, edits: Sequence[Edit], options: PatchOptions, survey: Survey
) -> bool:
    """True when the edited spans alone prove what ``_check_expressions`` checks of the whole
    texts; False when they do not (the whole check then decides).

    Handlebars reads expressions from left to right, each from '{{' to its first '}}'. When
    every edit starts and ends between two of the input's expressions, each replacement's
    expressions are closed inside it, and no edit puts a '{' beside a '{', the output reads
    the input's expressions outside the edits exactly as the input does. The texts' sets then
    differ by no more than the edited spans' sets (all of them together: the loop moves from
    one to another) do: what those lost may only be the QR image's, what they gained only the
    link's placeholders."""
    spans = survey.mustaches
    had: set[str] = set()  # what the edited spans hold in the input
    has: set[str] = set()  # and in the output
    qr_img: set[str] = set()  # what a removed block (or a stale link) had: it may go
    for edit in edits:
        new = edit.replacement
        if spans.around(edit.start) >= 0 or spans.around(edit.end) >= 0:
            return False
        ahead = before[edit.start - 1 : edit.start] if edit.start else ""
        behind = before[edit.end : edit.end + 1]
        if "{{" in (ahead + (new[:1] or behind), (new[-1:] or ahead) + behind):
            return False  # a '{{' made where the edit joins the text
        if not all(map(_closed, MUSTACHE.findall(new))):
            return False  # one would run on into the text after the edit
        old = set(closed_expressions(before, edit.start, edit.end))
        had |= old
        has.update(closed_expressions(new))
        if edit.what in (EditKind.QR, EditKind.LINK):
            qr_img |= old
    added = {"{{" + m.group(1) + "}}" for f in options.fields for m in PLACEHOLDER.finditer(f[1])}
    return has - had <= added and had - has <= qr_img


_LONG_COMMENT = lazy(r"\{\{~?!--")


def _closed(expression: str) -> bool:
    """Whether a whole-text match of MUSTACHE ends as Handlebars closes it, not at the end."""
    if _LONG_COMMENT.match(expression):
        return HB_COMMENT.fullmatch(expression) is not None
    return expression.endswith("}}")


# A batch writes the same few links into every email: decode each once, and build each
# link's intended object once (only read, never changed: the two are compared and dropped)
_decoded = functools.lru_cache(maxsize=256)(decode_calendar_url)
_intended = functools.lru_cache(maxsize=256)(CalendarLink.intended)


@functools.lru_cache(maxsize=64)
def _host_problem(host: str) -> str | None:
    """Why ``host`` is not an Events API host as normalize_endpoint writes one, or None."""
    try:
        normal = normalize_endpoint(host)
    except LinkError as exc:
        return str(exc)
    return None if normal == host else f"it is written {normal!r}"


def _check_link(url: str, link: CalendarLink, where: str) -> None:
    """The link decodes to the object meant, and is written exactly as built (a second
    patch judges links as written: anything else would be stale to it)."""
    intended = _intended(link)
    problem = _host_problem(link.host)
    if problem is not None:
        raise VerifyError(f"{where}: {link.host!r} is not an Events API host: {problem}")
    if not is_calendar_url(url):
        raise VerifyError(f"{where}: a link in the loop is not the calendar link: {url[:80]!r}")
    try:
        decoded = _decoded(url)
    except (DecodeError, ValueError) as exc:
        raise VerifyError(f"{where}: the calendar link does not decode: {exc}") from None
    if decoded.data != intended:
        raise VerifyError(
            f"{where}: the calendar link decodes to {decoded.data!r}, not {intended!r}"
        )
    if url != link.url():  # the host, the version, a byte before 'https:'
        raise VerifyError(f"{where}: the calendar link is not the one built: {url[:80]!r}")


def verify_full(before: str, result: PatchResult, options: PatchOptions) -> None:
    """The reference check: parse input and output whole, compare them outside the blocks,
    patch again. Slower; ``verify`` falls back to it where its sentinel proof cannot be made."""

    if not result.changed:
        return
    after = result.text
    # 1. the edits, as text: spliced into the input, each inside its own block, before
    #    </html>, each Button's new content read by libxml2 as it is written
    _check_splice(before, after, result.edits)
    if not all(_allowed(before, e) for e in result.edits):  # (a text-level check: no parser)
        raise VerifyError("content outside the ERQRCode and Button blocks changed")
    _check_before_html_end(before, result)
    for i, edit in enumerate(result.edits):
        if edit.what is EditKind.BUTTON:
            _check_parses_as_written(edit, f"Button block #{i}")
    before_root, after_root = _parse(before), _parse(after)
    # 2. no QR block left unless asked
    if not options.keep_qr:
        left = _blocks_of(after_root, "erqrcode")
        if left:
            raise VerifyError(f"{len(left)} ERQRCode block(s) left in the output")
    # 3. each Button with an event loop: balanced, in order around its links, decoding as meant
    _check_loops(_blocks_of(after_root, "button"), result, event_loops_only=True)
    # 4. handlebars: nothing lost but the QR image's own, nothing added but link placeholders
    had = survey_of(before, result._survey).expressions()
    _check_expressions(had, after, options, before, result.edits)
    # 5. read by libxml2, nothing outside the QR and Button blocks differs
    if _skeleton(before_root) != _skeleton(after_root):
        raise VerifyError("content outside the ERQRCode and Button blocks changed")
    # 6. a second patch is a no-op
    if patch(after, options).changed:
        raise VerifyError("patching the output again would change it (not idempotent)")


# "https:" not followed by "/", the link a scheme edit fixes (found from its ':', a literal)
_SLASHLESS = lazy(r":(?!/)(?<=[sS]:)(?<=(?i:https:))")
# libxml2 reading UTF-8 bytes: told the encoding, a <meta charset> in the email cannot switch it
# huge_tree lifts libxml2's default limits (nesting depth 256, 10 MB text nodes), which would
# otherwise cut the tree short silently; past the hard limits it logs a fatal error (_read).
_PARSER = lxml.etree.HTMLParser(encoding="utf-8", huge_tree=True)
# libxml2 lowers attribute names (ASCII, as browsers do), so this finds every block element
_BLOCKS = "//*[@data-editorblocktype]"


def _joins(left: str, right: str) -> bool:
    """Whether an HTML tokenizer reads what ends in character ``left`` the same whether
    character ``right`` or a '<' follows it. '>' ends every construct; '<' or whitespace ends a
    pending '&name' or '<' alike; an unfinished tag or comment instead swallows the sentinel
    placed there, which the checks below notice. Empty: an end of the text."""
    return not left or not right or left in _ENDS or right in _ENDS or right == "<"


_ENDS = frozenset(HTML_SPACE + ">")  # '>' and the HTML space characters


def _clean_cuts(before: str, edit: Edit) -> bool:
    """Both ends of the edit, and both junctions it makes, fall between tokens."""
    lo, hi, new = edit.start, edit.end, edit.replacement
    prev, nxt = before[lo - 1 : lo] if lo else "", before[hi : hi + 1]
    return (
        _joins(prev, before[lo : lo + 1])
        and _joins(before[hi - 1 : hi] if hi else "", nxt)
        and _joins(prev, new[:1] or nxt)
        and _joins(new[-1:] or prev, nxt)
    )


def _sentinel_name(before: str, end: int, edits: Sequence[Edit]) -> str:
    """A comment text that nothing libxml2 reads holds already."""
    name = "mailpatch-verify"
    while before.find(name, 0, end) >= 0 or any(name in e.replacement for e in edits):
        name += "x"
    return name


_ELEMENT_START = lazy(r"<[A-Za-z]")
_IN_TAG = frozenset({EditKind.SCHEME, EditKind.LINK})  # edits inside a tag's attribute value


def _marked(before: str, edits: Sequence[Edit], name: str, end: int) -> bytes:
    """The input up to ``end`` with a comment before and after each block edit, and a plain
    marker where a scheme edit inserts its "//" (inside an attribute value: no comment there)."""
    pieces: list[str] = []
    first = next((e for e in edits if e.what not in _IN_TAG), None)
    if first is not None and not _ELEMENT_START.search(before, 0, first.start):
        # libxml2 puts a comment that comes before every element outside <html>, away from
        # the block it marks: open the body with an empty element first
        pieces.append(f"<{name}-body></{name}-body>")
    pos = 0
    for i, edit in enumerate(edits):
        if edit.what is EditKind.SCHEME:
            pieces += [before[pos : edit.start], f"{name}:{i}s"]
        elif edit.what is EditKind.LINK:  # around the old href value, to find it whole
            pieces += [before[pos : edit.start], f"{name}:{i}la"]
            pieces += [before[edit.start : edit.end], f"{name}:{i}lb"]
        else:
            pieces += [before[pos : edit.start], f"<!--{name}:{i}a-->"]
            pieces += [before[edit.start : edit.end], f"<!--{name}:{i}b-->"]
        pos = edit.end
    pieces.append(before[pos:end])
    return "".join(pieces).encode("utf-8")


def _read(data: bytes) -> Any:
    """libxml2's reading of ``data``, None if it reads nothing; Unverifiable if it gives part
    of it up."""
    try:
        root = lxml.etree.fromstring(data, _PARSER)
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError):
        return None
    _check_read_whole(_PARSER)
    return root


_HTML_END = lazy(r"</html[\s/>]", re.I)


def _check_before_html_end(before: str, result: PatchResult) -> None:
    """libxml2 drops everything after ``</html>``; browsers show it. An edit there cannot be
    checked, so it is Unverifiable, not a disagreement (the locator is right to see it)."""
    # searched only as far as an '</html>' starting before the last edit's end could reach:
    # one further on cannot have an edit after it
    first = _HTML_END.search(before, 0, result.edits[-1].end + len("</html>"))
    if first is None:  # the common case: no tokenizing
        return
    end = next((t for t in tokenize(before) if t.kind is Kind.END and t.name == "html"), None)
    if end is not None and result.edits[-1].end > end.start:
        raise Unverifiable(
            f"a block comes after the </html> at {LineIndex(before).label(end.start)}, and "
            "libxml2 drops all that follows </html>"
        )


def _sentinels(root: Any, name: str) -> dict[str, Any]:
    """The sentinel comments by key (iterating comments in C beats an XPath walk, and a
    union with another query makes libxml2 sort the lot)."""
    found: dict[str, Any] = {}
    prefix = name + ":"
    for top in (*root.itersiblings(preceding=True), root, *root.itersiblings()):
        comments = [top] if top.tag is lxml.etree.Comment else top.iter(lxml.etree.Comment)
        for node in comments:
            text = node.text or ""
            if text.startswith(prefix):
                key = text[len(prefix) :]
                found[key] = None if key in found else node  # twice: not ours to trust
    return found


def _is_qr_element(a: Any, b: Any) -> Any:
    """The element between sentinels ``a`` and ``b`` if it is exactly one ERQRCode element."""
    el = a.getnext()
    if (
        a.getparent() is None
        or el is None
        or _block_type(el) != "erqrcode"
        or el.getnext() is not b
        or a.tail
        or el.tail
    ):
        return None
    return el


def _is_button_content(a: Any, b: Any) -> Any:
    """The Button element whose whole content lies between sentinels ``a`` and ``b``."""
    button = a.getparent()
    if (
        button is None
        or _block_type(button) != "button"
        or button.text
        or button[0] is not a
        or b.getparent() is not button
        or button[-1] is not b
        or b.tail
    ):
        return None
    return button


# a parent element met in the input -> the tag names from the root down to it, and their start
# tags written without attributes (see _rebuild)
_Chains = dict[Any, tuple[list[str], str]]


def _rebuild(
    element: Any, content: str, name: str, own: bool, chains: _Chains | None = None
) -> Any:
    """libxml2's reading of ``content`` inside a rebuild of ``element``'s ancestors (and of
    ``element`` itself when ``own``), followed by an end sentinel; that sentinel, or None.

    The rebuilt start tags carry no attributes (the Button's own only its block type), so an
    attribute found on them afterwards is the content's doing. After the sentinel, ``</body>``
    and a probe: libxml2 ignores that end tag while it still owes one to a discarded stray
    <html>, <head> or <body> tag in ``content`` -- state beyond the open elements -- and the
    probe then stays inside the block instead of following the body.

    ``chains`` keeps the tag names above each parent met, for the next edit beside it: blocks
    deep in the tree, each rebuilt, were each walked up from anew.
    """
    above, opening = _chain(element.getparent(), {} if chains is None else chains)
    tags = [*above, element.tag] if own else above
    if own:  # (the element's own tag alone carries an attribute)
        opening += f'<{element.tag} data-editorblocktype="button">'
    window = f"{opening}{content}<!--{name}:end--></body><!--{name}:probe-->"
    root = _read(window.encode("utf-8"))
    marks = {} if root is None else _sentinels(root, name)
    end, probe = marks.get("end"), marks.get("probe")
    if end is None or probe is None:
        return None
    parent = end.getparent()
    # one walk up, keeping no element: a block deep in the tree has thousands of ancestors,
    # and a list of their proxies cost ten times the walk
    rebuilt: list[str] = []
    attributed = 0  # rebuilt tags with attributes: none, but the Button's own when ``own``
    top = None
    for el in end.iterancestors():
        rebuilt.append(el.tag)
        if el.attrib:
            attributed += 1
        top = el
    rebuilt.reverse()
    if (
        rebuilt != tags
        or end.tail
        or probe.getparent() is not top
        or attributed != (1 if own else 0)
        or (own and dict(parent.attrib) != {"data-editorblocktype": "button"})
    ):
        return None
    return end


def _chain(parent: Any, chains: _Chains) -> tuple[list[str], str]:
    """The tag names from the root down to ``parent`` (none for None), and their start tags
    without attributes, remembered in ``chains`` for each parent asked about."""
    if parent is None:
        return [], ""
    known = chains.get(parent)
    if known is None:
        tags = [el.tag for el in parent.iterancestors()]
        tags.reverse()
        tags.append(parent.tag)
        known = chains[parent] = tags, "".join(f"<{tag}>" for tag in tags)
    return known


def _allowed(before: str, edit: Edit) -> bool:
    """An edit of a kind mailpatch makes: a QR block removed, a Button's content replaced, or
    the "//" of a calendar link's ``https:HOST`` (lint MP101) inserted."""
    if edit.what is EditKind.QR:
        return not edit.replacement
    if edit.what is EditKind.SCHEME:
        return (
            edit.replacement == "//"
            and edit.start == edit.end
            and before[edit.start - 6 : edit.start].lower() == "https:"
            and before[edit.start : edit.start + 1] != "/"
        )
    if edit.what is EditKind.LINK:  # an href value, quoted so that nothing can end it early
        return _LINK_VALUE.fullmatch(edit.replacement) is not None
    return edit.what is EditKind.BUTTON


# a written calendar href: no quote, space, '<', '>' or backtick, in quotes or bare
_LINK_VALUE = lazy(r"\"?(?P<value>[^\s\"'<>`]+)\"?")


def _check_schemes(root: Any, name: str, edits: Sequence[Edit]) -> None:
    """Each "//" lands in the href of a link in a Button block, as libxml2 reads it (its
    marker inside an element's href, or inside a tag's href in a comment there), and every
    calendar link of that Button is then https://HOST/…"""
    wanted = {f"{name}:{i}s" for i, e in enumerate(edits) if e.what is EditKind.SCHEME}
    if not wanted:
        return
    marker = lazy(re.escape(name) + r":\d+s")  # each node's markers found at once
    found: dict[str, Any] = {}
    for node in root.xpath("//@*[contains(., $m)] | //comment()[contains(., $m)]", m=name):
        attribute = getattr(node, "is_attribute", False)
        text = str(node) if attribute else (node.text or "")
        for m in dict.fromkeys(marker.findall(text)):
            if m not in wanted:
                continue
            owner = node.getparent() if attribute else node
            if owner is None or m in found or (attribute and node.attrname != "href"):
                raise VerifyError("a calendar link's // would land outside a link")
            found[m] = owner
    if set(found) != wanted:
        raise VerifyError("a calendar link's // would land outside a link")
    buttons: dict[Any, None] = {}  # each Button once, however many of its links were fixed
    for owner in found.values():
        button = next(
            (el for el in (owner, *owner.iterancestors()) if _block_type(el) == "button"), None
        )
        if button is None:
            raise VerifyError("a calendar link's // would land outside a Button block")
        buttons[button] = None
    for button in buttons:
        for kind, url in _stream(button):
            url = re.sub(re.escape(name) + r":\d+s", "//", url)
            if kind == "href" and is_calendar_url(url) and url[:8].lower() != "https://":
                raise VerifyError("a calendar link is still not https://HOST/…")


def _check_parses_as_written(edit: Edit, where: str) -> None:
    """The Button's own content, put where the QR image was, must be read there as it is
    written: a block element put into a <p> makes browsers (and libxml2) close the paragraph
    early and add an empty one after, a link put into a link ends the first. Of two markers
    around the inserted span, the second must still be inside the first one's parent: an
    element of the span that closed an enclosing element leaves it outside. (An element the
    span leaves open holds the second marker deeper, as it does in browsers: harmless.)"""
    if edit.inserted is None:
        return
    a, b = edit.inserted
    content = edit.replacement
    name = _sentinel_name(content, len(content), ())
    marked = f"{content[:a]}<{name}-a></{name}-a>{content[a:b]}<{name}-b></{name}-b>{content[b:]}"
    window = f'<html><body><div data-editorblocktype="button">{marked}</div></body></html>'
    root = _read(window.encode("utf-8", "surrogatepass"))
    first = None if root is None else root.find(f".//{name}-a")
    last = None if root is None else root.find(f".//{name}-b")
    parent = None if first is None else first.getparent()
    if (
        last is None
        or parent is None
        or not (last.getparent() is parent or any(el is parent for el in last.iterancestors()))
    ):
        raise VerifyError(
            f"{where}: the button does not sit where it is written (a block element inside "
            "a <p>, or a link inside a link?)"
        )


def _check_relinks(root: Any, name: str, result: PatchResult) -> None:
    """Each stale link written anew replaces a whole href value, as libxml2 reads it, of a
    link inside the {{#if}} branch of a Button's event loop, and decodes to the link meant
    for that loop's event (host, api-version and data)."""
    edits = result.edits
    wanted = {i for i, e in enumerate(edits) if e.what is EditKind.LINK}
    if not wanted:
        return
    links = {normal_guid(u.guid): u.link for u in result.updates}
    # every node holding a link's start marker, found with one query (one a link was a walk
    # of the whole tree for each: 2,000 stale links took 13 s)
    holding: dict[int, list[Any]] = {}
    marker = lazy(re.escape(name) + r":(\d+)la")
    for node in root.xpath("//@*[contains(., $m)] | //comment()[contains(., $m)]", m=name + ":"):
        text = str(node) if getattr(node, "is_attribute", False) else (node.text or "")
        for i in dict.fromkeys(int(found) for found in marker.findall(text)):
            holding.setdefault(i, []).append(node)
    seen: set[int] = set()
    for i in sorted(wanted):
        a, b = f"{name}:{i}la", f"{name}:{i}lb"
        nodes = holding.get(i, [])
        if len(nodes) != 1:
            raise VerifyError("a calendar link written anew is not one link to libxml2")
        node = nodes[0]
        attribute = getattr(node, "is_attribute", False)
        values = [str(node)] if attribute else _comment_links(node.text or "")
        owner = node.getparent() if attribute else node
        if attribute and (node.attrname != "href" or owner.tag != "a"):
            raise VerifyError("a calendar link written anew lands outside a link")
        if [v for v in values if v.startswith(a) and v.endswith(b)] == [] or any(
            a in v and not (v.startswith(a) and v.endswith(b)) for v in values
        ):
            raise VerifyError("a calendar link written anew is not a whole href value")
        button = next((el for el in owner.iterancestors() if _block_type(el) == "button"), None)
        if button is None:
            raise VerifyError("a calendar link written anew lands outside a Button block")
        # a whole loop with every link in its {{#if}} (links judged below, once unmarked)
        guid = _check_button(_loop_sequence(button), {}, "a calendar link written anew")
        if guid not in links:
            raise VerifyError("a calendar link written anew is in another event's loop")
        match = _LINK_VALUE.fullmatch(edits[i].replacement)
        assert match is not None  # _allowed saw to it
        url = unescape(match.group("value"))
        _check_link(url, links[guid], "a calendar link written anew")
        seen.add(i)
    if seen != wanted:
        raise VerifyError("a calendar link written anew was not found")


def settled(
    text: str, options: PatchOptions, may_have_qr: bool = True, relinked: bool = True
) -> bool:
    """True when patching ``text`` again would change nothing (what a second patch reads).

    ``may_have_qr=False`` says no ERQRCode block can be in ``text`` (no QR_HIT), and
    ``relinked=False`` that no calendar link was written anew. Then, unless the QR blocks were
    kept or some ``https:`` lacks its "//", patch() returns it as it is (links it wrote are
    not stale to the same settings: the verifier checked each decodes as meant)."""
    may_fix = _SLASHLESS.search(text) is not None
    if (
        not options.keep_qr
        and not may_fix
        and not relinked
        and not (may_have_qr and QR_HIT.search(text))
    ):
        return True
    try:
        return not patch(text, options).changed
    except (Refusal, MissingOption):
        return False


def _qr_hits(survey: Survey, edits: Sequence[Edit]) -> tuple[bool, bool, bool]:
    """Where the input's hits say an ERQRCode block could be, as the edits leave it:

    * ``rest``: after the last edit (to the locator, or to libxml2 through an entity);
    * ``kept``: anywhere but in a removed ERQRCode block, to either reader;
    * ``output``: a QR_HIT in the output, outside the removed blocks or in new content.

    A hit outside every removed block stays (a Button's old content is moved into its new
    one, so it counts as staying); hits in new content are new. (A hit cannot form
    across a junction inside a tag: _clean_cuts and the sentinels see to that; one in text is
    no block to the locator.)"""
    last = edits[-1].end
    rest = kept = output = False
    removed = [(e.start, e.end) for e in edits if e.what is EditKind.QR]  # a Button's content moves
    for at, kind in survey.hits:
        if kind is not HitKind.QR and kind is not HitKind.ENTITY:
            continue
        rest = rest or at >= last
        i = bisect.bisect_right(removed, (at, len(survey.text))) - 1
        if i < 0 or not removed[i][0] <= at < removed[i][1]:
            kept = True
            output = output or kind is HitKind.QR
    output = output or any(QR_HIT.search(e.replacement) for e in edits)
    return rest, kept, output


def verify(before: str, result: PatchResult, options: PatchOptions) -> None:
    """Raise VerifyError unless ``result`` is a confined, balanced, decodable, stable patch."""
    try:
        _verify_fast(before, result, options)
    except Unverifiable:
        raise
    except VerifyError:
        # Where libxml2 and the HTML5 tokenizer read a block's edge differently (an abrupt
        # '<!-->' comment, say), the sentinel proof cannot be made: compare the two whole
        # readings instead, which judges the same bytes by the same parser on both sides.
        try:
            verify_full(before, result, options)
        except Unverifiable:
            raise
        except VerifyError:
            _check_tags_whole(before, result)  # the file's markup, or else mailpatch's bug
            raise


def _check_tags_whole(before: str, result: PatchResult) -> None:
    """Raise Unverifiable if a start tag before the last edit is malformed in a way browsers
    and libxml2 recover from differently (a quote left open, a '>' or a space left out): the
    two readings a patch is checked against then disagree for a reason in the file, not in
    mailpatch."""
    for tok in _tags_and_conditionals(before, 0, result.edits[-1].end):
        problem = malformed(before, tok) if tok.kind is Kind.START else ""
        if problem:
            raise Unverifiable(
                f"the <{tok.name[:24]}> tag at {LineIndex(before).label(tok.start)} {problem}: "
                "a quote, a '>' or a space left out? Browsers and libxml2 read it differently"
            )


def _tags_and_conditionals(source: str, start: int, end: int) -> Iterator[Any]:
    """The tokens that start in ``source[start:end]`` (whole, even the last), and those of
    the markup inside each Outlook conditional comment (which Outlook reads as HTML)."""
    for tok in iter_tokens(source, start):
        if tok.start >= end:
            return
        yield tok
        if tok.kind is Kind.COMMENT:
            lo, hi = comment_body(source, tok)
            if CONDITIONAL.match(source, lo, hi):
                yield from iter_tokens(source, lo, hi)


def _verify_fast(before: str, result: PatchResult, options: PatchOptions) -> None:
    """One partial libxml2 parse with sentinels (see the module docstring), in named steps."""
    if not result.changed:
        return
    _check_edits_made_the_text(before, result)
    survey = survey_of(before, result._survey)
    rest_may_hold_qr, kept_may_hold_qr, output_may_hold_qr = _qr_hits(survey, result.edits)
    root, removed, buttons = _check_edited_spans(before, result, options, rest_may_hold_qr)
    if not options.keep_qr and kept_may_hold_qr:
        _check_no_qr_block_left(root, removed)
    # each new Button content: balanced loop around its links, links decode as meant
    _check_loops(buttons, result, event_loops_only=False)
    # handlebars: nothing lost but the QR image's own, nothing added but link placeholders
    if not _expressions_kept_where_edited(before, result.edits, options, survey):
        _check_expressions(survey.expressions(), result.text, options, before, result.edits)
    if not settled(result.text, options, output_may_hold_qr, relinked=bool(result.updates)):
        raise VerifyError("patching the output again would change it (not idempotent)")


def _check_edits_made_the_text(before: str, result: PatchResult) -> None:
    """The output is the input with the edits applied; each edit is of a kind mailpatch
    makes, and cuts no token in two."""
    edits = result.edits
    if result._spliced_from(before):  # patch() built the text from them: only their order
        _check_edits_apart(edits)
    else:
        _check_splice(before, result.text, edits)
    if not all(_allowed(before, e) for e in edits):
        raise VerifyError("content outside the ERQRCode and Button blocks changed")
    if not all(e.what in _IN_TAG or _clean_cuts(before, e) for e in edits):
        raise VerifyError(
            "content outside the ERQRCode and Button blocks changed: an edit cuts a token"
        )
    _check_before_html_end(before, result)


def _check_edited_spans(
    before: str, result: PatchResult, options: PatchOptions, rest_may_hold_qr: bool
) -> tuple[Any, list[Any], list[Any]]:
    """libxml2 agrees on every edited span (see the module docstring): each removed span is
    an ERQRCode element, each replaced one a Button's content, each in-tag edit inside its
    href. Returns libxml2's reading of the input, the QR elements removed and the new Button
    elements."""
    edits = result.edits
    # past the last edit input and output are the same: read it only if it could hold a QR
    # block (a scheme edit sits inside a tag, so its tag must be read to its end: all of it)
    whole = rest_may_hold_qr or any(e.what in _IN_TAG for e in edits)
    end = len(before) if whole else edits[-1].end
    name = _sentinel_name(before, end, edits)
    root = _read(_marked(before, edits, name, end))
    if root is None:
        raise VerifyError("libxml2 cannot read the input")
    marks = _sentinels(root, name)
    removed: list[Any] = []
    buttons: list[Any] = []  # libxml2's reading of each new Button content
    chains: _Chains = {}
    _check_schemes(root, name, edits)
    _check_relinks(root, name, result)
    for i, edit in enumerate(edits):
        if edit.what in _IN_TAG:
            continue
        a, b = marks.get(f"{i}a"), marks.get(f"{i}b")
        found = None
        if a is not None and b is not None:
            found = (_is_qr_element if edit.what is EditKind.QR else _is_button_content)(a, b)
        if found is None:
            what = "an ERQRCode block" if edit.what is EditKind.QR else "a Button block's content"
            raise VerifyError(
                "content outside the ERQRCode and Button blocks changed: libxml2 does not "
                f"read the edited span at offset {edit.start} as {what}"
            )
        if edit.what is EditKind.QR:
            removed.append(_check_removed_qr(before, edit, found, name, chains))
        else:
            where = f"Button block #{i}"
            buttons.append(_check_new_button(edit, found, name, options, where, chains))
    return root, removed, buttons


def _check_removed_qr(
    before: str, edit: Edit, found: Any, name: str, chains: _Chains
) -> Any:
    """Removing the QR element must leave libxml2 where it was (see _rebuild)."""
    end = _rebuild(found, before[edit.start : edit.end], name, own=False, chains=chains)
    qr = None if end is None else end.getprevious()
    if qr is None or _block_type(qr) != "erqrcode" or qr.tail:
        raise VerifyError("the ERQRCode block changes how libxml2 reads what follows")
    return found


def _check_new_button(
    edit: Edit,
    found: Any,
    name: str,
    options: PatchOptions,
    where: str,
    chains: _Chains,
) -> Any:
    """The new Button content is read as written, closes inside its Button block, and holds
    no ERQRCode block (unless asked to keep them)."""
    _check_parses_as_written(edit, where)
    end = _rebuild(found, edit.replacement, name, own=True, chains=chains)
    if end is None or end.getparent()[-1] is not end:
        raise VerifyError("the new Button content does not close inside its Button block")
    new_button = end.getparent()
    if not options.keep_qr and any(_block_type(el) == "erqrcode" for el in new_button.iter()):
        # moved in with the loop, or the Button's own, disguised by an entity
        raise VerifyError("an ERQRCode block is left in the output, in a Button block")
    return new_button


def _check_no_qr_block_left(root: Any, removed: list[Any]) -> None:
    """No QR block is left unless asked (none can be where the input has no hit)."""
    qrs = [el for el in root.xpath(_BLOCKS) if _block_type(el) == "erqrcode"]
    gone = set(removed)
    left = [el for el in qrs if not gone & {el, *el.iterancestors()}]
    if left:
        raise VerifyError(f"{len(left)} ERQRCode block(s) left in the output")
