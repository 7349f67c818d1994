"""mailpatch: patch Dynamics 365 Marketing registration emails for a personalised .ics.

The public API, for scripts (everything else lives in private modules and may change)::

    from mailpatch import PatchOptions, EventRef, patch, verify
    options = PatchOptions(endpoint="contoso.svc.dynamics.com", event=EventRef("Summit2026"))
    result = patch(text, options)        # raises Refusal / MissingOption rather than guess
    if result.changed:
        verify(text, result, options)    # raises VerifyError: what the CLI checks before writing
        new_text = result.text

    from mailpatch import lint
    for problem in lint(text):           # Problem(code, offset, message, fixable)
        ...

Inside, the modules keep a layer order (CONTRIBUTING.md, "Layers"; ``tests/test_layers.py``
fails on an import against it): the core (``_html`` … ``_patch``, ``_files``) -> the checks
(``_verify``, ``_lint``, ``_ics``, this API) -> the runner and settings (``_run``,
``_config``, ``_options``, ``_output``) -> the command line (``_cli*``, the only importer of
click) | the web page (``mailpatch.page``, the only importer of jinja2, which never imports
the command line).
"""

from __future__ import annotations

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
    from mailpatch._lint import RULES, CalendarContent, Problem, Rule, Severity, lint
    from mailpatch._verify import VerifyError, verify

# verify() needs lxml and lint() its rule table: imported when first asked for, so that a
# script (or `mailpatch patch --check`) that does not use them does not pay their start-up
_LAZY = {
    "verify": "mailpatch._verify",
    "VerifyError": "mailpatch._verify",
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
    import importlib

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
    "EventRef",
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
    "Update",
    "VerifyError",
    "__version__",
    "decode_calendar_url",
    "lint",
    "normalize_endpoint",
    "patch",
    "verify",
]
