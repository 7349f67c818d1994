"""Endpoint hosts as browsers read them (``normalize_endpoint`` in mailpatch/_link.py).

The host goes into emails as ``https://HOST/EvtMgmt/api/v2.0/…``, so normalize_endpoint reads
it as the WHATWG URL parser does and refuses a host a browser would not open as that host name:
one it refuses, or one it reads as another host (``0x7f.1`` is 127.0.0.1, the Kelvin sign is
``k``). Some hosts browsers do open are refused too, as no Events API host (an IP address, a
single label, ``_``) or as read differently by older IDNA 2003 software (``ß``).

Each row says what a browser makes of the value, and test_browsers_agree checks that against a
real WHATWG URL parser: Node's ``URL``, run once for the whole table.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mailpatch._cli import EXIT_USAGE, main
from mailpatch._link import LinkError, normalize_endpoint

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
    pytest.param("org.example.0xg", "org.example.0xg", id="not-hex-last"),
    pytest.param("ab--cd.dynamics.com", "ab--cd.dynamics.com", id="double-hyphen"),
    pytest.param(f"{LABEL_63}.com", f"{LABEL_63}.com", id="label-63"),
    pytest.param(HOST_253, HOST_253, id="host-253"),
    pytest.param("xn--bcher-kva.de", "xn--bcher-kva.de", id="punycode"),
    pytest.param("XN--BCHER-KVA.DE", "xn--bcher-kva.de", id="punycode-upper-case"),
    pytest.param("xn--d1acufc.xn--p1ai", "xn--d1acufc.xn--p1ai", id="punycode-cyrillic"),
    pytest.param("xn--ls8h.la", "xn--ls8h.la", id="punycode-emoji"),
    pytest.param("xn--mgbh0fb.xn--kgbechtv", "xn--mgbh0fb.xn--kgbechtv", id="punycode-arabic"),
    pytest.param("xn--4db.com", "xn--4db.com", id="punycode-hebrew-then-latin"),
]

# (what the user typed, a fragment of the message, what browsers make of it: FAILS, OPENS,
# the other host name they read, or None where browsers differ among themselves: Node 20 opens
# these, the current UTS #46 tables or rules refuse them)
REFUSED = [
    # ends in a number: the URL standard's IPv4 parser takes it
    pytest.param(
        "0x7f.1",
        "'0x7f.1' ends in a number: browsers read it as the IPv4 address 127.0.0.1, not a host",
        "127.0.0.1",
        id="hex-ipv4",
    ),
    pytest.param("https://0X7F.1/", "address 127.0.0.1", "127.0.0.1", id="hex-ipv4-upper"),
    pytest.param("017.1", "the IPv4 address 15.0.0.1", "15.0.0.1", id="octal-ipv4"),
    pytest.param("4294967295", "address 255.255.255.255", "255.255.255.255", id="one-number"),
    pytest.param("1.16777215", "address 1.255.255.255", "1.255.255.255", id="two-numbers"),
    pytest.param("1.2.3.4", "'1.2.3.4' is an IPv4 address, not a host name", OPENS, id="ipv4"),
    pytest.param("1.2.3.4.", "is an IPv4 address", "1.2.3.4", id="ipv4-trailing-dot"),
    pytest.param(
        "999.999.999.999",
        "ends in a number: browsers read it as an IPv4 address, and refuse it",
        FAILS,
        id="invalid-ipv4",
    ),
    pytest.param("4294967296", "ends in a number", FAILS, id="number-too-big"),
    pytest.param("08.1", "ends in a number", FAILS, id="not-octal"),
    pytest.param("1.2.3.4.5", "ends in a number", FAILS, id="five-numbers"),
    pytest.param("example.123", "'example.123' ends in a number", FAILS, id="numeric-last"),
    pytest.param("example.123.", "ends in a number", FAILS, id="numeric-last-trailing-dot"),
    pytest.param("contoso.svc.0x", "ends in a number", FAILS, id="bare-0x-last"),
    pytest.param("contoso.0x7f", "ends in a number", FAILS, id="hex-last"),
    pytest.param("contoso..1", "ends in a number", FAILS, id="empty-label-numeric-last"),
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
    pytest.param(
        "bücher.de",
        "(U+00FC LATIN SMALL LETTER U WITH DIAERESIS): browsers change or encode them, so type "
        "its ASCII form, 'xn--bcher-kva.de'",
        "xn--bcher-kva.de",
        id="international",
    ),
    pytest.param("BÜCHER.de", "ASCII form, 'xn--bcher-kva.de'", "xn--bcher-kva.de", id="intl-up"),
    pytest.param(
        "straße.de",
        "type the host in ASCII, with an international label in its xn-- form",
        "xn--strae-oqa.de",  # IDNA 2003 reads strasse.de: no ASCII form is certain
        id="sharp-s",
    ),
    pytest.param(
        "\u0130stanbul.com",
        "(U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE): browsers change or encode them, so type "
        "its ASCII form, 'xn--istanbul-o0e.com'",
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
    # xn-- labels that do not decode to a valid international label
    pytest.param("xn--99999999999.com", "is not valid punycode", FAILS, id="bad-punycode"),
    pytest.param("xn--a.com", "decodes to '\\x80', which browsers refuse", FAILS, id="control"),
    pytest.param("xn--u-ccb.com", "decodes to 'u\u0308'", FAILS, id="not-nfc"),
    pytest.param("xn--a-ecp.ru", "which browsers refuse or map", FAILS, id="maps-to-dot"),
    pytest.param("xn--r6j.com", "which browsers refuse or map", FAILS, id="ideographic-dot"),
    pytest.param("xn--1ug.com", "zero-width joiner", FAILS, id="zwj"),
    pytest.param("xn--.com", "label 'xn--' starts or ends with a hyphen", FAILS, id="empty-ace"),
    pytest.param("xn--bcher-kva-.de", "starts or ends with a hyphen", OPENS, id="ace-hyphen-end"),
    pytest.param("xn--abc-.com", "starts or ends with a hyphen", None, id="ace-of-ascii"),
    pytest.param("xn--zca.com", "decodes to 'ß'", OPENS, id="ace-sharp-s"),
    pytest.param("xn--nxasmm1c.com", "(IDNA 2003) software reads", OPENS, id="ace-final-sigma"),
    pytest.param("xn---o49a.com", "is not the standard xn-- form of", OPENS, id="ace-not-canon"),
    pytest.param("xn--4db.1a", "right-to-left rules", None, id="rtl-then-digit-first"),
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


NAMED = re.compile(r"read it as '([^']+)'|ASCII form, '([^']+)'|the IPv4 address ([0-9.]+),")


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
    assert "'0x7f.1' ends in a number: browsers read it as the IPv4 address 127.0.0.1" in err
    assert "--endpoint" in err
