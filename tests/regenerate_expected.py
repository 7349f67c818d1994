"""Write fixtures/patch/*/expected.html from the current code: review the diff before committing.

python tests/regenerate_expected.py
"""

from __future__ import annotations

import sys

from mailpatch._cli import main

from fixturecases import cases  # type: ignore[import-not-found]

if __name__ == "__main__":
    for case in cases("patch"):
        code = main(["patch", *case.args, "-o", str(case.expected), str(case.input)])
        if code != 0:
            sys.exit(f"{case.name}: exit {code}")
