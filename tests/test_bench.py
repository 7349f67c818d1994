"""The benchmark scripts still run (a smoke run on a tiny corpus; no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    assert set(figures["batch_seconds"]) >= {"mailpatch (process per file, verified)"}
