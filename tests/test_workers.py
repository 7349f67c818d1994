"""How many worker processes a run takes by default: by files and by bytes (the figures behind
the thresholds: benchmarks/bench_jobs.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailpatch._cli import PARALLEL_BYTES, PARALLEL_THRESHOLD, _workers
from mailpatch._config import Config

CPUS = os.cpu_count() or 1
MB = 1_000_000


@pytest.mark.parametrize(
    ("files", "size", "jobs", "expected"),
    [
        (1, 50 * MB, None, 1),  # one file: one process, however large
        (PARALLEL_THRESHOLD - 1, 14_000, None, 1),  # small emails, too few to pay for a pool
        (PARALLEL_THRESHOLD, 14_000, None, min(CPUS, PARALLEL_THRESHOLD)),
        (16, 290_000, None, 1),  # 4.6 MB: still cheaper in one process
        (32, 290_000, None, min(CPUS, 32)),  # 9.3 MB: the bytes call for workers
        (2, PARALLEL_BYTES // 2, None, min(CPUS, 2)),  # the bound itself
        (2, PARALLEL_BYTES // 2 - 1, None, 1),
        (PARALLEL_THRESHOLD, 14_000, 1, 1),  # -j decides
        (3, 10, 2, min(CPUS, 2)),
    ],
)
def test_default_workers_by_files_and_bytes(
    tmp_path: Path, files: int, size: int, jobs: int | None, expected: int
) -> None:
    paths = []
    for i in range(files):
        path = tmp_path / f"e{i}.html"
        with path.open("wb") as f:
            f.truncate(size)  # sparse: only the size is read
        paths.append(str(path))
    assert _workers(jobs, [Config()] * files, paths) == expected


def test_a_file_that_cannot_be_read_counts_nothing(tmp_path: Path) -> None:
    missing = [str(tmp_path / f"gone{i}.html") for i in range(2)]
    assert _workers(None, [Config()] * 2, missing) == 1
