"""Hostile emails, timed: deep nesting, thousands of blocks, endless values, cut-off markup.

The cases are tests/pathological_inputs.py's (the unit tests there assert outcomes, never
times); here each runs through ``_run.process`` on a real file (read, patch, verify with
lxml, write) and the figures are printed: size, outcome, seconds for the whole process and
for the locator alone (``patch``), and peak RSS of the run so far. ``--scale`` multiplies
the block counts (20,000 QR blocks, 2,000 pairs at 1), to show the growth is linear.

Then the growing shapes (``shapes()``: unclosed '{{', unclosed or nested Button and ERQRCode
tags before, around and after the pair, thousands of links, stale patched Buttons, a tag
of 40,000 attributes, pairs for thousands of events, deep in the tree, an email dense in
'{{…}}'), each at the size the issue measured times ``--fraction`` and at half that: seconds
for ``process`` (patch and verify) and for ``lint``, each also as a ratio to a plain email
of the same size (benchmarks/corpus.py), seconds per MB, the growth from half to full size
(2.0 is linear, 4.0 quadratic), and the peak of Python's heap in the costlier command, patch
(patch and verify) or lint, each measured on its own (tracemalloc, in a child process), as a
multiple of the input's size.

Then the preview (``preview_page``: the email read as Handlebars and filled for each sample
contact, its links decoded, the page made) of the shapes that say so (``Shape.preview``: an
email dense in expressions, a line of comments), at that size and at half: CPU seconds and
their growth, and the peak of Python's heap as a multiple of the email's size; more than
PREVIEW_SECONDS a megabyte or PREVIEW_MEMORY times the email fails.

    python benchmarks/pathological.py [--scale N] [--only SUBSTRING] [--fraction F]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import make_email  # noqa: E402

from mailpatch._errors import MissingOption, Refusal  # noqa: E402
from mailpatch._lint import lint  # noqa: E402
from mailpatch._patch import PatchOptions, patch  # noqa: E402
from mailpatch._run import Mode, process  # noqa: E402
from mailpatch._verify import verify  # noqa: E402
from mailpatch.page._preview import preview_page  # noqa: E402

from pathological_inputs import ONE_EVENT, Shape, cases, shapes  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--only", default="")
    parser.add_argument("--fraction", type=float, default=1.0, help="of each shape's size")
    parser.add_argument("--memory", nargs=3, help=argparse.SUPPRESS)  # SHAPE N plain|shape
    parser.add_argument("--preview-memory", nargs=2, help=argparse.SUPPRESS)  # SHAPE N
    args = parser.parse_args(argv)
    if args.memory:  # the child process that measures one input's peak
        name, n, plain = args.memory
        options = ONE_EVENT if plain == "plain" else _shape(name).options
        return _peak(_text(name, int(n), plain == "plain"), options)
    if args.preview_memory:
        name, n = args.preview_memory
        return _preview_peak(_shape(name), int(n))
    failures = _hostile(args)
    failures += _bounds(args)
    failures += _previews(args)
    return 1 if failures else 0


def _hostile(args: argparse.Namespace) -> int:
    print(f"{'case':<40} {'MB':>6} {'outcome':<15} {'process s':>9} {'locate s':>8} {'RSS MB':>7}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="mailpatch-pathological-") as tmp:
        path = Path(tmp) / "email.html"
        for case in cases(args.scale):
            if args.only not in case.name:
                continue
            text = case.build()
            data = text.encode("utf-8")
            path.write_bytes(data)
            start = time.perf_counter()
            outcome = process(str(path), case.options, Mode(max_size=len(data) + 1))
            elapsed = time.perf_counter() - start
            start = time.perf_counter()
            with contextlib.suppress(Refusal, MissingOption):
                patch(text, case.options)
            located = time.perf_counter() - start
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            status = outcome.status.value
            if status != case.outcome:
                failures += 1
                status += " (!)"
            print(
                f"{case.name:<40} {len(data) / 1e6:>6.2f} {status:<15} {elapsed:>9.2f} "
                f"{located:>8.2f} {rss:>7.0f}"
            )
    if failures:
        print(f"{failures} case(s) ended otherwise than the unit tests expect", file=sys.stderr)
    return failures


def _shape(name: str) -> Shape:
    return next(s for s in shapes() if s.name == name)


def _text(name: str, n: int, plain: bool) -> str:
    """Shape ``name`` at ``n`` units, or (``plain``) a realistic email of the same size."""
    text = _shape(name).build(n)
    if not plain:
        return text
    email = make_email(random.Random(11), "plain.html", len(text), events=1, events_at=0.0)
    return email.text


def _peak(text: str, options: PatchOptions) -> int:
    """Print the peak of Python's heap for each command on its own -- ``patch`` (patch, then
    verify with the result kept, as ``mailpatch patch`` runs them) and ``lint`` -- and the
    larger one's ratio to the input's size (a child process: peaks do not mix)."""
    size = len(text.encode("utf-8"))
    tracemalloc.start()
    with contextlib.suppress(Refusal, MissingOption):
        result = patch(text, options)
        if result.changed:
            verify(text, result, options)
        del result
    patched = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    lint(text)
    linted = tracemalloc.get_traced_memory()[1]
    peak = max(patched, linted)
    print(json.dumps({"patch": patched / size, "lint": linted / size, "ratio": peak / size}))
    return 0


def _timed(text: str, options: PatchOptions, path: Path) -> tuple[str, float, float]:
    data = text.encode("utf-8")
    path.write_bytes(data)
    start = time.perf_counter()
    outcome = process(str(path), options, Mode(max_size=len(data) + 1))
    processed = time.perf_counter() - start
    start = time.perf_counter()
    lint(text)
    return outcome.status.value, processed, time.perf_counter() - start


MEMORY_BOUND = 10.0  # peak memory at most 10x the input, for every command


def _memory(name: str, n: int, plain: bool) -> float:
    run = subprocess.run(
        [sys.executable, __file__, "--memory", name, str(n), "plain" if plain else "shape"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(run.stdout)["ratio"])


def _bounds(args: argparse.Namespace) -> int:
    chosen = [s for s in shapes() if args.only in s.name]
    if not chosen:
        return 0
    print()
    print(
        f"{'shape':<38} {'MB':>5} {'outcome':<9} {'patch s':>7} {'x plain':>7} {'s/MB':>5} "
        f"{'growth':>6} {'lint s':>6} {'x plain':>7} {'growth':>6} {'mem x':>5} {'plain':>5}"
    )
    failures = 0
    with tempfile.TemporaryDirectory(prefix="mailpatch-bounds-") as tmp:
        path = Path(tmp) / "email.html"
        for shape in chosen:
            n = max(2, int(shape.n * args.fraction))
            _, half_patch, half_lint = _timed(shape.build(n // 2), shape.options, path)
            text = shape.build(n)
            status, patched, linted = _timed(text, shape.options, path)
            _, plain_patch, plain_lint = _timed(_text(shape.name, n, True), ONE_EVENT, path)
            memory, plain_memory = _memory(shape.name, n, False), _memory(shape.name, n, True)
            if status != shape.outcome:
                failures += 1
                status += " (!)"
            mb = len(text.encode()) / 1e6
            print(
                f"{shape.name:<38} {mb:>5.2f} {status:<9} {patched:>7.2f} "
                f"{patched / plain_patch:>7.1f} {patched / mb:>5.1f} {patched / half_patch:>6.1f} "
                f"{linted:>6.2f} {linted / max(plain_lint, 1e-3):>7.1f} "
                f"{linted / max(half_lint, 1e-3):>6.1f} {memory:>5.1f} {plain_memory:>5.1f}"
                + ("" if memory <= MEMORY_BOUND else "  (!) over the memory bound")
            )
            failures += memory > MEMORY_BOUND
    if failures:
        print(
            f"{failures} shape(s) ended otherwise than the unit tests expect, or over the "
            "memory bound",
            file=sys.stderr,
        )
    return failures


PREVIEW_SECONDS = 5.0  # CPU seconds a megabyte, for the whole page: a preview in a few seconds
PREVIEW_MEMORY = 11.0  # the page holds six renders and the diff: about 10x the email


def _preview_text(shape: Shape, n: int) -> tuple[str, str]:
    text = shape.build(n)
    return text, patch(text, shape.options).text


def _preview_seconds(shape: Shape, n: int) -> float:
    text, patched = _preview_text(shape, n)
    start = time.process_time()
    preview_page(text, shape.options, patched=patched)
    return time.process_time() - start


def _preview_peak(shape: Shape, n: int) -> int:
    """Print the peak of Python's heap while the page is made, over the email's size (a
    child process; the page's template compiled first, as a running preview has it)."""
    text, patched = _preview_text(shape, 2)
    preview_page(text, shape.options, patched=patched)
    text, patched = _preview_text(shape, n)
    tracemalloc.start()
    preview_page(text, shape.options, patched=patched)
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"ratio": peak / len(text.encode("utf-8"))}))
    return 0


def _previews(args: argparse.Namespace) -> int:
    chosen = [s for s in shapes() if s.preview and args.only in s.name]
    if not chosen:
        return 0
    print()
    print(f"{'preview of':<28} {'MB':>6} {'s':>7} {'s/MB':>6} {'growth':>6} {'mem x':>6}")
    failures = 0
    for shape in chosen:
        n = max(2, int(shape.preview * args.fraction))
        half = _preview_seconds(shape, n // 2)
        seconds = _preview_seconds(shape, n)
        size = len(shape.build(n).encode("utf-8")) / 1e6
        run = subprocess.run(
            [sys.executable, __file__, "--preview-memory", shape.name, str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        memory = float(json.loads(run.stdout)["ratio"])
        slow = seconds / size > PREVIEW_SECONDS
        heavy = memory > PREVIEW_MEMORY
        print(
            f"{shape.name:<28} {size:>6.2f} {seconds:>7.2f} {seconds / size:>6.2f} "
            f"{seconds / max(half, 1e-3):>6.1f} {memory:>6.1f}"
            + ("  (!) over the time bound" if slow else "")
            + ("  (!) over the memory bound" if heavy else "")
        )
        failures += slow + heavy
    if failures:
        print(f"{failures} preview(s) over their bounds", file=sys.stderr)
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
