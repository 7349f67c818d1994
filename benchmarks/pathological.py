"""Hostile emails, timed: deep nesting, thousands of blocks, endless values, cut-off markup.

The cases are tests/pathological_inputs.py's (the unit tests there assert outcomes, never
times); here each runs through ``_run.process`` on a real file (read, patch, verify with
lxml, write) and the figures are printed: size, outcome, seconds for the whole process and
for the locator alone (``patch``), and peak RSS of the run so far. ``--scale`` multiplies
the block counts (20,000 QR blocks, 2,000 pairs at 1), to show the growth is linear.

    python benchmarks/pathological.py [--scale N] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from mailpatch._errors import MissingOption, Refusal  # noqa: E402
from mailpatch._patch import patch  # noqa: E402
from mailpatch._run import Mode, process  # noqa: E402

from pathological_inputs import cases  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
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
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
