"""mailpatch: patch Dynamics 365 Marketing registration emails for a personalised .ics."""

from __future__ import annotations

__version__ = "0.1.0"

from mailpatch._errors import MissingOption, Refusal
from mailpatch._link import CalendarLink, decode_calendar_url, normalize_endpoint
from mailpatch._patch import EventRef, PatchOptions, PatchResult, patch

__all__ = [
    "CalendarLink",
    "EventRef",
    "MissingOption",
    "PatchOptions",
    "PatchResult",
    "Refusal",
    "__version__",
    "decode_calendar_url",
    "normalize_endpoint",
    "patch",
]
