"""Configuration: ``[tool.mailpatch]`` in pyproject.toml or a ``mailpatch.toml``, found upwards.

Every key is checked here, so a typo or a bad value is a usage error that names the key and the
file (exit 2) before any email is touched.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailpatch._blocks import GUID
from mailpatch._link import LinkError, normalize_endpoint, validate_field_key


class ConfigError(Exception):
    """A configuration problem: the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    source: Path | None = None  # the file the values came from
    root: Path = field(default_factory=Path.cwd)  # project root: excludes are relative to it
    endpoint: str | None = None
    event_id: str | None = None
    session_id: str | None = None
    events: tuple[str, ...] = ()  # "GUID=ID[@SESSION]", as --event takes them
    fields: tuple[str, ...] = ()  # "KEY=VALUE", as --field takes them
    drop_fields: tuple[str, ...] = ()
    keep_qr: bool | None = None
    api_version: str | None = None
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool | None = None
    max_size: int | None = None
    jobs: int | None = None


_SCALARS: dict[str, tuple[type, str]] = {
    # toml key: (type, Config attribute)
    "endpoint": (str, "endpoint"),
    "event-id": (str, "event_id"),
    "session-id": (str, "session_id"),
    "keep-qr": (bool, "keep_qr"),
    "api-version": (str, "api_version"),
    "respect-gitignore": (bool, "respect_gitignore"),
    "max-size": (int, "max_size"),
    "jobs": (int, "jobs"),
}
_LISTS = {"drop-fields": "drop_fields", "include": "include", "exclude": "exclude"}
KNOWN_KEYS = sorted([*_SCALARS, *_LISTS, "events", "fields"])


def find_config(start: Path) -> tuple[Path | None, Path]:
    """(config file or None, project root), searching from ``start`` up to the repository top."""
    folder = start if start.is_dir() else start.parent
    folder = folder.absolute()
    for candidate in (folder, *folder.parents):
        own = candidate / "mailpatch.toml"
        if own.is_file():
            return own, candidate
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject, candidate
        if (candidate / ".git").exists():  # a repository's top: look no further
            return None, candidate
    return None, Path.cwd().absolute()


def _has_tool_table(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # not ours to judge; a broken pyproject without our table is ignored
    return isinstance(data.get("tool"), dict) and "mailpatch" in data["tool"]


def load_config(path: Path, root: Path | None = None) -> Config:
    where = str(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: is not valid TOML: {exc}") from None
    table = data
    prefix = ""
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("mailpatch", {})
        prefix = "tool.mailpatch."
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{prefix.rstrip('.')}] must be a table")
    return _validate(table, where, prefix, root or path.parent.absolute(), path)


def _validate(table: dict[str, Any], where: str, prefix: str, root: Path, source: Path) -> Config:
    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{where}: {prefix}{key}: {problem}")

    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in _SCALARS:
            kind, attr = _SCALARS[key]
            if type(value) is not kind:  # bool is an int subclass: compare exactly
                raise fail(key, f"expected {kind.__name__}, got {type(value).__name__}")
            values[attr] = value
        elif key in _LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(key, "expected a list of strings")
            values[_LISTS[key]] = tuple(value)
        elif key == "events":
            values["events"] = tuple(_events(value, fail))
        elif key == "fields":
            values["fields"] = tuple(_fields(value, fail))
        else:
            import difflib

            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise fail(key, f"unknown key{hint}; known: {', '.join(KNOWN_KEYS)}")
    if values.get("endpoint") is not None:
        try:
            normalize_endpoint(values["endpoint"])
        except LinkError as exc:
            raise fail("endpoint", str(exc)) from None
    for key in ("max-size", "jobs"):
        attr = _SCALARS[key][1]
        if attr in values and values[attr] < 1:
            raise fail(key, "must be at least 1")
    return Config(source=source, root=root, **values)


def _events(value: object, fail: Any) -> list[str]:
    if not isinstance(value, dict):
        raise fail("events", 'expected a table of "GUID" = "READABLE_ID" or {id, session}')
    out = []
    for guid, ref in value.items():
        if not GUID.match(guid):
            raise fail(f"events.{guid}", "the key is not a GUID")
        if isinstance(ref, str) and ref.strip():
            out.append(f"{guid}={ref}")
        elif (
            isinstance(ref, dict)
            and set(ref) <= {"id", "session"}
            and isinstance(ref.get("id"), str)
        ):
            session = ref.get("session")
            if session is not None and not (isinstance(session, str) and session.strip()):
                raise fail(f"events.{guid}.session", "expected a non-empty string")
            out.append(f"{guid}={ref['id']}" + (f"@{session}" if session else ""))
        else:
            raise fail(f"events.{guid}", 'expected "READABLE_ID" or { id = "…", session = "…" }')
    return out


def _fields(value: object, fail: Any) -> list[str]:
    if not isinstance(value, dict):
        raise fail("fields", 'expected a table of KEY = "VALUE"')
    out = []
    for key, text in value.items():
        if not isinstance(text, str):
            raise fail(f"fields.{key}", "expected a string")
        try:
            validate_field_key(key)
        except LinkError as exc:
            raise fail(f"fields.{key}", str(exc)) from None
        out.append(f"{key}={text}")
    return out
