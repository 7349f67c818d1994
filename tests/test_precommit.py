"""The hooks in .pre-commit-hooks.yaml, driven by the real pre-commit on a template repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from fixturecases import FIXTURES, ROOT

EXAMPLE = FIXTURES / "examples" / "registration-email.html"
NO_QR = FIXTURES / "unchanged" / "no-qr-block" / "input.html"
GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"
PYPROJECT = f"""[tool.mailpatch]
endpoint = "contoso.svc.dynamics.com"
exclude = ["drafts/*"]

[tool.mailpatch.events]
"{GUID}" = "ContosoSummit2026"
"""
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


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's working tree as a one-commit repository (pre-commit clones a rev)."""
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hook repo")
    return repo, git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")  # the hook's venv is built once per module


def templates_repo(root: Path, hook: tuple[Path, str], hook_id: str) -> Path:
    repo_path, rev = hook
    (root / "emails" / "drafts").mkdir(parents=True)
    shutil.copyfile(EXAMPLE, root / "emails" / "summit.html")
    shutil.copyfile(EXAMPLE, root / "emails" / "drafts" / "wip.html")
    shutil.copyfile(NO_QR, root / "emails" / "newsletter.html")
    (root / "pyproject.toml").write_text(PYPROJECT, "utf-8")
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {repo_path}\n  rev: {rev}\n  hooks:\n  - id: {hook_id}\n", "utf-8"
    )
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "templates")
    return root


def pre_commit(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home)},
    )


def test_fixing_hook_patches_then_passes(tmp_path: Path, hook_repo, pre_commit_home) -> None:
    repo = templates_repo(tmp_path, hook_repo, "mailpatch")
    first = pre_commit(repo, pre_commit_home)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    patched = (repo / "emails" / "summit.html").read_text("utf-8")
    assert "calendar/personal/ics" in patched and "ContosoSummit2026" in patched
    assert 'data-editorblocktype="ERQRCode"' not in patched
    # the exclude in pyproject.toml holds although pre-commit names the file explicitly
    assert (repo / "emails" / "drafts" / "wip.html").read_bytes() == EXAMPLE.read_bytes()
    assert (repo / "emails" / "newsletter.html").read_bytes() == NO_QR.read_bytes()
    second = pre_commit(repo, pre_commit_home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Passed" in second.stdout


def test_checking_hook_fails_and_names_the_template(
    tmp_path: Path, hook_repo, pre_commit_home
) -> None:
    repo = templates_repo(tmp_path, hook_repo, "mailpatch-check")
    result = pre_commit(repo, pre_commit_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "would patch emails/summit.html" in result.stdout
    assert "newsletter" not in result.stdout
    assert (repo / "emails" / "summit.html").read_bytes() == EXAMPLE.read_bytes()


def test_lint_hook_reports_a_broken_link_by_position(
    tmp_path: Path, hook_repo, pre_commit_home
) -> None:
    repo = templates_repo(tmp_path, hook_repo, "mailpatch-lint")
    broken = FIXTURES / "lint" / "mp205-vml-left-at-hash" / "input.html"
    shutil.copyfile(broken, repo / "emails" / "webinar.html")
    shutil.copyfile(broken, repo / "emails" / "drafts" / "webinar.html")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a hand-patched template")
    result = pre_commit(repo, pre_commit_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "emails/webinar.html:18:108: MP205 Outlook's VML link points to '#'" in result.stdout
    assert "drafts" not in result.stdout  # the exclude in pyproject.toml holds
    assert "summit.html" not in result.stdout  # not patched yet is not a lint problem


LABS = FIXTURES / "patch" / "classic-vml-button" / "input.html"
LABS_GUID = "2c7e9a41-5f3b-ef11-a82e-000d3a4b7c91"


def test_two_events_an_events_table_and_a_later_settings_change(
    tmp_path: Path, hook_repo, pre_commit_home
) -> None:
    """What a template repository lives through: two events' emails patched from the events
    table; then one event's readable id changes, and the hooks update that email alone; an
    export of an event the table does not know is refused, saying where to add it."""
    repo = templates_repo(tmp_path, hook_repo, "mailpatch")
    shutil.copyfile(LABS, repo / "emails" / "labs.html")
    (repo / "pyproject.toml").write_text(PYPROJECT + f'"{LABS_GUID}" = "LabsDay2026"\n', "utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a second event")
    first = pre_commit(repo, pre_commit_home)
    assert first.returncode == 1, first.stdout + first.stderr
    summit = (repo / "emails" / "summit.html").read_text("utf-8")
    labs = (repo / "emails" / "labs.html").read_text("utf-8")
    assert "ContosoSummit2026" in summit and "LabsDay2026" not in summit
    assert "LabsDay2026" in labs and "ContosoSummit2026" not in labs
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "patched")
    assert pre_commit(repo, pre_commit_home).returncode == 0

    # the summit's readable id changes: the check hook sees it, the fixing hook updates it
    (repo / "pyproject.toml").write_text(
        PYPROJECT.replace("ContosoSummit2026", "ContosoSummit2026_Main")
        + f'"{LABS_GUID}" = "LabsDay2026"\n',
        "utf-8",
    )
    (repo / ".pre-commit-config.yaml").write_text(
        (repo / ".pre-commit-config.yaml").read_text("utf-8")
        + "  - id: mailpatch-check\n",
        "utf-8",
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the summit's id changed")
    changed = pre_commit(repo, pre_commit_home)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "updated emails/summit.html" in changed.stdout
    assert "labs.html" not in changed.stdout.replace("Passed", "")
    assert "ContosoSummit2026_Main" in (repo / "emails" / "summit.html").read_text("utf-8")
    assert (repo / "emails" / "labs.html").read_text("utf-8") == labs
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "updated")
    assert pre_commit(repo, pre_commit_home).returncode == 0

    # an export of an event the table does not know: refused by name, nothing written
    other = (FIXTURES / "patch" / "newer-editor-button" / "input.html").read_bytes()
    (repo / "emails" / "unknown.html").write_bytes(other)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "an event nobody mapped")
    refused = pre_commit(repo, pre_commit_home)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "no readable event id for event" in refused.stdout
    assert "exit code: 123" in refused.stdout
    assert "under [tool.mailpatch.events] in pyproject.toml (or give --event" in refused.stdout
    assert (repo / "emails" / "unknown.html").read_bytes() == other


def readme_snippet() -> str:
    """The .pre-commit-config.yaml the README prints, exactly."""
    readme = (ROOT / "README.md").read_text("utf-8")
    after = readme.split("<!-- pre-commit-snippet -->\n```yaml\n", 1)[1]
    return after.split("```", 1)[0]


def test_the_readme_snippet_works_as_printed(tmp_path: Path, pre_commit_home: Path) -> None:
    """The snippet, with mailpatch installed where pre-commit runs (this venv, on PATH)."""
    repo = tmp_path
    (repo / "emails").mkdir()
    shutil.copyfile(EXAMPLE, repo / "emails" / "summit.html")
    (repo / "pyproject.toml").write_text(PYPROJECT, "utf-8")
    (repo / ".pre-commit-config.yaml").write_text(readme_snippet(), "utf-8")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "templates")
    env = {
        **os.environ,
        **GIT_ENV,
        "PRE_COMMIT_HOME": str(pre_commit_home),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    run = partial(
        subprocess.run,
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    first = run()
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert "ContosoSummit2026" in (repo / "emails" / "summit.html").read_text("utf-8")
    second = run()
    assert second.returncode == 0, second.stdout + second.stderr
