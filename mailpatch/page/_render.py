"""Handlebars in Python, as Dynamics 365 Marketing fills an email for one contact at send time.

An interpreter of Handlebars.js 4.7 (what tests/handlebars/render.js runs: compat mode, the
platform's ``eq``), byte for byte: ``_render_syntax`` reads the template as Handlebars.js
reads it (lexer, grammar, whitespace control), ``_render_values`` gives values JavaScript's
meaning (String(), truthiness, equality, own properties), and this module fills it as
Handlebars' compiled code would (compiler.js and javascript-compiler.js decide which
expression is a helper call and how a name is looked up; runtime.js and helpers/ do the
rest). Nothing in an email is ever turned into code, evaluated or compiled: each tag is read
into a small tree and that tree is walked.

Compat mode (render.js' ``compat: true``) is how ``{{contact.firstname}}`` inside ``{{#each
contact.msevtmgt_eventregistration_contact_msevtmgt_contactid}}`` reaches the contact, as
Dynamics resolves it: a name that does not start with ``this``, ``.`` or ``..`` is looked up
in the current context and then in each one around it.

What the preview does not fill exactly as Handlebars.js would is refused by name
(``RenderError``, with the line): partials, decorators, raw blocks, block parameters,
``{{log}}`` (see ``_render_syntax``). Every fill has bounds the email cannot pass: nesting
(``MAX_NESTING``), output (``max_output``) and steps (``max_steps``): an ``{{#each}}`` within
an ``{{#each}}`` over a long list stops there, with a RenderError.

Candidates measured before writing this one (benchmarks/README.md, "The preview's Handlebars
engine"): pybars3 (compiles templates into Python source and runs it: a ``[...]`` segment
ran a command; exponential on some lines of comments), pyhandlebars (handlebars-rust) and
pydantic-handlebars, neither of which printed what Handlebars.js prints on the corpus.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailpatch.page._render_syntax import (
    AMBIGUOUS,
    B_INV,
    B_OPEN,
    B_OPEN_END,
    B_PROG,
    B_SKIP,
    BLOCK_WIDTH,
    CALLS_KEPT,
    MAX_NESTING,
    SIMPLE,
    STMT_AMBIGUOUS,
    STMT_BLOCK,
    STMT_CONTENT,
    STMT_MUSTACHE,
    Call,
    Literal,
    Path,
    RenderError,
    Template,
    line_of,
    parse_tag,
    plain_call,
    read,
)
from mailpatch.page._render_values import (
    NULL_CONTEXT,
    UNDEFINED,
    JsError,
    escape,
    escape_expression,
    is_empty,
    js_string,
    js_value,
    lookup_property,
    loose_equal,
    own_keys,
    property_key,
    strict_equal,
    truthy,
)

__all__ = [
    "MAX_NESTING",
    "Context",
    "RenderError",
    "Template",
    "context_of",
    "escape",
    "parse",
    "render",
]


class Context:
    """The data an email is filled from, as JSON.parse gives it to Handlebars.js."""

    __slots__ = ("value",)

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value


def context_of(data: Mapping[str, Any]) -> Context:
    """The render context for plain data (dicts, lists, strings, numbers, booleans, None): a
    copy, so the caller's data is never touched."""
    try:
        return Context(js_value(data))
    except TypeError as exc:
        raise RenderError(f"the contact's data is not JSON: {exc}") from None


def parse(source: str) -> Template:
    """``source`` read as a Handlebars template, or RenderError (with the line)."""
    try:
        return read(source)
    except RecursionError:  # MAX_NESTING keeps well within the limit; a guard
        raise RenderError(
            "the preview cannot render this email: its Handlebars is nested too deep for it"
        ) from None


def render(
    source: str | Template,
    data: Mapping[str, Any] | Context,
    *,
    max_output: int | None = None,
    max_steps: int | None = None,
) -> str:
    """``source`` filled for one contact, as Dynamics would send it.

    ``max_output`` (characters) defaults to 4 times the email and a megabyte; ``max_steps``
    (statements filled, loop turns) to 4 times the email's statements and a million.
    """
    template = source if isinstance(source, Template) else parse(source)
    context = data if isinstance(data, Context) else context_of(data)
    size = len(template.source)
    fill = _Fill(
        template,
        4 * size + 1_000_000 if max_output is None else max_output,
        4 * len(template.code) // 3 + 1_000_000 if max_steps is None else max_steps,
    )
    root = context.value
    try:
        result = fill.run(
            0, template.root_end, template.root_ambiguous, root, (root, None), {"root": root}
        )
        fill.settle(result if result is _TEXT else js_string(result))  # '' + main(…)
    except JsError as exc:  # (a bound reached at the end)
        raise RenderError(str(exc)) from None
    except RecursionError:
        raise RenderError(
            "the preview cannot render this email: its Handlebars is nested too deep for it"
        ) from None
    return fill.out.text()


# --- filling ---------------------------------------------------------------------------------

_NOOP: Any = ()  # options.fn/inverse of a block without that part: prints nothing
_TEXT: Any = object()  # a result that is a string, already written out
_EMPTY: Any = object()  # nothing added yet


class _Output:
    """Text written so far: small pieces, joined into a chunk every few thousand (a list of
    100,000 four-space pieces would cost fifteen times their text)."""

    __slots__ = ("chunks", "pieces")

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.pieces: list[str] = []

    def add(self, text: str) -> None:
        pieces = self.pieces
        pieces.append(text)
        if len(pieces) >= 4096:
            self.chunks.append("".join(pieces))
            pieces.clear()

    def extend(self, other: _Output) -> None:
        """``other``'s text after this one's."""
        if self.pieces:
            self.chunks.append("".join(self.pieces))
            self.pieces.clear()
        self.chunks.extend(other.chunks)
        self.pieces.extend(other.pieces)

    def text(self) -> str:
        return "".join(self.chunks) + "".join(self.pieces)


class _Options:
    """The options object a helper gets: its block's parts, its hash, the data frame."""

    __slots__ = ("data", "fn", "hash", "inverse")

    def __init__(self, fn: Any, inverse: Any, hash_: dict[str, Any], data: dict[str, Any]):
        self.fn = fn
        self.inverse = inverse
        self.hash = hash_
        self.data = data


class _Fill:
    """One fill of a template. A program's result is what Handlebars' generated function
    returns: a string (written to ``out`` as it is made: _TEXT) or, where its statements
    add up to one, a number or boolean (held back, unwritten). The generated code joins a
    program's statements with JavaScript's ``+`` (javascript-compiler.js mergeSource), so
    ``{{{n}}}{{{n}}}`` with n = 1 prints ``2``: numbers and booleans wait until a string
    makes the sum a string."""

    __slots__ = (
        "blocks",
        "calls",
        "code",
        "max_output",
        "max_steps",
        "out",
        "size",
        "source",
        "steps",
    )

    def __init__(self, template: Template, max_output: int, max_steps: int) -> None:
        self.source = template.source
        self.code = template.code
        self.blocks = template.blocks
        self.calls = template.calls
        self.out = _Output()
        self.size = 0
        self.steps = 0
        self.max_output = max_output
        self.max_steps = max_steps

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise JsError(
                f"the preview stops here: filling this email takes more than "
                f"{self.max_steps:,} steps (a loop within a loop?)"
            )

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.max_output:
            raise JsError(
                f"the preview stops here: this contact's email would be longer than "
                f"{self.max_output:,} characters (a loop over a long list?)"
            )
        self.out.add(text)

    def plus(self, total: Any, value: Any) -> Any:
        """``total + value`` (JavaScript), ``value`` filled with ``total`` not a number:
        each is _TEXT (written), _EMPTY (nothing yet) or a number or boolean held back."""
        if value is _TEXT:
            return _TEXT
        if total is _EMPTY:
            return value
        if total is _TEXT:
            self.write(js_string(value))
            return _TEXT
        return float(total) + float(value)

    def after(self, held: Any, k: int, context: Any, depths: Any, data: dict[str, Any]) -> Any:
        """``held + (statement k)``, ``held`` a number or boolean: what the statement
        writes is kept apart until it is known to be text, then written after the number
        (an AMBIGUOUS block's null adds nothing)."""
        outer = self.out
        self.out = _Output()
        try:
            value = self.statement(k, context, depths, data)
        finally:
            inner, self.out = self.out, outer
        if value is None:
            return held
        if value is _TEXT:
            self.write(js_string(held))
            outer.extend(inner)
            return _TEXT
        return float(held) + float(value)

    def settle(self, value: Any) -> Any:
        """A value appended by the generated code (``x != null ? x : ""``): _TEXT once
        written, unless a number or boolean (held back)."""
        if value is _TEXT or value is True or value is False:
            return value
        if isinstance(value, int | float):
            return value
        if value is not None and value is not UNDEFINED:
            text = value if isinstance(value, str) else js_string(value)
            if text:
                self.write(text)
        return _TEXT

    def call_at(self, start: int, end: int) -> Call:
        text = self.source[start:end]
        call = self.calls.get(text)
        if call is None:
            call = plain_call(text) or parse_tag(self.source, start)
            if len(self.calls) >= CALLS_KEPT:
                self.calls.clear()
            self.calls[text] = call
        return call

    def run(
        self, start: int, end: int, ambiguous: int, context: Any, depths: Any, data: dict[str, Any]
    ) -> Any:
        """The statements start..end of a program for ``context``; its result.

        As javascript-compiler.js writes the program: one statement is returned as it is
        (``isSimple``); otherwise the statements' values are added up, an AMBIGUOUS block
        ({{#name}}) breaking the sum: what comes before the first one starts the buffer,
        each one is added to the buffer (unless null), the values between two of them are
        summed apart and then added, and those after the last one are added to the buffer
        one by one."""
        code, src, blocks = self.code, self.source, self.blocks
        k = start
        try:
            if (
                k < end
                and (
                    k + 1
                    if code[3 * k] & 3 != STMT_BLOCK
                    else blocks[code[3 * k + 1] * BLOCK_WIDTH + B_SKIP]
                )
                == end
            ):
                self.step()
                value = self.statement(k, context, depths, data)
                return _TEXT if value is None else value
            total = _EMPTY
            buffer = _EMPTY
            apart: _Output | None = None  # the output a part is written apart from
            calls = self.calls
            while k < end:
                self.steps += 1
                if self.steps > self.max_steps:
                    self.step()
                i = 3 * k
                word = code[i]
                kind = word & 3
                held = total is not _TEXT and total is not _EMPTY  # a number or boolean
                if kind == STMT_CONTENT:
                    a, b = code[i + 1], code[i + 2]
                    if a < b:  # (an empty text is no statement of the generated code)
                        if held:
                            self.write(js_string(total))
                        self.write(src[a:b])
                        total = _TEXT
                    k += 1
                    continue
                if kind == 2:  # a comment
                    k += 1
                    continue
                if kind == STMT_MUSTACHE and not held:
                    # the commonest tag, {{name.name}}: as call() and path() would fill it
                    a, b = code[i + 1], code[i + 2]
                    call = calls.get(src[a:b]) or self.call_at(a, b)
                    if call.plain is not None and call.escaped:
                        value = _lookup(depths, call.plain)
                        if len(call.path.parts) > 1:
                            value = _resolve(value, call.path.parts, 1, False)
                        text = escape(value) if type(value) is str else escape_expression(value)
                        if text:
                            self.write(text)
                        total = _TEXT
                        k += 1
                        continue
                if word & STMT_AMBIGUOUS and kind == STMT_BLOCK:
                    # the part before it goes into the buffer: `buffer = part` for the
                    # first, `buffer += (part)` after (written apart if buffer is a number)
                    if apart is not None:
                        inner, self.out, apart = self.out, apart, None
                        if total is _TEXT:
                            self.write(js_string(buffer))
                            self.out.extend(inner)
                            buffer = _TEXT
                        elif total is not _EMPTY:
                            buffer = float(buffer) + float(total)
                    elif buffer is _EMPTY:
                        buffer = _TEXT if total is _EMPTY else total
                    elif total is not _EMPTY:
                        buffer = self.plus(buffer, total)
                    # then its value, unless null: `if (v != null) buffer += v`
                    if buffer is _TEXT:
                        value = self.statement(k, context, depths, data)
                        if value is not None:
                            buffer = self.plus(buffer, value)
                    else:
                        buffer = self.after(buffer, k, context, depths, data)
                    if k == ambiguous:  # after the last one, each is added to the buffer
                        total = buffer
                    else:
                        total = _EMPTY
                        if buffer is not _TEXT:  # the next part waits for the number
                            apart, self.out = self.out, _Output()
                elif held:
                    total = self.after(total, k, context, depths, data)
                else:
                    total = self.plus(total, self.statement(k, context, depths, data))
                k = blocks[code[i + 1] * BLOCK_WIDTH + B_SKIP] if kind == STMT_BLOCK else k + 1
            return _TEXT if total is _EMPTY else total
        except JsError as exc:
            i = 3 * k
            at = blocks[code[i + 1] * BLOCK_WIDTH] if code[i] & 3 == STMT_BLOCK else code[i + 1]
            raise RenderError(f"line {line_of(src, at)}: {exc}") from None

    def statement(self, k: int, context: Any, depths: Any, data: dict[str, Any]) -> Any:
        """One statement's value: _TEXT (written), a number or boolean, or (an AMBIGUOUS
        block's null or undefined) None."""
        code, blocks = self.code, self.blocks
        i = 3 * k
        word = code[i]
        kind = word & 3
        if kind == STMT_CONTENT:
            a, b = code[i + 1], code[i + 2]
            if a < b:
                self.write(self.source[a:b])
            return _TEXT
        if kind == STMT_MUSTACHE:
            call = self.call_at(code[i + 1], code[i + 2])
            value = self.call(call, context, depths, data, None, None)
            if call.escaped:
                text = escape_expression(value)
                if text:
                    self.write(text)
                return _TEXT
            return self.settle(value)
        if kind == STMT_BLOCK:
            at = code[i + 1] * BLOCK_WIDTH
            call = self.call_at(blocks[at + B_OPEN], blocks[at + B_OPEN_END])
            value = self.call(
                call,
                context,
                depths,
                data,
                self._program(at + B_PROG, data, depths),
                self._program(at + B_INV, data, depths),
            )
            if word & STMT_AMBIGUOUS and (value is None or value is UNDEFINED):
                return None  # `if (stack1 != null) buffer += stack1`: nothing added
            return self.settle(value)
        return _TEXT  # a comment

    def _program(self, field: int, data: dict[str, Any], depths: Any) -> Any:
        """A block's program ready to run, as runtime.js' container.program makes it: its
        statements start..end and last AMBIGUOUS block, and the data frame and contexts
        (``depths``, innermost first, as linked pairs) it closes over; _NOOP if none."""
        blocks = self.blocks
        start = blocks[field]
        if start < 0:
            return _NOOP
        return (start, blocks[field + 1], blocks[field + 3], data, depths)

    def invoke(self, program: Any, context: Any, data: dict[str, Any] | None = None) -> Any:
        """options.fn(context) or options.inverse(context): runtime.js wrapProgram."""
        if program is None:  # a helper that wants a block, used as {{helper}} or (helper)
            raise JsError("a block helper used outside a block: {{#…}} … {{/…}}")
        if program is _NOOP:
            return _TEXT
        start, end, ambiguous, closed_data, depths = program
        head = depths[0]
        if not loose_equal(context, head) and not (context is NULL_CONTEXT and head is None):
            depths = (context, depths)
        return self.run(
            start, end, ambiguous, context, depths, closed_data if data is None else data
        )

    # --- expressions (compiler.js: simple, ambiguous, helper) -------------------------------

    def call(
        self, call: Call, context: Any, depths: Any, data: dict[str, Any], fn: Any, inverse: Any
    ) -> Any:
        """A mustache's value (``fn`` None), a subexpression's, or what a block prints."""
        kind = call.kind
        if kind == SIMPLE:  # simpleSexpr (and blockValue for a block)
            value = self.path(call.path, context, depths, data, False)
            return value if fn is None else self.block_value(context, value, fn, inverse, data)
        if kind == AMBIGUOUS:  # invokeAmbiguous (and ambiguousBlockValue)
            value = self.path(call.path, context, depths, data, False)
            helper = HELPERS.get(call.name or "")
            if helper is not None:
                return helper(self, _this(context), [], _Options(fn, inverse, {}, data))
            if value is None:
                value = UNDEFINED  # helperMissing() with no arguments: undefined
            return value if fn is None else self.block_value(context, value, fn, inverse, data)
        params = [self.value(p, context, depths, data) for p in call.params]
        hash_ = {k: self.value(v, context, depths, data) for k, v in call.hash or ()}
        if call.known:  # invokeKnownHelper
            helper = HELPERS.get(call.name or "")
            if helper is None:  # helperMissing, blockHelperMissing: hooks, not helpers
                raise JsError(f"{{{{{call.name}}}}} cannot be called from an email")
        else:  # invokeHelper: helpers[original] || the value of that name || helperMissing
            # (by the path as written: {{@eq a b}} looks for a helper named '@eq')
            helper = HELPERS.get(call.path.original) if call.simple else None
            if helper is None:
                found = self.path(call.path, context, depths, data, True)
                if truthy(found):
                    raise JsError(
                        f"{call.path.original!r} is not a helper (it is the email's data)"
                    )
                if params:
                    raise JsError(f'Missing helper: "{call.path.original}"')
                return UNDEFINED
        return helper(self, _this(context), params, _Options(fn, inverse, hash_, data))

    def value(self, expr: Any, context: Any, depths: Any, data: dict[str, Any]) -> Any:
        if isinstance(expr, Path):
            return self.path(expr, context, depths, data, False)
        if isinstance(expr, Literal):
            return expr.value
        return self.call(expr, context, depths, data, None, None)

    def path(self, path: Path, context: Any, depths: Any, data: dict[str, Any], falsy: bool) -> Any:
        """A name's value: javascript-compiler.js lookupOnContext/lookupData and resolvePath
        (``falsy``: a helper's name, looked up with ``&&`` rather than ``!= null``)."""
        parts = path.parts
        depth = path.depth
        if not parts or not parts[0]:  # this, ., .., ../.. (and an empty name: the same)
            return context if depth == 0 else _depth(depths, depth)
        if path.data:  # @index, @root.x, @../index
            value: Any = data
            while depth and truthy(value):
                value = value.get("_parent", UNDEFINED) if isinstance(value, dict) else UNDEFINED
                depth -= 1
            return _resolve(value, parts, 0, True)
        if depth == 0 and not path.scoped:  # compat: the name in each context outwards
            return _resolve(_lookup(depths, parts[0]), parts, 1, falsy)
        return _resolve(context if depth == 0 else _depth(depths, depth), parts, 0, falsy)

    def block_value(
        self, this: Any, value: Any, fn: Any, inverse: Any, data: dict[str, Any]
    ) -> Any:
        """helpers/block-helper-missing.js: {{#name}} where name is no helper."""
        if value is True:
            return self.invoke(fn, this)
        if value is False or value is None or value is UNDEFINED:
            return self.invoke(inverse, this)
        if isinstance(value, list):
            if value:
                return _each(self, None, [value], _Options(fn, inverse, {}, data))
            return self.invoke(inverse, this)
        return self.invoke(fn, value, data)


def _this(context: Any) -> Any:
    """What a helper gets as ``this``: the context, or the null context when it is null."""
    return NULL_CONTEXT if context is None or context is UNDEFINED else context


def _depth(depths: Any, n: int) -> Any:
    """depths[n]: the context n blocks out."""
    while n and depths is not None:
        depths = depths[1]
        n -= 1
    return UNDEFINED if depths is None else depths[0]


def _lookup(depths: Any, name: str) -> Any:
    """runtime.js container.lookup (compat mode): the first context, innermost first, where
    the name is neither null nor undefined (a falsy context answers for itself)."""
    while depths is not None:
        value = depths[0]
        if type(value) is dict:
            found = value.get(name, UNDEFINED)
        else:
            found = lookup_property(value, name) if truthy(value) else value
        if found is not None and found is not UNDEFINED:
            return found
        depths = depths[1]
    return UNDEFINED


def _resolve(value: Any, parts: tuple[str, ...], start: int, falsy: bool) -> Any:
    for i in range(start, len(parts)):
        if not truthy(value) if falsy else value is None or value is UNDEFINED:
            return value
        value = lookup_property(value, parts[i])
    return value


# --- helpers (helpers/*.js, and the platform's eq) ---------------------------------------------


def _if(run: _Fill, this: Any, params: list[Any], options: _Options) -> Any:
    if len(params) != 1:
        raise JsError("#if requires exactly one argument")
    return _branch(run, this, params[0], options.fn, options.inverse, options.hash)


def _unless(run: _Fill, this: Any, params: list[Any], options: _Options) -> Any:
    if len(params) != 1:
        raise JsError("#unless requires exactly one argument")
    return _branch(run, this, params[0], options.inverse, options.fn, options.hash)


def _branch(run: _Fill, this: Any, value: Any, fn: Any, inverse: Any, hash_: dict[str, Any]) -> Any:
    if (not truthy(hash_.get("includeZero", UNDEFINED)) and not truthy(value)) or is_empty(value):
        return run.invoke(inverse, this)
    return run.invoke(fn, this)


def _with(run: _Fill, this: Any, params: list[Any], options: _Options) -> Any:
    if len(params) != 1:
        raise JsError("#with requires exactly one argument")
    if not is_empty(params[0]):
        return run.invoke(options.fn, params[0], options.data)
    return run.invoke(options.inverse, this)


def _each(run: _Fill, this: Any, params: list[Any], options: _Options) -> Any:
    if not params:
        raise JsError("Must pass iterator to #each")
    if len(params) > 1 or options.fn is None:
        raise JsError("#each takes one list and a block: {{#each list}} … {{/each}}")
    context = params[0]
    fn = options.fn
    frame = dict(options.data)  # utils.js createFrame
    frame["_parent"] = options.data
    pairs: list[tuple[Any, Any]] = []  # (key, item): an array's index, an object's own key
    if isinstance(context, list):
        pairs = list(enumerate(context))
    elif isinstance(context, dict):
        pairs = [(key, context[key]) for key in own_keys(context)]
    count = len(pairs)
    for i, (key, item) in enumerate(pairs):
        run.step()
        frame["key"] = key
        frame["index"] = i
        frame["first"] = i == 0
        frame["last"] = i == count - 1
        run.plus(_TEXT, run.invoke(fn, item, frame))  # ret = ret + fn(…): a string
    if count == 0:
        return run.invoke(options.inverse, this)
    return _TEXT


def _lookup_helper(run: _Fill, this: Any, params: list[Any], options: _Options) -> Any:
    # lookup(obj, field, options): with other than two arguments, ``options`` is not the
    # options object, and Handlebars.js throws unless ``obj`` is falsy
    if not params:
        raise JsError("lookup needs an object and a field: (lookup obj 'field')")
    obj = params[0]
    if not truthy(obj):
        return obj
    if len(params) != 2:
        raise JsError("lookup needs an object and a field: (lookup obj 'field')")
    return lookup_property(obj, property_key(params[1]))


def _eq(run: _Fill, this: Any, params: list[Any], options: _Options) -> Any:
    # the platform's helper, as render.js registers it: (a, b) => a === b, where a missing
    # argument is the options object (never equal to anything)
    return len(params) >= 2 and strict_equal(params[0], params[1])


HELPERS: dict[str, Any] = {
    "if": _if,
    "unless": _unless,
    "with": _with,
    "each": _each,
    "lookup": _lookup_helper,
    "eq": _eq,
}
