"""The two tiers of the suite: `pytest -m "not slow"` for the core while working, everything in
CI. The slow marks sit in the test modules themselves; .ci/run must not select by marker."""

from __future__ import annotations

import shlex
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_ci_runs_every_tier() -> None:
    run = (TESTS.parent / ".ci" / "run").read_text(encoding="utf-8")
    pytest_words = [
        shlex.split(command)
        for line in run.splitlines()
        for command in line.split("&&")
        if "-m pytest" in command
    ]
    assert pytest_words, ".ci/run runs no pytest"
    for words in pytest_words:
        assert "-m" in words and words[words.index("-m") + 1] == "pytest"
        assert words.count("-m") == 1 and not any(w.startswith("-k") for w in words), words
