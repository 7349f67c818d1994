"""The two tiers of the suite: `pytest -m "not slow"` for the core while working, everything in
CI. The marks named in conftest.SLOW_BY_NAME must name real tests (a renamed test would quietly
become fast), and .ci/run must not select by marker."""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

from conftest import SLOW_BY_NAME

TESTS = Path(__file__).resolve().parent


def test_every_slow_mark_by_name_names_a_test() -> None:
    missing = []
    for module, names in SLOW_BY_NAME.items():
        tree = ast.parse((TESTS / module).read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        missing += [f"{module}::{name}" for name in sorted(names or ()) if name not in defined]
    assert missing == []


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
