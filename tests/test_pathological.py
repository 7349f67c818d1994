"""Hostile sizes and shapes end as an outcome -- patched and verified, or refused -- never as
a hang, a RecursionError or a traceback. Timings live in benchmarks/pathological.py; here a
case passes by finishing with the right outcome (a quadratic locator would not finish)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mailpatch._files import decode
from mailpatch._patch import patch
from mailpatch._run import Mode, Status, process
from mailpatch._verify import verify

from pathological_inputs import Hostile, cases

STATUS = {
    "patched": Status.PATCHED,
    "refused": Status.REFUSED,
    "not applicable": Status.NOT_APPLICABLE,
}
CASES = [pytest.param(c, id=c.name) for c in cases()]


@pytest.mark.parametrize("case", CASES)
def test_hostile_email_ends_as_an_outcome(case: Hostile, tmp_path: Path) -> None:
    path = tmp_path / "email.html"
    original = case.build().encode("utf-8")
    path.write_bytes(original)
    outcome = process(str(path), case.options, Mode())
    assert outcome.status is STATUS[case.outcome], outcome.message
    after = path.read_bytes()
    if case.outcome == "refused":
        assert case.why in outcome.message
        assert after == original
    elif case.outcome == "not applicable":
        assert after == original
    else:
        assert after != original
        text = decode(after).text
        assert "ERQRCode" not in text
        assert not patch(text, case.options).changed  # a second run is a no-op
    assert [p.name for p in tmp_path.iterdir()] == ["email.html"]  # no temp file left


def test_deep_nesting_refusal_names_the_limit(tmp_path: Path) -> None:
    case = next(c for c in cases() if c.name == "nesting-100k-around-blocks")
    path = tmp_path / "deep.html"
    path.write_text(case.build(), "utf-8")
    outcome = process(str(path), case.options, Mode())
    assert "Excessive depth" in outcome.message
    assert "XML_PARSE_HUGE" not in outcome.message  # libxml2's hint is no use to a user
    assert "INTERNAL ERROR" not in outcome.message


def test_patched_pairs_each_verify() -> None:
    """The many-pairs cases pass the full safe-mode check, not only a second patch."""
    case = next(c for c in cases() if c.name.endswith("-events"))
    text = case.build()
    result = patch(text, case.options)
    assert len(result.pairings) == 2_000
    verify(text, result, case.options)


def test_benchmark_script_runs() -> None:
    """benchmarks/pathological.py prints its figures (one small case; no time is asserted)."""
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "pathological.py"), "--only", "nesting-1000"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "nesting-1000-around-blocks" in run.stdout and "patched" in run.stdout
