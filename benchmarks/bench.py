"""How fast mailpatch patches, side by side with what else one could run on the same emails.

On one generated corpus (``corpus.py``: one event, so that ``--event-id`` serves the run, as
it does for most users), each round copies the corpus afresh for every contender, runs the
contenders in an order that rotates from round to round, and the median round counts. Targets
are judged on the ratio within each round, the median over the rounds: on a shared machine
whose speed drifts, a ratio of two medians taken from different rounds moves by more than the
margin. Contenders:

* ``mailpatch patch --endpoint … --event-id … FILES`` as a user runs it: the console script of
  a clean venv (``revisions.py``), default workers, verification on, every result fsynced
  before its rename; also with ``-j 1``; with ``--against REV``, REV's own, installed alike;
* mailpatch in this process (``_run.process`` per file): the cost per file and per MB;
* an lxml pass: ``lxml.html.document_fromstring`` + ``lxml.html.tostring``, written back;
* the obvious BeautifulSoup script for the same job (bs4 + lxml, move the loop, ``str(soup)``);
* read + write only.

The lxml pass and read+write are timed both with a plain write and with mailpatch's writer
(``_files.write_atomic``: temp file, fsync, rename). The in-process contenders run with freed
memory kept, as the command line keeps it for a batch (``_run.keep_freed_memory``).

Then: files without a QR block against reading them; start-up of ``mailpatch patch --check``
on one small email against ``python -c pass`` of the same clean venv (and of REV's), in
alternation; cost against file size; peak RSS for a small and a large batch.

    python benchmarks/bench.py [--quick] [--files N] [--rounds R] [--seed S] [--json PATH]
                               [--against REV]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import corpus
import revisions

if TYPE_CHECKING:
    from mailpatch._patch import PatchOptions

ROOT = Path(__file__).resolve().parent.parent

Contender = Callable[[list[Path]], None]
_QR_RUN = "mailpatch --check (QR email)"
_CLI = "mailpatch CLI (default workers)"
_LXML, _LXML_ATOMIC = "lxml parse + serialise, plain write", "lxml parse + serialise, atomic write"
_BS4, _RW, _RW_ATOMIC = (
    "BeautifulSoup script (bs4 + lxml)",
    "read + plain write",
    "read + atomic write",
)
_EVENT_ARGS = corpus.ONE_EVENT_ARGS


# -- contenders --------------------------------------------------------------------------------
def _options() -> PatchOptions:
    from mailpatch._options import build_options

    events = [a for i, a in enumerate(corpus.ARGS) if i and corpus.ARGS[i - 1] == "--event"]
    return build_options(endpoint=corpus.ENDPOINT, events=events)


def cli(python: Path, *extra: str) -> Contender:
    """``mailpatch patch -q EXTRA --endpoint … --event-id … FILES`` with the console script
    of ``python``'s venv, as a user runs it."""
    script = python.parent / "mailpatch"

    def run(paths: list[Path]) -> None:
        argv = [str(script), "patch", "-q", *extra, *_EVENT_ARGS, *map(str, paths)]
        done = subprocess.run(argv, capture_output=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{argv[:3]} exited {done.returncode}: {done.stderr[-2000:]!r}")

    return run


def mailpatch_process(paths: list[Path]) -> None:
    from mailpatch._options import build_options
    from mailpatch._run import Mode, Status, process

    options = build_options(endpoint=corpus.ENDPOINT, event_id=corpus.EVENTS[0][1])
    mode = Mode()
    for path in paths:
        outcome = process(str(path), options, mode)
        if outcome.status not in (Status.PATCHED, Status.NOT_APPLICABLE):
            raise SystemExit(f"{path}: {outcome.status.value}: {outcome.message}")


def _atomic(path: Path, data: bytes) -> None:
    from mailpatch._files import write_atomic

    write_atomic(path, data)


def lxml_pass(paths: list[Path], write: Callable[[Path, bytes], None] = Path.write_bytes) -> None:
    import lxml.html

    for path in paths:
        root = lxml.html.document_fromstring(path.read_bytes())
        write(path, lxml.html.tostring(root))


def lxml_pass_atomic(paths: list[Path]) -> None:
    lxml_pass(paths, _atomic)


_QR = re.compile(r"^\s*erqrcode\s*$", re.I)
_BUTTON = re.compile(r"^\s*button\s*$", re.I)
_GUID = re.compile(r"msevtmgt_eventid\s+['\"]([^'\"]+)")


def bs4_script(paths: list[Path]) -> None:
    """What one writes first: parse, move the loop into the button, relink, ``str(soup)``."""
    from bs4 import BeautifulSoup, Comment

    from mailpatch._link import CalendarLink

    readable = dict(corpus.EVENTS)
    for path in paths:
        soup = BeautifulSoup(path.read_bytes(), "lxml")
        for qr in soup.find_all(attrs={"data-editorblocktype": _QR}):
            button = qr.find_next(attrs={"data-editorblocktype": _BUTTON})
            guid = _GUID.search(str(qr))
            if button is None or guid is None:
                continue
            href = CalendarLink(corpus.ENDPOINT, readable[guid.group(1)]).href()
            for a in button.find_all("a"):
                a["href"] = href
            for c in button.find_all(string=lambda s: isinstance(s, Comment)):
                c.replace_with(Comment(re.sub(r'href="[^"]*"', f'href="{href}"', c)))
            img = qr.find("img")
            own = list(button.contents)
            loop = list(qr.contents)
            button.clear()
            for node in loop:
                if node is img:
                    for inner in own:
                        button.append(inner)
                else:
                    button.append(node.extract())
            qr.decompose()
        path.write_text(str(soup), "utf-8")


def read_write(paths: list[Path]) -> None:
    for path in paths:
        path.write_bytes(path.read_bytes())


def read_write_atomic(paths: list[Path]) -> None:
    for path in paths:
        _atomic(path, path.read_bytes())


def read_only(paths: list[Path]) -> None:
    for path in paths:
        path.read_bytes()


def mailpatch_no_qr(paths: list[Path]) -> None:
    mailpatch_process(paths)


# -- timing ------------------------------------------------------------------------------------
def rounds(
    source: Path, names: list[str], contenders: dict[str, Contender], count: int, work: Path
) -> dict[str, float]:
    """Median seconds per contender; a fresh copy of the corpus for every run."""
    times = round_times(source, names, contenders, count, work)
    return {name: statistics.median(ts) for name, ts in times.items()}


def paired(times: dict[str, list[float]], a: str, b: str) -> tuple[float, float, float]:
    """The ratio a / b within each round (the two ran minutes apart at most, on the same
    machine state), as (median, lowest, highest) over the rounds: steadier than a ratio of
    medians taken from different rounds when the machine's speed drifts."""
    each = sorted(x / y for x, y in zip(times[a], times[b], strict=True))
    return statistics.median(each), each[0], each[-1]


def round_times(
    source: Path, names: list[str], contenders: dict[str, Contender], count: int, work: Path
) -> dict[str, list[float]]:
    """Seconds per contender and round; a fresh copy of the corpus for every run."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    for name in order:  # warm-up, untimed: imports and first-call caches
        folder = work / "warm-up"
        shutil.copytree(source, folder)
        contenders[name]([folder / n for n in names[:2]])
        shutil.rmtree(folder)
    for r in range(count):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            folder = work / f"run-{r}-{len(times[name])}-{abs(hash(name))}"
            shutil.copytree(source, folder)
            paths = [folder / n for n in names]
            start = time.perf_counter()
            contenders[name](paths)
            times[name].append(time.perf_counter() - start)
            shutil.rmtree(folder)
    return times


def _run_times(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup(small: Path, plain: Path, runs: int, pythons: dict[str, Path]) -> dict[str, float]:
    """Median wall time of ``python -c pass`` and of ``mailpatch patch --check`` (the console
    script) on one small email, for each venv, all interleaved run by run. The venvs are clean
    (no editable install, whose ``.pth`` hooks slow every interpreter start) and byte-compiled
    by pip."""
    argv: dict[str, list[str]] = {}
    for side, python in pythons.items():
        script = str(python.parent / "mailpatch")
        argv[f"python -c pass{side}"] = [str(python), "-c", "pass"]
        argv[f"{_QR_RUN}{side}"] = [script, "patch", "--check", *corpus.ARGS, str(small)]
        argv[f"mailpatch --check (no QR block){side}"] = [
            script, "patch", "--check", *corpus.ARGS, str(plain)
        ]  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in argv}
    for _ in range(runs):
        for name, cmd in argv.items():
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss(files: list[Path], count: int, work: Path) -> int:
    """Peak RSS (KiB) of one ``mailpatch patch`` process over ``count`` files."""
    folder = work / f"rss-{count}"
    folder.mkdir()
    paths = []
    for i in range(count):
        paths.append(folder / f"{i:05d}-{files[i % len(files)].name}")
        shutil.copyfile(files[i % len(files)], paths[-1])
    cmd = [sys.executable, "-c", _RSS, sys.executable, "-m", "mailpatch", "patch", *corpus.ARGS]
    out = subprocess.run([*cmd, *map(str, paths)], capture_output=True, text=True, check=True)
    shutil.rmtree(folder)
    return int(out.stdout.strip())


def scaling(
    sizes: list[int], work: Path, repeat: int, events_at: float | None = None
) -> list[tuple[int, float]]:
    """(bytes, median seconds) to read, patch and verify one email of each size (no write)."""
    from mailpatch._run import Mode, Status, process

    options, mode = _options(), Mode(check=True)
    out = []
    for size in sizes:
        rng = random.Random(size)
        email = corpus.make_email(rng, "big.html", size, 1, editor="classic", events_at=events_at)
        path = work / f"scale-{size}.html"
        path.write_bytes(email.data)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            outcome = process(str(path), options, mode)
            times.append(time.perf_counter() - start)
            assert outcome.status is Status.WOULD_PATCH, outcome
        out.append((len(email.data), statistics.median(times)))
    return out


# -- report ------------------------------------------------------------------------------------
def _row(name: str, seconds: float, mb: float, files: int) -> str:
    rate = f"{mb / seconds:8.1f} MB/s {files / seconds:8.0f} files/s"
    return f"  {name:<40} {seconds * 1000:9.1f} ms {rate}"


@contextlib.contextmanager
def _workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mailpatch-bench-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def _per_round(times: dict[str, list[float]], a: str, b: str) -> str:
    median, low, high = paired(times, a, b)
    return f"{median:6.2f}x  (rounds {low:.2f}x-{high:.2f}x)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast smoke run")
    parser.add_argument("--files", type=int, help="corpus size (default 300; quick 10)")
    parser.add_argument("--rounds", type=int, help="rounds per contender (default 7; quick 1)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--against",
        metavar="REV",
        help="time another commit's CLI and start-up in alternation with this tree's (each "
        "installed in a clean venv of its own: benchmarks/revisions.py)",
    )
    parser.add_argument("--venvs", type=Path, default=revisions.DEFAULT_VENVS)
    a = parser.parse_args(argv)
    # the allocator setting mailpatch's command line makes for a batch; set once here, it
    # holds for every in-process contender alike (lxml's pass faults almost nothing either
    # way: libxml2 reuses its heap)
    from mailpatch._run import keep_freed_memory

    keep_freed_memory()
    quick = a.quick
    files = a.files or (10 if quick else 300)
    nrounds = a.rounds or (1 if quick else 7)
    pythons = {"": revisions.install(revisions.WORKTREE, a.venvs)}
    against = f" @{a.against}" if a.against else ""
    if a.against:
        pythons[against] = revisions.install(a.against, a.venvs)
    results: dict[str, object] = {"files": files, "rounds": nrounds, "seed": a.seed}
    results["against"] = revisions.describe(a.against) if a.against else None
    print(
        f"this: {revisions.describe(revisions.WORKTREE)}"
        + (f"; against: {results['against']}" if a.against else "")
    )

    with _workdir(a.keep) as work:
        src = work / "corpus"
        emails = corpus.corpus(files, a.seed, **({"max_kb": 60} if quick else {}), one_event=True)
        corpus.write(src, emails, a.seed)
        names = [e.name for e in emails]
        total = sum(len(e.data) for e in emails) / 1e6
        with_qr = sum(1 for e in emails if e.qr_blocks)
        print(
            f"corpus: {files} emails, {total:.1f} MB, {with_qr} with a QR block, one event "
            f"(seed {a.seed}); median of {nrounds} round(s)"
        )

        contenders: dict[str, Contender] = {_CLI: cli(pythons[""])}
        if a.against:
            contenders[_CLI + against] = cli(pythons[against])
        contenders.update(
            {
                "mailpatch CLI -j 1": cli(pythons[""], "-j", "1"),
                "mailpatch in this process (process per file)": mailpatch_process,
                _LXML: lxml_pass,
                _LXML_ATOMIC: lxml_pass_atomic,
                _BS4: bs4_script,
                _RW: read_write,
                _RW_ATOMIC: read_write_atomic,
            }
        )
        batch_times = round_times(src, names, contenders, nrounds, work)
        batch = {name: statistics.median(ts) for name, ts in batch_times.items()}
        print("\nbatch (all files):")
        for name, seconds in batch.items():
            print(_row(name, seconds, total, files))
        # the targets are judged on the ratio within each round (see paired)
        ratios = {
            "mailpatch / lxml pass (plain write)": (_CLI, _LXML),
            "mailpatch / lxml pass (atomic write)": (_CLI, _LXML_ATOMIC),
            "bs4 script / mailpatch": (_BS4, _CLI),
            "mailpatch / read + plain write": (_CLI, _RW),
            "mailpatch / read + atomic write": (_CLI, _RW_ATOMIC),
            "mailpatch -j 1 / lxml pass (plain write)": ("mailpatch CLI -j 1", _LXML),
        }
        if a.against:
            ratios[f"mailpatch / mailpatch{against}"] = (_CLI, _CLI + against)
            ratios[f"mailpatch{against} / lxml pass (plain write)"] = (_CLI + against, _LXML)
        print("  per round, median of the rounds (lowest-highest):")
        per_round = {}
        for name, (x, y) in ratios.items():
            per_round[name] = paired(batch_times, x, y)
            print(f"  {name:<48} {_per_round(batch_times, x, y)}")
        results["batch_seconds"] = batch
        results["batch_round_seconds"] = batch_times
        results["batch_mb"] = total
        results["per_round_ratios"] = per_round

        plain_names = [e.name for e in emails if not e.qr_blocks]
        plain_mb = sum(len(e.data) for e in emails if not e.qr_blocks) / 1e6
        no_qr = rounds(
            src,
            plain_names,
            {
                "mailpatch": mailpatch_no_qr,
                "read only": read_only,
                "read + plain write": read_write,
            },
            max(nrounds, 3),
            work,
        )
        print(f"\nfiles without a QR block ({len(plain_names)} files, {plain_mb:.1f} MB):")
        for name, seconds in no_qr.items():
            print(_row(name, seconds, plain_mb, len(plain_names)))
        print(f"  {'mailpatch / read only':<48} {no_qr['mailpatch'] / no_qr['read only']:6.2f}x")
        print(
            f"  {'mailpatch / read + write':<48} "
            f"{no_qr['mailpatch'] / no_qr['read + plain write']:6.2f}x"
        )
        results["no_qr_seconds"] = no_qr

        small = work / "small.html"
        small.write_bytes(corpus.make_email(random.Random(1), "s", 8000, 1).data)
        plain = work / "plain.html"
        plain.write_bytes(corpus.make_email(random.Random(2), "p", 8000, 0).data)
        start = startup(small, plain, 3 if quick else 20, pythons)
        print(
            f"\nstart-up (median of {3 if quick else 20} runs, one ~8 KB email, clean venvs, "
            "interleaved):"
        )
        for name, seconds in start.items():
            base = start["python -c pass" + (against if name.endswith(against) and against else "")]
            print(f"  {name:<48} {seconds * 1000:9.1f} ms {seconds / base:6.2f}x python")
        results["startup_seconds"] = start

        sizes = (
            [20_000, 200_000]
            if quick
            else [20_000, 100_000, 500_000, 1_000_000, 2_000_000, 5_000_000]
        )
        print("\nsize scaling (read + patch + verify, one event, no write):")
        print(f"  {'':11} {'QR near the top':>24} {'QR after all content':>24}")
        top = scaling(sizes, work, 1 if quick else 5)
        end = scaling(sizes, work, 1 if quick else 5, events_at=1.0)
        for (size, t1), (_, t2) in zip(top, end, strict=True):
            mb = size / 1e6
            print(
                f"  {mb:8.2f} MB {t1 * 1000:9.1f} ms {t1 * 1000 / mb:7.1f} ms/MB"
                f" {t2 * 1000:9.1f} ms {t2 * 1000 / mb:7.1f} ms/MB"
            )
        results["scaling"] = {"top": top, "end": end}

        few, many = (2, 20) if quick else (10, 1000)
        paths = [src / n for n in names]
        rss_few, rss_many = peak_rss(paths, few, work), peak_rss(paths, many, work)
        print(
            f"\npeak RSS, one CLI run: {few} files {rss_few / 1024:.1f} MiB, {many} files "
            f"{rss_many / 1024:.1f} MiB ({rss_many / rss_few:.2f}x)"
        )
        results["peak_rss_kib"] = {str(few): rss_few, str(many): rss_many}

    # (name, value, limit, "at most" or "at least")
    checks = [
        (
            "batch: mailpatch / lxml pass",
            per_round["mailpatch / lxml pass (plain write)"][0],
            0.5,
            "<=",
        ),
        ("batch: bs4 script / mailpatch", per_round["bs4 script / mailpatch"][0], 20.0, ">="),
        (
            "batch: mailpatch / read + write",
            per_round["mailpatch / read + plain write"][0],
            5.0,
            "<=",
        ),
        ("start-up: --check / python -c pass", start[_QR_RUN] / start["python -c pass"], 4.0, "<="),
        (f"peak RSS: {many} / {few} files", rss_many / rss_few, 1.5, "<="),
        (f"largest email ({sizes[-1] / 1e6:.1f} MB), seconds", top[-1][1], 1.0, "<="),
    ]
    print("\ntargets:")
    for name, value, limit, way in checks:
        ok = value <= limit if way == "<=" else value >= limit
        print(f"  {name:<48} {value:6.2f}  {way} {limit:<4g} {'ok' if ok else 'MISSED'}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing
    raise SystemExit(main())
