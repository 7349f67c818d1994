"""What every command that takes PATH... shares: the configuration and the file selection."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import click

from mailpatch._config import Config, ConfigError, find_config, load_config
from mailpatch._discover import DEFAULT_INCLUDE, Selection, discover

F = TypeVar("F", bound=Callable[..., object])


def common_base(paths: Sequence[str]) -> Path:
    """The deepest folder holding every path (folders as themselves, files by their folder)."""
    folders = [
        Path(p).absolute() if Path(p).is_dir() else Path(p).absolute().parent
        for p in paths
        if p != "-"
    ]
    return Path(os.path.commonpath(folders)) if folders else Path.cwd()


def load(explicit: str | None, paths: Sequence[str]) -> Config:
    """--config FILE, or the configuration found from the targets upwards; usage error if bad."""
    try:
        if explicit is not None:
            return load_config(Path(explicit))
        source, root = find_config(common_base(paths))
        return load_config(source, root) if source else Config(root=root)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


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


def select(
    paths: Sequence[str],
    config: Config,
    excludes: Sequence[str],
    includes: Sequence[str],
    respect_gitignore: bool | None,
) -> tuple[list[str], list[str]]:
    """(files to process, named paths an exclude skipped); command line over configuration."""
    if respect_gitignore is None:
        respect_gitignore = config.respect_gitignore
    selection = Selection(
        root=config.root,
        include=tuple(includes) or config.include or DEFAULT_INCLUDE,
        exclude=(*config.exclude, *excludes),
        respect_gitignore=respect_gitignore is not False,
    )
    return discover(paths, selection)
