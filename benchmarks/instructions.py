"""Instructions per phase, counted by callgrind: steady where wall-clock times are not.

On a shared machine a timing moves by more than most changes save; the number of instructions
a phase executes does not (it is the same to within 0.1 % from run to run). Each phase runs in
a process of its own under ``valgrind --tool=callgrind`` over the same emails (the one-event
corpus, ``corpus.py``), and the count of a process that only loads them is subtracted:

* ``read``: read and decode each file;
* ``patch``: ``patch()`` each email (survey, locate, plan, splice);
* ``verify``: ``verify()`` each patch (libxml2 included: it runs in the same process);
* ``events``: what the run checks before it writes (``read_events`` where it exists);
* ``cli``: ``mailpatch patch --check --event-id …`` over the files in one process (-j 1),
  start-up included;
* ``startup``: ``mailpatch patch --check`` on one small email, against ``python -c pass``.

With ``--against REV`` each phase is counted for REV too (``revisions.py`` installs it) and
the ratio printed. Kernel work (file creation, fsync) is not counted: callgrind sees user space.

    python benchmarks/instructions.py [--files N] [--against REV] [--phases read,patch,…]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import corpus
import revisions

PHASES = ("read", "patch", "verify", "events", "cli", "startup")

# Run in the measured interpreter: the emails are loaded, then the phase runs over them.
_SCRIPT = r"""
import sys
from pathlib import Path
phase, folder, event = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
paths = sorted(str(p) for p in folder.glob("*.html"))
if phase == "cli":
    from mailpatch._cli import main
    sys.exit(main(["patch", "-q", "--check", "-j", "1", "--endpoint",
                   "contoso.svc.dynamics.com", "--event-id", event, *paths]) not in (0, 1))
from mailpatch import decode
from mailpatch._options import build_options
from mailpatch._patch import patch  # imported by every phase: no phase counts an import
from mailpatch._verify import verify
import mailpatch._run
datas = [Path(p).read_bytes() for p in paths]
options = build_options(endpoint="contoso.svc.dynamics.com", event_id=event)
if phase == "load":
    sys.exit(0)
texts = [decode(d).text for d in datas]
if phase == "read":
    sys.exit(0)
if phase == "events":
    from mailpatch import _run
    if hasattr(_run, "read_events"):
        for p in paths:
            _run.read_events(p, 20 * 1024 * 1024)
    sys.exit(0)
results = [patch(t, options) for t in texts]
if phase == "patch":
    sys.exit(0)
for t, r in zip(texts, results):
    if r.changed:
        verify(t, r, options)
"""


def count(argv: list[str], ok: tuple[int, ...] = (0,)) -> int:
    """Instructions executed by ``argv`` and its children, as callgrind counts them."""
    with tempfile.TemporaryDirectory(prefix="mailpatch-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}.%p",
                "--trace-children=yes",
                *argv,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
            # not in a clone: `python -c` and `-m` put the current folder first on sys.path,
            # and every venv would import the clone's mailpatch instead of its own
            cwd=tmp,
        )
        if done.returncode not in ok:
            raise SystemExit(f"{argv[:4]} failed: {done.stderr.decode()[-1500:]}")
        total = 0
        for path in Path(tmp).glob("callgrind.out.*"):
            m = re.search(r"^(?:summary|totals): (\d+)", path.read_text("utf-8"), re.M)
            total += int(m.group(1)) if m else 0
        return total


def phases(python: Path, folder: Path, small: Path, chosen: list[str]) -> dict[str, int]:
    """Instructions per phase for the mailpatch installed in ``python``'s venv."""
    event = corpus.EVENTS[0][1]

    def run(phase: str) -> int:
        return count([str(python), "-c", _SCRIPT, phase, str(folder), event])

    out: dict[str, int] = {}
    load = run("load") if set(chosen) & {"read", "events", "patch", "verify"} else 0
    read = run("read") if set(chosen) & {"read", "patch", "verify"} else 0
    patched = run("patch") if set(chosen) & {"patch", "verify"} else 0
    if "read" in chosen:
        out["read"] = read - load
    if "events" in chosen:
        out["events"] = run("events") - load
    if "patch" in chosen:
        out["patch"] = patched - read
    if "verify" in chosen:
        out["verify"] = run("verify") - patched
    if "cli" in chosen:
        out["cli"] = run("cli")
    if "startup" in chosen:
        check = [str(python), "-m", "mailpatch", "patch", "--check", *corpus.ARGS, str(small)]
        out["startup"] = count(check, ok=(1,))  # 1: --check found the email to patch
        out["python -c pass"] = count([str(python), "-c", "pass"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--against", help="another commit, counted alike")
    parser.add_argument("--this", default=revisions.WORKTREE, help="(default: the working tree)")
    parser.add_argument("--phases", default=",".join(PHASES))
    a = parser.parse_args(argv)
    chosen = a.phases.split(",")
    sides = {"this": revisions.install(a.this)}
    if a.against:
        sides["against"] = revisions.install(a.against)
    work = Path(tempfile.mkdtemp(prefix="mailpatch-instructions-"))
    try:
        emails = corpus.corpus(a.files, a.seed, one_event=True)
        corpus.write(work / "corpus", emails, a.seed)
        small = work / "small.html"
        small.write_bytes(corpus.make_email(random.Random(1), "s", 8000, 1).data)
        mb = sum(len(e.data) for e in emails) / 1e6
        print(f"{a.files} emails, {mb:.1f} MB (one event); instructions, in millions")
        counted = {name: phases(py, work / "corpus", small, chosen) for name, py in sides.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    names = list(counted["this"])
    header = f"{'phase':<16} {'this':>10}"
    if a.against:
        header += f" {a.against[:10]:>10} {'this/that':>9}"
    print(header)
    for name in names:
        mine = counted["this"][name]
        row = f"{name:<16} {mine / 1e6:>10.1f}"
        if a.against:
            theirs = counted["against"][name]
            row += f" {theirs / 1e6:>10.1f} {mine / theirs if theirs else 0:>9.2f}"
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
