"""Configuration: ``[tool.mailpatch]`` in pyproject.toml or a ``mailpatch.toml``, found upwards.

Every key is checked here, so a typo or a bad value is a usage error that names the key and the
file (exit 2) before any email is touched.
"""

from __future__ import annotations

import os
import stat
from dataclasses import field
from pathlib import Path
from typing import Any, NamedTuple

from mailpatch._handlebars import GUID, GUID_LIKE, normal_guid
from mailpatch._link import CalendarLink, LinkError, normalize_endpoint, validate_field_key
from mailpatch._record import record

# Where Dynamics shows the readable event id: said wherever a GUID is given in its place.
READABLE_ID_HINT = (
    "the readable event id is on the event record (Website and form tab, 'Readable event "
    "id'), e.g. ContosoSummit2026; the GUID is what the QR block's {{#if}} tests"
)


def guid_as_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a readable event id (it is GUID-shaped), or None."""
    if GUID_LIKE.match(value.strip()):
        return f"{value.strip()!r} is an event GUID, not a readable event id: {READABLE_ID_HINT}"
    return None


class ConfigError(Exception):
    """A configuration problem: the message names the file and the key."""


class ConfigEvent(NamedTuple):  # cheaper to define than a dataclass (start-up)
    """One entry of the events table, taken literally (no '@' splitting as on the CLI)."""

    guid: str
    readable_id: str
    session_id: str | None = None


@record
class Config:
    """The settings a file or folder takes from its configuration file, each None when unset."""

    source: Path | None = None  # the file the values came from
    root: Path = field(default_factory=Path.cwd)  # project root: excludes are relative to it
    endpoint: str | None = None
    events: tuple[ConfigEvent, ...] = ()  # the events table: each readable id tied to its GUID
    fields: tuple[tuple[str, str], ...] = ()  # (key, value), taken whole
    drop_fields: tuple[str, ...] = ()
    keep_qr: bool | None = None
    api_version: str | None = None
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool | None = None
    max_size: int | None = None
    jobs: int | None = None
    ignore: tuple[str, ...] = ()  # lint codes
    calendar_content: Path | None = None  # lint: the event's Calendar content, file-relative

    @property
    def events_table(self) -> str:
        """Where the user adds an event id: '[tool.mailpatch.events] in path/pyproject.toml'."""
        table = (
            "[tool.mailpatch.events]"
            if self.source and self.source.name == ("pyproject.toml")
            else "[events]"
        )
        if self.source is None:
            return "--event GUID=ID"
        shown = self.source
        if shown.is_absolute() and shown.is_relative_to(Path.cwd()):
            shown = shown.relative_to(Path.cwd())  # as the user would type it
        return f"{table} in {shown}"


_SCALARS: dict[str, tuple[type, str]] = {
    # toml key: (type, Config attribute)
    "endpoint": (str, "endpoint"),
    "keep-qr": (bool, "keep_qr"),
    "api-version": (str, "api_version"),
    "respect-gitignore": (bool, "respect_gitignore"),
    "max-size": (int, "max_size"),
    "jobs": (int, "jobs"),
}
_LISTS = {
    "drop-fields": "drop_fields",
    "include": "include",
    "exclude": "exclude",
    "ignore": "ignore",
}
KNOWN_KEYS = sorted([*_SCALARS, *_LISTS, "events", "fields", "calendar-content"])
# An id that is not tied to a GUID could reach any email in the repository, next year's too.
_UNTIED = {
    "event-id": "an event id in configuration must be tied to its GUID",
    "session-id": "a session id in configuration must be tied to its event's GUID",
}


def find_config(start: Path) -> tuple[Path | None, Path]:
    """(config file or None, project root), searching from ``start`` up to the repository top.

    A file found on the way is used only if the user can trust it (``untrusted_because``);
    one that would be used but cannot be trusted stops the run (ConfigError), as git stops in
    a repository another user owns: passing over it would silently change the settings.
    """
    folder = start if start.is_dir() else start.parent
    folder = folder.absolute()
    for candidate in (folder, *folder.parents):
        own = candidate / "mailpatch.toml"
        if own.is_file():
            _require_trusted(own)
            return own, candidate
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _holds_settings(pyproject):
            return pyproject, candidate
        if (candidate / ".git").exists():  # a repository's top: look no further
            return None, candidate
    return None, Path.cwd().absolute()


def untrusted_because(path: Path) -> str | None:
    """Why settings in ``path`` cannot be trusted, or None: another user than this one or root
    owns the file or its folder, or others (not only its owner and group) can write the file,
    or its folder without the sticky bit (then anyone could replace the file). Group write is
    allowed: Debian and Ubuntu give each user a group of their own and a umask that sets it.
    POSIX only: elsewhere every file is trusted."""
    if not hasattr(os, "geteuid"):
        return None
    me = os.geteuid()
    real = path.resolve()
    try:
        file_info, folder_info = real.stat(), real.parent.stat()
    except OSError:
        return None  # cannot be read: reading it says so, with the reason
    for what, info in (("it is", file_info), ("its folder is", folder_info)):
        if info.st_uid not in (me, 0):
            return f"{what} owned by another user (uid {info.st_uid})"
    if file_info.st_mode & stat.S_IWOTH:
        return "others can write it"
    if folder_info.st_mode & stat.S_IWOTH and not folder_info.st_mode & stat.S_ISVTX:
        return "others can write its folder (and so replace the file)"
    return None


def _require_trusted(path: Path) -> None:
    why = untrusted_because(path)
    if why is not None:
        raise ConfigError(
            f"{path}: not used: {why}. mailpatch takes settings only from files you (or root) "
            "own, in folders others cannot write, as git does since CVE-2022-24765. Remove or "
            "fix the file, or name your own settings with --config FILE (a file you name is "
            "used as named)."
        )


def _holds_settings(pyproject: Path) -> bool:
    """Whether a pyproject.toml has ``[tool.mailpatch]``; one that does must be trusted. Another
    user's pyproject.toml without it (a project of theirs in /tmp) is passed over unread."""
    if untrusted_because(pyproject) is None:
        return _tool_table(pyproject) is not None
    try:
        holds = _tool_table(pyproject) is not None
    except ConfigError:
        holds = True  # cannot tell: it may hold settings, which must not be dropped silently
    if holds:
        _require_trusted(pyproject)
    return False


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML, or ConfigError naming the file (and the line, for a syntax error):
    a pyproject.toml mailpatch cannot read may hold settings it would otherwise drop."""
    import tomllib  # only when there is a file to read

    where = str(path)
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: is not valid TOML: {exc}") from None


def _tool_table(pyproject: Path) -> dict[str, Any] | None:
    """``[tool.mailpatch]`` of a pyproject.toml, None when it has none; ConfigError when the
    file cannot be read as TOML or its ``tool`` or ``tool.mailpatch`` is not a table."""
    data = _read_toml(pyproject)
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"{pyproject}: tool must be a table ([tool]), not {_kind(tool)}")
    table = tool.get("mailpatch")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(
            f"{pyproject}: tool.mailpatch must be a table ([tool.mailpatch]), not {_kind(table)}"
        )
    return table


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a " + type(value).__name__
    )


def load_config(path: Path, root: Path | None = None) -> Config:
    where = str(path)
    prefix = ""
    if path.name == "pyproject.toml":
        table = _tool_table(path) or {}
        prefix = "tool.mailpatch."
    else:
        table = _read_toml(path)
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
        elif key == "calendar-content":
            if type(value) is not str or not value.strip():
                raise fail(key, "expected the path of a file, relative to this one")
            values["calendar_content"] = source.parent.absolute() / value
        elif key in _UNTIED:
            raise fail(
                key,
                f"{_UNTIED[key]}: write it in the events table, "
                f'[{prefix}events] "GUID" = "READABLE_ID" (or {{ id = "…", session = "…" }}); '
                "on the command line --event-id serves a run whose emails have one event",
            )
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


def _events(value: object, fail: Any) -> list[ConfigEvent]:
    """The events table, each value taken literally: '@' is part of an id here."""
    if not isinstance(value, dict):
        raise fail("events", 'expected a table of "GUID" = "READABLE_ID" or {id, session}')
    out = []
    seen: dict[str, str] = {}
    for guid, ref in value.items():
        key = f'events."{guid}"'
        if not GUID.match(guid):
            raise fail(key, "the key is not a GUID (the one in the QR block's {{#if}})")
        normal = normal_guid(guid)
        if normal in seen:
            raise fail(key, f'the same event as events."{seen[normal]}"')
        seen[normal] = guid
        if isinstance(ref, dict):
            if not set(ref) <= {"id", "session"} or "id" not in ref:
                raise fail(key, 'expected "READABLE_ID" or { id = "…", session = "…" }')
            readable, session = ref["id"], ref.get("session")
            key_id = f"{key}.id"
        else:
            readable, session, key_id = ref, None, key
        if not isinstance(readable, str) or not readable.strip():
            raise fail(key_id, "expected a non-empty readable event id")
        if readable != readable.strip():
            raise fail(key_id, f"{readable!r} has white space around it")
        problem = guid_as_id_problem(readable)
        if problem:
            raise fail(key_id, problem)
        if session is not None and not (
            isinstance(session, str) and session.strip() and session == session.strip()
        ):
            raise fail(f"{key}.session", "expected a non-empty session id, without white space")
        out.append(ConfigEvent(normal, readable, session))
    return out


def _fields(value: object, fail: Any) -> list[tuple[str, str]]:
    """The fields table, each key and value taken whole ('=' is part of a key here)."""
    if not isinstance(value, dict):
        raise fail("fields", 'expected a table of KEY = "VALUE"')
    out = []
    for key, text in value.items():
        if not isinstance(text, str):
            raise fail(f"fields.{key}", "expected a string")
        try:
            validate_field_key(key)
            CalendarLink("contoso.svc.dynamics.com", "check", ((key, text),))  # its value too
        except LinkError as exc:
            raise fail(f"fields.{key}", str(exc)) from None
        out.append((key, text))
    return out
