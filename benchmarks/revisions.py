"""mailpatch installed at another commit, beside this checkout, for side-by-side runs.

``bench.py --against REV`` times two installs in alternation and ``tests/differential.py``
compares what they do; both need each side installed as a user installs it: a fresh venv,
``pip install`` of the source (not editable: an editable install's ``.pth`` hooks slow every
interpreter start), byte-compiled by pip. The working tree is installed as it is, uncommitted
changes included. Venvs are kept under ``--venvs`` (default ``~/.cache/mailpatch-revisions``),
one per commit and one per state of the working tree, so a second run builds nothing.

    python benchmarks/revisions.py REV      # prints the python of REV's venv
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENVS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
    "mailpatch-revisions"
)
WORKTREE = "worktree"  # the name that stands for the working tree as it is


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def resolve(rev: str) -> str:
    """The full commit id ``rev`` names, or WORKTREE for itself."""
    return (
        WORKTREE if rev == WORKTREE else _git("rev-parse", "--verify", f"{rev}^{{commit}}").strip()
    )


def _worktree_files() -> list[str]:
    """The files of the working tree that a commit of it would hold (tracked and new)."""
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted(p for p in listed.split("\0") if p and (ROOT / p).is_file())


def _worktree_key(files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _export(commit: str, files: list[str], into: Path) -> None:
    if commit != WORKTREE:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
        return
    for name in files:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, into / name)


def install(rev: str, venvs: Path = DEFAULT_VENVS, python: str = sys.executable) -> Path:
    """The interpreter of a venv holding mailpatch at ``rev`` (WORKTREE: the working tree),
    built on first use and kept; its source copy is beside it (``…/src``)."""
    commit = resolve(rev)
    files = _worktree_files() if commit == WORKTREE else []
    key = f"{WORKTREE}-{_worktree_key(files)}" if commit == WORKTREE else commit
    home = venvs / key
    interpreter = home / "venv" / "bin" / "python"
    if (home / "ready").exists():
        return interpreter
    shutil.rmtree(home, ignore_errors=True)  # a build cut short: made again
    (home / "src").mkdir(parents=True)
    _export(commit, files, home / "src")
    subprocess.run([python, "-m", "venv", str(home / "venv")], check=True)
    # pip builds in a copy of its own and byte-compiles what it installs, as for a user
    subprocess.run(
        [str(interpreter), "-m", "pip", "install", "-q", str(home / "src")],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (home / "ready").write_text(commit + "\n", "utf-8")
    return interpreter


def describe(rev: str) -> str:
    """'b3e58f9 (subject…)' for a commit, 'working tree' for WORKTREE."""
    commit = resolve(rev)
    if commit == WORKTREE:
        return "working tree"
    return _git("log", "-1", "--format=%h (%s", commit).strip()[:60] + ")"


if __name__ == "__main__":
    print(install(sys.argv[1] if len(sys.argv) > 1 else WORKTREE))
