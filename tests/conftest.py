from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from handlebars_harness import LineRenderer, Renderer

# the shared helpers (fixturecases.py, handlebars_harness.py, …) are imported by name from the
# test modules; the shared fixtures are here
sys.path.insert(0, str(Path(__file__).parent))

# Property tests: `ci` (the default) is derandomized -- the same examples on every run, so CI
# is reproducible -- and sized for the whole of test_properties.py to run in well under a
# minute on two cores. `long` explores: HYPOTHESIS_PROFILE=long python -m pytest
# tests/test_properties.py (random seeds; failures are saved in .hypothesis/ and replayed).
_COMMON = {
    "deadline": None,  # an email is patched, verified by lxml and patched again per example
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, max_examples=500, **_COMMON)
settings.register_profile("long", max_examples=3_000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Generated cases that ran, per property (test_properties.py counts them; shown at the end).
GENERATED: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _no_terminal_colour_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests decide colour themselves: a TERM=dumb or NO_COLOR of the shell running them
    (an editor's terminal, a CI runner) would turn it off under them."""
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if GENERATED:
        total = sum(GENERATED.values())
        profile = settings._current_profile  # type: ignore[attr-defined]
        terminalreporter.write_sep("-", f"{total:,} generated cases ran (profile {profile})")
        for name, count in sorted(GENERATED.items()):
            terminalreporter.write_line(f"{count:>8,}  {name}")


GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout.strip()


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's working tree, uncommitted changes included, as a one-commit repository:
    pre-commit clones a rev of it (tests/test_precommit.py), and the README's commands run in
    clones of it (tests/test_readme.py)."""
    root = Path(__file__).resolve().parent.parent
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = root / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hook repo")
    return repo, git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="session")
def handlebars() -> Renderer:
    """The real Handlebars.js (tests/handlebars_harness.py): skipped without node or its npm
    install, except under CI, where a silently skipped harness would hide regressions."""
    from handlebars_harness import Renderer, harness_problems

    problems = harness_problems()
    if problems:
        reason = "Handlebars harness unavailable: " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(reason + " -- CI is set, and a skipped harness would hide regressions")
        pytest.skip(reason)
    node = shutil.which("node")
    assert node is not None
    return Renderer(node)


@pytest.fixture(scope="session")
def handlebars_lines(handlebars: Renderer) -> Iterator[LineRenderer]:
    """render.js in one process for the session, a batch per line (LineRenderer)."""
    from handlebars_harness import LineRenderer

    renderer = LineRenderer(handlebars.node)
    yield renderer
    renderer.close()
