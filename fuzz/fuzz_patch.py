"""Coverage-guided fuzzing of the core with atheris: bytes -> decode -> patch -> verify.

    pip install atheris
    python fuzz/fuzz_patch.py -max_total_time=60 fuzz-corpus/

The corpus folder is seeded from fixtures/ when it is empty (each seed is one options byte
followed by an email). Allowed outcomes: FileProblem (not UTF-8, binary, UTF-16), Refusal,
MissingOption, Unverifiable (past libxml2's limits), or a patch that passes the verifier.
Anything else -- an exception of another kind, or a VerifyError (the locator and the
independent verifier disagree) -- is a crash: libFuzzer stops and saves the input as
crash-<sha1>. Not run in CI; the hypothesis properties in tests/ are its derandomized cousin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from mailpatch import (
        EventRef,
        FileProblem,
        MissingOption,
        PatchOptions,
        Refusal,
        Unverifiable,
        decode,
        patch,
        verify,
    )

ROOT = Path(__file__).resolve().parent.parent
HOST = "contoso.svc.dynamics.com"
# The first byte picks the options, so one corpus explores them all.
OPTIONS = [
    PatchOptions(endpoint=HOST, event=EventRef("ev-1")),
    PatchOptions(endpoint=HOST, event=EventRef("ev-1", "session-1"), keep_qr=True),
    PatchOptions(
        endpoint=HOST,
        event=EventRef("ev-1"),
        fields=(
            ("registrationId", "{{this.msevtmgt_name}}"),
            ("firstname", "{{contact.firstname}}"),
            ("lastname", "{{contact.lastname}}"),
            ("note", 'a "b" & {c}'),
        ),
    ),
    PatchOptions(endpoint=HOST, event=EventRef("ev-1"), force=True),
    PatchOptions(endpoint=None, event=EventRef("ev-1")),  # MissingOption when there is work
]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    options = OPTIONS[data[0] % len(OPTIONS)]
    try:
        email = decode(data[1:])
        result = patch(email.text, options)
    except (FileProblem, Refusal, MissingOption):
        return
    if not result.changed:
        return
    try:
        verify(email.text, result, options)  # raises VerifyError: a crash for the fuzzer
    except Unverifiable:
        return


def seed(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    for i, path in enumerate(sorted((ROOT / "fixtures").glob("*/*/input.html"))):
        (corpus / f"seed-{i:03}").write_bytes(bytes([i % len(OPTIONS)]) + path.read_bytes())


def main() -> None:
    for arg in sys.argv[1:]:
        if not arg.startswith("-") and not Path(arg).is_file():  # a file: replay one input
            seed(Path(arg))
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
