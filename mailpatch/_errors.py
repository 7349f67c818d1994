"""What the core says when it will not patch."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class Cause(Enum):
    """Why a Refusal was made, for a caller that answers it in its own words (the page of
    ``mailpatch serve`` offers a choice where the command line names an option)."""

    OTHER = "other"
    AMBIGUOUS = "ambiguous"  # Buttons can take the calendar links in more than one way
    NO_BUTTON = "no-button"  # no Button may take it unless named (none, or they link elsewhere)
    TOO_FEW = "too-few"  # fewer Buttons that may take a link than events to give one
    CHOICE = "choice"  # the Buttons named (--button) do not fit the email
    LOCKED = "locked"  # a protected or locked block (--force)


class ButtonChoice(NamedTuple):
    """A Button block a Refusal names as one the user may choose."""

    offset: int  # where its element starts
    label: str  # its visible text, for messages
    links_elsewhere: bool = False  # it links to a real page: taken only when named


class Refusal(Exception):
    """This file cannot be patched safely; ``offset`` points at the cause in the text.
    ``cause`` and ``buttons`` say the same in structured form: the Buttons among which a
    choice would settle it (AMBIGUOUS, NO_BUTTON, TOO_FEW, CHOICE), or the locked one."""

    def __init__(
        self,
        reason: str,
        offset: int,
        cause: Cause = Cause.OTHER,
        buttons: tuple[ButtonChoice, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.cause = cause
        self.buttons = buttons


class MissingOption(Exception):
    """The file needs an option the user did not give (a usage error, exit 2)."""


class UnmappedEvent(Refusal):
    """No readable event id for the QR block's event GUID in the settings."""

    def __init__(self, guid: str, reason: str, offset: int) -> None:
        super().__init__(reason, offset)
        self.guid = guid
