"""How many worker processes: `mailpatch patch -j 1` against `-j 2` on batches of emails.

For several batch sizes from the generated corpus (``corpus.py``), each round copies the batch
afresh and runs the CLI as a user would (a subprocess, so process start-up and pool start-up
count), alternating the order of the two; the median of the rounds counts. Prints files/s, MB/s
and the -j 2 / -j 1 speed-up per batch size, and what the default chooses: the smallest batch
where -j 2 wins is the default threshold (``PARALLEL_THRESHOLD`` in mailpatch/_cli.py), in
files and in bytes (``--kb 8,8``: batches of small emails, where a pool must not cost more than
it gains).

    python benchmarks/bench_jobs.py [--rounds R] [--sizes 8,32,64,128,300] [--kb MIN,MAX]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import corpus


def run(folder: Path, jobs: int | None) -> float:
    argv = [
        sys.executable,
        "-m",
        "mailpatch",
        "patch",
        "-q",
        *([] if jobs is None else ["-j", str(jobs)]),
        *corpus.ARGS,
        str(folder),
    ]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 123):
        raise SystemExit(f"mailpatch failed ({done.returncode}): {done.stderr.decode()[:500]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="8,32,64,128,300")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--kb", default="20,400", help="email sizes: MIN,MAX KB")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    min_kb, max_kb = (int(k) for k in args.kb.split(","))
    print(f"machine: {os.cpu_count()} CPUs; median of {args.rounds} rounds; CLI in a subprocess")
    print(
        f"{'files':>6} {'MB':>7} {'-j 1 s':>8} {'files/s':>8} {'MB/s':>6} "
        f"{'-j 2 s':>8} {'files/s':>8} {'MB/s':>6} {'speed-up':>8} {'default':>8}"
    )
    with tempfile.TemporaryDirectory(prefix="mailpatch-jobs-") as tmp:
        work = Path(tmp)
        source = work / "corpus"
        corpus.generate(source, max(sizes), seed=args.seed, min_kb=min_kb, max_kb=max_kb)
        names = sorted(p.name for p in source.glob("*.html"))
        for size in sizes:
            batch = work / f"batch-{size}"
            batch.mkdir()
            for name in names[:size]:
                shutil.copyfile(source / name, batch / name)
            megabytes = sum(p.stat().st_size for p in batch.iterdir()) / 1e6
            times: dict[int | None, list[float]] = {1: [], 2: [], None: []}
            for round_ in range(args.rounds):
                order: list[int | None] = [1, 2, None]
                for jobs in order[round_ % 3 :] + order[: round_ % 3]:
                    fresh = work / f"run-{size}-{jobs}"
                    shutil.rmtree(fresh, ignore_errors=True)
                    shutil.copytree(batch, fresh)
                    times[jobs].append(run(fresh, jobs))
            one, two = statistics.median(times[1]), statistics.median(times[2])
            default = statistics.median(times[None])
            print(
                f"{size:>6} {megabytes:>7.1f} {one:>8.2f} {size / one:>8.0f} "
                f"{megabytes / one:>6.1f} {two:>8.2f} {size / two:>8.0f} "
                f"{megabytes / two:>6.1f} {one / two:>7.2f}x {default:>7.2f}s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
