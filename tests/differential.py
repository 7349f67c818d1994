"""Differential run: this working tree against another commit, over the same inputs.

Each scenario (files in a folder, a command line, perhaps stdin) runs once with each side
installed as a user installs it (``benchmarks/revisions.py``), in the same folder, reset in
between, so absolute paths in messages match. What is compared: the exit code, stdout, stderr
(JSON reports included) and every file in the folder afterwards (results, and any temp file
left behind). Inputs: every fixture (patch, unchanged, refuse, lint, examples, tests/found) in
each mode (in place, --check, --diff, JSON, '-', -o, -v, lint); emails from
tests/email_generator.py in batches by their settings, with --event-id for one-event batches
(and batches that mix events, a usage error), without an endpoint, with a pool (-j 2); and
those emails damaged at random (slices cut or repeated, stray markup inserted), to reach the
refusals and the verifier's failures; and the growing hostile shapes of
tests/pathological_inputs.py at a few dozen units (their messages list Buttons by label,
and lint reports a problem per enclosing Button).

    python tests/differential.py [--against REV] [--seeds N] [--mutants N] [--units N]
                                 [--only TEXT]

Exits 1 when any scenario differs, printing each difference. No timing is compared.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import revisions  # noqa: E402

from fixturecases import options_args  # noqa: E402

FIXTURES = ROOT / "fixtures"
ENDPOINT = "contoso.svc.dynamics.com"


@dataclass
class Scenario:
    name: str
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    stdin: bytes | None = None


@dataclass(frozen=True)
class Observed:
    code: int
    stdout: bytes
    stderr: bytes
    tree: tuple[tuple[str, bytes], ...]


# -- scenarios ----------------------------------------------------------------------------------
def fixture_scenarios() -> Iterator[Scenario]:
    for kind in ("patch", "unchanged", "refuse"):
        for case in sorted((FIXTURES / kind).iterdir()):
            options = case / "options.json"
            args = options_args(json.loads(options.read_text("utf-8"))) if options.exists() else []
            data = (case / "input.html").read_bytes()
            files = {"input.html": data}
            name = f"{kind}/{case.name}"
            for mode in ([], ["--check"], ["--diff"], ["--format", "json"], ["-v"]):
                yield Scenario(
                    f"{name} {' '.join(mode)}", ["patch", *mode, *args, "input.html"], files
                )
            yield Scenario(f"{name} stdin", ["patch", *args, "-"], {}, data)
            yield Scenario(f"{name} -o", ["patch", *args, "-o", "out.html", "input.html"], files)
            yield Scenario(f"{name} lint", ["lint", "input.html"], files)
    for case in sorted((FIXTURES / "lint").iterdir()):
        files = {p.name: p.read_bytes() for p in case.iterdir() if p.name != "expected.txt"}
        for mode in ([], ["--format", "json"]):
            yield Scenario(
                f"lint/{case.name} {' '.join(mode)}", ["lint", *mode, "input.html"], files
            )
        yield Scenario(f"lint/{case.name} patch", ["patch", "--check", "input.html"], files)
    examples = {p.name: p.read_bytes() for p in (FIXTURES / "examples").iterdir()}
    yield Scenario("examples lint", ["lint", "."], examples)
    found = {p.name: p.read_bytes() for p in (ROOT / "tests" / "found").iterdir()}
    for mode in ([], ["--diff"], ["--format", "json"]):
        yield Scenario(
            f"found {' '.join(mode)}", ["patch", *mode, "--endpoint", ENDPOINT, "."], found
        )
    yield Scenario("found lint", ["lint", "--format", "json", "."], found)
    # every patch fixture in one run, as each option set would take it
    everything = {
        f"{case.name}.html": (case / "input.html").read_bytes()
        for kind in ("patch", "unchanged", "refuse")
        for case in sorted((FIXTURES / kind).iterdir())
    }
    for args in (
        ["--endpoint", ENDPOINT, "--event-id", "Summit"],
        ["--event-id", "Summit"],
        [],
        ["--endpoint", ENDPOINT],
    ):
        for mode in ([], ["--check"], ["--format", "json"], ["-j", "2"]):
            yield Scenario(
                f"fixtures batch {args} {mode}", ["patch", *mode, *args, "."], everything
            )


def _generated(seeds: int) -> list[tuple[str, bytes, object]]:
    from email_generator import seeded

    out = []
    for seed in range(seeds):
        email = seeded(seed)
        out.append((f"e{seed:04d}.html", email.data, email.spec))
    return out


def _settings_args(spec: object) -> list[str]:
    args = ["--endpoint", ENDPOINT]
    for ev in spec.events:  # type: ignore[attr-defined]
        args += ["--event", f"{ev.guid}={ev.readable}"]
    return args + (["--keep-qr"] if spec.keep_qr else [])  # type: ignore[attr-defined]


def _batches(emails: list[tuple[str, bytes, object]], label: str) -> Iterator[Scenario]:
    groups: dict[tuple[str, ...], dict[str, bytes]] = {}
    for name, data, spec in emails:
        groups.setdefault(tuple(_settings_args(spec)), {})[name] = data
    modes = ([], ["--check"], ["--diff"], ["--format", "json"], ["-j", "2"], ["-v"])
    for args, files in sorted(groups.items()):
        for mode in modes:
            yield Scenario(f"{label} {' '.join(args)} {mode}", ["patch", *mode, *args, "."], files)
        yield Scenario(f"{label} lint {args}", ["lint", "--format", "json", "."], files)
    # one event per email, one --event-id per batch: per GUID, and all GUIDs mixed (refused)
    single: dict[tuple[str, str], dict[str, bytes]] = {}
    for name, data, spec in emails:
        events = spec.events  # type: ignore[attr-defined]
        if len(events) == 1:
            key = (events[0].guid.lower(), events[0].readable)
            single.setdefault(key, {})[name] = data
    mixed: dict[str, bytes] = {}
    for (_, readable), files in sorted(single.items()):
        for mode in ([], ["--check"], ["--format", "json"], ["-j", "2"]):
            argv = ["patch", *mode, "--endpoint", ENDPOINT, "--event-id", readable, "."]
            yield Scenario(f"{label} event-id {readable} {mode}", argv, files)
        mixed.update(dict(list(files.items())[:3]))
    for mode in ([], ["--format", "json"]):
        argv = ["patch", *mode, "--endpoint", ENDPOINT, "--event-id", "Mixed", "."]
        yield Scenario(f"{label} event-id mixed {mode}", argv, mixed)
    every = {name: data for name, data, _ in emails}
    yield Scenario(f"{label} no endpoint", ["patch", "--event-id", "X", "."], every)
    yield Scenario(f"{label} no settings json", ["patch", "--format", "json", "."], every)


def pathological_scenarios(units: int) -> Iterator[Scenario]:
    from pathological_inputs import shapes

    for shape in shapes():
        files = {"input.html": shape.build(units).encode("utf-8")}
        options = shape.options
        args = ["--endpoint", options.endpoint or ENDPOINT]
        if options.event is not None:
            args += ["--event-id", options.event.readable_id]
        used = files["input.html"]
        for guid, event in options.events.items():
            if guid.encode() in used:
                args += ["--event", f"{guid}={event.readable_id}"]
        for mode in ([], ["--check"], ["--format", "json"]):
            argv = ["patch", *mode, *args, "input.html"]
            yield Scenario(f"shape {shape.name} {' '.join(mode)}", argv, files)
        for mode in ([], ["--format", "json"]):
            yield Scenario(f"shape {shape.name} lint {mode}", ["lint", *mode, "input.html"], files)


_SNIPPETS = (
    "{{", "}}", "<!--", "-->", "--!>", "</div>", "<div>", "</p>", "<p>", "</table>", "&",
    '<div data-editorblocktype="Button">', '<div data-editorblocktype="ERQRCode">',
    ' data-locked="hard"', ' data-protected="true"', '<a href="#">', "</a>", "</html>", "<html>",
    "{{#each x}}", "{{/each}}", "{{#if a}}", "{{/if}}", "{{else}}", "<style>", "<title>",
    '"', "'", ">", "<", "https:", "<!--[if mso]>", "<![endif]-->", "{{!--", "--}}",
)  # fmt: skip


def mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` damaged a few times: a slice cut, a slice repeated, a snippet put in."""
    text = data.decode("utf-8", "surrogateescape")
    for _ in range(rng.randint(1, 3)):
        if not text:
            break
        at = rng.randrange(len(text))
        span = rng.randint(1, 200)
        how = rng.randrange(3)
        if how == 0:
            text = text[:at] + text[at + span :]
        elif how == 1:
            text = text[:at] + text[at : at + span] + text[at:]
        else:
            text = text[:at] + rng.choice(_SNIPPETS) + text[at:]
    return text.encode("utf-8", "surrogateescape")


def generated_scenarios(seeds: int, mutants: int) -> Iterator[Scenario]:
    emails = _generated(seeds)
    yield from _batches(emails, "generated")
    rng = random.Random(2026)
    damaged = []
    for i in range(mutants):
        name, data, spec = emails[i % len(emails)]
        damaged.append((f"m{i:04d}-{name}", mutate(data, rng), spec))
    yield from _batches(damaged, "mutants")


# -- running -----------------------------------------------------------------------------------
def _tree(folder: Path) -> tuple[tuple[str, bytes], ...]:
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            out.append(
                (str(path.relative_to(folder)), path.read_bytes() if path.is_file() else b"")
            )
    return tuple(out)


def observe(python: Path, scenario: Scenario, folder: Path) -> Observed:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, data in scenario.files.items():
        (folder / name).write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NO_COLOR"))}
    done = subprocess.run(
        [str(python), "-m", "mailpatch", *scenario.argv],
        cwd=folder,
        input=scenario.stdin if scenario.stdin is not None else b"",
        capture_output=True,
        env=env,
        timeout=600,
        check=False,
    )
    return Observed(done.returncode, done.stdout, done.stderr, _tree(folder))


def _shown(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines(keepends=True)


def difference(a: Observed, b: Observed) -> str:
    """What differs, briefly (empty when nothing does)."""
    out: list[str] = []
    if a.code != b.code:
        out.append(f"  exit code {a.code} -> {b.code}\n")
    for what, x, y in (("stdout", a.stdout, b.stdout), ("stderr", a.stderr, b.stderr)):
        if x != y:
            diff = difflib.unified_diff(_shown(x), _shown(y), f"{what} (against)", f"{what} (this)")
            out.append("".join(list(diff)[:30]))
    if a.tree != b.tree:
        names_a, names_b = dict(a.tree), dict(b.tree)
        for name in sorted(set(names_a) | set(names_b)):
            if names_a.get(name) != names_b.get(name):
                out.append(f"  file {name} differs\n")
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="", help="commit to compare with (default: the "
                        "merge base of HEAD and main)")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=300, help="generated emails")
    parser.add_argument("--mutants", type=int, default=300, help="damaged generated emails")
    parser.add_argument("--units", type=int, default=40, help="units of each hostile shape")
    parser.add_argument("--only", default="", help="scenarios whose name holds this")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--venvs", type=Path, default=revisions.DEFAULT_VENVS)
    a = parser.parse_args(argv)
    against = (
        a.against
        or subprocess.run(
            ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    base = revisions.install(against, a.venvs)
    this = revisions.install(revisions.WORKTREE, a.venvs)
    print(f"against {revisions.describe(against)}: {base}\nthis: {this}", flush=True)
    scenarios = [
        s
        for s in [
            *fixture_scenarios(),
            *generated_scenarios(a.seeds, a.mutants),
            *pathological_scenarios(a.units),
        ]
        if a.only in s.name
    ]
    work = Path(tempfile.mkdtemp(prefix="mailpatch-differential-"))

    def compare(indexed: tuple[int, Scenario]) -> tuple[Scenario, str, int]:
        i, scenario = indexed
        folder = work / f"s{i}"
        before = observe(base, scenario, folder)
        after = observe(this, scenario, folder)
        shutil.rmtree(folder, ignore_errors=True)
        return scenario, difference(before, after), before.code

    differ = 0
    codes: dict[int, int] = {}
    try:
        with ThreadPoolExecutor(a.threads) as pool:
            for scenario, diff, code in pool.map(compare, enumerate(scenarios)):
                codes[code] = codes.get(code, 0) + 1
                if diff:
                    differ += 1
                    print(f"DIFFERS: {scenario.name}\n{diff}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    shown = ", ".join(f"{n} exit {c}" for c, n in sorted(codes.items()))
    print(f"{len(scenarios)} scenarios ({shown}): {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
