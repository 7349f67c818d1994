"""The layer order of the package (CONTRIBUTING.md, "Layers"), read from every module's imports.

    core -> checks (verify, lint, ics) -> runner and settings -> command line | web page

A module imports its own layer and the layers before it; the command line and the web page sit
side by side on top, and the command line may import the page (``serve`` and ``preview`` run
it), never the reverse. click belongs to the command line alone and jinja2 to the page alone.

Every ``import`` and ``from … import`` counts, wherever it is: at the top, inside a function
(the lazy imports) or under ``if TYPE_CHECKING:``; a relative import is resolved against its
package; a string that names one of the package's modules counts as an import of it (the lazy
tables of ``__init__`` and ``_cli`` hand such names to importlib). The checker runs over the
real package and, to show that it can fail, over small packages written here with one bad
import each.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "mailpatch"

CORE, CHECKS, RUNNER, CLI, PAGE = "core", "checks", "runner", "command line", "page"
RANK = {CORE: 0, CHECKS: 1, RUNNER: 2, CLI: 3, PAGE: 3}

# the modules of the first three layers by name; the command line and the page by place
LAYER_OF = {
    **dict.fromkeys(
        (
            "_errors",
            "_regex",  # patterns compiled on first use (start-up)
            "_record",  # frozen records made without compiling code (start-up)
            "_html",
            "_survey",
            "_handlebars",
            "_highlight",  # where two lines differ: _link marks the changed part of a link
            "_link",
            "_blocks",
            "_moving",
            "_patch",
            "_files",
        ),
        CORE,
    ),
    # the public API (``import mailpatch``) exports the core and, lazily, lint and verify
    **dict.fromkeys(("", "_verify", "_lint", "_journeys", "_qr_text", "_ics"), CHECKS),
    **dict.fromkeys(("_run", "_status", "_config", "_discover", "_options", "_output"), RUNNER),
}
# third-party packages only one layer may import
ONLY_IN = {"click": CLI, "jinja2": PAGE}


class Import(NamedTuple):
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted and absolute
    line: int


def layer(module: str, package: str) -> str | None:
    """The layer of a module of ``package`` (None: a module the table does not place)."""
    inside = module.removeprefix(package).removeprefix(".")
    if inside == "page" or inside.startswith("page."):
        return PAGE
    if inside == "__main__" or inside.startswith("_cli"):
        return CLI
    return LAYER_OF.get(inside)


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(module: str, path: Path, known: set[str]) -> Iterator[Import]:
    """Every import in a module's source, wherever it stands, as absolute dotted names: for
    ``from P import name`` the submodule ``P.name`` when there is one, else ``P``. A string
    that is the name of one of the package's modules (``"pkg._lint"``, ``"pkg._cli_x:cmd"``)
    counts too: the lazy tables hand such strings to importlib."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            named = node.value.partition(":")[0]
            if named in known:
                yield Import(module, named, node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(module, sub if sub in known else base, node.lineno)


def violations(root: Path, package: str) -> list[str]:
    """Each import against the layer order, as 'module:line imports target (why)'."""
    found = modules(root, package)
    out = []
    for module, path in found.items():
        source = layer(module, package)
        assert source is not None, f"{module} has no layer: place it in LAYER_OF and CONTRIBUTING"
        for imp in imports(module, path, set(found)):
            top = imp.target.split(".")[0]
            where = f"{module}:{imp.line} imports {imp.target}"
            if top in ONLY_IN and ONLY_IN[top] != source:
                out.append(f"{where} ({top} belongs to the {ONLY_IN[top]} alone)")
            if top != package:
                continue
            target = layer(imp.target, package)
            if target is None:
                out.append(f"{where} (a module the layer table does not place)")
            elif RANK[target] > RANK[source] or (source == PAGE and target == CLI):
                out.append(f"{where} (the {source} may not import the {target})")
    return out


def test_the_package_keeps_the_layer_order() -> None:
    assert violations(PACKAGE_ROOT, "mailpatch") == []


def test_every_module_has_a_layer() -> None:
    found = modules(PACKAGE_ROOT, "mailpatch")
    assert [m for m in found if layer(m, "mailpatch") is None] == []
    # a module renamed or removed leaves no row behind
    assert [n for n in LAYER_OF if f"mailpatch.{n}".rstrip(".") not in found] == []


# A small package in the real one's shape, clean, into which each case puts one bad import.
_CLEAN = {
    "__init__.py": "from pkg._patch import patch\n",
    "_errors.py": "",
    "_patch.py": "from pkg._errors import Refusal\n",
    "_verify.py": "from pkg import _patch\nimport lxml\n",
    "_run.py": "from pkg._verify import verify\nfrom ._patch import patch\n",
    "_options.py": "from pkg._run import process\n",
    "_cli.py": "import click\nfrom pkg.page import _serve\nfrom pkg._options import build\n",
    "_cli_serve.py": "import click\nfrom pkg._cli import main\n",
    "page/__init__.py": "",
    "page/_serve.py": "import jinja2\nfrom pkg._run import process\nfrom .. import _options\n",
}


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        pytest.param(
            "_patch.py",
            "import click\n",
            "pkg._patch:1 imports click (click belongs to the command line alone)",
            id="core-imports-click",
        ),
        pytest.param(
            "_patch.py",
            "def f():\n    import jinja2\n",
            "pkg._patch:2 imports jinja2 (jinja2 belongs to the page alone)",
            id="core-imports-jinja2-in-a-function",
        ),
        pytest.param(
            "_patch.py",
            "import typing\nif typing.TYPE_CHECKING:\n    from pkg.page._serve import x\n",
            "pkg._patch:3 imports pkg.page._serve (the core may not import the page)",
            id="core-imports-the-page-under-type-checking",
        ),
        pytest.param(
            "_patch.py",
            "from pkg import _verify\n",
            "pkg._patch:1 imports pkg._verify (the core may not import the checks)",
            id="core-imports-a-check",
        ),
        pytest.param(
            "_verify.py",
            "from . import _run\n",
            "pkg._verify:1 imports pkg._run (the checks may not import the runner)",
            id="check-imports-the-runner-relatively",
        ),
        pytest.param(
            "_options.py",
            "from pkg._cli import main\n",
            "pkg._options:1 imports pkg._cli (the runner may not import the command line)",
            id="runner-imports-the-command-line",
        ),
        pytest.param(
            "_options.py",
            "import click\n",
            "pkg._options:1 imports click (click belongs to the command line alone)",
            id="runner-imports-click",
        ),
        pytest.param(
            "page/_serve.py",
            "def f():\n    from pkg._cli import _line\n",
            "pkg.page._serve:2 imports pkg._cli (the page may not import the command line)",
            id="page-imports-the-command-line-lazily",
        ),
        pytest.param(
            "page/_serve.py",
            "from ..import _cli_serve\n",
            "pkg.page._serve:1 imports pkg._cli_serve (the page may not import the command line)",
            id="page-imports-a-command-relatively",
        ),
        pytest.param(
            "page/_serve.py",
            "import click.exceptions\n",
            "pkg.page._serve:1 imports click.exceptions (click belongs to the command line alone)",
            id="page-imports-click",
        ),
        pytest.param(
            "_cli.py",
            "import jinja2\n",
            "pkg._cli:1 imports jinja2 (jinja2 belongs to the page alone)",
            id="command-line-imports-jinja2",
        ),
        pytest.param(
            "page/_serve.py",
            'COMMANDS = {"x": "pkg._cli_serve:serve"}  # for importlib\n',
            "pkg.page._serve:1 imports pkg._cli_serve (the page may not import the command line)",
            id="page-names-a-command-for-importlib",
        ),
        pytest.param(
            "_errors.py",
            "import pkg._later\n",
            "pkg._errors:1 imports pkg._later (a module the layer table does not place)",
            id="unplaced-target",
        ),
    ],
)
def test_the_checker_finds_an_import_against_the_order(
    tmp_path: Path, module: str, source: str, expected: str
) -> None:
    for name, text in _CLEAN.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert violations(tmp_path, "pkg") == []  # the clean package passes
    (tmp_path / module).write_text(source + _CLEAN[module])  # the bad import first, then the rest
    assert violations(tmp_path, "pkg") == [expected]


def test_patch_never_loads_the_page_or_jinja2(tmp_path: Path) -> None:
    """jinja2 stays a default dependency because nothing but a page pays for it: a whole
    `patch --check` run imports neither it nor the page package (CONTRIBUTING.md, "Why these
    dependencies")."""
    email = tmp_path / "email.html"
    email.write_bytes((PACKAGE_ROOT.parent / "fixtures/patch/bom/input.html").read_bytes())
    code = (
        "import sys\n"
        "from mailpatch._cli import main\n"
        "code = main(['patch', '--check', '--endpoint', 'contoso.svc.dynamics.com',\n"
        "             '--event-id', 'E1', sys.argv[1]])\n"
        "page = ('jinja2', 'markupsafe', 'mailpatch.page')\n"
        "loaded = sorted(m for m in page if m in sys.modules)\n"
        "print(code, loaded)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(email)], capture_output=True, text=True, check=True
    )
    assert run.stdout == "1 []\n"  # 1: it would patch, so the whole run happened
