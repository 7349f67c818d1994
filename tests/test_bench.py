"""The benchmark scripts still run (a smoke run on a tiny corpus; no timing is asserted)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the benchmarks' quick mode and a batch in worker processes

ROOT = Path(__file__).resolve().parent.parent


def test_corpus_is_deterministic_and_every_file_applies(tmp_path: Path) -> None:
    script = ROOT / "benchmarks" / "corpus.py"
    for name in ("a", "b"):
        subprocess.run(
            [sys.executable, str(script), str(tmp_path / name), "--count", "6", "--max-kb", "30"],
            check=True,
            capture_output=True,
        )
    a = json.loads((tmp_path / "a" / "manifest.json").read_text("utf-8"))
    assert a == json.loads((tmp_path / "b" / "manifest.json").read_text("utf-8"))
    for entry in a["files"]:
        assert (tmp_path / "a" / entry["name"]).read_bytes() == (
            tmp_path / "b" / entry["name"]
        ).read_bytes()
    assert sum(1 for f in a["files"] if f["qr_blocks"]) == 5  # 80 % of 6, rounded as built


def test_bench_quick_runs(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    for heading in ("batch", "without a QR block", "start-up", "size scaling", "peak RSS"):
        assert heading in run.stdout
    figures = json.loads(out.read_text("utf-8"))
    assert set(figures["batch_seconds"]) >= {"mailpatch CLI (default workers)"}


_FAULTS = """
import resource, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import corpus
from mailpatch._options import build_options
from mailpatch._run import Mode, keep_freed_memory, process
if sys.argv[1] == "keep":
    keep_freed_memory()
events = [a for i, a in enumerate(corpus.ARGS) if i and corpus.ARGS[i - 1] == "--event"]
options = build_options(endpoint=corpus.ENDPOINT, events=events)
folder = Path(tempfile.mkdtemp())
emails = corpus.corpus(30, 7, max_kb=200)
corpus.write(folder, emails)
for _ in range(3):  # the last round counts: by then the heap has grown to what a file needs
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for email in emails:
        assert process(str(folder / email.name), options, Mode(check=True)).status.value
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc allocator setting")
def test_batches_keep_freed_memory_instead_of_faulting_it_back() -> None:
    """What the CLI asks of glibc for a batch: a third pass over 30 emails page-faults
    (nearly) nothing, where the default hands memory back and faults it in per file."""

    def faults(how: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", _FAULTS, how, str(ROOT / "benchmarks")],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(run.stdout)

    default, kept = faults("default"), faults("keep")
    assert default > 500
    assert kept * 20 < default
