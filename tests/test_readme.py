"""Every command in README.md runs as printed, in a fresh clone of this repository.

Each ```sh block runs in a clone of its own (a `git clone` of this working tree committed into a
temporary repository: the ``hook_repo`` fixture in conftest.py), one command at a time, in the
clone's top folder. A command must exit 0, or with the code its trailing comment gives
(`# exit 1: the file would change`). Nothing touches the machine: HOME, PIPX_HOME, PIPX_BIN_DIR
and PYTHONUSERBASE are temporary folders, and pipx itself is installed from PyPI into a
temporary venv (only its `pipx` is put on PATH, so that `python3` stays the machine's).

The install blocks (`pipx install`, `pip install --user`) run as printed, each in a home of its
own, and must leave a `mailpatch` that runs; the other blocks use the one the README's first
pipx block installed. What a block needs is said in an HTML comment on the line before its
fence, which a reader of the rendered README does not see:

- ``<!-- readme-test: in the folder that holds the clone -->``: run beside the clone, which is
  named ``mailpatch`` (``pipx install ./mailpatch``);
- ``<!-- readme-test: the CI command ... -->``: the test command. It runs this very suite, so it
  is not run here: it must be, character for character, the command `.ci/run` runs;
- ``<!-- readme-test: not run (...) -->``: ``mailpatch serve --open``, which starts a server
  and opens a browser (tests/test_serve.py and tests/test_browser.py run the server).

The test that runs the blocks is marked ``slow`` (it installs mailpatch four ways: about two
minutes here); the checks on the blocks' text are not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixturecases import ROOT

README = ROOT / "README.md"
BESIDE_THE_CLONE = "in the folder that holds the clone"
CI_COMMAND = "the CI command"
NOT_RUN = "not run"
TIMEOUT = 900  # one command, an install included


@dataclass(frozen=True)
class Command:
    text: str  # as bash runs it: continuation lines and a here-document included
    exit_code: int  # from a trailing '# exit N' comment, else 0


@dataclass(frozen=True)
class Block:
    line: int  # of its ```sh fence in README.md
    directive: str  # the readme-test comment before it, or ""
    commands: tuple[Command, ...]

    @property
    def installs(self) -> bool:
        return any(
            re.match(r"(pipx install|python3 -m pip install --user) ", c.text)
            for c in self.commands
        )

    def __str__(self) -> str:
        return f"README.md:{self.line}"


_FENCE = re.compile(
    r"^(?:<!-- readme-test: (?P<directive>.*?) -->\n)?"
    r"(?P<indent> *)```sh\n(?P<body>.*?)^(?P=indent)```$",
    re.M | re.S,
)
_EXIT = re.compile(r"\s#\s*exit (\d+)\b")
_HEREDOC = re.compile(r"<<\s*'?(\w+)'?")


def blocks(text: str) -> list[Block]:
    found = []
    for match in _FENCE.finditer(text):
        indent = len(match["indent"])
        body = [line[indent:] for line in match["body"].splitlines()]
        line = text.count("\n", 0, match.start("indent")) + 1
        found.append(Block(line, match["directive"] or "", tuple(commands(body))))
    return found


def commands(lines: list[str]) -> list[Command]:
    """The commands of a block: a line, with the lines a trailing backslash continues it onto
    and the body of a here-document it opens; comment lines and blank lines between them."""
    result = []
    i = 0
    while i < len(lines):
        if not lines[i].strip() or lines[i].lstrip().startswith("#"):
            i += 1
            continue
        command = [lines[i]]
        while command[-1].endswith("\\"):
            i += 1
            command.append(lines[i])
        head = "\n".join(command)
        here = _HEREDOC.search(head)
        if here:
            while lines[i] != here.group(1):
                i += 1
                command.append(lines[i])
        exit_code = _EXIT.search(head)
        result.append(Command("\n".join(command), int(exit_code.group(1)) if exit_code else 0))
        i += 1
    return result


BLOCKS = blocks(README.read_text("utf-8"))
RUN = [b for b in BLOCKS if not b.directive.startswith((CI_COMMAND, NOT_RUN))]


# --- the blocks' text --------------------------------------------------------------------------


def test_the_readme_has_the_blocks_this_test_knows() -> None:
    assert len(BLOCKS) >= 10
    for block in BLOCKS:
        assert block.commands, f"{block}: an empty block"
        known = block.directive.startswith((BESIDE_THE_CLONE, CI_COMMAND, NOT_RUN))
        assert block.directive == "" or known, f"{block}: unknown {block.directive!r}"
    assert sum(b.directive.startswith(CI_COMMAND) for b in BLOCKS) == 1
    assert any(b.installs and "pipx" in b.commands[0].text for b in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_commands_are_typed_as_printed(block: Block) -> None:
    """No placeholder a reader would have to replace: '…', '<…>', 'YOUR_…'."""
    for command in block.commands:
        assert "…" not in command.text and "..." not in command.text, (block, command.text)
        assert not re.search(r"<[a-z][a-z _-]*>|\bYOUR_", command.text, re.I), command.text


def test_the_test_command_is_the_one_ci_runs() -> None:
    (block,) = [b for b in BLOCKS if b.directive.startswith(CI_COMMAND)]
    (command,) = block.commands
    ci = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    assert command.text in ci


def test_only_the_server_is_left_out() -> None:
    left_out = [c.text for b in BLOCKS if b.directive.startswith(NOT_RUN) for c in b.commands]
    assert left_out and all(c.startswith("mailpatch serve") for c in left_out)


def test_the_parser_reads_continuations_heredocs_and_exit_comments() -> None:
    text = (
        "intro\n\n   ```sh\n   a \\\n       b   # exit 1: because\n   # a comment\n"
        "   cat > f <<'EOF'\n   x = 1   # exit 3 inside the document\n   EOF\n   c\n   ```\n"
    )
    (block,) = blocks(text)
    assert block.line == 3
    assert block.commands == (
        Command("a \\\n    b   # exit 1: because", 1),
        Command("cat > f <<'EOF'\nx = 1   # exit 3 inside the document\nEOF", 0),
        Command("c", 0),
    )


# --- running them ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    root: Path
    env: dict[str, str]

    @property
    def bin_dirs(self) -> list[Path]:
        return [self.root / "pipx-bin", self.root / "userbase" / "bin"]


def machine_path() -> list[str]:
    """PATH without this test run's own venv: `python3` and `pip` must be the machine's."""
    ours = Path(sys.prefix).resolve()
    return [
        p
        for p in os.environ.get("PATH", os.defpath).split(os.pathsep)
        if p and not Path(p).resolve().is_relative_to(ours)
    ]


@pytest.fixture(scope="module")
def pipx_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only `pipx`, installed from PyPI into a venv of its own."""
    root = tmp_path_factory.mktemp("pipx-tool")
    (root / "home").mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    subprocess.run(
        [str(root / "venv" / "bin" / "pip"), "install", "-q", "pipx"],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, "HOME": str(root / "home")},  # pip's cache too
    )
    (root / "bin").mkdir()
    (root / "bin" / "pipx").symlink_to(root / "venv" / "bin" / "pipx")
    return root / "bin"


def sandbox(root: Path, tools: Path, uses: Sandbox | None = None) -> Sandbox:
    """A home of its own; `mailpatch` found where ``uses`` installed it (else in this one)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "home").mkdir(exist_ok=True)
    bins = (uses or Sandbox(root, {})).bin_dirs
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIPX_", "XDG_", "VIRTUAL_ENV", "PYTHON", "PRE_COMMIT"))
    }
    env |= {
        "HOME": str(root / "home"),
        "PIPX_HOME": str(root / "pipx-home"),
        "PIPX_BIN_DIR": str(root / "pipx-bin"),
        "PIPX_MAN_DIR": str(root / "pipx-man"),
        "PYTHONUSERBASE": str(root / "userbase"),
        "PATH": os.pathsep.join([str(tools), *map(str, bins), *machine_path()]),
        "NO_COLOR": "1",
    }
    return Sandbox(root, env)


def clone(hook_repo: tuple[Path, str], where: Path) -> Path:
    target = where / "mailpatch"
    subprocess.run(
        ["git", "clone", "-q", str(hook_repo[0]), str(target)], check=True, capture_output=True
    )
    return target


def run_block(block: Block, clone_dir: Path, box: Sandbox) -> None:
    cwd = clone_dir.parent if block.directive.startswith(BESIDE_THE_CLONE) else clone_dir
    for command in block.commands:
        done = subprocess.run(
            ["bash", "-c", command.text],
            cwd=cwd,
            env=box.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert done.returncode == command.exit_code, (
            f"{block}: {command.text}\nexit {done.returncode}, expected {command.exit_code}\n"
            f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )


def assert_mailpatch_runs_from(box: Sandbox) -> None:
    found = shutil.which("mailpatch", path=box.env["PATH"])
    assert found is not None and Path(found).is_relative_to(box.root), found
    version = subprocess.run(
        ["mailpatch", "--version"], env=box.env, capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("mailpatch 0.1.0\nlxml "), version.stdout


_INSTALLED: dict[int, Sandbox] = {}


def install(block: Block, hook_repo: tuple[Path, str], tools: Path, tmp: Path) -> Sandbox:
    """Run an install block once, in a home of its own; its mailpatch must run."""
    if block.line not in _INSTALLED:
        box = sandbox(tmp / f"install-{block.line}", tools)
        run_block(block, clone(hook_repo, box.root), box)
        assert_mailpatch_runs_from(box)
        _INSTALLED[block.line] = box
    return _INSTALLED[block.line]


@pytest.fixture(scope="module")
def installed(
    hook_repo: tuple[Path, str], pipx_tool: Path, tmp_path_factory: pytest.TempPathFactory
) -> Sandbox:
    """mailpatch as the README's first pipx block installs it."""
    first = next(b for b in BLOCKS if b.installs and "pipx" in b.commands[0].text)
    return install(first, hook_repo, pipx_tool, tmp_path_factory.mktemp("installs"))


@pytest.mark.slow
@pytest.mark.parametrize("block", RUN, ids=str)
def test_the_block_runs_as_printed(
    block: Block,
    hook_repo: tuple[Path, str],
    pipx_tool: Path,
    installed: Sandbox,
    tmp_path: Path,
) -> None:
    if block.installs:
        install(block, hook_repo, pipx_tool, tmp_path)
        return
    box = sandbox(tmp_path / "run", pipx_tool, uses=installed)
    run_block(block, clone(hook_repo, box.root), box)
