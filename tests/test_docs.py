"""The generated reference pages (docs/cli.md, docs/lint-codes.md) are what the code says now,
and they say it as a user's terminal does. `python docs/generate.py` rewrites them."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mailpatch._lint import RULES

from fixturecases import ROOT

DOCS = ROOT / "docs"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = load_generator()


@pytest.mark.parametrize("page", ["cli.md", "lint-codes.md"])
def test_the_generated_pages_are_current(page: str) -> None:
    written = (DOCS / page).read_text("utf-8")
    assert written == generate.expected()[DOCS / page], (
        f"docs/{page} is out of date: run python docs/generate.py and commit the result"
    )


def test_check_mode_names_a_stale_page_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check exits 1 on a page that differs, and rewriting makes it pass; on copies."""
    for name in ("cli.md", "lint-codes.md"):
        (tmp_path / name).write_text((DOCS / name).read_text("utf-8"), "utf-8")
    monkeypatch.setattr(generate, "CLI_MD", tmp_path / "cli.md")
    monkeypatch.setattr(generate, "LINT_CODES_MD", tmp_path / "lint-codes.md")
    monkeypatch.setattr(generate, "ROOT", tmp_path)
    assert generate.main(["--check"]) == 0
    stale = (tmp_path / "lint-codes.md").read_text("utf-8").replace("| warning |", "| error |")
    (tmp_path / "lint-codes.md").write_text(stale, "utf-8")
    assert generate.main(["--check"]) == 1
    assert "lint-codes.md: out of date" in capsys.readouterr().err
    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0
    assert (tmp_path / "lint-codes.md").read_text("utf-8") == (DOCS / "lint-codes.md").read_text(
        "utf-8"
    )


@pytest.mark.parametrize("command", ["", "patch", "lint", "ics", "preview", "serve"])
def test_cli_md_shows_the_help_a_terminal_shows(command: str) -> None:
    """The page is the real `mailpatch CMD --help` on an 80-column terminal, not a re-creation."""
    args = [sys.executable, "-m", "mailpatch", *filter(None, [command]), "--help"]
    shown = subprocess.run(
        args, capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "80"}
    ).stdout
    page = (DOCS / "cli.md").read_text("utf-8")
    heading = f"## mailpatch {command}".rstrip()
    section = page.split(f"\n{heading}\n\n```text\n", 1)[1].split("\n```\n", 1)[0]
    assert section + "\n" == shown


def test_every_command_has_a_section() -> None:
    page = (DOCS / "cli.md").read_text("utf-8")
    assert re.findall(r"^## (mailpatch.*)$", page, re.M) == [
        "mailpatch",
        *(f"mailpatch {name}" for name in generate.commands()),
    ]
    assert set(generate.commands()) == {"ics", "lint", "patch", "preview", "serve"}


def test_every_lint_code_has_a_hand_written_section_and_no_other() -> None:
    page = (DOCS / "lint-codes.md").read_text("utf-8")
    sections = re.findall(r"^### (MP\d{3}) (\S+)$", page, re.M)
    assert sections == [(code, RULES[code].name) for code in sorted(RULES)], (
        "docs/lint-codes.md needs one '### CODE name' section per code of "
        "mailpatch._lint.RULES, in order"
    )
    for code, rule in RULES.items():
        if rule.severity.value == "warning":
            body = page.split(f"### {code} {rule.name}\n", 1)[1].split("\n### ", 1)[0]
            assert body.lstrip().startswith("*Warning.*"), code


def test_hints_keep_their_characters_in_markdown() -> None:
    """A hint holds '&amp;', '<a>', '[', '_': shown as written, not as markup."""
    assert generate.markdown_text("as &amp; in <a> [x] a_b|c") == (
        r"as &amp;amp; in &lt;a&gt; \[x\] a\_b\|c"
    )


def test_links_between_the_pages_reach_their_targets() -> None:
    """Relative links from README.md, CONTRIBUTING.md and docs/*.md name files that exist,
    and their #anchors headings that exist (GitHub's anchor rule)."""
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]
    broken = []
    for page in pages:
        text = page.read_text("utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken


def anchors(page: Path) -> set[str]:
    found = set()
    for heading in re.findall(r"^#+ (.+)$", page.read_text("utf-8"), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found
