"""What every command that takes PATH... shares: the configuration and the file selection."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import click

from mailpatch._config import Config, ConfigError, find_config, load_config
from mailpatch._discover import DEFAULT_INCLUDE, Problems, Selection, discover

F = TypeVar("F", bound=Callable[..., object])


def real_folder(path: str) -> Path:
    """The folder ``path`` is (or is in), with '..' and symlinks resolved."""
    return Path(os.path.realpath(path if os.path.isdir(path) else os.path.dirname(path) or "."))


def common_base(paths: Sequence[str]) -> Path:
    """The deepest real folder holding every path (folders as themselves, files by their
    folder): '..' and symlinks resolved, so that a path relative to it never climbs out."""
    folders = [real_folder(p) for p in paths if p != "-"]
    return Path(os.path.commonpath(folders)) if folders else Path.cwd().resolve()


def mirror_path(output_dir: str, path: str, base: Path) -> Path:
    """Where ``path`` lands under ``output_dir``: its real folder's place below ``base``
    (``common_base`` of the run's paths), under its own name."""
    return Path(output_dir) / real_folder(path).relative_to(base) / os.path.basename(path)


class Configs:
    """Each file's configuration: ``--config FILE`` for every file, else the nearest one from
    the file's own folder upwards (as ruff does: pre-commit names files from many folders at
    once, and each folder's emails follow its own settings). Found once per folder, each file
    read once; a bad one is a usage error."""

    def __init__(self, explicit: str | None) -> None:
        self._explicit = self._load(Path(explicit), None) if explicit is not None else None
        self._by_folder: dict[Path, Config] = {}
        self._by_source: dict[Path, Config] = {}
        self._by_path: dict[str, Config] = {}  # a run asks for each file's a few times

    @staticmethod
    def _load(source: Path, root: Path | None) -> Config:
        try:
            return load_config(source, root)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None

    def of(self, path: str) -> Config:
        """The configuration for ``path`` (a file, a folder, or '-' for the working folder)."""
        if self._explicit is not None:
            return self._explicit
        known = self._by_path.get(path)
        if known is not None:
            return known
        given = Path.cwd() if path == "-" else Path(path).absolute()
        folder = given if given.is_dir() else given.parent
        found = self._by_folder.get(folder)
        if found is None:
            try:
                source, root = find_config(folder)
            except ConfigError as exc:
                raise click.UsageError(str(exc)) from None
            if source is None:
                found = Config(root=root)
            else:
                found = self._by_source.get(source) or self._load(source, root)
                self._by_source[source] = found
            self._by_folder[folder] = found
        self._by_path[path] = found
        return found

    def used(self) -> list[Config]:
        """The configurations read so far, each once, in the order first used."""
        return list({id(c): c for c in self._by_folder.values()}.values()) or (
            [self._explicit] if self._explicit else []
        )


def selection_options(command: F) -> F:
    """--exclude, --include, --respect-gitignore and --config, as every command has them."""
    for option in reversed(
        [
            click.option(
                "--exclude",
                "excludes",
                multiple=True,
                metavar="GLOB",
                help="Skip paths matching GLOB (relative to the project root, any trailing part "
                "of it, or a folder name); applies to files named on the command line too. "
                "Adds to the config's.",
            ),
            click.option(
                "--include",
                "includes",
                multiple=True,
                metavar="GLOB",
                help="File names a folder walk picks up (default: *.html, *.htm).",
            ),
            click.option(
                "--respect-gitignore/--no-respect-gitignore",
                default=None,
                help="Skip what .gitignore ignores when walking folders (default: on).",
            ),
            click.option(
                "--config",
                "config_path",
                metavar="FILE",
                type=click.Path(dir_okay=False),
                help="Read settings from FILE (a mailpatch.toml or a pyproject.toml) only.",
            ),
        ]
    ):
        command = option(command)
    return command


def _selection(
    config: Config,
    excludes: Sequence[str],
    includes: Sequence[str],
    respect_gitignore: bool | None,
) -> Selection:
    if respect_gitignore is None:
        respect_gitignore = config.respect_gitignore
    return Selection(
        root=config.root,
        include=tuple(includes) or config.include or DEFAULT_INCLUDE,
        exclude=(*config.exclude, *excludes),
        respect_gitignore=respect_gitignore is not False,
    )


def excluded_name(
    name: str,
    configs: Configs,
    excludes: Sequence[str],
    includes: Sequence[str],
    respect_gitignore: bool | None,
) -> bool:
    """Whether the file ``name`` (which need not exist: stdin's stand-in) is excluded by its
    configuration's or the command line's excludes."""
    config = configs.of(name)
    selection = _selection(config, excludes, includes, respect_gitignore)
    return selection.excluded(Path(name).absolute())


def select(
    paths: Sequence[str],
    configs: Configs,
    excludes: Sequence[str],
    includes: Sequence[str],
    respect_gitignore: bool | None,
    problems: Problems | None = None,
) -> tuple[list[str], list[str]]:
    """(files to process, named paths an exclude skipped); command line over configuration.

    Each named path is walked with its own configuration's selection, and a file found below
    a folder with a configuration of its own also obeys that one's excludes. A file reached
    twice (named twice, through a symlink, from two named folders) is taken once. Folders and
    .gitignore files that cannot be read go to ``problems``.
    """
    check_named_paths_exist(paths)
    files: list[str] = []
    skipped: list[str] = []
    seen: set[str] = set()  # real paths, across the named paths
    for given in paths:
        config = configs.of(given)
        governed = _settings_file(given, config)
        if governed is False:
            continue  # a pyproject.toml without mailpatch's settings: nothing of ours
        walked = str(Path(given).parent) if governed else given
        found, named_skipped = discover(
            [walked], _selection(config, excludes, includes, respect_gitignore), problems, seen
        )
        skipped += named_skipped
        for name in found:
            own = configs.of(name) if name != "-" else config
            if own is not config and (
                governed
                or _selection(own, excludes, includes, respect_gitignore).excluded(
                    Path(name).absolute()
                )
            ):
                if not governed:
                    skipped.append(name)
                continue
            files.append(name)
    return files, skipped


SETTINGS_FILES = ("pyproject.toml", "mailpatch.toml")


def _settings_file(given: str, config: Config) -> bool | None:
    """For a named settings file (what pre-commit passes when a commit changes one): True if
    it is the one in force in its folder, and so stands for every email it governs; False if
    it is not (a pyproject.toml without [tool.mailpatch], one beside a mailpatch.toml). None
    for any other path: an email, a folder, '-'."""
    if os.path.basename(given).lower() not in SETTINGS_FILES or not os.path.isfile(given):
        return None
    return config.source is not None and os.path.samefile(config.source, given)


def check_named_paths_exist(paths: Sequence[str], hint: str = "'PATH...'") -> None:
    """A named path that does not exist is a typo: a usage error (exit 2) before anything is
    read or written, as black has it. One that exists but cannot be read is that file's
    refusal (123), and the others are still processed."""
    missing = [p for p in paths if p != "-" and not os.path.lexists(p)]
    if missing:
        shown = ", ".join(repr(p) for p in missing)
        raise click.BadParameter(
            f"{'path' if len(missing) == 1 else 'paths'} {shown} "
            f"{'does' if len(missing) == 1 else 'do'} not exist",
            param_hint=hint,
        )
