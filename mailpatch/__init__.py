"""mailpatch: patch Dynamics 365 Marketing registration emails for a personalised .ics.

The public API, for scripts (everything else lives in private modules and may change)::

    from mailpatch import PatchOptions, EventRef, decode, patch, verify
    options = PatchOptions(endpoint="contoso.svc.dynamics.com", event=EventRef("Summit2026"))
    email = decode(data)                 # bytes read as the CLI reads them; raises FileProblem
    result = patch(email.text, options)  # raises Refusal / MissingOption rather than guess
    if result.changed:
        verify(email.text, result, options)  # raises VerifyError, or its Unverifiable (the
        new_data = email.encode(result.text)  # file is past what libxml2 reads): the CLI's check

    from mailpatch import lint
    for problem in lint(text):           # Problem(code, offset, message, fixable)
        ...

Inside, the modules keep a layer order (CONTRIBUTING.md, "Layers"; ``tests/test_layers.py``
fails on an import against it): the core (``_html`` … ``_patch``, ``_files``) -> the checks
(``_verify``, ``_lint``, ``_ics``, this API) -> the runner and settings (``_run``,
``_config``, ``_options``, ``_output``) -> the command line (``_cli*``, the only importer of
click) | the web page (``mailpatch.page``, the only importer of jinja2, which never imports
the command line).

Imports, for contributors: a module imports what it uses at its top. Only what costs start-up
on a path most runs never take is imported inside the function that needs it, with a comment
saying which path: lxml and the verifier (``_verify``), the lint table (``_lint``), the other
commands' modules (``_cli`` loads a command's module when it is named) and what only they use
(jinja2, icalendar, ``_preview``, ``_ics``), pathspec, and standard modules the core does not
load otherwise (tempfile, ctypes, concurrent.futures, queue, difflib, html, tomllib, zoneinfo,
unicodedata, zlib); in this module, the names in ``_LAZY`` below, loaded when first asked for.
``import mailpatch`` loads neither lxml nor lint (tests/test_public_api.py), and
``benchmarks/bench.py`` times the start-up of ``mailpatch patch``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from mailpatch._errors import MissingOption, Refusal, UnmappedEvent
from mailpatch._link import (
    CalendarLink,
    DecodedLink,
    DecodeError,
    LinkError,
    decode_calendar_url,
    normalize_endpoint,
)
from mailpatch._patch import (
    Edit,
    EditKind,
    EventRef,
    Pairing,
    PatchOptions,
    PatchResult,
    Update,
    patch,
)

if TYPE_CHECKING:
    from mailpatch._files import EmailText, FileProblem, decode
    from mailpatch._lint import RULES, CalendarContent, Problem, Rule, Severity, lint
    from mailpatch._verify import Unverifiable, VerifyError, verify

# verify() needs lxml, lint() its rule table and decode() the file layer (signals, threads):
# imported when first asked for, so that a script (or `mailpatch patch --check`) that does
# not use them does not pay their start-up
_LAZY = {
    "verify": "mailpatch._verify",
    "VerifyError": "mailpatch._verify",
    "Unverifiable": "mailpatch._verify",
    "decode": "mailpatch._files",
    "EmailText": "mailpatch._files",
    "FileProblem": "mailpatch._files",
    "lint": "mailpatch._lint",
    "Problem": "mailpatch._lint",
    "CalendarContent": "mailpatch._lint",
    "Rule": "mailpatch._lint",
    "RULES": "mailpatch._lint",
    "Severity": "mailpatch._lint",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mailpatch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "RULES",
    "CalendarContent",
    "CalendarLink",
    "DecodeError",
    "DecodedLink",
    "Edit",
    "EditKind",
    "EmailText",
    "EventRef",
    "FileProblem",
    "LinkError",
    "MissingOption",
    "Pairing",
    "PatchOptions",
    "PatchResult",
    "Problem",
    "Refusal",
    "Rule",
    "Severity",
    "UnmappedEvent",
    "Unverifiable",
    "Update",
    "VerifyError",
    "__version__",
    "decode",
    "decode_calendar_url",
    "lint",
    "normalize_endpoint",
    "patch",
    "verify",
]
