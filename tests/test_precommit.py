"""The hooks in .pre-commit-hooks.yaml, driven by the real pre-commit on a template repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
