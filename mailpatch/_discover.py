"""Which files a run touches: folders walked, hidden folders and .gitignore skipped, excludes.

Excludes apply to explicitly named files too (black's ``--force-exclude`` lesson: pre-commit
passes file names, so an exclude that only filtered folder walks would not hold for the hook).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

DEFAULT_INCLUDE = ("*.html", "*.htm")


class Selection(NamedTuple):  # cheaper to define than a dataclass (start-up)
    root: Path  # project root (absolute): excludes and .gitignore files are read relative to it
    include: tuple[str, ...] = DEFAULT_INCLUDE  # file-name globs a folder walk picks up
    exclude: tuple[str, ...] = ()  # globs on the path relative to the root, or on the name
    respect_gitignore: bool = True

    def excluded(self, path: Path) -> bool:
        """``path`` is absolute. A glob matches the path relative to the root, any trailing
        part of it (``drafts/*`` holds for ``emails/drafts/x.html``) or a folder's name."""
        if not self.exclude:
            return False
        parts = (
            path.relative_to(self.root).parts if path.is_relative_to(self.root) else (path.name,)
        )
        names = ["/".join(parts[i:]) for i in range(len(parts))] + list(parts[:-1])
        return any(fnmatch.fnmatchcase(n, glob) for glob in self.exclude for n in names)


Problems = list[tuple[str, str]]  # (path, why it cannot be read): refused, never skipped
_UNKNOWN = object()  # the spec of a .gitignore that cannot be read


class _Ignores:
    """The .gitignore files from the root down, each applying below its own folder (as git)."""

    def __init__(self, root: Path, problems: Problems) -> None:
        self.root = root
        self.problems = problems
        self.specs: dict[Path, object] = {}

    def _spec(self, folder: Path) -> object:
        if folder not in self.specs:
            gitignore = folder / ".gitignore"
            spec = None
            if gitignore.is_file():
                try:
                    spec = gitignore_spec(gitignore.read_bytes())
                except OSError as exc:
                    # what it would have ignored is unknown: refuse it, and take nothing below
                    # its folder rather than guess (its ignored files must not be patched)
                    shown = (
                        os.path.relpath(gitignore)
                        if gitignore.is_relative_to(Path.cwd())
                        else str(gitignore)
                    )
                    self.problems.append(
                        (
                            shown,
                            f"cannot be read: {exc.strerror}; nothing below its folder was taken",
                        )
                    )
                    spec = _UNKNOWN
            self.specs[folder] = spec
        return self.specs[folder]

    def ignored(self, path: Path, is_dir: bool) -> bool:
        if not path.is_relative_to(self.root):
            return False
        for folder in reversed(path.parents):
            if not folder.is_relative_to(self.root):
                continue
            spec = self._spec(folder)
            if spec is _UNKNOWN:
                return True
            if spec is not None:
                rel = path.relative_to(folder).as_posix() + ("/" if is_dir else "")
                if spec.match_file(rel):  # type: ignore[attr-defined]
                    return True
        return False


def gitignore_spec(data: bytes) -> object:
    """A .gitignore's patterns as git reads them: a line git cannot use as a pattern (a lone
    '!', a trailing '\\', a range such as '[z-a]') matches nothing and is left out, where
    pathspec would raise."""
    import pathspec  # only when there is a .gitignore to read

    lines = data.decode("utf-8", errors="surrogateescape").splitlines()
    usable = []
    for line in lines:
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except Exception:  # pathspec raises several kinds; git skips such a line
            continue
        usable.append(line)
    return pathspec.GitIgnoreSpec.from_lines(usable)


def discover(
    paths: Sequence[str],
    selection: Selection,
    problems: Problems | None = None,
    seen: set[str] | None = None,
) -> tuple[list[str], list[str]]:
    """(files to process, named paths skipped by an exclude), in a stable order.

    Named files come in the order given (whatever their extension: naming a file is asking
    for it); each folder's files follow in sorted order. ``-`` passes through untouched. A
    file named twice (``a.html ./a.html``, or through a symlink) is taken once. Folders and
    .gitignore files that cannot be read are added to ``problems``; ``seen`` (real paths) may
    be shared by several calls, so a file reached from two of them is also taken once.
    """
    problems = [] if problems is None else problems
    ignores = _Ignores(selection.root, problems) if selection.respect_gitignore else None
    out: list[str] = []
    skipped: list[str] = []
    seen = set() if seen is None else seen
    for given in paths:
        path = Path(given)
        if given != "-" and selection.excluded(path.absolute()):
            skipped.append(given)
            continue
        found = (
            _walk(path, selection, ignores, problems) if given != "-" and path.is_dir() else [path]
        )
        for item in found:
            name = given if item is path else str(item)
            real = name if name == "-" else os.path.realpath(name)
            if real not in seen:
                seen.add(real)
                out.append(name)
    return out, skipped


def _walk(
    top: Path, selection: Selection, ignores: _Ignores | None, problems: Problems
) -> Iterable[Path]:
    def skip(here: Path, name: str, is_dir: bool) -> bool:
        absolute = here.absolute() / name
        return selection.excluded(absolute) or (
            ignores is not None and ignores.ignored(absolute, is_dir)
        )

    def unreadable(exc: OSError) -> None:
        problems.append((str(exc.filename or top), f"cannot be read: {exc.strerror}"))

    for folder, dirs, files in os.walk(top, onerror=unreadable):
        here = Path(folder)
        # os.walk descends only into what is left here, in this order
        dirs[:] = [d for d in sorted(dirs) if not d.startswith(".") and not skip(here, d, True)]
        for name in sorted(files):
            if any(
                fnmatch.fnmatch(name.lower(), glob.lower()) for glob in selection.include
            ) and not skip(here, name, False):
                yield here / name
