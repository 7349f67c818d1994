"""Handlebars templates read as Handlebars.js 4.7 reads them: the reading half of ``_render``.

Each step mirrors Handlebars.js' own code (tests/handlebars/node_modules/handlebars/dist/cjs/
handlebars/compiler/): the lexer's rules in their order (``lexer.rules`` in parser.js), the
grammar (its productions, and helpers.js' ``prepare*`` actions), and whitespace control
(whitespace-control.js: ``~`` and standalone lines). JavaScript's ``\\s``, ``.`` and ``\\b``
are spelt out, as Python's differ. Nothing here, nor in ``_render``, turns template text
into code: the template is read into arrays of offsets and interpreted.

``mailpatch/_handlebars.py`` is the platform's reading of the loop markers; its regular
expressions are not Handlebars' lexer (a string literal or a ``[...]`` segment may hold
``}}``), hence this one.

What the preview does not render is refused by name (``RenderError`` with the line), never
rendered otherwise: partials, decorators, raw blocks ``{{{{``, block parameters ``as |x|``,
``{{log}}``, a hash key named ``__proto__``, and nesting deeper than ``MAX_NESTING``.

Compact, so that a megabyte of expressions costs a few megabytes: a statement is three
integers in one array (content as the offsets of its text in the email, an expression as the
offsets of its tag), a block one row of integers in another. An expression's tag is read
again when it is filled (``parse_tag``), and the readings are kept by tag text in a bounded
cache by ``_render``.
"""

from __future__ import annotations

import re
from array import array
from typing import NamedTuple

from mailpatch.page._render_values import JS_SPACE, js_number
from mailpatch.page._render_values import UNDEFINED as JS_UNDEFINED

MAX_NESTING = 64  # blocks within blocks, subexpressions within subexpressions

_S = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_SPACE_RUN = re.compile(f"[{_S}]*")
# lexer rules that need more than a character test (the rule numbers of parser.js)
_INVERSE_CARET = re.compile(f"\\{{\\{{~?\\^[{_S}]*~?\\}}\\}}")  # 15: {{^}}
_INVERSE_ELSE = re.compile(f"\\{{\\{{~?[{_S}]*else[{_S}]*~?\\}}\\}}")  # 16: {{else}}
_OPEN_CHAIN = re.compile(f"\\{{\\{{~?[{_S}]*else\\b", re.ASCII)  # 18: {{else if …}}
_KEYWORD = re.compile(f"(?:true|false|undefined|null)(?=[~}}{_S})])")  # 34-37
_NUMBER = re.compile(f"-?[0-9]+(?:\\.[0-9]+)?(?=[~}}{_S})])")  # 38
_BLOCK_PARAMS = re.compile(f"as[{_S}]+\\|")  # 39
_ID = re.compile(f'[^{_S}!"#%-,./;->@\\[-\\^`{{-~]+')  # 41, less its lookahead
_ID_FOLLOW = frozenset("=~}/.)|" + JS_SPACE)
_DOT_FOLLOW = _ID_FOLLOW  # 26: '.' as a name
# The commonest tag, {{name.name}}: the lexer's OPEN, ID (SEP ID)*, CLOSE, read at once. Not
# when the first name could be another token (a number, 'else', '@…', '..', '[…]') or the
# last a keyword or number (true, 5: then the lexer's tokens differ).
_ID_CLASS = f'[^{_S}!"#%-,./;->@\\[-\\^`{{-~]'
_PLAIN_TAG = re.compile(
    f"\\{{\\{{~?((?![0-9-]|else(?![A-Za-z0-9_]))(?:{_ID_CLASS}+[./])*{_ID_CLASS}+)"
    "(?:~\\}\\}|\\}\\}(?!\\}))"
)
_SEPARATOR = re.compile("([./])")
_DIGITS = frozenset("0123456789")
_KEYWORDS = ("true", "false", "undefined", "null")
_NOT_A_NAME = re.compile("(?:true|false|undefined|null|-?[0-9]+)\\Z")
_UNESCAPE_SEGMENT = re.compile(r"\\([\\\]])")  # 42's action
_SEGMENT = re.compile("\\[[^\\n\\r\\u2028\\u2029]*\\]")  # helpers.js id(): /^\[.*\]$/
_THIS = re.compile(r"this\b", re.ASCII)  # ast.js scopedId: /^\.|this\b/

# token kinds
(
    CONTENT,
    COMMENT,
    OPEN,
    OPEN_UNESCAPED,
    OPEN_BLOCK,
    OPEN_INVERSE,
    OPEN_INVERSE_CHAIN,
    OPEN_ENDBLOCK,
    INVERSE,
    OPEN_RAW_BLOCK,
    CLOSE_RAW_BLOCK,
    OPEN_PARTIAL,
    OPEN_PARTIAL_BLOCK,
    CLOSE,
    CLOSE_UNESCAPED,
    OPEN_SEXPR,
    CLOSE_SEXPR,
    EQUALS,
    ID,
    SEP,
    STRING,
    DATA,
    BOOLEAN,
    UNDEFINED,
    NULL,
    NUMBER,
    OPEN_BLOCK_PARAMS,
    CLOSE_BLOCK_PARAMS,
    INVALID,
    EOF,
    PLAIN_TAG,
) = range(31)
_PARAM_START = frozenset({ID, DATA, STRING, NUMBER, BOOLEAN, UNDEFINED, NULL, OPEN_SEXPR})
_PROGRAM_END = frozenset({OPEN_ENDBLOCK, INVERSE, OPEN_INVERSE_CHAIN, EOF})
_WHAT = {
    CLOSE: "'}}'",
    CLOSE_UNESCAPED: "'}}}'",
    CLOSE_SEXPR: "')'",
    EQUALS: "'='",
    ID: "a name",
    EOF: "the end of the email",
    OPEN_ENDBLOCK: "a closing tag",
}

# statement records: three integers (kind and flags, a, b)
STMT_CONTENT, STMT_MUSTACHE, STMT_COMMENT, STMT_BLOCK = range(4)
# content flags: what Handlebars' standalone tests see in its original text (fixed), and
# whether whitespace control has taken from its left or its right (its current text is a..b)
_TAIL_NL = 1 << 2  # a newline in the whitespace it ends with
_HEAD_NL = 1 << 3  # a newline in the whitespace it starts with
_ALL_SPACE = 1 << 4
_LEFT_STRIPPED = 1 << 5
_RIGHT_STRIPPED = 1 << 6
# mustache and comment flags: '~' on the left ('{{~'), on the right ('~}}')
_TILDE_OPEN = 1 << 2
_TILDE_CLOSE = 1 << 3

# a block statement whose tag is AMBIGUOUS ({{#name}}): javascript-compiler.js writes it
# apart from the '+' chain of the statements around it (see _render.Filling.run)
STMT_AMBIGUOUS = 1 << 2

# block rows: BLOCK_WIDTH integers. A program is four of them: its first statement, the one
# after it, its last (-1: none) and its last AMBIGUOUS block (-1: none); -1 first: no program.
BLOCK_WIDTH = 12
B_OPEN, B_OPEN_END = 0, 1  # the opening tag
B_PROG, B_INV = 2, 6  # the program and the inverse (after '{{else}}', or before it in {{^…}})
B_FLAGS = 10
B_SKIP = 11  # the statement after the block and everything inside it
_END, _LAST, _LAST_AMBIGUOUS = 1, 2, 3  # offsets from B_PROG or B_INV
_CHAINED = 1  # the inverse is an {{else if …}} chain: one block
_OPEN_TILDE_OPEN, _OPEN_TILDE_CLOSE = 1 << 1, 1 << 2  # openStrip
_CLOSE_TILDE_OPEN, _CLOSE_TILDE_CLOSE = 1 << 3, 1 << 4  # closeStrip
_ELSE_TILDE_OPEN, _ELSE_TILDE_CLOSE = 1 << 5, 1 << 6  # inverseStrip
_VISITED = 1 << 7
_R_OPEN, _R_CLOSE, _R_OPEN_STANDALONE, _R_CLOSE_STANDALONE = 1 << 8, 1 << 9, 1 << 10, 1 << 11


class RenderError(ValueError):
    """Not a template Handlebars.js fills, or one the preview does not fill as it would."""


def line_of(source: str, at: int) -> int:
    return source.count("\n", 0, at) + 1


def refuse(source: str, at: int, what: str) -> RenderError:
    return RenderError(f"line {line_of(source, at)}: {what}")


class Token(NamedTuple):
    kind: int
    start: int
    end: int
    text: str  # as the lexer's action leaves it (a string without quotes, a segment unescaped)


# --- the lexer ---------------------------------------------------------------------------------

_INITIAL, _MU, _EMU = range(3)


class Lexer:
    """Handlebars.js' lexer (jison, rules tried in order, the first that matches wins)."""

    __slots__ = ("plain", "pos", "src", "state")

    def __init__(self, src: str, pos: int = 0, in_tag: bool = False, plain: bool = True) -> None:
        self.src = src
        self.pos = pos
        self.state = _MU if in_tag else _INITIAL
        self.plain = plain  # PLAIN_TAG tokens

    def next(self) -> Token:
        while True:
            state = self.state
            if state == _MU:
                token = self._mu()
                if token is not None:
                    return token
            elif state == _INITIAL:
                token = self._initial()
                if token is not None:
                    return token
            else:
                return self._emu()

    def _error(self, what: str) -> RenderError:
        return refuse(self.src, self.pos, f"not a Handlebars template: {what}")

    def _initial(self) -> Token | None:
        src, pos = self.src, self.pos
        at = src.find("{{", pos)
        nul = src.find("\x00", pos, len(src) if at < 0 else at)
        if at >= 0 and nul < 0:  # rule 0: text up to '{{'
            end = at
            if src.endswith("\\\\", pos, at):  # '\\{{': one backslash, then an expression
                end, self.state = at - 1, _MU
            elif src.endswith("\\", pos, at):  # '\{{': the expression is text
                end, self.state = at - 1, _EMU
            else:
                self.state = _MU
            self.pos = at
            return Token(CONTENT, pos, end, src[pos:end]) if end > pos else None
        if pos == len(src):
            return Token(EOF, pos, pos, "")
        if nul == pos:
            raise self._error("a NUL character outside an expression")
        end = len(src) if nul < 0 else nul  # rule 1: text up to a NUL or the end
        self.pos = end
        return Token(CONTENT, pos, end, src[pos:end])

    def _emu(self) -> Token:
        # rule 2: an escaped '{{…' as text, up to the next '{{', '\{{' or '\\{{'
        src, pos = self.src, self.pos
        at = src.find("{{", pos + 2)
        end = len(src) if at < 0 else at
        if at >= 0:
            if at - 2 >= pos + 2 and src.startswith("\\\\", at - 2):
                end = at - 2
            elif at - 1 >= pos + 2 and src[at - 1] == "\\":
                end = at - 1
        if src.find("\x00", pos, end) >= 0:
            raise self._error("a NUL character outside an expression")
        self.pos, self.state = end, _INITIAL
        return Token(CONTENT, pos, end, src[pos:end])

    def _mu(self) -> Token | None:
        """The next token inside an expression (None: white space skipped), as the
        tokenizer's rules try them, in order."""
        src, pos = self.src, self.pos
        if pos >= len(src):
            return Token(EOF, pos, pos, "")
        c = src[pos]
        token: Token | None = None
        if c == "{":
            token = self._open(pos)
        elif c == "(":
            return self._take(OPEN_SEXPR, pos + 1)
        elif c == ")":
            return self._take(CLOSE_SEXPR, pos + 1)
        elif c == "=":
            return self._take(EQUALS, pos + 1)
        elif c == ".":
            return self._dot(pos)
        elif c == "/":
            return self._take(SEP, pos + 1)
        elif c in JS_SPACE:
            self.pos = _space_end(src, pos, len(src))
            return None
        elif c == "}":
            token = self._close(pos)
        elif c == "~" and src.startswith("~}}", pos):
            return self._take(CLOSE, pos + 3, pop=True)
        elif c == '"' or c == "'":
            token = self._string(pos, c)
        elif c == "@":
            return self._take(DATA, pos + 1)
        return token if token is not None else self._word(pos, c)

    def _open(self, pos: int) -> Token | None:
        """A token starting with '{': a plain tag's whole, or an expression's opening."""
        src = self.src
        if self.plain:
            m = _PLAIN_TAG.match(src, pos)
            if m:
                name = m.group(1)
                if not _NOT_A_NAME.match(name, max(name.rfind(".") + 1, name.rfind("/") + 1)):
                    return self._take(PLAIN_TAG, m.end(), pop=True)
        if not src.startswith("{{", pos):
            return None
        if src.startswith("{{{{", pos):
            return self._take(OPEN_RAW_BLOCK, pos + 4)
        q = pos + 3 if src.startswith("~", pos + 2) else pos + 2
        d = src[q : q + 1]
        if d == ">":
            return self._take(OPEN_PARTIAL, q + 1)
        if d == "#":
            if src.startswith(">", q + 1):
                return self._take(OPEN_PARTIAL_BLOCK, q + 2)
            return self._take(OPEN_BLOCK, q + 2 if src.startswith("*", q + 1) else q + 1)
        if d == "/":
            return self._take(OPEN_ENDBLOCK, q + 1)
        m = _INVERSE_CARET.match(src, pos) or _INVERSE_ELSE.match(src, pos)
        if m:
            return self._take(INVERSE, m.end(), pop=True)
        if d == "^":
            return self._take(OPEN_INVERSE, q + 1)
        m = _OPEN_CHAIN.match(src, pos)
        if m:
            return self._take(OPEN_INVERSE_CHAIN, m.end())
        if d == "{":
            return self._take(OPEN_UNESCAPED, q + 1)
        if d == "&":
            return self._take(OPEN, q + 1)
        if d == "!":
            return self._comment(pos, q)
        return self._take(OPEN, q + 1 if d == "*" else q)

    def _dot(self, pos: int) -> Token:
        """'..' and '.' as a path (an ID), or '.' between segments (SEP)."""
        src = self.src
        if src.startswith("..", pos):
            return self._take(ID, pos + 2)
        if pos + 1 < len(src) and src[pos + 1] in _DOT_FOLLOW:
            return self._take(ID, pos + 1)
        return self._take(SEP, pos + 1)

    def _close(self, pos: int) -> Token | None:
        """An expression's closing, or None when the '}' closes nothing."""
        src = self.src
        if src.startswith("}}}}", pos):
            return self._take(CLOSE_RAW_BLOCK, pos + 4, pop=True)
        if src.startswith("}}}", pos) or src.startswith("}~}}", pos):
            end = pos + (3 if src[pos + 1] == "}" else 4)
            return self._take(CLOSE_UNESCAPED, end, pop=True)
        if src.startswith("}}", pos):
            return self._take(CLOSE, pos + 2, pop=True)
        return None

    def _word(self, pos: int, c: str) -> Token:
        """A keyword, number, block parameters, an ID or a [segment]; else INVALID."""
        src = self.src
        m = _KEYWORD.match(src, pos)
        if m:
            kind = {"t": BOOLEAN, "f": BOOLEAN, "u": UNDEFINED, "n": NULL}[c]
            return self._take(kind, m.end())
        m = _NUMBER.match(src, pos)
        if m:
            return self._take(NUMBER, m.end())
        m = _BLOCK_PARAMS.match(src, pos)
        if m:
            return self._take(OPEN_BLOCK_PARAMS, m.end())
        if c == "|":
            return self._take(CLOSE_BLOCK_PARAMS, pos + 1)
        m = _ID.match(src, pos)
        if m and m.end() < len(src) and src[m.end()] in _ID_FOLLOW:
            return self._take(ID, m.end())
        if c == "[":
            token = self._segment(pos)
            if token is not None:
                return token
        return self._take(INVALID, pos + 1)

    def _take(self, kind: int, end: int, pop: bool = False) -> Token:
        pos = self.pos
        self.pos = end
        if pop:
            self.state = _INITIAL
        return Token(kind, pos, end, self.src[pos:end])

    def _comment(self, pos: int, bang: int) -> Token:
        src = self.src
        if src.startswith("!--", bang):  # rules 21 and 6: up to the first '--}}' or '--~}}'
            at = src.find("--", pos)
            while at >= 0 and not (src.startswith("}}", at + 2) or src.startswith("~}}", at + 2)):
                at = src.find("--", at + 1)
            if at < 0:
                raise self._error("a {{!-- comment is never closed")
            end = at + (4 if src.startswith("}}", at + 2) else 5)
        else:  # rule 22: up to the first '}}'
            at = src.find("}}", bang + 1)
            if at < 0:
                raise self._error("a {{! comment is never closed")
            end = at + 2
        return self._take(COMMENT, end, pop=True)

    def _string(self, pos: int, quote: str) -> Token | None:
        # rules 31-32, "(\\"|[^"])*" as JavaScript's backtracking reads it: up to the first
        # quote not escaped, else (none) the last escaped one
        end = self._closing(pos, quote)
        if end < 0:
            return None
        self.pos = end
        return Token(STRING, pos, end, self.src[pos + 1 : end - 1].replace("\\" + quote, quote))

    def _segment(self, pos: int) -> Token | None:
        end = self._closing(pos, "]")  # rule 42: \[(\\\]|[^\]])*\]
        if end < 0:
            return None
        self.pos = end
        return Token(ID, pos, end, _UNESCAPE_SEGMENT.sub(r"\1", self.src[pos:end]))

    def _closing(self, pos: int, close: str) -> int:
        """The end of the match: a backslash is taken alone unless ``close`` follows it, so
        every ``close`` right after a backslash is escaped, whatever precedes it."""
        src = self.src
        last = -1
        i = pos + 1
        while True:
            at = src.find(close, i)
            if at < 0:
                return last + 1 if last >= 0 else -1
            if src[at - 1] != "\\":
                return at + 1
            last = at
            i = at + 1


# --- expressions -------------------------------------------------------------------------------


class Path:
    """helpers.js preparePath: ``parts`` without ``this``/``.``/``..``, ``depth`` the ``..``s."""

    __slots__ = ("data", "depth", "original", "parts", "scoped")

    def __init__(self, data: bool, depth: int, parts: tuple[str, ...], original: str) -> None:
        self.data = data
        self.depth = depth
        self.parts = parts
        self.original = original
        self.scoped = original.startswith(".") or _THIS.search(original) is not None


class Literal:
    """A string, number, boolean, undefined or null literal; ``name`` is what it means as a
    helper name (``String(original)``, compiler.js transformLiteralToPath)."""

    __slots__ = ("name", "value")

    def __init__(self, value: object, name: str) -> None:
        self.value = value
        self.name = name


class Call:
    """A mustache, a block's opening tag or a subexpression, classified as compiler.js'
    classifySexpr does: ``kind`` is SIMPLE (a value), AMBIGUOUS (a helper if one is
    registered by that name, else a value) or HELPER."""

    __slots__ = ("escaped", "hash", "kind", "known", "name", "params", "path", "plain", "simple")

    def __init__(
        self,
        path: Path,
        params: tuple[Expr, ...],
        hash_: tuple[tuple[str, Expr], ...] | None,
        escaped: bool,
        is_sexpr: bool,
    ) -> None:
        self.path = path
        self.params = params
        self.hash = hash_
        self.escaped = escaped
        self.name = path.parts[0] if path.parts else None
        self.simple = len(path.parts) == 1 and not path.scoped and not path.depth
        self.known = self.name in KNOWN_HELPERS
        helper = is_sexpr or bool(params) or hash_ is not None
        if not helper and self.simple and self.known:
            helper = True
        self.kind = HELPER if helper else AMBIGUOUS if self.simple else SIMPLE
        # a value looked up by name in each context outwards, no helper called: the fast
        # path of _render (the commonest tag, {{contact.firstname}})
        self.plain = (
            path.parts[0]
            if not helper
            and self.name
            and self.name not in HELPER_NAMES
            and not path.data
            and not path.depth
            and not path.scoped
            else None
        )


Expr = Path | Literal | Call
SIMPLE, AMBIGUOUS, HELPER = range(3)
# compiler.js' knownHelpers: called directly, whatever the context holds by that name
KNOWN_HELPERS = frozenset(
    {"helperMissing", "blockHelperMissing", "each", "if", "unless", "with", "log", "lookup"}
)
HELPER_NAMES = KNOWN_HELPERS | {"eq"}  # every helper a fill may call (_render.HELPERS)


class TagReader:
    """The grammar inside one tag (helperName param* hash? blockParams? close), reading the
    lexer's tokens; used for the whole template and again to fill one tag."""

    __slots__ = ("ahead", "depth", "lexer", "opened", "src")

    def __init__(self, lexer: Lexer, depth: int = 0) -> None:
        self.lexer = lexer
        self.src = lexer.src
        self.ahead: list[Token] = []
        self.depth = depth
        self.opened = 0  # where the tag being read starts

    def peek(self, k: int = 0) -> Token:
        ahead = self.ahead
        while len(ahead) <= k:
            ahead.append(self.lexer.next())
        return ahead[k]

    def take(self) -> Token:
        token = self.peek()
        del self.ahead[0]
        return token

    def expect(self, kind: int) -> Token:
        token = self.take()
        if token.kind != kind:
            raise self.unexpected(token, _WHAT.get(kind, "something else"))
        return token

    def unexpected(self, token: Token, wanted: str = "") -> RenderError:
        if token.kind == EOF or (token.kind == INVALID and token.end == len(self.src)):
            return refuse(
                self.src,
                self.opened,
                "not a Handlebars template: the tag "
                f"{self.src[self.opened : self.opened + 12]!r}… is never closed",
            )
        want = f" (expected {wanted})" if wanted else ""
        return refuse(self.src, token.start, f"not a Handlebars template: {token.text!r}{want}")

    def call(
        self, opening: Token, close: int, escaped: bool, in_block: bool
    ) -> tuple[Call, Token, Path | Literal]:
        """The rest of a tag after its opening token, up to its closing token; and the helper
        name as written (helpers.js validateClose compares it with the closing tag's)."""
        self.opened = opening.start
        name = self.helper_name()
        params, hash_ = self.arguments()
        token = self.peek()
        if token.kind == OPEN_BLOCK_PARAMS:
            if in_block:
                raise refuse(
                    self.src,
                    token.start,
                    "the preview does not render block "
                    "parameters ('as |…|'): check this email with a test send",
                )
            raise self.unexpected(token)
        end = self.expect(close)
        return Call(as_path(name), params, hash_, escaped, is_sexpr=False), end, name

    def arguments(self) -> tuple[tuple[Expr, ...], tuple[tuple[str, Expr], ...] | None]:
        params: list[Expr] = []
        while self.peek().kind in _PARAM_START and not self._at_hash():
            params.append(self.param())
        if not self._at_hash():
            return tuple(params), None
        pairs: dict[str, Expr] = {}
        while self._at_hash():
            key_token = self.take()
            self.take()
            key = ident(key_token.text)
            if key == "__proto__":  # in the generated object literal, it sets the prototype
                raise refuse(
                    self.src,
                    key_token.start,
                    "the preview does not render a hash key named __proto__",
                )
            value = self.param()
            # javascript-compiler.js assigns the pairs last to first: the first of a key
            # wins, and the others are never evaluated
            pairs.setdefault(key, value)
        return tuple(params), tuple(pairs.items())

    def _at_hash(self) -> bool:
        return self.peek().kind == ID and self.peek(1).kind == EQUALS

    def param(self) -> Expr:
        token = self.peek()
        if token.kind != OPEN_SEXPR:
            return self.helper_name()
        self.take()
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise refuse(
                self.src,
                token.start,
                "the preview cannot render this email: its "
                "Handlebars expressions are nested too deep for it",
            )
        name = self.helper_name()
        params, hash_ = self.arguments()
        self.expect(CLOSE_SEXPR)
        self.depth -= 1
        call = Call(as_path(name), params, hash_, escaped=True, is_sexpr=True)
        _refuse_log(self.src, token.start, call)
        return call

    def helper_name(self) -> Path | Literal:
        token = self.take()
        kind = token.kind
        if kind == ID:
            return self.path(False, token)
        if kind == DATA:
            return self.path(True, self.expect(ID))
        if kind == STRING:
            return Literal(token.text, token.text)
        if kind == NUMBER:
            number = float(token.text)
            return Literal(number, js_number(number))
        if kind == BOOLEAN:
            return Literal(token.text == "true", token.text)
        if kind == UNDEFINED:
            return Literal(JS_UNDEFINED, "undefined")
        if kind == NULL:
            return Literal(None, "null")
        raise self.unexpected(token, "a name or a value")

    def path(self, data: bool, first: Token) -> Path:
        segments = [("", first.text)]
        while self.peek().kind == SEP:
            separator = self.take().text
            segments.append((separator, self.expect(ID).text))
        return make_path(self.src, first.start, data, segments)


def make_path(src: str, at: int, data: bool, segments: list[tuple[str, str]]) -> Path:
    """helpers.js preparePath over (separator, ID token) pairs."""
    original = "@" if data else ""
    parts: list[str] = []
    depth = 0
    for separator, text in segments:
        part = ident(text)
        original += separator + part
        if part != text or part not in ("..", ".", "this"):
            parts.append(part)
        elif parts:
            raise refuse(src, at, f"not a Handlebars template: the path {original!r} is invalid")
        elif part == "..":
            depth += 1
    return Path(data, depth, tuple(parts), original)


def ident(text: str) -> str:
    """helpers.js id(): a ``[...]`` segment without its brackets."""
    return text[1:-1] if _SEGMENT.fullmatch(text) else text


def as_path(name: Path | Literal) -> Path:
    """compiler.js transformLiteralToPath: a literal helper name is a name."""
    if isinstance(name, Path):
        return name
    return Path(False, 0, (name.name,), name.name)


def _refuse_log(src: str, at: int, call: Call) -> None:
    if call.kind == HELPER and call.known and call.name == "log":
        raise refuse(src, at, "the preview does not run {{log}} (it writes to the console)")


def plain_call(text: str) -> Call | None:
    """The reading of a plain tag ({{name.name}}, the lexer's PLAIN_TAG) from its text, as
    parse_tag would read it; None for any other tag. Raises RenderError for a ``this``
    after a name (helpers.js preparePath: 'Invalid path')."""
    m = _PLAIN_TAG.fullmatch(text)
    if m is None:
        return None
    name = m.group(1)
    if (name[-1] in _DIGITS or name.endswith(_KEYWORDS)) and _NOT_A_NAME.match(
        name, max(name.rfind(".") + 1, name.rfind("/") + 1)
    ):
        return None
    words = _SEPARATOR.split(name)[::2]
    leading = 0
    while leading < len(words) and words[leading] == "this":
        leading += 1
    if "this" in words[leading:]:
        raise RenderError(f"not a Handlebars template: the path {name!r} is invalid")
    return Call(Path(False, 0, tuple(words[leading:]), name), (), None, True, is_sexpr=False)


def parse_tag(src: str, start: int) -> Call:
    """The expression of the tag that starts at ``start`` (a mustache or a block's opening
    tag, ``{{else if …}}`` included), read as when the template was read."""
    reader = TagReader(Lexer(src, start, in_tag=True, plain=False))
    opening = reader.take()
    close = CLOSE_UNESCAPED if opening.kind == OPEN_UNESCAPED else CLOSE
    escaped = opening.kind == OPEN and not opening.text.endswith("&")
    in_block = opening.kind in (OPEN_BLOCK, OPEN_INVERSE, OPEN_INVERSE_CHAIN)
    return reader.call(opening, close, escaped, in_block)[0]


def strip_flags(opening: str, closing: str) -> tuple[bool, bool]:
    """helpers.js stripFlags: '~' as the tag's third character, and third from its end."""
    return opening[2:3] == "~", closing[-3:-2] == "~"


# --- the template ------------------------------------------------------------------------------


class Template:
    """A template read whole: statements (``code``, three integers each), blocks
    (``blocks``, BLOCK_WIDTH integers each), the root program (statements ``0 .. root_end``,
    its last AMBIGUOUS block ``root_ambiguous``)."""

    __slots__ = ("blocks", "calls", "code", "root_ambiguous", "root_end", "source")

    def __init__(
        self,
        source: str,
        code: array[int],
        blocks: array[int],
        root: tuple[int, int, int, int],
        calls: dict[str, Call],
    ) -> None:
        self.source = source
        self.code = code
        self.blocks = blocks
        self.root_end = root[_END]
        self.root_ambiguous = root[_LAST_AMBIGUOUS]
        self.calls = calls  # tag text -> its reading, kept by _render (bounded)


Program = tuple[int, int, int, int]  # first, end, last, last AMBIGUOUS block


class _Chain(NamedTuple):
    """An inverse part of a block: ``{{else}}`` and its program, or an ``{{else if}}``
    chain (then the program holds one block, ``row``)."""

    strip: tuple[bool, bool]
    program: Program
    row: int  # -1 for a plain {{else}}


def read(source: str) -> Template:
    """The template, read as Handlebars.js reads it, or RenderError."""
    return _Reader(source).template()


CALLS_KEPT = 4096  # tag readings kept per template: a tag past that is read again when filled


class _Reader(TagReader):
    __slots__ = ("blocks", "calls", "code", "count")

    def __init__(self, source: str) -> None:
        super().__init__(Lexer(source))
        self.code = array("i")
        self.blocks = array("i")
        self.count = 0  # statements so far
        self.calls: dict[str, Call] = {}

    def _remember(self, start: int, end: int, call: Call) -> None:
        if len(self.calls) < CALLS_KEPT:
            self.calls[self.src[start:end]] = call

    def template(self) -> Template:
        root = self.program()
        start, end = root[0], root[_END]
        token = self.peek()
        if token.kind != EOF:
            what = (
                "{{else}} outside a block"
                if token.kind in (INVERSE, OPEN_INVERSE_CHAIN)
                else ("a closing tag with no block open")
            )
            raise refuse(self.src, token.start, f"not a Handlebars template: {what}")
        self.whitespace(start, end, is_root=True)
        return Template(self.src, self.code, self.blocks, root, self.calls)

    def _emit(self, kind: int, a: int, b: int) -> int:
        self.code.extend((kind, a, b))
        self.count += 1
        return self.count - 1

    def program(self) -> Program:
        """Statements up to the end of a program."""
        start = self.count
        last = ambiguous = -1
        while True:
            if not self.ahead and self.lexer.state == _INITIAL:
                last = self._plain_run(last)
            token = self.peek()
            kind = token.kind
            if kind == CONTENT:
                self.take()
                end = token.start + len(token.text)  # (an escape's backslash is not in it)
                last = self._emit(
                    STMT_CONTENT | _content_flags(self.src, token.start, end), token.start, end
                )
            elif kind == COMMENT:
                self.take()
                left, right = strip_flags(token.text, token.text)
                flags = (_TILDE_OPEN if left else 0) | (_TILDE_CLOSE if right else 0)
                last = self._emit(STMT_COMMENT | flags, token.start, token.end)
            elif kind == PLAIN_TAG:
                self.take()
                last = self.plain_tag(token)
            elif kind in (OPEN, OPEN_UNESCAPED):
                last = self.mustache()
            elif kind in (OPEN_BLOCK, OPEN_INVERSE):
                last = self.block()
                if self.code[3 * last] & STMT_AMBIGUOUS:
                    ambiguous = last
            elif kind in _PROGRAM_END:
                return start, self.count, last, ambiguous
            elif kind == OPEN_RAW_BLOCK:
                raise refuse(
                    self.src,
                    token.start,
                    "the preview does not render raw blocks "
                    "('{{{{'): check this email with a test send",
                )
            elif kind in (OPEN_PARTIAL, OPEN_PARTIAL_BLOCK):
                raise refuse(
                    self.src,
                    token.start,
                    "the preview does not render partials "
                    "('{{>'): check this email with a test send",
                )
            else:
                raise self.unexpected(token)

    def _plain_run(self, last: int) -> int:
        """Text and plain tags ({{name.name}}), read at once: what the lexer's rule 0 and
        PLAIN_TAG make of them, up to anything else (left to the lexer). Returns the last
        statement's index."""
        src, lexer, calls, code = self.src, self.lexer, self.calls, self.code
        match = _PLAIN_TAG.match
        pos = lexer.pos
        count = self.count
        while True:
            at = src.find("{{", pos)
            if at < 0:
                break
            if at > pos:
                if src[at - 1] == "\\" or src.find("\x00", pos, at) >= 0:
                    break  # an escape, or a NUL: the lexer says what they are
                code.extend((STMT_CONTENT | _content_flags(src, pos, at), pos, at))
                last, count = count, count + 1
                pos = at
            m = match(src, at)
            if m is not None:
                name = m.group(1)
                if (name[-1] in _DIGITS or name.endswith(_KEYWORDS)) and _NOT_A_NAME.match(
                    name, max(name.rfind(".") + 1, name.rfind("/") + 1)
                ):
                    m = None
            if m is None:
                lexer.state = _MU  # as rule 0 leaves it, before a tag
                break
            end = m.end()
            text = m.group(0)
            if text in calls:
                tilde = (_TILDE_OPEN if text[2] == "~" else 0) | (
                    _TILDE_CLOSE if text[-3] == "~" else 0
                )
                code.extend((STMT_MUSTACHE | tilde, at, end))
                last, count = count, count + 1
            else:
                self.count = count
                last = self.plain_tag(Token(PLAIN_TAG, at, end, text))
                count = self.count
            pos = end
        self.count = count
        lexer.pos = pos
        return last

    def plain_tag(self, token: Token) -> int:
        """{{name.name}} (the lexer's PLAIN_TAG): the same statement mustache() makes."""
        text = token.text
        if text not in self.calls:
            try:
                call = plain_call(text)
            except RenderError as exc:
                raise refuse(self.src, token.start, str(exc)) from None
            assert call is not None  # (the lexer matched it)
            self._remember(token.start, token.end, call)
        flags = (_TILDE_OPEN if text[2] == "~" else 0) | (_TILDE_CLOSE if text[-3] == "~" else 0)
        return self._emit(STMT_MUSTACHE | flags, token.start, token.end)

    def mustache(self) -> int:
        opening = self.take()
        if "*" in opening.text:
            raise _decorator(self.src, opening)
        unescaped = opening.kind == OPEN_UNESCAPED
        close = CLOSE_UNESCAPED if unescaped else CLOSE
        escaped = not unescaped and not opening.text.endswith("&")
        call, closing, _ = self.call(opening, close, escaped, in_block=False)
        _refuse_log(self.src, opening.start, call)
        self._remember(opening.start, closing.end, call)
        left, right = strip_flags(opening.text, closing.text)
        flags = (_TILDE_OPEN if left else 0) | (_TILDE_CLOSE if right else 0)
        return self._emit(STMT_MUSTACHE | flags, opening.start, closing.end)

    def block(self) -> int:
        """A block and everything inside it (helpers.js prepareBlock)."""
        opening = self.take()
        if "*" in opening.text:
            raise _decorator(self.src, opening)
        inverted = opening.kind == OPEN_INVERSE
        call, closing, opened, row, index = self._enter(opening)
        open_strip = strip_flags(opening.text, closing.text)
        program = self.program()
        chain: _Chain | None = None
        token = self.peek()
        if token.kind == INVERSE:
            chain = self._else()
        elif token.kind == OPEN_INVERSE_CHAIN and not inverted:
            chain = self.chain()
        end_tag = self.take()
        if end_tag.kind == EOF:
            raise refuse(
                self.src,
                opening.start,
                "not a Handlebars template: "
                f"{opening.text}{call.path.original} …}}}} is never closed",
            )
        if end_tag.kind != OPEN_ENDBLOCK:
            raise self.unexpected(end_tag, _WHAT[OPEN_ENDBLOCK])
        self.opened = end_tag.start
        name = self.helper_name()
        end_close = self.expect(CLOSE)
        if _original(name) != _original(opened):
            raise refuse(
                self.src,
                opening.start,
                "not a Handlebars template: "
                f"{opening.text}{call.path.original} …}}}} is closed by {end_tag.text}"
                f"{_shown(name)}}}}}",
            )
        close_strip = strip_flags(end_tag.text, end_close.text)
        if chain is not None and chain.row >= 0:  # the chained block closes as this one does
            self._set_close_strip(chain.row, close_strip)
        self._finish(row, program, chain, open_strip, close_strip, inverted)
        self.depth -= 1
        return index

    def _enter(self, opening: Token) -> tuple[Call, Token, Path | Literal, int, int]:
        """A block's or an {{else if}}'s opening read: one level deeper (refused past
        MAX_NESTING), its call, closing token, helper name as opened, row and index."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise refuse(
                self.src,
                opening.start,
                "the preview cannot render this email: its "
                "Handlebars blocks are nested too deep for it",
            )
        call, closing, opened = self.call(opening, CLOSE, True, in_block=True)
        _refuse_log(self.src, opening.start, call)
        self._remember(opening.start, closing.end, call)
        row, index = self._row(opening.start, closing.end, call)
        return call, closing, opened, row, index

    def chain(self) -> _Chain:
        """{{else if …}} and what follows it: case 19 of parser.js' actions."""
        opening = self.take()
        call, closing, _, row, index = self._enter(opening)
        strip = strip_flags(opening.text, closing.text)
        program = self.program()
        inner: _Chain | None = None
        token = self.peek()
        if token.kind == INVERSE:
            inner = self._else()
        elif token.kind == OPEN_INVERSE_CHAIN:
            inner = self.chain()
        close_strip = inner.strip if inner is not None else None
        if inner is not None and inner.row >= 0:
            self._set_close_strip(inner.row, inner.strip)
        self._finish(row, program, inner, strip, close_strip, inverted=False)
        self.depth -= 1
        ambiguous = index if call.kind == AMBIGUOUS else -1
        return _Chain(strip, (index, self.count, index, ambiguous), row)

    def _else(self) -> _Chain:
        token = self.take()
        return _Chain(strip_flags(token.text, token.text), self.program(), -1)

    def _row(self, start: int, end: int, call: Call) -> tuple[int, int]:
        row = len(self.blocks) // BLOCK_WIDTH
        self.blocks.extend((start, end, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0))
        kind = STMT_BLOCK | (STMT_AMBIGUOUS if call.kind == AMBIGUOUS else 0)
        return row, self._emit(kind, row, start)

    def _set_close_strip(self, row: int, strip: tuple[bool, bool] | None) -> None:
        at = row * BLOCK_WIDTH + B_FLAGS
        flags = self.blocks[at] & ~(_CLOSE_TILDE_OPEN | _CLOSE_TILDE_CLOSE)
        if strip is not None:
            flags |= _CLOSE_TILDE_OPEN if strip[0] else 0
            flags |= _CLOSE_TILDE_CLOSE if strip[1] else 0
        self.blocks[at] = flags

    def _finish(
        self,
        row: int,
        program: Program,
        chain: _Chain | None,
        open_strip: tuple[bool, bool],
        close_strip: tuple[bool, bool] | None,
        inverted: bool,
    ) -> None:
        blocks, at = self.blocks, row * BLOCK_WIDTH
        main: Program | None = program
        other = chain.program if chain is not None else None
        if inverted:
            main, other = other, main
        flags = blocks[at + B_FLAGS] & (_CLOSE_TILDE_OPEN | _CLOSE_TILDE_CLOSE)
        flags |= (_OPEN_TILDE_OPEN if open_strip[0] else 0) | (
            _OPEN_TILDE_CLOSE if open_strip[1] else 0
        )
        if close_strip is not None:
            flags = (flags & ~(_CLOSE_TILDE_OPEN | _CLOSE_TILDE_CLOSE)) | (
                (_CLOSE_TILDE_OPEN if close_strip[0] else 0)
                | (_CLOSE_TILDE_CLOSE if close_strip[1] else 0)
            )
        if chain is not None:
            flags |= (_ELSE_TILDE_OPEN if chain.strip[0] else 0) | (
                _ELSE_TILDE_CLOSE if chain.strip[1] else 0
            )
            if chain.row >= 0:
                flags |= _CHAINED
        if main is not None:
            blocks[at + B_PROG : at + B_PROG + 4] = array("i", main)
        if other is not None:
            blocks[at + B_INV : at + B_INV + 4] = array("i", other)
        blocks[at + B_FLAGS] = flags
        blocks[at + B_SKIP] = self.count

    # --- whitespace control (whitespace-control.js) ----------------------------------------

    def whitespace(self, start: int, end: int, is_root: bool) -> None:
        """WhitespaceControl.Program over the statements start..end (its children's
        programs are done first, as the visitor does them)."""
        code, blocks = self.code, self.blocks
        body = array("i")
        k = start
        while k < end:
            body.append(k)
            if code[3 * k] & 3 == STMT_BLOCK:
                row = code[3 * k + 1]
                self._children(row)
                k = blocks[row * BLOCK_WIDTH + B_SKIP]
            else:
                k += 1
        n = len(body)
        for i in range(n):
            k = body[i]
            word = code[3 * k]
            kind = word & 3
            if kind == STMT_CONTENT or (kind == STMT_MUSTACHE and not word & 12):
                continue  # a mustache without '~' strips nothing
            row = -1
            if kind == STMT_BLOCK:
                row = code[3 * k + 1]
                result = self.visit_block(row)
                strip_open, strip_close = bool(result & _R_OPEN), bool(result & _R_CLOSE)
            else:
                strip_open, strip_close = bool(word & _TILDE_OPEN), bool(word & _TILDE_CLOSE)
            prev_space = self._prev_space(body, i, is_root)
            next_space = self._next_space(body, i, is_root)
            if strip_close:
                self.omit_right(body[i + 1] if i + 1 < n else -1, True)
            if strip_open:
                self.omit_left(body[i - 1] if i > 0 else -1, True)
            if kind == STMT_COMMENT and prev_space and next_space:  # inlineStandalone
                self.omit_right(body[i + 1] if i + 1 < n else -1, False)
                self.omit_left(body[i - 1] if i > 0 else -1, False)
            if row >= 0:
                at = row * BLOCK_WIDTH
                result = blocks[at + B_FLAGS]
                if result & _R_OPEN_STANDALONE and prev_space:
                    first = at + B_PROG if blocks[at + B_PROG] >= 0 else at + B_INV
                    self.omit_right(_first(blocks, first), False)
                    self.omit_left(body[i - 1] if i > 0 else -1, False)
                if result & _R_CLOSE_STANDALONE and next_space:
                    self.omit_right(body[i + 1] if i + 1 < n else -1, False)
                    last = at + B_INV if blocks[at + B_INV] >= 0 else at + B_PROG
                    self.omit_left(blocks[last + _LAST], False)

    def _children(self, row: int) -> None:
        """The programs of a block, each once: a chain's is done by its block's visitor."""
        blocks, at = self.blocks, row * BLOCK_WIDTH
        flags = blocks[at + B_FLAGS]
        if flags & _VISITED:
            return
        for field in (B_PROG, B_INV):
            start = blocks[at + field]
            if start >= 0 and not (field == B_INV and flags & _CHAINED):
                self.whitespace(start, blocks[at + field + _END], is_root=False)

    def visit_block(self, row: int) -> int:
        """WhitespaceControl.BlockStatement: strips inside the block, and says what its
        parent's program may strip around it (the _R_* flags)."""
        blocks, at = self.blocks, row * BLOCK_WIDTH
        flags = blocks[at + B_FLAGS]
        if flags & _VISITED:
            return flags
        has_prog, has_inv = blocks[at + B_PROG] >= 0, blocks[at + B_INV] >= 0
        prog = at + B_PROG if has_prog else at + B_INV  # block.program || block.inverse
        inverse = at + B_INV if has_prog and has_inv else -1
        first_inverse = last_inverse = inverse
        if inverse >= 0 and flags & _CHAINED:
            inner = self.code[3 * blocks[at + B_INV] + 1]  # the chain's one block
            self.whitespace(blocks[at + B_INV], blocks[at + B_INV + _END], is_root=False)
            first_inverse = last_inverse = inner * BLOCK_WIDTH + B_PROG
        result = _VISITED
        if flags & _OPEN_TILDE_OPEN:
            result |= _R_OPEN
        if flags & _CLOSE_TILDE_CLOSE:
            result |= _R_CLOSE
        if self._starts_with_line(prog):
            result |= _R_OPEN_STANDALONE
        if self._ends_with_line(first_inverse if first_inverse >= 0 else prog):
            result |= _R_CLOSE_STANDALONE
        if flags & _OPEN_TILDE_CLOSE:
            self.omit_right(_first(blocks, prog), True)
        if inverse >= 0:
            if flags & _ELSE_TILDE_OPEN:
                self.omit_left(blocks[prog + _LAST], True)
            if flags & _ELSE_TILDE_CLOSE:
                self.omit_right(_first(blocks, first_inverse), True)
            if flags & _CLOSE_TILDE_OPEN:
                self.omit_left(blocks[last_inverse + _LAST], True)
            if self._ends_with_line(prog) and self._starts_with_line(first_inverse):
                self.omit_left(blocks[prog + _LAST], False)
                self.omit_right(_first(blocks, first_inverse), False)
        elif flags & _CLOSE_TILDE_OPEN:
            self.omit_left(blocks[prog + _LAST], True)
        blocks[at + B_FLAGS] = flags | result
        return flags | result

    def _starts_with_line(self, field: int) -> bool:  # isNextWhitespace(program.body)
        k = _first(self.blocks, field)
        return k >= 0 and self.code[3 * k] & (3 | _HEAD_NL) == STMT_CONTENT | _HEAD_NL

    def _ends_with_line(self, field: int) -> bool:  # isPrevWhitespace(program.body)
        k = self.blocks[field + _LAST]
        return k >= 0 and self.code[3 * k] & (3 | _TAIL_NL) == STMT_CONTENT | _TAIL_NL

    def _prev_space(self, body: array[int], i: int, is_root: bool) -> bool:
        if i == 0:
            return is_root
        word = self.code[3 * body[i - 1]]
        if word & 3 != STMT_CONTENT:
            return False
        if i >= 2 or not is_root:
            return bool(word & _TAIL_NL)
        return bool(word & (_TAIL_NL | _ALL_SPACE))

    def _next_space(self, body: array[int], i: int, is_root: bool) -> bool:
        if i + 1 >= len(body):
            return is_root
        word = self.code[3 * body[i + 1]]
        if word & 3 != STMT_CONTENT:
            return False
        if i + 2 < len(body) or not is_root:
            return bool(word & _HEAD_NL)
        return bool(word & (_HEAD_NL | _ALL_SPACE))

    def omit_right(self, k: int, multiple: bool) -> None:
        """The content statement ``k`` loses the white space it starts with: all of it, or
        (a standalone line) spaces and tabs up to and with one line break."""
        code, src = self.code, self.src
        if k < 0 or code[3 * k] & 3 != STMT_CONTENT:
            return
        word = code[3 * k]
        if not multiple and word & _RIGHT_STRIPPED:
            return
        a, b = code[3 * k + 1], code[3 * k + 2]
        if multiple:
            new = _space_end(src, a, b)
        else:
            new = a
            while new < b and src[new] in " \t":
                new += 1
            if new < b and src[new] == "\r":
                new += 1
            if new < b and src[new] == "\n":
                new += 1
        code[3 * k + 1] = new
        code[3 * k] = word | _RIGHT_STRIPPED if new != a else word & ~_RIGHT_STRIPPED

    def omit_left(self, k: int, multiple: bool) -> None:
        """The content statement ``k`` loses the white space it ends with (all of it, or the
        spaces and tabs of a standalone line)."""
        code, src = self.code, self.src
        if k < 0 or code[3 * k] & 3 != STMT_CONTENT:
            return
        word = code[3 * k]
        if not multiple and word & _LEFT_STRIPPED:
            return
        a, b = code[3 * k + 1], code[3 * k + 2]
        space = JS_SPACE if multiple else " \t"
        new = b
        while new > a and src[new - 1] in space:
            new -= 1
        code[3 * k + 2] = new
        code[3 * k] = word | _LEFT_STRIPPED if new != b else word & ~_LEFT_STRIPPED


def _space_end(src: str, a: int, b: int) -> int:
    """Where the JavaScript white space that starts at ``a`` ends (at most ``b``)."""
    m = _SPACE_RUN.match(src, a, b)
    return m.end() if m else a


def _first(blocks: array[int], field: int) -> int:
    """The first statement of the program at ``field`` of a block row, or -1."""
    start = blocks[field]
    return start if 0 <= start < blocks[field + _END] else -1


def _content_flags(src: str, a: int, b: int) -> int:
    """What the standalone tests see in the text a..b (a content statement's original)."""
    head = _space_end(src, a, b)
    if head == b:
        return _ALL_SPACE | ((_HEAD_NL | _TAIL_NL) if src.find("\n", a, b) >= 0 else 0)
    tail = b
    while src[tail - 1] in JS_SPACE:
        tail -= 1
    flags = _HEAD_NL if src.find("\n", a, head) >= 0 else 0
    return flags | (_TAIL_NL if src.find("\n", tail, b) >= 0 else 0)


def _decorator(src: str, token: Token) -> RenderError:
    return refuse(
        src,
        token.start,
        "the preview does not render decorators ('{{*', '{{#*'): check this email with a test send",
    )


def _original(name: Path | Literal) -> tuple[type, object]:
    """What helpers.js validateClose compares: a path's ``original``, a literal's value
    (JavaScript's ===: 1 and "1" differ)."""
    if isinstance(name, Path):
        return str, name.original
    value = name.value
    return type(value), value


def _shown(name: Path | Literal) -> str:
    return name.original if isinstance(name, Path) else name.name
