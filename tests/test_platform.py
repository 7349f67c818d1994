"""mailpatch on the Pythons it claims (requires-python >= 3.11), Debian 12's 3.11.2 among them.

CPython 3.11.0 to 3.11.4 resume a possessive repeat of a group (``(?:…)*+``), after its last
pass fails, from wherever that pass stopped rather than where it began (gh-106052, fixed in
3.11.5). The tokenizer's skip (``_html._SKIP``) is such a repeat: there it stopped inside the
first ``<title>``, the token read from that offset was not the block's start tag, and every
ERQRCode block went unseen -- ``patch --check`` exited 0 and lint found nothing to say. On
those versions the skip's repeated groups are atomic groups (``_html._REPEAT``), which put the
position back themselves.

The table below is what the skip must return on every interpreter. The last test runs the
issue's own case and this table under Debian's python3 when it is one of the affected versions.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

import mailpatch
from mailpatch import _html
from mailpatch._blocks import QR_TYPE, locate, scan
from mailpatch._html import skip
from mailpatch._regex import LazyPattern

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "examples" / "registration-email.html"

# the bug itself, as CPython's own regression test states it: (pattern, text, span it must match)
GH_106052 = [
    ("(?:ab?c)*+", "aca", (0, 2)),
    ("(?:ab?c)++", "aca", (0, 2)),
    ("(?:ab?c)?+", "a", (0, 0)),
    ("(?:.(?!D))*+", "ABCDE", (0, 2)),
]


def _has_the_bug() -> bool:
    return any(re.match(p, text).span() != span for p, text, span in GH_106052)


QR = '<div data-editorblocktype="ERQRCode">'

# (source, where skip(source, 0, <offset of "data-">) must stop): the start of the token that
# holds the offset (or, for '<sitle>', an earlier token: a safe early stop). On 3.11.0-3.11.4,
# with possessive groups, every one of these stopped one character into some token instead.
SKIP_TABLE = {
    "title, as in every exported email": (
        "<!DOCTYPE html><html><head><title>You're registered</title></head><body>" + QR,
        72,
    ),
    "every raw-text element": (
        "".join(
            f"<{n} a=1>x < y </{n}x></{n}>"
            for n in ("style", "script", "title", "textarea", "xmp", "iframe", "noembed")
        )
        + QR,
        253,
    ),
    "raw-text names in any case": ("<TITLE>a</Title><STYLE>p{}</style >" + QR, 35),
    "a name taken for raw text stops early": ("<sitle>x</sitle>" + QR, 0),
    "attribute values with '>' and quotes": (
        '<meta name="a>b" content=\'c"d\' e f=g/ h = "i" >' + QR,
        47,
    ),
    "an unquoted value holding a quote": ('<p a=b"c d>' + QR, 11),
    "comments": ("<!-- a - b -- c --!> <!--> <!---> <!-- x -->" + QR, 44),
    "bogus comments": ("<![endif]--><?xml x?></ 3><!DOCTYPE html>" + QR, 41),
    "a '<' that starts no markup": ("a < b <3 <- " + QR, 12),
    "end tags": ("</p></div x=1></td>" + QR, 19),
}

# every limit inside a few tokens: (limit, where the skip stops)
TOKENS = '<p class="a">text<!-- c --><title>t</title><b>'
TOKEN_STOPS = [0] * 13 + [13, 14, 15, 16] + [17] * 10 + [27] * 16 + [43] * 3 + [46]


def test_the_interpreter_gets_the_form_of_the_skip_it_needs() -> None:
    """The atomic form where the bug is; elsewhere the possessive one, which is faster."""
    chosen = _html._REPEAT
    assert chosen == ("(?>" if _has_the_bug() else "(?:")
    if sys.version_info >= (3, 11, 5):
        assert not _has_the_bug()
        assert chosen == "(?:"


@pytest.mark.parametrize("form", ["chosen", "(?>", "(?:"])
@pytest.mark.parametrize("name", list(SKIP_TABLE))
def test_the_skip_stops_at_the_token_start(form: str, name: str) -> None:
    if form == "(?:" and _has_the_bug():
        pytest.skip("the possessive form is the one gh-106052 breaks on this interpreter")
    pattern = _html._SKIP if form == "chosen" else _html._skip_pattern(form)
    source, stop = SKIP_TABLE[name]
    assert pattern.match(source, 0, source.index("data-")).end() == stop


def test_the_skip_stops_at_the_token_start_for_every_limit() -> None:
    assert [skip(TOKENS, 0, limit) for limit in range(len(TOKENS) + 1)] == TOKEN_STOPS


def test_the_two_forms_agree_where_both_work() -> None:
    """On an interpreter without the bug, the atomic form matches what the possessive one
    does, so the table above holds it to the same answers everywhere."""
    if _has_the_bug():
        pytest.skip("the possessive form is the one gh-106052 breaks on this interpreter")
    atomic, possessive = _html._skip_pattern("(?>"), _html._skip_pattern("(?:")
    sources = [EXAMPLE.read_text(encoding="utf-8"), TOKENS, *(s for s, _ in SKIP_TABLE.values())]
    for source in sources:
        for start in [0, *(i for i, c in enumerate(source[:2000]) if c == "<")][:50]:
            for limit in range(start, min(len(source), start + 2000) + 1, 7):
                a = atomic.match(source, start, limit).end()
                assert a == possessive.match(source, start, limit).end(), (start, limit)


def test_the_example_email_has_its_qr_block_found() -> None:
    source = EXAMPLE.read_text(encoding="utf-8")
    found = locate(source)
    assert [e.start for e in found.blocks_of(QR_TYPE)] == [
        e.start for e in scan(source).blocks_of(QR_TYPE)
    ]
    assert len(found.blocks_of(QR_TYPE)) == 1


def _possessive_groups(pattern: str, flags: int = 0) -> int:
    """How many possessive repeats in ``pattern`` repeat more than one character (the shape
    gh-106052 breaks) and more than one atomic group (which puts the position back itself)."""
    from re import _compiler, _constants, _parser  # type: ignore[attr-defined]

    def nodes(obj: object) -> Iterator[tuple[object, object]]:
        if isinstance(obj, _parser.SubPattern):
            for op, av in obj.data:
                yield op, av
                yield from nodes(av)
        elif isinstance(obj, tuple | list):
            for item in obj:
                yield from nodes(item)

    count = 0
    for op, av in nodes(_parser.parse(pattern, flags)):
        if op is _constants.POSSESSIVE_REPEAT:
            body = av[2]  # type: ignore[index]
            atomic = len(body.data) == 1 and body.data[0][0] is _constants.ATOMIC_GROUP
            count += not (_compiler._simple(body) or atomic)
    return count


def test_no_other_pattern_repeats_a_group_possessively() -> None:
    """A new ``(?:…)*+`` elsewhere would be broken on 3.11.0-3.11.4 the same way: wrap its
    body in an atomic group, ``(?>…)*+``, or build it as ``_html._skip_pattern`` is built."""
    assert _possessive_groups("(?:ab?c)*+|x(?=(?:ab|c)++)") == 2  # the scan sees the shape
    assert _possessive_groups("(?>ab?c)*+[^<]++(?:x)*+") == 0
    assert _possessive_groups(_html._skip_pattern("(?:").pattern, re.S) == 17
    offenders = []
    patterns = [(_html._skip_pattern("(?>"), "_html._skip_pattern('(?>')")]
    for info in pkgutil.iter_modules(mailpatch.__path__):
        if info.name == "__main__":
            continue
        module = importlib.import_module(f"mailpatch.{info.name}")
        for name, value in vars(module).items():
            values = value.values() if isinstance(value, dict) else [value]
            patterns += [
                (v, f"{info.name}.{name}")
                for v in values
                if isinstance(v, re.Pattern | LazyPattern)  # (lazy ones compile when asked)
            ]
    for pattern, where in patterns:
        if pattern is _html._SKIP:
            continue  # its form is chosen per interpreter (tested above)
        if _possessive_groups(pattern.pattern, pattern.flags):
            offenders.append(where)
    assert not offenders


DEBIAN_PYTHON = Path("/usr/bin/python3")


def _affected_python() -> tuple[str, str] | None:
    """(version, reason to skip) of Debian's python3: reason is '' when the test can run."""
    if not DEBIAN_PYTHON.exists():
        return None
    done = subprocess.run(
        [str(DEBIAN_PYTHON), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip(), done.stderr.strip()


@pytest.mark.slow
def test_the_issue_case_under_debians_python(tmp_path: Path) -> None:
    """``patch --check`` on the example email says it would patch (exit 1), and the table
    above holds, under /usr/bin/python3 when that is CPython 3.11.0-3.11.4 (Debian 12 ships
    3.11.2). Its venv borrows this interpreter's installed packages, so this one must be
    CPython 3.11 too (the same compiled-module ABI)."""
    found = _affected_python()
    if found is None:
        pytest.skip(f"no {DEBIAN_PYTHON} (Debian: apt-get install python3 python3-venv)")
    version, error = found
    if not re.fullmatch(r"3\.11\.[0-4]", version):
        pytest.skip(f"{DEBIAN_PYTHON} is {version or error!r}, not one of 3.11.0-3.11.4")
    if sys.implementation.cache_tag != "cpython-311":
        pytest.skip(f"this interpreter's packages are for {sys.implementation.cache_tag}")
    venv = tmp_path / "venv"
    made = subprocess.run(
        [str(DEBIAN_PYTHON), "-m", "venv", "--without-pip", str(venv)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"no venv from {DEBIAN_PYTHON}: {made.stderr.strip()[-300:]}")
    site = venv / "lib" / "python3.11" / "site-packages"
    paths = sysconfig.get_paths()
    (site / "mailpatch_under_test.pth").write_text(
        "\n".join([str(ROOT), paths["purelib"], paths["platlib"]]) + "\n", encoding="utf-8"
    )
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    probe = subprocess.run(
        [python, "-c", "import sys, mailpatch; print(sys.version.split()[0], mailpatch.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == [version, str(ROOT / "mailpatch" / "__init__.py")]

    args = ["--endpoint", "contoso.svc.dynamics.com", "--event-id", "X", str(EXAMPLE)]
    check = subprocess.run(
        [python, "-m", "mailpatch", "patch", "--check", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (check.returncode, check.stderr) == (
        1,
        f"would patch {EXAMPLE} (1 calendar button)\n"
        f"warning: {EXAMPLE}:79:65: refers to the removed QR code: 'Show this code at the "
        "registration desk for a fast check-in.' (edit it in the designer)\n"
        "1 file would be patched.\n",
    )

    table = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "not debian"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert table.returncode == 0, table.stdout[-3000:] + table.stderr[-2000:]
