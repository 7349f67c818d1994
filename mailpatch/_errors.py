"""What the core says when it will not patch."""

from __future__ import annotations


class Refusal(Exception):
    """This file cannot be patched safely; ``offset`` points at the cause in the text."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


class MissingOption(Exception):
    """The file needs an option the user did not give (a usage error, exit 2)."""


class UnmappedEvent(Refusal):
    """No readable event id for the QR block's event GUID in the settings."""

    def __init__(self, guid: str, reason: str, offset: int) -> None:
        super().__init__(reason, offset)
        self.guid = guid
