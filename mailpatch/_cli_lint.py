"""``mailpatch lint``: report problems in calendar links already in emails (nothing is written)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import click

from mailpatch import __version__
from mailpatch._cli_select import Configs, select, selection_options
from mailpatch._config import Config
from mailpatch._files import DEFAULT_MAX_SIZE, FileProblem, decode, read_bytes, read_stdin
from mailpatch._html import LineIndex
from mailpatch._output import (
    EXIT_FOUND,
    EXIT_OK,
    EXIT_UNREADABLE,
    json_document,
    wants_color,
    write_stdout,
)
from mailpatch._record import record

if TYPE_CHECKING:  # the lint core is imported when the command runs: start-up time matters
    from mailpatch._lint import CalendarContent, Problem
    from mailpatch._patch import PatchOptions

# 2: one document (problems, unreadable files, summary; not_patched added later, compatibly);
# 1 was an array
LINT_JSON_SCHEMA = 2
QR_LEFT = "MP204"


@record
class Report:
    """One problem, placed in its file."""

    path: str
    line: int
    column: int
    problem: Problem

    def text(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.problem.code} {self.problem.message}"

    def as_json(self) -> dict[str, object]:
        rule = self.problem.rule  # the Problem knows its Rule
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": rule.code,
            "name": rule.name,
            "severity": rule.severity.value,
            "message": self.problem.message,
            "hint": rule.hint,
            "fixable": self.problem.fixable,
        }


@record
class Unpatched:
    """An ERQRCode block not patched yet, placed in its file (said, not a problem)."""

    path: str
    line: int
    column: int
    guid: str

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "column": self.column, "guid": self.guid}


@record
class JourneysEmail:
    """An email without an ERQRCode block that looks like a real-time journeys email."""

    path: str
    signs: str  # '{{FirstName}}, {{PreferenceCenter}}'

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "signs": self.signs}


class FileLint(NamedTuple):
    reports: list[Report]
    not_patched: list[Unpatched]
    journeys: JourneysEmail | None = None


def lint_file(
    path: str, data: bytes, content: CalendarContent | None, settings: PatchOptions | None = None
) -> FileLint:
    """Reports for one email's bytes, and its ERQRCode blocks not patched yet; FileProblem
    when they are not a UTF-8 text file."""
    from mailpatch._lint import lint_email

    text = decode(data).text
    lines = LineIndex(text)
    result = lint_email(text, content, settings)
    reports = [Report(path, *lines.position(p.offset), p) for p in result.problems]
    not_patched = [Unpatched(path, *lines.position(q.offset), q.guid) for q in result.not_patched]
    journeys = JourneysEmail(path, result.journeys.summary()) if result.journeys else None
    return FileLint(_unsuppressed(text, lines, reports), not_patched, journeys)


def _unsuppressed(text: str, lines: LineIndex, reports: list[Report]) -> list[Report]:
    """The reports no '<!-- mailpatch: ignore CODE -->' comment suppresses."""
    if "mailpatch:" not in text:
        return reports
    ignored: dict[int, set[str]] = {}  # line -> codes an inline comment there suppresses
    for m in _SUPPRESS.finditer(text):
        codes = {c.strip().upper() for c in m.group(1).split(",") if c.strip()}
        line = lines.position(m.start())[0]
        for at in (line, line + 1):  # its own line and the next
            ignored.setdefault(at, set()).update(codes)
    return [r for r in reports if r.problem.code not in ignored.get(r.line, ())]


# '<!-- mailpatch: ignore MP206, MP205 -->': a hand-made link the user keeps on purpose
_SUPPRESS = re.compile(r"<!--\s*mailpatch:\s*ignore\s+([A-Za-z0-9,\s]+?)\s*-->")


def _settings(config: Config) -> PatchOptions | None:
    """What patch would build links from, for MP207: the configuration's endpoint, events
    and fields (None without an endpoint or events: nothing to compare with)."""
    if config.endpoint is None or not config.events:
        return None
    from mailpatch._cli_options import build_options

    return build_options(
        endpoint=config.endpoint,
        drop_fields=list(config.drop_fields),
        api_version=config.api_version,
        config_events=config.events,
        config_fields=config.fields,
    )


def _codes(values: Sequence[str], hint: str = "--ignore") -> frozenset[str]:
    from mailpatch._lint import RULES

    codes = {c.strip().upper() for value in values for c in value.split(",") if c.strip()}
    unknown = sorted(codes - set(RULES))
    if unknown:
        raise click.BadParameter(
            f"unknown code(s) {', '.join(unknown)}; known: {', '.join(RULES)}",
            param_hint=hint,
        )
    return frozenset(codes)


def _content(path: str | Path | None, hint: str = "--calendar-content") -> CalendarContent | None:
    from mailpatch._lint import CalendarContent

    if path is None:
        return None
    try:
        text = decode(read_bytes(Path(path))).text
    except FileProblem as exc:
        raise click.BadParameter(f"{path} {exc}", param_hint=hint) from None
    return CalendarContent.parse(Path(path).name, text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _not_patched_line(not_patched: Sequence[Unpatched]) -> str:
    """'2 ERQRCode blocks in 1 file are not patched yet: ...' (work to do, not a problem)."""
    files = len({u.path for u in not_patched})
    blocks = _plural(len(not_patched), "ERQRCode block")
    verb = "is" if len(not_patched) == 1 else "are"
    return (
        f"{blocks} in {_plural(files, 'file')} {verb} not patched yet: 'mailpatch patch' "
        "moves each into its Button"
    )


def _journeys_line(emails: Sequence[JourneysEmail]) -> str:
    from mailpatch._journeys import NATIVE_BUTTON

    one = len(emails) == 1
    what = "looks like a real-time journeys email" if one else "look like real-time journeys emails"
    return (
        f"{_plural(len(emails), 'file')} without an ERQRCode block {what} "
        f"({emails[0].path}: {emails[0].signs}):\n  {NATIVE_BUTTON}"
    )


def _summary(
    reports: list[Report],
    linted: int,
    unreadable: int,
    not_patched: Sequence[Unpatched] = (),
    journeys: Sequence[JourneysEmail] = (),
) -> str:
    """'Found 3 problems in 2 of 5 files.', one fix hint per code found, the ERQRCode blocks
    not patched yet, and the emails that look like real-time journeys ones."""
    lines = [_problems_summary(reports, linted, unreadable)]
    if not_patched:
        lines.append(_not_patched_line(not_patched) + ".")
    if journeys:
        lines.append(_journeys_line(journeys))
    return "\n".join(lines)


def _problems_summary(reports: list[Report], linted: int, unreadable: int) -> str:
    from mailpatch._lint import RULES

    skipped = f"; {unreadable} could not be read" if unreadable else ""
    if not reports:
        return f"No problems in {_plural(linted, 'file')}{skipped}."
    paths = len({r.path for r in reports})
    fixable = sum(1 for r in reports if r.problem.fixable)
    fixes = f" ({fixable} fixable with 'mailpatch patch')" if fixable else ""
    lines = [
        f"Found {_plural(len(reports), 'problem')} in {paths} of {_plural(linted, 'file')}"
        f"{skipped}{fixes}."
    ]
    for code, count in sorted(Counter(r.problem.code for r in reports).items()):
        rule = RULES[code]
        lines.append(f"  {code} {rule.name} ({count}): {rule.hint}")
    return "\n".join(lines)


@click.command(
    "lint",
    epilog="""\b
Exit codes: 0 no problems; 1 problems found (warnings too); 2 usage error;
            123 a file could not be read as UTF-8 text (the others are still linted).
\b
Report lines are PATH:LINE:COL: CODE message on stdout; a summary with one fix hint
per code goes to stderr. --format json prints one JSON document with the hints instead.
\b
A hand-made link to keep as it is: put <!-- mailpatch: ignore MP206 --> (codes separated
by commas) on its line or the line before; those codes are not reported there.""",
)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="Report format: json, one document with every problem and unreadable file; github, "
    "workflow annotations (::error file=…) for GitHub Actions.",
)
@click.option(
    "--calendar-content",
    metavar="FILE",
    help="The event's Calendar content HTML: every {{wildcard}} in it must be supplied by "
    "each link's data, and every data key should be used.",
)
@click.option(
    "--keep-qr/--no-keep-qr",
    default=None,
    help=f"QR blocks are kept on purpose (as with 'patch --keep-qr', or keep-qr in the "
    f"config): no {QR_LEFT}.",
)
@click.option(
    "--ignore",
    "ignored",
    multiple=True,
    metavar="CODE[,CODE]",
    help="Do not report these codes. Repeatable.",
)
@click.option(
    "--exit-zero",
    is_flag=True,
    help="Exit 0 even when problems are found (unreadable files still exit 123).",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Print how many problems each code has, instead of each problem.",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the report lines (default: on a terminal, unless NO_COLOR is set or "
    "TERM=dumb).",
)
@click.option("-q", "--quiet", is_flag=True, help="Only the problems: no summary.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Also a line for every file linted, and its config."
)
@selection_options
def lint_command(
    paths: tuple[str, ...],
    output_format: str,
    calendar_content: str | None,
    keep_qr: bool | None,
    ignored: tuple[str, ...],
    exit_zero: bool,
    statistics: bool,
    color: bool | None,
    quiet: bool,
    verbose: bool,
    excludes: tuple[str, ...],
    includes: tuple[str, ...],
    respect_gitignore: bool | None,
    config_path: str | None,
) -> None:
    """Check calendar links in emails (PATH: files, folders, '-' for stdin, or a settings
    file for every email it governs)."""
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("'-' (stdin) must be the only PATH")
    if quiet and verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose cannot be combined")
    if statistics and output_format != "text":
        raise click.UsageError("--statistics goes with the text format")
    configs = Configs(config_path)
    not_read: list[tuple[str, str]] = []  # folders and .gitignore files: reported by name
    files, _ = select(paths, configs, excludes, includes, respect_gitignore, not_read)
    cli_skip = _codes(ignored)
    cli_content = _content(calendar_content)
    # each configuration's settings, read once: a bad value is a usage error before any file
    per_config: dict[int, tuple[frozenset[str], CalendarContent | None, PatchOptions | None]] = {}
    for config in {id(c): c for c in map(configs.of, files)}.values():
        kept = config.keep_qr if keep_qr is None else keep_qr
        where = f"{config.source}: calendar-content"
        per_config[id(config)] = (
            cli_skip
            | _codes(config.ignore, f"{config.source}: ignore")
            | ({QR_LEFT} if kept else set()),
            cli_content or _content(config.calendar_content, where),
            _settings(config),
        )
    reports: list[Report] = []
    not_patched: list[Unpatched] = []
    journeys: list[JourneysEmail] = []
    unreadable = 0
    unread: list[dict[str, str]] = []  # for JSON: each file that could not be read, and why
    for path, reason in not_read:
        click.echo(f"error: cannot lint {path}: {reason}", err=True)
        unreadable += 1
        unread.append({"path": path, "reason": reason})
    for path in files:
        config = configs.of(path)
        skip, content, settings = per_config[id(config)]
        max_size = config.max_size or DEFAULT_MAX_SIZE
        try:
            data = read_stdin(max_size) if path == "-" else read_bytes(Path(path), max_size)
            found = lint_file(path, data, content, settings)
        except Exception as exc:  # FileProblem, or a bug: that file's error, not the run's
            reason = _reason(exc)
            click.echo(f"error: cannot lint {path}: {reason}", err=True)
            unreadable += 1
            unread.append({"path": path, "reason": reason})
            continue
        mine = [r for r in found.reports if r.problem.code not in skip]
        if verbose:
            source = config.source or "none"
            waiting = (
                f", {_plural(len(found.not_patched), 'ERQRCode block')} not patched yet"
                if found.not_patched
                else ""
            )
            if found.journeys:
                waiting += f", looks like a real-time journeys email ({found.journeys.signs})"
            click.echo(
                f"linted {path}: {_plural(len(mine), 'problem')}{waiting} (config: {source})",
                err=True,
            )
        reports += mine
        not_patched += found.not_patched
        journeys += [found.journeys] if found.journeys else []
    code = EXIT_UNREADABLE if unreadable else EXIT_FOUND if reports and not exit_zero else EXIT_OK
    if output_format == "text" and not statistics and wants_color(color):
        write_stdout("".join(_painted(r) + "\n" for r in reports))
    else:
        write_stdout(
            _rendered(
                output_format, statistics, reports, unread, len(files), code, not_patched, journeys
            )
        )
    if output_format != "json" and not quiet:
        summary = _summary(reports, len(files) - unreadable, unreadable, not_patched, journeys)
        click.echo(summary, err=True)
    # exit through click, so `cli()` run standalone (CliRunner) gives what main() returns
    click.get_current_context().exit(code)


def _painted(report: Report) -> str:
    """A report line in colour, as ruff's: the file in bold, the code red (an error) or
    yellow (a warning)."""
    code = report.problem.code
    tint = "yellow" if report.problem.rule.severity.value == "warning" else "red"
    return (
        f"{click.style(report.path, bold=True)}:{report.line}:{report.column}: "
        f"{click.style(code, fg=tint, bold=True)} {report.problem.message}"
    )


def _reason(exc: Exception) -> str:
    """Why a file was not linted: its FileProblem, or a bug said as one."""
    if isinstance(exc, FileProblem):
        return str(exc)
    return (
        f"INTERNAL ERROR: {type(exc).__name__}: {str(exc)[:200]}; please report this with the "
        "file"
    )


def _rendered(
    output_format: str,
    statistics: bool,
    reports: Sequence[Report],
    unread: list[dict[str, str]],
    files: int,
    code: int,
    not_patched: Sequence[Unpatched] = (),
    journeys: Sequence[JourneysEmail] = (),
) -> str | bytes:
    """What lint writes on stdout, in the format asked for."""
    if output_format == "json":
        document = {
            "mailpatch": __version__,
            "schema": LINT_JSON_SCHEMA,
            "problems": [r.as_json() for r in reports],
            "unreadable": unread,
            "not_patched": [u.as_json() for u in not_patched],
            "real_time_journeys": [j.as_json() for j in journeys],
            "summary": {
                "problems": len(reports),
                "files": files - len(unread),
                "unreadable": len(unread),
                "not_patched": len(not_patched),
            },
            "exit_code": code,
        }
        return json_document(document)
    if output_format == "github":  # workflow commands: one annotation a problem
        return "".join(_annotation(r) + "\n" for r in reports)
    if statistics:  # as ruff --statistics: count, code, name; the most frequent first
        from mailpatch._lint import RULES

        counts = Counter(r.problem.code for r in reports)
        width = max((len(str(n)) for n in counts.values()), default=1)
        return "".join(
            f"{n:>{width}}  {code}  {RULES[code].name}\n"
            for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        )
    return "".join(report.text() + "\n" for report in reports)


def _annotation(report: Report) -> str:
    """A GitHub Actions workflow command; its properties and message escaped as it asks."""
    rule = report.problem.rule

    def prop(text: str) -> str:
        return (
            text.replace("%", "%25")
            .replace("\r", "%0D")
            .replace("\n", "%0A")
            .replace(":", "%3A")
            .replace(",", "%2C")
        )

    message = f"{report.problem.message} ({rule.hint})"
    message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    level = "warning" if rule.severity.value == "warning" else "error"
    return (
        f"::{level} file={prop(report.path)},line={report.line},col={report.column},"
        f"title={prop(rule.code + ' ' + rule.name)}::{message}"
    )
