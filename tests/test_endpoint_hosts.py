"""Endpoint hosts: an allowlist, held to what browsers read.

The host goes into emails as ``https://HOST/EvtMgmt/api/v2.0/…``. normalize_endpoint accepts
only ASCII labels of letters, digits and hyphens (not at either end, 1-63 characters, no
``xn--`` label), at least two, at most 253 characters, the last starting with a letter
(``_link._host_problem``). Everything else is refused, and each row says what a browser makes
of the value: it refuses the URL (FAILS), opens it as typed (OPENS: no Events API host all the
same), or reads it as another host, which the message names when it is certain (``0x7f.1`` is
127.0.0.1, the Kelvin sign is ``k``).

test_browsers_agree checks each row against a real WHATWG URL parser: Node's ``URL``, run once
for the whole table.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mailpatch._cli import EXIT_USAGE, main
from mailpatch._link import LinkError, _plain, normalize_endpoint

from fixturecases import FIXTURES

EXAMPLE = FIXTURES / "examples" / "registration-email.html"
HOST = "contoso.svc.dynamics.com"
FAILS = "browsers refuse the URL"  # Node's URL throws
OPENS = "browsers open it as typed"  # refused all the same: not an Events API host
LABEL_63 = "a" * 63
HOST_253 = ".".join([LABEL_63] * 3 + ["b" * 61])  # 253 characters

# (what the user typed, the host returned)
ACCEPTED = [
    pytest.param(HOST, HOST, id="svc"),
    pytest.param("5e7f3b90a1c2.svc.dynamics.com", "5e7f3b90a1c2.svc.dynamics.com", id="id-svc"),
    pytest.param("org.svc-tip.dynamics.com", "org.svc-tip.dynamics.com", id="svc-tip"),
    pytest.param("org1.crm4.dynamics.com", "org1.crm4.dynamics.com", id="crm4"),
    pytest.param("HTTPS://CONTOSO.SVC.Dynamics.com/EvtMgmt/api/v2.0/", HOST, id="upper-case"),
    pytest.param(f"https://{HOST}./", HOST, id="trailing-dot-dropped"),
    pytest.param(f"\x00 https://{HOST}/\n\x1f", HOST, id="c0-and-space-around-stripped"),
    pytest.param("123.svc.dynamics.com", "123.svc.dynamics.com", id="number-not-last"),
    pytest.param("10.0.0.1.nip.io", "10.0.0.1.nip.io", id="address-then-name"),
    pytest.param("org.0x.com", "org.0x.com", id="hex-not-last"),
    pytest.param("ab--cd.dynamics.com", "ab--cd.dynamics.com", id="double-hyphen"),
    pytest.param(f"{LABEL_63}.com", f"{LABEL_63}.com", id="label-63"),
    pytest.param(HOST_253, HOST_253, id="host-253"),
]

# (what the user typed, a fragment of the message, what browsers make of it: FAILS, OPENS,
# the other host name they read, or None where browsers differ among themselves: Node 20 opens
# these, the current UTS #46 tables or rules refuse them)
ACE = "is an international (xn--) label; Events API hosts are ASCII; type it like <org>.svc"
NUMBER = "does not start with a letter, and browsers read a host that ends in a number as an IPv4"
REFUSED = [
    # a last label that does not start with a letter: the URL standard's IPv4 parser may take it
    pytest.param(
        "0x7f.1",
        "'0x7f.1' is not a host name: its last label '1' does not start with a letter, and "
        "browsers read a host that ends in a number as an IPv4 address; type it like "
        "<org>.svc.dynamics.com",
        "127.0.0.1",
        id="hex-ipv4",
    ),
    pytest.param("https://0X7F.1/", NUMBER, "127.0.0.1", id="hex-ipv4-upper"),
    pytest.param("017.1", NUMBER, "15.0.0.1", id="octal-ipv4"),
    pytest.param("4294967295", NUMBER, "255.255.255.255", id="one-number"),
    pytest.param("1.16777215", NUMBER, "1.255.255.255", id="two-numbers"),
    pytest.param("1.2.3.4", NUMBER, OPENS, id="ipv4"),
    pytest.param("1.2.3.4.", NUMBER, "1.2.3.4", id="ipv4-trailing-dot"),
    pytest.param("999.999.999.999", NUMBER, FAILS, id="invalid-ipv4"),
    pytest.param("4294967296", NUMBER, FAILS, id="number-too-big"),
    pytest.param("08.1", NUMBER, FAILS, id="not-octal"),
    pytest.param("1.2.3.4.5", NUMBER, FAILS, id="five-numbers"),
    pytest.param("example.123", "its last label '123' does not start", FAILS, id="numeric-last"),
    pytest.param("example.123.", NUMBER, FAILS, id="numeric-last-trailing-dot"),
    pytest.param("contoso.svc.0x", NUMBER, FAILS, id="bare-0x-last"),
    pytest.param("contoso.0x7f", NUMBER, FAILS, id="hex-last"),
    pytest.param("org.example.0xg", "its last label '0xg' does not start", OPENS, id="0xg-last"),
    pytest.param("contoso..1", "an empty label", FAILS, id="empty-label-numeric-last"),
    pytest.param("[::1]", "is an IPv6 address, not a host name", OPENS, id="ipv6"),
    # characters browsers map to others: refused, naming the ASCII form when it is certain
    pytest.param(
        "\u212aontoso.svc.dynamics.com",
        "(U+212A KELVIN SIGN): browsers change or encode them, and read it as "
        "'kontoso.svc.dynamics.com': type that",
        "kontoso.svc.dynamics.com",
        id="kelvin-sign",
    ),
    pytest.param(
        "contoso\u3002svc\uff0edynamics\uff61com",
        f"read it as '{HOST}'",
        HOST,
        id="ideographic-and-fullwidth-dots",
    ),
    pytest.param("\uff43ontoso.svc.dynamics.com", f"read it as '{HOST}'", HOST, id="fullwidth"),
    pytest.param("ab\u00adc.com", "U+00AD SOFT HYPHEN", "abc.com", id="soft-hyphen"),
    # international host names: no Events API host is one
    pytest.param(
        "bücher.de",
        "(U+00FC LATIN SMALL LETTER U WITH DIAERESIS): browsers change or encode them; type the "
        "host in ASCII, like <org>.svc.dynamics.com",
        "xn--bcher-kva.de",
        id="international",
    ),
    pytest.param("BÜCHER.de", "type the host in ASCII", "xn--bcher-kva.de", id="intl-up"),
    pytest.param("straße.de", "type the host in ASCII", "xn--strae-oqa.de", id="sharp-s"),
    pytest.param(
        "\u0130stanbul.com",
        "(U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE): browsers change or encode them; type "
        "the host in ASCII",
        "xn--istanbul-o0e.com",
        id="dotted-capital-i",
    ),
    pytest.param(f"\u00a0{HOST}", "U+00A0 NO-BREAK SPACE", FAILS, id="no-break-space"),
    pytest.param(f"{HOST}\u3000", "U+3000 IDEOGRAPHIC SPACE", FAILS, id="ideographic-space"),
    pytest.param("a\ufe52b.com", "U+FE52 SMALL FULL STOP", FAILS, id="small-full-stop"),
    pytest.param("\u04c0a.com", "U+04C0 CYRILLIC LETTER PALOCHKA", None, id="palochka"),
    # written as other characters
    pytest.param(
        "contoso%2esvc.dynamics.com",
        "browsers decode % escapes in a host, so type the characters themselves",
        HOST,
        id="percent-dot",
    ),
    pytest.param("%63ontoso.svc.dynamics.com", "% escapes", HOST, id="percent-letter"),
    pytest.param("conto\tso.svc.dynamics.com", "a tab or line break inside", HOST, id="tab"),
    pytest.param(f"https://{HOST}\n/", "a tab or line break inside", HOST, id="line-break"),
    pytest.param("a b.com", "' ' is not a letter, digit, hyphen or dot", FAILS, id="space"),
    pytest.param("a<b.com", "'<' is not a letter", FAILS, id="less-than"),
    pytest.param("a^b.com", "'^' is not a letter", FAILS, id="caret"),
    pytest.param(f"{HOST}\\x", "'\\\\' is not a letter", HOST, id="backslash"),
    pytest.param(f"{HOST}#x", "'#' is not a letter", HOST, id="fragment"),
    # xn-- labels (international labels in ASCII), valid or not
    pytest.param("xn--bcher-kva.de", f"label 'xn--bcher-kva' {ACE}", OPENS, id="punycode"),
    pytest.param("XN--BCHER-KVA.DE", ACE, OPENS, id="punycode-upper-case"),
    pytest.param("xn--d1acufc.xn--p1ai", ACE, OPENS, id="punycode-cyrillic"),
    pytest.param("xn--ls8h.la", ACE, OPENS, id="punycode-emoji"),
    pytest.param("xn--mgbh0fb.xn--kgbechtv", ACE, OPENS, id="punycode-arabic"),
    pytest.param("xn--4db.com", ACE, OPENS, id="punycode-hebrew-then-latin"),
    pytest.param("xn--99999999999.com", ACE, FAILS, id="bad-punycode"),
    pytest.param("xn--a.com", ACE, FAILS, id="control"),
    pytest.param("xn--u-ccb.com", ACE, FAILS, id="not-nfc"),
    pytest.param("xn--a-ecp.ru", ACE, FAILS, id="maps-to-dot"),
    pytest.param("xn--r6j.com", ACE, FAILS, id="ideographic-dot"),
    pytest.param("xn--1ug.com", ACE, FAILS, id="zwj"),
    pytest.param("xn--.com", "label 'xn--' starts or ends with a hyphen", FAILS, id="empty-ace"),
    pytest.param("xn--bcher-kva-.de", "starts or ends with a hyphen", OPENS, id="ace-hyphen-end"),
    pytest.param("xn--abc-.com", "starts or ends with a hyphen", None, id="ace-of-ascii"),
    pytest.param("xn--zca.com", ACE, OPENS, id="ace-sharp-s"),
    pytest.param("xn--nxasmm1c.com", ACE, OPENS, id="ace-final-sigma"),
    pytest.param("xn---o49a.com", ACE, OPENS, id="ace-not-canon"),
    pytest.param("xn--4db.1a", ACE, None, id="rtl-then-digit-first"),
    # not a host name an Events API endpoint has, though browsers open it
    pytest.param("contoso", "it has one label only", OPENS, id="single-label"),
    pytest.param("contoso_1.svc.dynamics.com", "'_' is not a letter", OPENS, id="underscore"),
    pytest.param("a..b.com", "an empty label", OPENS, id="two-dots"),
    pytest.param(".contoso.com", "an empty label", OPENS, id="leading-dot"),
    pytest.param("contoso.com..", "an empty label", OPENS, id="two-trailing-dots"),
    pytest.param("-a.com", "label '-a' starts or ends with a hyphen", OPENS, id="leading-hyphen"),
    pytest.param(f"a{LABEL_63}.com", "is longer than 63 characters", OPENS, id="label-64"),
    pytest.param(f"a{HOST_253}", "is longer than 253 characters", OPENS, id="host-254"),
]


@pytest.mark.parametrize(("typed", "host"), ACCEPTED)
def test_accepted(typed: str, host: str) -> None:
    assert normalize_endpoint(typed) == host
    assert normalize_endpoint(host) == host


@pytest.mark.parametrize(("typed", "fragment", "browser"), REFUSED)
def test_refused(typed: str, fragment: str, browser: str | None) -> None:
    with pytest.raises(LinkError) as caught:
        normalize_endpoint(typed)
    message = str(caught.value)
    assert fragment in message
    assert message.startswith(f"endpoint {typed!r}: ")


NAMED = re.compile(r"read it as '([^']+)'")


def _url(typed: str) -> str:
    return typed if "://" in typed else f"https://{typed}"


def _typed_host(typed: str) -> str:
    """The host as typed, ASCII letters in lower case only (what OPENS means)."""
    rest = typed.strip().split("://", 1)[-1]
    host = rest.split("/", 1)[0]
    return "".join(c.lower() if c.isascii() else c for c in host)


@pytest.fixture(scope="module")
def node_hostnames() -> dict[str, str | None]:
    """``new URL(url).hostname`` for the URL of every row, null where Node throws."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the rows are checked against Node's WHATWG URL parser")
    urls = sorted(
        {_url(p.values[0]) for p in ACCEPTED}
        | {f"https://{p.values[1]}/" for p in ACCEPTED}
        | {_url(p.values[0]) for p in REFUSED}
    )
    script = (
        "const urls = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const host = u => { try { return new URL(u).hostname; } catch { return null; } };"
        "process.stdout.write(JSON.stringify(urls.map(host)));"
    )
    done = subprocess.run(
        [node, "-e", script],
        input=json.dumps(urls),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=True,
    )
    return dict(zip(urls, json.loads(done.stdout), strict=True))


@pytest.mark.parametrize(("typed", "host"), ACCEPTED)
def test_browsers_read_accepted_hosts_as_returned(
    node_hostnames: dict[str, str | None], typed: str, host: str
) -> None:
    assert node_hostnames[f"https://{host}/"] == host
    read = node_hostnames[_url(typed)]
    assert read is not None
    assert read.removesuffix(".") == host


@pytest.mark.parametrize(
    ("typed", "fragment", "browser"), [p for p in REFUSED if p.values[2] is not None]
)
def test_browsers_agree(
    node_hostnames: dict[str, str | None], typed: str, fragment: str, browser: str
) -> None:
    read = node_hostnames[_url(typed)]
    if browser == FAILS:
        assert read is None
    elif browser == OPENS:
        assert read == _typed_host(typed)
    else:
        assert read == browser
        assert read != _typed_host(typed)  # read as another host
    with pytest.raises(LinkError) as caught:
        normalize_endpoint(typed)
    named = NAMED.search(str(caught.value))
    if named is not None:  # the host the message says browsers read, or to type instead
        assert read == named.group(named.lastindex or 0)


def test_cli_refuses_an_ipv4_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "email.html"
    shutil.copyfile(EXAMPLE, path)
    before = path.read_bytes()
    args = ["patch", "--endpoint", "0x7f.1", "--event-id", "X", str(path)]
    assert main(args) == EXIT_USAGE == 2
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert "'0x7f.1' is not a host name: its last label '1' does not start with a letter" in err
    assert "--endpoint" in err


def test_every_character_named_as_another_is_read_so_by_browsers() -> None:
    """The message names the host to type only where each character outside ASCII is a form of
    an ASCII letter, digit, hyphen or dot: for every such code point, Node reads it so."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    named = {
        c: plain
        for c in map(chr, [*range(0x80, 0xD800), *range(0xE000, 0x30000)])
        if (plain := _plain(c)) != "\0"
    }
    assert len(named) > 1000 and named["\u212a"] == "k" and named["\uff0e"] == "."
    urls = [f"https://a{c}b.com/" for c in named]
    script = (
        "const urls = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const host = u => { try { return new URL(u).hostname; } catch { return null; } };"
        "process.stdout.write(JSON.stringify(urls.map(host)));"
    )
    done = subprocess.run(
        [node, "-e", script], input=json.dumps(urls), capture_output=True, text=True,
        encoding="utf-8", timeout=60, check=True,
    )  # fmt: skip
    read = dict(zip(named, json.loads(done.stdout), strict=True))
    assert {c: read[c] for c in named if read[c] != f"a{named[c]}b.com"} == {}
