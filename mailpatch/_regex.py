"""Regular expressions compiled when first used.

Compiling every module's patterns at import was most of what importing mailpatch cost (the
tokenizer's skip alone is a few thousand opcodes), and ``mailpatch patch --check`` on one
email, a pre-commit run, uses a few of them. A pattern made by ``lazy`` compiles on its first
use; each attribute it is asked for (``search``, ``match``…) is then kept on it, so later
uses cost what a compiled pattern's do.
"""

from __future__ import annotations

import re
from typing import Any, cast


class LazyPattern:
    """Stands for ``re.compile(source, flags)`` until something is asked of it."""

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags

    def __getattr__(self, name: str) -> Any:  # only for what this object does not have yet
        compiled = re.compile(self._source, self._flags)
        value = getattr(compiled, name)
        setattr(self, name, value)  # (bound methods too: from now on found without this)
        return value

    def __repr__(self) -> str:
        return f"lazy({self._source[:40]!r}…)"


def lazy(source: str, flags: int = 0) -> re.Pattern[str]:
    """A pattern that compiles on first use, typed as the compiled pattern it stands for."""
    return cast("re.Pattern[str]", LazyPattern(source, flags))
