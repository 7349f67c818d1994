"""JavaScript's values, as Handlebars.js meets them when it fills a template from JSON data.

The data is what ``JSON.parse`` makes of it: ``None`` is ``null``, ``UNDEFINED`` stands for
``undefined``, numbers are doubles, lists are arrays, dicts are plain objects (their keys in
JavaScript's order: array indices first). ``NULL_CONTEXT`` is Handlebars' sealed empty
object, what a helper sees as ``this`` when the context is null. What each function mirrors
is named in its docstring; the differential tests (tests/test_render.py) hold them to
Handlebars.js under node.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

# JavaScript's \s (WhiteSpace and LineTerminator), as Handlebars' regular expressions see it
JS_SPACE = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


class _NullContext:
    __slots__ = ()

    def __repr__(self) -> str:
        return "nullContext"


UNDEFINED: Any = _Undefined()
NULL_CONTEXT: Any = _NullContext()
MAX_DATA_DEPTH = 100  # a context nested deeper is refused (String() and each recurse)


class JsError(Exception):
    """What Handlebars.js throws while filling (a helper given the wrong arguments, a value
    called as a function), or what the preview will not print; ``_render`` adds the line."""


_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        "`": "&#x60;",
        "=": "&#x3D;",
    }
)
_BAD = re.compile("[&<>\"'`=]")
_INDEX = re.compile("0|[1-9][0-9]{0,9}")  # an array index: canonical, below 2**32 - 1
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = {
    "x": (16, re.compile("[0-9a-fA-F]+")),
    "o": (8, re.compile("[0-7]+")),
    "b": (2, re.compile("[01]+")),
}


def escape(text: str) -> str:
    """utils.js escapeExpression on a string: ``&<>"'`=`` as HTML entities."""
    return text.translate(_ESCAPES) if _BAD.search(text) else text


def escape_expression(value: Any) -> str:
    """utils.js escapeExpression: what ``{{value}}`` prints."""
    if isinstance(value, str):
        return escape(value)
    if value is None or value is UNDEFINED:
        return ""
    if not truthy(value):
        return js_string(value)
    return escape(js_string(value))


def js_number(x: float) -> str:
    """Number.prototype.toString(): the shortest digits that read back as ``x`` (Python's
    repr finds the same), written as ECMAScript's Number::toString places them."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if x < 0:
        return "-" + js_number(-x)
    mantissa, _, exponent = repr(float(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    fraction = "" if fraction == "0" else fraction
    digits = (whole + fraction).lstrip("0")
    significant = digits.rstrip("0")
    k = len(significant)
    n = int(exponent or 0) - len(fraction) + len(digits)  # x = 0.significant * 10**n
    if k <= n <= 21:
        return significant + "0" * (n - k)
    if 0 < n <= 21:
        return significant[:n] + "." + significant[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + significant
    e = f"e{'+' if n > 0 else '-'}{abs(n - 1)}"
    return significant + e if k == 1 else significant[0] + "." + significant[1:] + e


def js_string(value: Any, depth: int = 0) -> str:
    """String(value)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return js_number(float(value))
    if isinstance(value, list):  # Array.prototype.join: null and undefined as ""
        if depth > MAX_DATA_DEPTH:
            raise JsError("the data is nested too deep to print")
        return ",".join(
            "" if v is None or v is UNDEFINED else js_string(v, depth + 1) for v in value
        )
    return "[object Object]"


def truthy(value: Any) -> bool:
    """JavaScript's truthiness: false, 0, NaN, "", null and undefined are false; every
    object, the empty array included, is true."""
    if value is None or value is UNDEFINED or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, int | float):
        return value == value and value != 0
    if isinstance(value, str):
        return value != ""
    return True


def is_empty(value: Any) -> bool:
    """utils.js isEmpty (what {{#if}} and {{#with}} skip): falsy but not 0, or []."""
    if isinstance(value, list):
        return not value
    if not truthy(value):
        return not (_is_number(value) and value == 0)
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def strict_equal(a: Any, b: Any) -> bool:
    """a === b."""
    kind = _type(a)
    if kind != _type(b):
        return False
    if kind in ("number", "string", "boolean"):
        return bool(a == b)
    return a is b


def loose_equal(a: Any, b: Any) -> bool:
    """a == b (IsLooselyEqual)."""
    ta, tb = _type(a), _type(b)
    if ta == tb:
        return strict_equal(a, b)
    if {ta, tb} == {"null", "undefined"}:
        return True
    if ta == "number" and tb == "string":
        return bool(a == to_number(b))
    if ta == "string" and tb == "number":
        return bool(to_number(a) == b)
    if ta == "boolean":
        return loose_equal(1.0 if a else 0.0, b)
    if tb == "boolean":
        return loose_equal(a, 1.0 if b else 0.0)
    if ta in ("number", "string") and tb == "object":
        return loose_equal(a, js_string(b))
    if ta == "object" and tb in ("number", "string"):
        return loose_equal(js_string(a), b)
    return False


def to_number(text: str) -> float:
    """StringToNumber."""
    text = text.strip(JS_SPACE)
    if not text:
        return 0.0
    if text in ("Infinity", "+Infinity", "-Infinity"):
        return -math.inf if text[0] == "-" else math.inf
    if len(text) > 2 and text[0] == "0" and text[1].lower() in _RADIX:
        base, digits = _RADIX[text[1].lower()]
        if digits.fullmatch(text, 2):
            try:
                return float(int(text[2:], base))
            except OverflowError:
                return math.inf
        return math.nan
    if _DECIMAL.fullmatch(text):
        return float(text)
    return math.nan


def lookup_property(parent: Any, name: str) -> Any:
    """runtime.js lookupProperty on a value that is not null or undefined: an own property
    (Handlebars denies what an object inherits: toString, constructor, __proto__, …)."""
    if isinstance(parent, dict):
        return parent.get(name, UNDEFINED)
    if isinstance(parent, list):
        if name == "length":
            return len(parent)
        i = _index(name)
        return parent[i] if i is not None and i < len(parent) else UNDEFINED
    if isinstance(parent, str):
        return _string_property(parent, name)
    return UNDEFINED  # numbers, booleans, the null context: nothing of their own


def _index(name: str) -> int | None:
    if not _INDEX.fullmatch(name):
        return None
    i = int(name)
    return i if i < 2**32 - 1 else None


def _string_property(text: str, name: str) -> Any:
    """A string's own properties: ``length`` and its characters, counted in UTF-16 units
    as JavaScript counts them."""
    wide = not text.isascii() and max(text) > "\uffff"
    if name == "length":
        return len(text.encode("utf-16-le", "surrogatepass")) // 2 if wide else len(text)
    i = _index(name)
    if i is None:
        return UNDEFINED
    if not wide:
        return text[i] if i < len(text) else UNDEFINED
    units = text.encode("utf-16-le", "surrogatepass")
    if 2 * i >= len(units):
        return UNDEFINED
    unit = int.from_bytes(units[2 * i : 2 * i + 2], "little")
    if 0xD800 <= unit <= 0xDFFF:
        raise JsError(
            "the preview does not print half of a character (an index into a "
            "string that falls inside an emoji or another astral character)"
        )
    return chr(unit)


def property_key(value: Any) -> str:
    """ToPropertyKey: the name ``{{lookup obj key}}`` reads."""
    return js_string(value)


def own_keys(value: Any) -> list[str]:
    """Object.keys: array indices in numeric order first, then the other keys as created."""
    if not isinstance(value, dict):
        return []
    keys = list(value)
    indices = [k for k in keys if _index(k) is not None]
    if not indices:
        return keys
    indices.sort(key=int)
    return indices + [k for k in keys if _index(k) is None]


def js_value(data: Any, depth: int = 0) -> Any:
    """Python data as ``JSON.parse(json.dumps(data))`` gives it to Handlebars.js: a copy, in
    which every number is a double. Raises TypeError for what JSON cannot carry."""
    if data is None or isinstance(data, str | bool):
        return data
    if depth > MAX_DATA_DEPTH:
        raise TypeError("the data is nested too deep")
    if isinstance(data, int):
        try:
            return float(data)
        except OverflowError:
            return math.inf if data > 0 else -math.inf
    if isinstance(data, float):
        if not math.isfinite(data):
            raise TypeError(f"{data!r} is not a JSON number")
        return data
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError(f"the key {key!r} is not a string")
            out[key] = js_value(value, depth + 1)
        return out
    if isinstance(data, list | tuple):
        return [js_value(v, depth + 1) for v in data]
    raise TypeError(f"{type(data).__name__} is not JSON data")
