"""The hooks in .pre-commit-hooks.yaml, driven by the real pre-commit on a template repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from conftest import GIT_ENV, git
from fixturecases import FIXTURES, ROOT

# slow (`pytest -m "not slow"` leaves it out; .ci/run runs it):
# pre-commit run for real in git repositories (seconds a test)
pytestmark = pytest.mark.slow

EXAMPLE = FIXTURES / "examples" / "registration-email.html"
NO_QR = FIXTURES / "unchanged" / "no-qr-block" / "input.html"
GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"
PYPROJECT = f"""[tool.mailpatch]
endpoint = "contoso.svc.dynamics.com"
exclude = ["drafts/*"]

[tool.mailpatch.events]
"{GUID}" = "ContosoSummit2026"
"""
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


# --- a settings change reaches the templates; one-event rule across pre-commit's runs -------

LOCAL_HOOKS = "readme-snippet"


def patched_templates_repo(root: Path, hook: tuple[Path, str], hook_id: str) -> Path:
    """Templates committed patched, with the hook installed into git as a user has it."""
    if hook_id == LOCAL_HOOKS:
        (root / "emails").mkdir(parents=True)
        shutil.copyfile(EXAMPLE, root / "emails" / "summit.html")
        (root / "pyproject.toml").write_text(PYPROJECT, "utf-8")
        (root / ".pre-commit-config.yaml").write_text(readme_snippet(), "utf-8")
        git(root, "init", "-q")
    else:
        templates_repo(root, hook, hook_id)
    subprocess.run(
        [sys.executable, "-m", "mailpatch", "patch", str(root / "emails" / "summit.html")],
        check=True,
        capture_output=True,
    )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "patched templates")
    return root


def hook_env(home: Path) -> dict[str, str]:
    """pre-commit's home, and this venv on PATH (the README snippet's hook is `language:
    system`: mailpatch installed where pre-commit runs)."""
    path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    return {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "PATH": path}


@pytest.mark.parametrize("hook_id", ["mailpatch", "mailpatch-check", LOCAL_HOOKS])
def test_committing_only_a_settings_change_checks_the_templates_it_governs(
    hook_id: str, tmp_path: Path, hook_repo, pre_commit_home
) -> None:
    """A readable id changed in pyproject.toml, and only pyproject.toml staged and committed:
    the commit stops, and the fixing hooks update the template's link (the check hook names
    it), although no template is in the commit."""
    repo = patched_templates_repo(tmp_path, hook_repo, hook_id)
    env = hook_env(pre_commit_home)
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"], cwd=repo, check=True, env=env,
        capture_output=True,
    )
    summit = (repo / "emails" / "summit.html").read_bytes()
    head = git(repo, "rev-parse", "HEAD")
    pyproject = (repo / "pyproject.toml").read_text("utf-8")
    (repo / "pyproject.toml").write_text(pyproject.replace("Summit2026", "Summit2026_Main"))
    git(repo, "add", "pyproject.toml")
    commit = subprocess.run(
        ["git", "commit", "-m", "the summit's readable id changed"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=600,
    )
    assert commit.returncode != 0, commit.stdout + commit.stderr
    assert git(repo, "rev-parse", "HEAD") == head  # nothing committed
    after = (repo / "emails" / "summit.html").read_text("utf-8")
    if hook_id == "mailpatch-check":
        assert "would update emails/summit.html" in commit.stdout + commit.stderr
        assert after.encode() == summit
    else:
        assert "files were modified by this hook" in commit.stdout + commit.stderr
        assert "ContosoSummit2026_Main" in after
    assert "drafts/wip.html" not in commit.stdout + commit.stderr  # excludes still hold


def many_templates(root: Path, count: int) -> tuple[list[Path], list[Path]]:
    """``count`` templates, half for each of two events, with names long enough that
    pre-commit must split them into several runs; sorted by event, as a repository with a
    folder per event is, so that some runs see one event only."""
    folder = root / "emails" / ("registration-confirmations-" + "x" * 160)
    folder.mkdir(parents=True)
    a, b = [], []
    for n in range(count):
        event = "a" if n % 2 else "b"
        target = folder / f"{event}-summit-{n:04d}-registration-email.html"
        shutil.copyfile(EXAMPLE if n % 2 else LABS, target)
        (a if n % 2 else b).append(target)
    return a, b


def pre_commit_runs(files: list[Path], root: Path, entry: list[str]) -> int:
    """How many runs pre-commit makes of ``files`` for a serial hook (its own partition)."""
    from pre_commit.xargs import partition

    names = [f.relative_to(root).as_posix() for f in files]
    return len(partition(tuple(entry), tuple(names), 1))


def test_event_id_in_a_hooks_args_is_refused_for_every_run_pre_commit_makes(
    tmp_path: Path, hook_repo, pre_commit_home
) -> None:
    """`args: [--event-id SummitA2026]` and 1,200 templates for two events: pre-commit splits
    them into several runs, each of which could see one event only and patch the other
    event's emails with this id. Every run refuses, and no template is written."""
    repo = templates_repo(tmp_path, hook_repo, "mailpatch")
    (repo / "pyproject.toml").write_text(
        '[tool.mailpatch]\nendpoint = "contoso.svc.dynamics.com"\n', "utf-8"
    )
    config = (repo / ".pre-commit-config.yaml").read_text("utf-8")
    (repo / ".pre-commit-config.yaml").write_text(config + "    args: [--event-id, SummitA2026]\n")
    a, b = many_templates(repo, 1200)
    assert pre_commit_runs(a + b, repo, ["mailpatch", "patch", "--event-id", "SummitA2026"]) > 1
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "1,200 templates")
    run = pre_commit(repo, pre_commit_home)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "--event-id cannot be used in a pre-commit hook" in run.stdout
    assert "[tool.mailpatch.events]" in run.stdout  # where to tie the id to its GUID
    assert all(p.read_bytes() == EXAMPLE.read_bytes() for p in a)
    assert all(p.read_bytes() == LABS.read_bytes() for p in b)


def test_the_events_table_reaches_each_template_across_pre_commits_runs(
    tmp_path: Path, hook_repo, pre_commit_home
) -> None:
    """The same 1,200 templates with the events table: every email gets its own event's id,
    whichever run of the hook it falls in."""
    repo = templates_repo(tmp_path, hook_repo, "mailpatch")
    (repo / "pyproject.toml").write_text(
        PYPROJECT.replace("ContosoSummit2026", "SummitA2026") + f'"{LABS_GUID}" = "LabsB2026"\n',
        "utf-8",
    )
    a, b = many_templates(repo, 1200)
    assert pre_commit_runs(a + b, repo, ["mailpatch", "patch"]) > 1
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "1,200 templates")
    run = pre_commit(repo, pre_commit_home)
    assert run.returncode == 1 and "files were modified by this hook" in run.stdout
    for path in a:
        text = path.read_text("utf-8")
        assert "SummitA2026" in text and "LabsB2026" not in text
    for path in b:
        text = path.read_text("utf-8")
        assert "LabsB2026" in text and "SummitA2026" not in text
