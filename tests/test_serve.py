"""``mailpatch serve``: the routes as pure functions (no socket), then one real server in a
thread spoken to with urllib. The download must be byte for byte what ``mailpatch patch -o``
writes, through the same code path (build_options, patch, verify)."""

from __future__ import annotations

import base64
import html
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailpatch import decode
from mailpatch._cli import cli, main
from mailpatch._config import guid_as_id_problem, load_config
from mailpatch._options import build_options
from mailpatch._patch import events_in
from mailpatch.page._serve import (
    CONTENT_SECURITY_POLICY,
    MAX_FIELDS,
    Form,
    FormError,
    Request,
    Response,
    Settings,
    Site,
    body_limit,
    content_disposition,
    download_name,
    handle,
    parse_form,
    toml_snippet,
)
from mailpatch.page._server import make_server

from fixturecases import FIXTURES, Case, cases
from page_forms import BOUNDARY, cli_output, form_fields, multipart, upload

PORT = 8765
EXAMPLE_GUID = "3d5f7b9c-1e2a-ef11-a82e-000d3a4b5c6d"  # fixtures/examples/registration-email.html
CLEAN = ["bom", "crlf", "mixed-line-endings", "multi-event", "custom-fields", "keep-qr",
         "drop-firstname", "entities-emoji", "classic-vml-button", "uppercase-guid",
         "explicit-button"]  # fmt: skip


@pytest.fixture
def site() -> Site:
    return Site(PORT, token="test-token")


def post(
    site: Site,
    fields: Mapping[str, str],
    files: Mapping[str, tuple[str, bytes]] | None = None,
    path: str = "/",
    **headers: str,
) -> Response:
    body = multipart({"token": site.token, **fields}, files or {})
    sent = {
        "host": f"127.0.0.1:{site.port}",
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        "origin": f"http://127.0.0.1:{site.port}",
        "sec-fetch-site": "same-origin",
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    return handle(site, Request("POST", path, sent, body))


def text_of(response: Response) -> str:
    return response.body.decode("utf-8")


# ---------------------------------------------------------------- pages and guards


def test_get_shows_the_form_with_its_token_and_a_strict_policy(site: Site) -> None:
    response = handle(site, Request("GET", "/", {"host": f"127.0.0.1:{PORT}"}))
    page = text_of(response)
    assert response.status == 200
    assert 'name="token" value="test-token"' in page
    assert 'type="file"' in page and 'name="email_text"' in page
    assert "CRLF" in page  # the note on pasted line endings
    assert dict(response.headers)["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY  # no network from the preview
    # one script, the page's own from this server: none inline, no handler attributes
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == directives["connect-src"] == "'self'"
    assert re.findall(r"<script\b[^>]*>", page, re.I) == ['<script src="/page.js" defer>']
    assert '<script src="/page.js" defer></script>' in page
    assert not re.search(r"\son[a-z]+\s*=", page, re.I)
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)  # no external assets
    # no example that looks like input: examples are help text, required fields say so
    assert "placeholder=" not in page
    assert re.search(r'<label for="endpoint">[^<]*<span class="req">required</span>', page)
    assert 'id="endpoint" name="endpoint" value=""' in page


def test_the_page_script_is_served_as_a_script_from_here(site: Site) -> None:
    response = handle(site, Request("GET", "/page.js", {"host": f"127.0.0.1:{PORT}"}))
    assert response.status == 200
    assert response.content_type == "text/javascript; charset=utf-8"
    headers = dict(response.headers)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    script = response.body.decode("utf-8")
    assert 'fetch("/inspect"' in script and "sessionStorage" in script
    assert "innerHTML" not in script and "eval(" not in script  # an email's text is only text
    assert re.findall(r"https?://", script) == []  # nothing elsewhere
    assert handle(site, Request("POST", "/page.js", {"host": f"127.0.0.1:{PORT}"})).status == 405


@pytest.mark.parametrize(
    "host",
    [None, "evil.example", f"evil.example:{PORT}", "127.0.0.1", f"127.0.0.1:{PORT + 1}",
     f"localhost.evil.example:{PORT}", f"[::1]:{PORT}", f"0.0.0.0:{PORT}"],
)  # fmt: skip
def test_other_host_headers_are_refused(site: Site, host: str | None) -> None:
    """DNS rebinding: a foreign name resolving to 127.0.0.1 still sends its own Host."""
    headers = {} if host is None else {"host": host}
    for method in ("GET", "POST"):
        response = handle(site, Request(method, "/", headers, b"token=test-token"))
        assert response.status == 421
        assert "test-token" not in text_of(response)


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"LOCALHOST:{PORT}"])
def test_own_host_names_are_answered(site: Site, host: str) -> None:
    assert handle(site, Request("GET", "/", {"host": host})).status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},  # a sandboxed frame or a data: page
        {"origin": f"http://127.0.0.1:{PORT + 1}"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_cross_site_posts_are_refused(site: Site, headers: dict[str, str]) -> None:
    case = Case(Path(cases("patch")[0].folder))
    response = post(site, form_fields(case), upload(case), **headers)
    assert response.status == 403
    assert "Form refused" in text_of(response)


def test_a_post_without_the_token_is_refused(site: Site) -> None:
    body = multipart({"endpoint": "contoso.svc.dynamics.com"}, {})
    headers = {
        "host": f"127.0.0.1:{PORT}",
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    assert handle(site, Request("POST", "/", headers, body)).status == 403
    assert post(site, {"token": "wrong"}).status == 403


def test_unknown_paths_and_methods(site: Site) -> None:
    host = {"host": f"127.0.0.1:{PORT}"}
    assert handle(site, Request("GET", "/etc/passwd", host)).status == 404
    assert handle(site, Request("PUT", "/", host)).status == 405
    assert handle(site, Request("GET", "/download", host)).status == 405


def test_size_limit(tmp_path: Path) -> None:
    small = Site(PORT, token="t", max_size=1000)
    case = Case(Path(cases("patch")[0].folder))
    response = post(small, form_fields(case), upload(case))
    assert response.status == 413
    page = html.unescape(text_of(response))
    assert f"input.html is {case.input.stat().st_size:,} bytes" in page
    assert "at most 1,000 bytes" in page and "--max-size" in page
    # the socket layer refuses by Content-Length before reading the body
    from mailpatch.page._serve import refuse_length

    assert refuse_length(small, str(body_limit(1000)), False) is None
    refused = refuse_length(small, str(body_limit(1000) + 1), False)
    assert refused is not None and refused.status == 413
    assert refuse_length(small, None, False).status == 411  # type: ignore[union-attr]
    assert refuse_length(small, "10", True).status == 411  # type: ignore[union-attr]
    for odd in ("\u00b2", "1e3", "-1", "0x10", "9" * 40):  # int("²") raised in the handler
        assert refuse_length(small, odd, False).status == 411  # type: ignore[union-attr]
    big = b"x" * (body_limit(1000) + 1)
    assert handle(small, Request("POST", "/", {"host": f"127.0.0.1:{PORT}"}, big)).status == 413


# ---------------------------------------------------------------- the conversion


def test_without_the_script_a_first_submit_lists_the_guids_each_with_a_field(site: Site) -> None:
    """The page works without its script: the first Convert lists the events, each id asked
    for by its event's number and place, all at once."""
    (case,) = [c for c in cases("patch") if c.name == "multi-event"]
    response = post(site, {"endpoint": "contoso.svc.dynamics.com"}, upload(case))
    page = html.unescape(text_of(response))
    assert response.status == 200
    guids = sorted(events_in(case.input.read_text("utf-8")).guids)
    assert len(guids) == 2
    for guid in guids:
        assert f'name="id-{guid}"' in page and f'name="session-{guid}"' in page
    problems = re.search(r'<ul id="problems">(.*?)</ul>', page, re.S)
    assert problems is not None
    assert re.findall(r"<li>(.*?)</li>", problems.group(1)) == [
        f'<a href="#id-{guid}">The readable event id of event {n} (QR code at line {line}) is '
        "required.</a>"
        for n, (guid, line) in enumerate([(guids[0], 65), (guids[1], 100)], 1)
    ]
    # the email is carried to the next submit as its exact bytes
    carried = re.search(r'name="email_b64" value="([^"]*)"', page)
    assert carried and base64.b64decode(carried.group(1)) == case.input.read_bytes()


@pytest.mark.parametrize("name", CLEAN)
def test_download_is_what_patch_o_writes(site: Site, tmp_path: Path, name: str) -> None:
    (case,) = [c for c in cases("patch") if c.name == name]
    expected = cli_output(case, tmp_path)
    assert expected == case.expected.read_bytes()
    response = post(site, form_fields(case), upload(case), path="/download")
    assert response.status == 200
    assert response.body == expected
    assert dict(response.headers)["Content-Disposition"].startswith(
        'attachment; filename="input.html"'
    )
    # the page shows the same result, and its download form carries the same email and settings
    page = text_of(post(site, form_fields(case), upload(case)))
    shown = html.unescape(page)
    assert re.search(r'<p class="lead" id="status">input.html is converted: \w+ calendar', shown)
    assert '<code id="status-line">patched input.html (' in shown  # as patch -v says it
    assert 'id="diff"' in page and 'class="patched"' in page and 'id="next-steps"' in page
    form = re.search(r'<form method="post" action="/download".*?</form>', page, re.S)
    assert form is not None
    hidden = {
        html.unescape(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', form.group())
    }
    again = post(site, {k: v for k, v in hidden.items() if k != "token"}, path="/download")
    assert again.body == expected


def test_diff_and_preview_on_the_page(site: Site) -> None:
    """What each sample registrant gets is the preview command's own renders, one level of
    sandboxed frames (no frame holding frames); the diff is there, folded."""
    from mailpatch.page._preview import preview

    (case,) = [c for c in cases("patch") if c.name == "bom"]
    page = text_of(post(site, form_fields(case), upload(case)))
    assert '<span class="file">--- a/input.html</span>' in page
    assert re.search(r'<span class="add">\+.*calendar/personal/ics', page)
    assert re.search(r'<details id="diff-details"><summary>[^<]*</summary>\s*<p[^>]*>[^<]*</p>\s*'
                     r'<pre id="diff">', page)  # fmt: skip
    frame = r'<iframe class="(original|patched)" title="[^"]*" (sandbox) srcdoc="([^"]*)"'
    frames = re.findall(frame, page)
    text = decode(case.input.read_bytes()).text
    renders = preview(text, case.options).renders
    renders = [*renders[1:], renders[0]]  # "No registration" last on the page
    assert renders[-1].contact.label == "No registration"
    assert [(kind, html.unescape(doc)) for kind, _, doc in frames] == [
        pair for r in renders for pair in (("original", r.original), ("patched", r.patched))
    ]
    assert page.count("<iframe") == len(frames) == 2 * len(renders)
    assert not any("<iframe" in html.unescape(doc) for _, _, doc in frames)


def test_text_about_the_removed_qr_code_is_a_plain_warning(site: Site) -> None:
    """The converted email still asks to show a code it no longer has: the page says so in
    plain words, with the line in the download; an email without such text has no warning."""
    example = FIXTURES / "examples" / "registration-email.html"
    data = example.read_bytes()
    fields = {"endpoint": "contoso.svc.dynamics.com", f"id-{EXAMPLE_GUID}": "Summit"}
    page = text_of(post(site, fields, {"email_file": ("summit.html", data)}))
    download = post(site, fields, {"email_file": ("summit.html", data)}, path="/download").body
    said = "Show this code at the registration desk for a fast check-in."
    line = download.decode("utf-8").splitlines().index(
        next(x for x in download.decode("utf-8").splitlines() if said in x)
    ) + 1
    assert (
        '<ul id="warnings">\n<li>The email still says “Show this code at the registration desk '
        f"for a fast check-in.” (line {line} of the converted email), but the QR code is gone: "
        "change or remove that text in the designer before you send it.</li>\n</ul>"
    ) in page
    # the status line is the one line `patch -v` prints first: the warning is listed above
    status = re.search(r'<code id="status-line">([^<]*)</code>', page)
    assert status is not None and status.group(1) == "patched summit.html (1 calendar button)"
    quiet = data.replace(said.encode(), b"See you there.")
    page = text_of(post(site, fields, {"email_file": ("summit.html", quiet)}))
    assert "Converted" in page and 'id="warnings"' not in page


def test_pasted_text_is_patched_as_sent(site: Site, tmp_path: Path) -> None:
    """A paste arrives with the browser's CRLF line endings: the download is the patch of
    exactly those bytes, under the name given."""
    (case,) = [c for c in cases("patch") if c.name == "bare-markers"]
    pasted = re.sub(r"\r?\n", "\r\n", case.input.read_text("utf-8"))
    (tmp_path / "summit.html").write_bytes(pasted.encode())
    fields = {**form_fields(case), "email_text": pasted, "email_name": "summit.html"}
    response = post(site, fields, path="/download")
    assert response.status == 200
    out = tmp_path / "out.html"
    assert main(["patch", *case.args, "-o", str(out), str(tmp_path / "summit.html")]) == 0
    assert response.body == out.read_bytes()
    assert b"\r\n" in response.body and b"\n" not in response.body.replace(b"\r\n", b"")
    assert 'filename="summit.html"' in dict(response.headers)["Content-Disposition"]


@pytest.mark.parametrize(
    "case", [c for c in cases("refuse") if c.name != "event-id-two-guids"], ids=lambda c: c.name
)
def test_refusal_is_the_line_patch_prints(
    site: Site,
    case: Case,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(case.folder)  # the CLI names the file as the page does: input.html
    code = main(["patch", *case.args, "-o", str(tmp_path / "out.html"), "input.html"])
    printed = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    response = post(site, form_fields(case), upload(case))
    page = html.unescape(text_of(response))
    if code == 2:  # a usage error on the command line (no id for a second event, …)
        assert response.status in (200, 422)
        assert 'id="problems"' in page
        return
    assert code == 123 and len(printed) == 1
    if "no readable event id for event" in printed[0]:  # the page asks for it by its GUID
        guid = printed[0].split("no readable event id for event ")[1].split(":")[0]
        assert response.status == 200
        assert re.search(f'<a href="#id-{guid}">The readable event id of event [0-9]+ ', page)
        return
    assert response.status == 422
    assert f'<code id="status-line">{printed[0]}</code>' in page  # for developers, folded
    plain = page[page.index('<section id="outcome"') : page.index("</section>")]
    shown = plain[: plain.index('<details id="developer">')]
    # in the section a designer reads: no option to type, no line:col
    assert not re.search(r"--[a-z]", re.sub(r"<[^>]*>", "", shown))
    assert not re.search(r"\d+:\d+<", shown)
    assert not (tmp_path / "out.html").exists()
    download = post(site, form_fields(case), upload(case), path="/download")
    assert download.status == 422 and "Content-Disposition" not in dict(download.headers)


def test_file_problems_are_refused_by_name(site: Site) -> None:
    response = post(site, {}, {"email_file": ("latin1.html", "<p>café</p>".encode("latin-1"))})
    assert response.status == 422
    message = "is not UTF-8 (byte 0xe9 at line 1, column 7 (byte offset 6))"
    assert f"error: cannot patch latin1.html: {message}" in text_of(response)


def test_bad_settings_name_the_field(site: Site) -> None:
    (case,) = [c for c in cases("patch") if c.name == "bom"]
    guid = next(iter(events_in(decode(case.input.read_bytes()).text).guids))
    cases_ = {
        "ftp://contoso.svc.dynamics.com": "Events API endpoint: only https:// is allowed",
        "contoso.svc.dynamics.com": None,
    }
    for endpoint, label in cases_.items():
        page = html.unescape(
            text_of(post(site, {"endpoint": endpoint, f"id-{guid}": "X"}, upload(case)))
        )
        assert (label in page) if label else 'id="status"' in page
    page = html.unescape(
        text_of(
            post(site, {"endpoint": "contoso.svc.dynamics.com", f"id-{guid}": guid}, upload(case))
        )
    )
    assert "this is the event's GUID (the long code in the email), not its readable" in page
    page = html.unescape(
        text_of(
            post(
                site,
                {"endpoint": "c.svc.dynamics.com", f"id-{guid}": "X", "fields": "oops"},
                upload(case),
            )
        )
    )
    assert "Data fields, line 1: 'oops': expected KEY=VALUE" in page
    page = html.unescape(
        text_of(
            post(
                site,
                {
                    "endpoint": "c.svc.dynamics.com",
                    f"id-{guid}": "X",
                    "fields": "msevtmgt_checkin_url=x",
                },
                upload(case),
            )
        )
    )
    assert "msevtmgt_checkin_url is reserved" in page


# ---------------------------------------------------------------- the settings as configuration


SETTINGS = [
    Settings(endpoint="https://contoso.svc.dynamics.com/EvtMgmt/api/v2.0/"),
    Settings(
        endpoint="contoso.svc.dynamics.com",
        ids={
            "0d2f4a6c-8e1b-ef11-a82e-000d3a4b5c6d": ('Summit@2026 "Day 1"', ""),
            "5a7c9e1f-3b4d-ef11-a82e-000d3a4b5c6d": (
                "Labs\\Zoë",
                "b3e1d7a2-4c6f-ef11-a82e-000d3a4b5c6d",
            ),
        },
        fields_text=(
            "lastname={{contact.lastname}}\n"
            'note = "quoted" \\ back\tslash\n'
            "\n"
            "firstname=Friends & Family\n"
            "note=second"
        ),
        drop_text="firstname",
        keep_qr=True,
    ),
    Settings(
        endpoint="fabrikam.crm.dynamics.com",
        fields_text="key with space=v\nü=ö",
        drop_text="firstname, firstname",
    ),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_toml_snippet_round_trips(settings: Settings, tmp_path: Path) -> None:
    guids = list(settings.ids)
    options = settings.options(guids)
    snippet = toml_snippet(settings, options, guids)
    (tmp_path / "pyproject.toml").write_text(snippet, "utf-8")
    config = load_config(tmp_path / "pyproject.toml")
    # as patch_command builds a file's options from its configuration alone
    loaded = build_options(
        endpoint=config.endpoint,
        drop_fields=list(config.drop_fields),
        keep_qr=bool(config.keep_qr),
        api_version=config.api_version,
        config_events=config.events,
        config_fields=config.fields,
    )
    assert loaded == options


def test_toml_snippet_is_on_the_page_and_patches_alike(site: Site, tmp_path: Path) -> None:
    """The snippet, pasted into a pyproject.toml, makes `mailpatch patch` write the download."""
    (case,) = [c for c in cases("patch") if c.name == "multi-event"]
    page = text_of(post(site, form_fields(case), upload(case)))
    snippet = re.search(r'<pre id="toml">(.*?)</pre>', page, re.S)
    assert snippet is not None
    (tmp_path / "pyproject.toml").write_text(html.unescape(snippet.group(1)), "utf-8")
    (tmp_path / "input.html").write_bytes(case.input.read_bytes())
    assert main(["patch", str(tmp_path / "input.html")]) == 0
    download = post(site, form_fields(case), upload(case), path="/download")
    assert (tmp_path / "input.html").read_bytes() == download.body == case.expected.read_bytes()


# ---------------------------------------------------------------- hostile input


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_hostile_input_is_escaped(site: Site) -> None:
    (case,) = [c for c in cases("patch") if c.name == "bom"]
    text = decode(case.input.read_bytes()).text
    guid = next(iter(events_in(text).guids))
    email = text.replace("</body>", f"<p>{HOSTILE}</p></textarea></pre></body>").encode()
    fields = {
        "endpoint": "contoso.svc.dynamics.com",
        f"id-{guid}": HOSTILE,
        f"session-{guid}": HOSTILE,
        "fields": f"x={HOSTILE}\n{HOSTILE}=1",
        "drop_fields": HOSTILE,
    }
    for extra in ({}, {"drop_fields": ""}, {"drop_fields": "", "fields": f"x={HOSTILE}"}):
        page = text_of(post(site, {**fields, **extra}, {"email_file": (HOSTILE + ".html", email)}))
        assert page.lower().count("<script") == 1  # the page's own
        assert "<img src=x" not in page
        assert "alert(" in page  # it is there, as text


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("C:\\Users\\me\\summit.html", "summit.html"),
        ("../../etc/passwd", "passwd"),
        ("a%22b.html", 'a"b.html'),
        ("evil%0D%0AX-Header: 1.html", "evilX-Header: 1.html"),
        ("\u202egnp.html", "gnp.html"),
        ("...", "email.html"),
        ("", "email.html"),
        (".hidden.html", "hidden.html"),
    ],
)
def test_download_names_are_safe(raw: str, name: str) -> None:
    assert download_name(raw) == name
    header = content_disposition(name)
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2


def test_content_disposition_keeps_a_non_ascii_name() -> None:
    header = content_disposition('Zoë "Summit"; 2026.html')
    assert header.startswith('attachment; filename="Zo_ _Summit__ 2026.html"; ')
    assert header.endswith("filename*=UTF-8''Zo%C3%AB%20%22Summit%22%3B%202026.html")


def test_multipart_keeps_the_bytes_exactly() -> None:
    data = b"\xef\xbb\xbf<p>a\r\nb\rc\nd\r\n\r\n--not-a-boundary\r\n</p>\r\n"
    form = parse_form(
        f"multipart/form-data; boundary={BOUNDARY}",
        multipart({"a": "x\r\ny"}, {"f": ("n.html", data)}),
    )
    assert form.files["f"] == ("n.html", data)
    assert form.get("a") == "x\r\ny"
    assert parse_form("application/x-www-form-urlencoded", b"a=%C3%BC&b=") == Form(
        {"a": "ü", "b": ""}, {}, {"a": "ü".encode(), "b": b""}
    )


def _fields(n: int) -> dict[str, str]:
    return {f"f{i}": "v" for i in range(n)}


@pytest.mark.parametrize(
    ("kind", "body", "refusal"),
    [
        pytest.param("multipart", multipart(_fields(MAX_FIELDS), {}), None, id="multipart"),
        pytest.param(
            "multipart", multipart(_fields(MAX_FIELDS + 1), {}), "more than 10,000 fields",
            id="multipart-over",
        ),
        pytest.param("urlencoded", b"&".join([b"f=v"] * MAX_FIELDS), None, id="urlencoded"),
        pytest.param(
            "urlencoded", b"&".join([b"f=v"] * (MAX_FIELDS + 1)), "more than 10,000 fields",
            id="urlencoded-over",
        ),
        pytest.param("multipart", multipart({"a" * 16_000: "v"}, {}), None, id="part-head"),
        pytest.param(
            "multipart", multipart({"a" * 17_000: "v"}, {}), "a form part's headers are too long",
            id="part-head-over",
        ),
    ],
)  # fmt: skip
def test_form_parts_are_bounded(kind: str, body: bytes, refusal: str | None) -> None:
    """Tens of thousands of tiny fields, or one part's endless headers, are refused before
    they are parsed (60 MB of 'a=&' took 34 s and 3 GB; a 60 MB part header, 1 GB)."""
    content_type = (
        f"multipart/form-data; boundary={BOUNDARY}"
        if kind == "multipart"
        else "application/x-www-form-urlencoded"
    )
    if refusal is None:
        assert parse_form(content_type, body).values
    else:
        with pytest.raises(FormError, match=refusal):
            parse_form(content_type, body)


def test_the_event_table_is_built_in_one_pass(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each event's id is checked a bounded number of times, not once per other event (an
    email with 4,000 QR blocks took 49 s on the page, now about one)."""
    from mailpatch.page import _serve

    from pathological_inputs import BUTTON, ENDPOINT, guid, qr

    events = 300
    email = "".join(qr(guid(i)) for i in range(events)) + BUTTON
    checked: list[str] = []

    def counted(readable: str) -> str | None:
        checked.append(readable)
        return guid_as_id_problem(readable)

    monkeypatch.setattr(_serve, "guid_as_id_problem", counted)
    fields = {"endpoint": ENDPOINT, **{f"id-{guid(i)}": f"ev-{i}" for i in range(events)}}
    response = post(site, fields, {"email_file": ("many.html", email.encode())})
    page = text_of(response)
    assert page.count('name="id-') == events
    assert 0 < len(checked) <= 4 * events


@pytest.mark.parametrize(
    ("port", "host", "origin", "answered"),
    [
        (80, "127.0.0.1", "http://127.0.0.1", True),
        (80, "localhost", "http://localhost", True),
        (80, "127.0.0.1:80", "http://127.0.0.1:80", True),
        (80, "evil.example", "http://127.0.0.1", False),
        (80, "127.0.0.1", "http://evil.example", False),
        (8765, "127.0.0.1", "http://127.0.0.1:8765", False),
        (8765, "127.0.0.1:8765", "http://127.0.0.1", False),
    ],
)
def test_port_80_is_answered_at_the_address_browsers_send(
    port: int, host: str, origin: str, answered: bool
) -> None:
    """Browsers leave the default port out of Host and Origin: on port 80 (only), the
    portless form is the page's own address."""
    site = Site(port, token="t")
    page = handle(site, Request("GET", "/", {"host": host}))
    case = Case(Path(cases("patch")[0].folder))
    headers = {"host": host, "origin": origin}
    download = post(site, form_fields(case), upload(case), path="/download", **headers)
    if answered:
        assert page.status == 200 and download.status == 200
    else:
        assert {page.status, download.status} & {421, 403}


# ---------------------------------------------------------------- the real server


@pytest.fixture
def running() -> Iterator[Site]:
    server = make_server(0, max_size=200_000)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def fetch(url: str, data: bytes | None = None, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.slow
def test_real_server(running: Site, tmp_path: Path) -> None:
    site = running
    assert site.url.startswith("http://127.0.0.1:")
    status, headers, body = fetch(site.url)
    assert status == 200 and site.token in body.decode()
    assert fetch(f"http://localhost:{site.port}/")[0] == 200
    for host in ("evil.example", f"evil.example:{site.port}", f"127.0.0.1:{site.port + 1}"):
        status, _, body = fetch(site.url, Host=host)
        assert status == 421 and site.token.encode() not in body
    (case,) = [c for c in cases("patch") if c.name == "crlf"]
    form = multipart({"token": site.token, **form_fields(case)}, upload(case))
    kind = f"multipart/form-data; boundary={BOUNDARY}"
    origin = f"http://127.0.0.1:{site.port}"
    status, headers, body = fetch(
        site.url + "download", form, **{"Content-Type": kind, "Origin": origin}
    )
    assert status == 200 and body == cli_output(case, tmp_path)
    assert headers["Content-Disposition"].startswith('attachment; filename="input.html"')
    # the events of an email, listed by a worker process as conversions are
    status, headers, body = fetch(
        site.url + "inspect", form, **{"Content-Type": kind, "Origin": origin}
    )
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert b'"needed": true' in body
    status, headers, body = fetch(site.url + "page.js")
    assert status == 200 and headers["Content-Type"] == "text/javascript; charset=utf-8"
    status, _, _ = fetch(site.url, form, **{"Content-Type": kind, "Origin": "http://evil.example"})
    assert status == 403
    status, _, _ = fetch(site.url, form, **{"Content-Type": kind, "Host": "evil.example"})
    assert status == 421
    # too large: refused by its Content-Length, with a page the browser gets to show
    huge = b"x" * (body_limit(site.max_size) + 1)
    status, _, body = fetch(site.url, huge, **{"Content-Type": kind, "Origin": origin})
    assert status == 413 and b"at most 200,000 bytes" in body


def test_serve_command_stops_cleanly_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from mailpatch import _cli_serve
    from mailpatch.page import _server

    def interrupted(self: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_server.SiteServer, "serve_forever", interrupted)
    with socket.socket() as taken:  # the default port is taken: any free one is used
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(_cli_serve, "DEFAULT_PORT", taken.getsockname()[1])
        result = CliRunner().invoke(cli, ["serve"])
        assert result.exit_code == 0, result.output
        found = re.search(r"mailpatch serve: http://127\.0\.0\.1:(\d+)/ ", result.output)
        assert found is not None
        assert f":{taken.getsockname()[1]}/" not in result.output
        # and says why it took another
        said = f"mailpatch serve: port {taken.getsockname()[1]} is in use; using {found[1]}\n"
        assert result.output.startswith(said)
        assert "stopped." in result.output and "Traceback" not in result.output
        # a port asked for by name is not swapped for another
        result = CliRunner().invoke(cli, ["serve", "--port", str(taken.getsockname()[1])])
        assert result.exit_code == 1 and "cannot listen on 127.0.0.1:" in result.output


@pytest.mark.slow
@pytest.mark.parametrize(("browser", "said"), [(None, True), ("true", False)],
                         ids=["none-to-open", "browser-opened"])  # fmt: skip
def test_open_says_when_no_browser_can_be_opened(
    tmp_path: Path, browser: str | None, said: bool
) -> None:
    """--open on a machine with no desktop and no $BROWSER: the terminal says so and names
    the address (a real server process, stopped with Ctrl-C)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                             "BROWSER")}  # fmt: skip
    if browser:
        env["BROWSER"] = browser
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "mailpatch", "serve", "--port", "0", "--open"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
        )  # fmt: skip
    awaited = "no web browser could be opened" if said else "(local only; Ctrl-C to stop)"
    try:
        deadline = time.monotonic() + 30
        while awaited not in log.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        time.sleep(0 if said else 0.5)  # a browser's answer, when one opens
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(10) == 0
    lines = log.read_text().splitlines()
    url = re.search(r"http://127\.0\.0\.1:\d+/", lines[0])
    assert url is not None
    expected = f"mailpatch serve: no web browser could be opened; open {url.group()}"
    assert (expected in lines) is said


def test_force_and_button_choice_as_on_the_command_line(site: Site, tmp_path: Path) -> None:
    """What the CLI asks for (--force, --button LINE:COL) the page offers too, and its
    configuration snippet says they are not configuration."""
    (case,) = [c for c in cases("refuse") if c.name == "protected-button"]
    fields = form_fields(case)
    refused = post(site, fields, upload(case), path="/download")
    assert refused.status == 422 and "--force" in html.unescape(text_of(refused))  # its CLI line
    forced = post(site, {**fields, "force": "on"}, upload(case), path="/download")
    out = tmp_path / "forced.html"
    assert main(["patch", *case.args, "--force", "-o", str(out), str(case.input)]) == 0
    assert forced.status == 200 and forced.body == out.read_bytes()
    chosen = {**fields, "force": "on", "buttons": "80:1"}
    page = html.unescape(text_of(post(site, chosen, upload(case))))
    assert "# not configuration: give --button 80:1 --force to mailpatch patch" in page


# ---------------------------------------------------------------- one step: the events at once


def inspect(site: Site, files: Mapping[str, tuple[str, bytes]], **fields: str) -> Response:
    return post(site, fields, files, path="/inspect")


def as_json(response: Response) -> dict[str, object]:
    import json

    assert response.content_type == "application/json; charset=utf-8"
    document: dict[str, object] = json.loads(response.body)
    return document


MULTI = "multi-event"
DAY1, LABS = "0d2f4a6c-8e1b-ef11-a82e-000d3a4b5c6d", "5a7c9e1f-3b4d-ef11-a82e-000d3a4b5c6d"
LABS_SESSION = "b3e1d7a2-4c6f-ef11-a82e-000d3a4b5c6d"


def test_inspect_lists_the_events_and_buttons_of_a_raw_export(site: Site) -> None:
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    document = as_json(inspect(site, upload(case)))
    assert document == {
        "name": "input.html",
        "bytes": case.input.stat().st_size,
        "events": [
            {"number": 1, "guid": DAY1, "where": "QR code at line 65", "needed": True,
             "readable_id": "", "session": ""},
            {"number": 2, "guid": LABS, "where": "QR code at line 100", "needed": True,
             "readable_id": "", "session": ""},
        ],
        "endpoint": "",
        "buttons": [
            {"label": "Add to calendar", "line": 72, "column": 1, "links_elsewhere": False},
            {"label": "Add to calendar", "line": 107, "column": 1, "links_elsewhere": False},
        ],
        "problem": None,
    }  # fmt: skip


def test_inspect_reads_a_patched_emails_ids_and_endpoint_from_its_links(site: Site) -> None:
    """An email converted before says its endpoint, and each event's id and session, in its
    calendar links: the page fills them in (decoded as the Events API reads them)."""
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    patched = {"email_file": ("summit.html", case.expected.read_bytes())}
    document = as_json(inspect(site, patched))
    assert document["endpoint"] == "contoso.svc.dynamics.com"
    events = document["events"]
    assert isinstance(events, list)
    assert [(e["guid"], e["needed"], e["readable_id"], e["session"]) for e in events] == [
        (DAY1, False, "ContosoCloudSummit2025_Day1", ""),
        (LABS, False, "ContosoCloudSummit2025_Labs", LABS_SESSION),
    ]
    assert events[0]["where"] == "calendar button 'Add to calendar' at line 66"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "https", "xn--bcher-kva.de"], ids=["ip", "doubled-scheme", "idn"]
)
def test_inspect_offers_no_endpoint_the_form_would_refuse(site: Site, host: str) -> None:
    """A patched email whose links go to a host the form refuses: the endpoint is left empty
    (pre-filled, it came back refused when submitted)."""
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    text = case.expected.read_text("utf-8").replace("https://contoso.svc.dynamics.com/", (
        "https://https://contoso.svc.dynamics.com/" if host == "https" else f"https://{host}/"
    ))
    document = as_json(inspect(site, {"email_file": ("summit.html", text.encode())}))
    assert document["endpoint"] == ""


@pytest.mark.parametrize(
    ("files", "fields", "status", "problem"),
    [
        pytest.param({}, {}, 400, "Choose the exported email file, or paste its HTML.", id="none"),
        pytest.param({"email_file": ("l.html", "<p>café</p>".encode("latin-1"))}, {}, 200,
                     "l.html is not UTF-8 (byte 0xe9 at line 1, column 7 (byte offset 6)); save it "
                     "as UTF-8.",
                     id="not-utf-8"),
        pytest.param({}, {"email_text": "x" * 1001}, 413,
                     "email.html is 1,001 bytes: at most 1,000 here.", id="too-large"),
    ],
)  # fmt: skip
def test_inspect_says_why_it_cannot_list(
    files: dict[str, tuple[str, bytes]], fields: dict[str, str], status: int, problem: str
) -> None:
    small = Site(PORT, token="t", max_size=1000)
    response = inspect(small, files, **fields)
    assert response.status == status
    assert as_json(response)["problem"] == problem


def test_inspect_is_guarded_as_a_conversion(site: Site) -> None:
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    assert inspect(site, upload(case), token="wrong").status == 403
    response = post(site, {}, upload(case), path="/inspect", origin="http://evil.example")
    assert response.status == 403 and b"Form refused" in response.body
    assert handle(site, Request("GET", "/inspect", {"host": f"127.0.0.1:{PORT}"})).status == 405


def test_a_pasted_email_is_inspected_under_its_name(site: Site) -> None:
    (case,) = [c for c in cases("patch") if c.name == "bare-markers"]
    fields = {"email_text": case.input.read_text("utf-8"), "email_name": "summit.html"}
    document = as_json(inspect(site, {}, **fields))
    assert document["name"] == "summit.html"
    assert [e["needed"] for e in document["events"]] == [True]  # type: ignore[union-attr]


# ---------------------------------------------------------------- the result first, plainly


def sections(page: str) -> list[str]:
    """The ids of the page's top-level parts, in order."""
    return re.findall(r'<(?:section|form) id="([^"]+)"', page)


def test_the_outcome_comes_first_then_the_registrants_then_the_changes(site: Site) -> None:
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    page = text_of(post(site, form_fields(case), upload(case)))
    assert sections(page) == ["outcome", "registrants", "changes", "convert-form"]
    outcome = page[page.index('<section id="outcome"') : page.index('<section id="registrants"')]
    assert '<h2 id="outcome-title">Converted</h2>' in outcome
    assert outcome.index('id="download"') < outcome.index('id="next-steps"')
    steps = re.findall(r"<li>(.*?)</li>", outcome[outcome.index('id="next-steps"') :])
    assert "<b>HTML</b> tab" in steps[0]
    assert "<b>Save before you leave the HTML tab.</b>" in steps[2]
    assert "<b>registered</b>" in steps[3] and "<b>not registered</b>" in steps[3]
    # the designer these steps use is gone from Dynamics since May 2026: said, with the way there
    note = outcome[outcome.index('id="outbound-note"') :]
    assert "removed from Dynamics 365 in May 2026" in note and "/journeys/add-to-calendar" in note
    changes = html.unescape(page[page.index('<section id="changes"') :])
    assert "The button 'Add to calendar' now downloads the calendar file of " \
        "ContosoCloudSummit2025_Day1; only contacts registered for that event see it." in changes
    assert "The QR code blocks were removed" in changes


@pytest.mark.parametrize(
    ("name", "fields", "title", "steps"),
    [
        pytest.param("patched-again", {}, "Nothing to change", False, id="unchanged"),
        pytest.param("plain", {}, "Nothing to do", False, id="not-applicable"),
    ],
)
def test_nothing_to_do_is_said_plainly_without_a_download(
    site: Site, name: str, fields: dict[str, str], title: str, steps: bool
) -> None:
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    data = case.expected.read_bytes() if name == "patched-again" else b"<p>Hello</p>\n"
    page = text_of(post(site, form_fields(case), {"email_file": ("e.html", data)}))
    assert f'<h2 id="outcome-title">{title}</h2>' in page
    assert ('id="download"' in page) is steps and ('id="next-steps"' in page) is steps


@pytest.mark.parametrize(
    ("data", "journeys"),
    [
        pytest.param(
            (FIXTURES / "unchanged/real-time-journeys-email/input.html").read_bytes(),
            True,
            id="real-time-journeys",
        ),
        pytest.param(b"<p>Hello {{contact.firstname}}</p>\n", False, id="outbound"),
    ],
)
def test_a_real_time_journeys_email_is_pointed_at_its_own_button(
    site: Site, data: bytes, journeys: bool
) -> None:
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    page = text_of(post(site, form_fields(case), {"email_file": ("e.html", data)}))
    advice = html.unescape(page[page.index('<p id="advice">') :].split("</p>")[0])
    said = (
        '<p id="advice">It looks like a real-time journeys email ({{FirstName}}, '
        "{{CompanyAddress}}, {{PreferenceCenter}}). Real-time journeys has its own Add to "
        "Calendar button: in its designer, set a Button's Link to > Add to Calendar and choose "
        'the event. <a href="https://learn.microsoft.com/en-us/dynamics365/customer-insights/'
        'journeys/add-to-calendar" rel="noreferrer">Microsoft\'s page on it</a>.'
    )
    assert (advice == said) is journeys, advice
    assert '<h2 id="outcome-title">Nothing to do</h2>' in page


def test_a_patched_email_uploaded_again_fills_its_own_ids(site: Site) -> None:
    """Without the script too: a converted email's events show the ids its links carry, and
    a Convert with its endpoint finds nothing to change."""
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    patched = {"email_file": ("summit.html", case.expected.read_bytes())}
    page = html.unescape(text_of(post(site, {"endpoint": "contoso.svc.dynamics.com"}, patched)))
    assert f'name="id-{DAY1}" value="ContosoCloudSummit2025_Day1"' in page
    assert f'name="session-{LABS}" value="{LABS_SESSION}"' in page
    assert '<h2 id="outcome-title">Nothing to change</h2>' in page
    # with no endpoint given, the one its links use is shown in the field, said so
    page = html.unescape(text_of(post(site, {}, patched)))
    assert 'id="endpoint" name="endpoint" value="contoso.svc.dynamics.com"' in page
    assert "Read from this email's calendar links." in page


def test_a_stale_link_is_said_in_decoded_terms_and_marked_in_the_diff(site: Site) -> None:
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    patched = {"email_file": ("summit.html", case.expected.read_bytes())}
    fields = {**form_fields(case), f"id-{DAY1}": "ContosoSummit2026_Day1"}
    page = text_of(post(site, fields, patched))
    assert '<h2 id="outcome-title">Converted: calendar links brought up to date</h2>' in page
    assert (
        '<li class="link-change"><code>readableEventId</code>: '
        "<del>ContosoCloudSummit2025_Day1</del> &rarr; <ins>ContosoSummit2026_Day1</ins></li>"
    ) in page
    marks = {
        (kind, tuple(re.findall(r"<mark>([^<]*)</mark>", line)))
        for kind, line in re.findall(r'<span class="(add|del)">([^\n]*)</span>', page)
    }
    assert ("del", ("Cloud", "5")) in marks and ("add", ("6",)) in marks


# ---------------------------------------------------------------- every problem at once


def test_every_settings_problem_is_said_at_once(site: Site) -> None:
    (case,) = [c for c in cases("patch") if c.name == MULTI]
    fields = {
        "endpoint": "http://contoso.svc.dynamics.com:8080",
        f"id-{DAY1}": DAY1,
        f"id-{LABS}": "",
        "fields": "oops\nmsevtmgt_checkin_url=x",
        "drop_fields": "registrationId",
    }
    response = post(site, fields, upload(case))
    assert response.status == 422
    page = html.unescape(text_of(response))
    listed = re.findall(r"<li>(?:<a href=\"#([^\"]*)\">)?", page[page.index('id="problems"') :])
    assert listed[:7] == ["endpoint", "endpoint", f"id-{DAY1}", f"id-{LABS}", "fields",
                          "fields", "drop_fields"]  # fmt: skip
    for said in (
        "Events API endpoint: only https:// is allowed, not http://.",
        "Events API endpoint: a port is not allowed.",
        "Event 1 (QR code at line 65): this is the event's GUID",
        "The readable event id of event 2 (QR code at line 100) is required.",
        "Data fields, line 1: 'oops': expected KEY=VALUE.",
        "Data fields, line 2: msevtmgt_checkin_url is reserved",
        "Leave out fields: registrationId cannot be left out: the Events API needs it.",
    ):
        assert said in page
        # and beside its field
        assert re.search(f'<p class="field-problem">{re.escape(said)}', page), said


# ---------------------------------------------------------------- a refusal, as a choice


def test_two_candidate_buttons_are_a_choice_named_by_label_and_line(
    site: Site, tmp_path: Path
) -> None:
    (case,) = [c for c in cases("refuse") if c.name == "ambiguous-two-buttons"]
    (guid,) = events_in(case.input.read_text("utf-8")).guids
    response = post(site, form_fields(case), upload(case))
    assert response.status == 422
    page = html.unescape(text_of(response))
    assert (
        "The two buttons 'Add to Outlook' (line 70) and 'Add to Google Calendar' (line 80) "
        "could each take the calendar link: choose one."
    ) in page
    radios = re.findall(
        r'<input type="radio" form="convert-form" name="([^"]*)" value="([^"]*)"> '
        r"<span>([^<]*)</span>",
        page,
    )
    assert radios == [
        (f"button-{guid}", "70:1", "'Add to Outlook' (line 70)"),
        (f"button-{guid}", "80:1", "'Add to Google Calendar' (line 80)"),
    ]
    assert 'id="convert-choice"' in page
    assert "<pre id=\"cli\">mailpatch patch" in page  # the command line, for those who want it
    # the choice converts as --button does, and is kept for the download
    chosen = {**form_fields(case), f"button-{guid}": "80:1"}
    download = post(site, chosen, upload(case), path="/download")
    out = tmp_path / "chosen.html"
    assert main(["patch", *case.args, "--button", "80:1", "-o", str(out), str(case.input)]) == 0
    assert download.status == 200 and download.body == out.read_bytes()
    page = html.unescape(text_of(post(site, chosen, upload(case))))
    assert f'<input type="hidden" name="button-{guid}" value="80:1">' in page
    assert "Calendar button chosen: 'Add to Google Calendar' (line 80)." in page
    assert "--button 80:1" in page[page.index('<pre id="cli">') :]


def _two_events_three_buttons() -> tuple[str, list[str]]:
    from pathological_inputs import guid, qr

    def button(label: str) -> str:
        return f'<div data-editorblocktype="Button"><a href="#">{label}</a></div>\n'

    text = qr(guid(0)) + button("A") + qr(guid(1)) + button("B") + button("C")
    return text, [guid(0), guid(1)]


def test_each_event_chooses_its_button_in_the_order_they_come(site: Site, tmp_path: Path) -> None:
    text, (first, second) = _two_events_three_buttons()
    files = {"email_file": ("two.html", text.encode())}
    fields = {"endpoint": "contoso.svc.dynamics.com", f"id-{first}": "One", f"id-{second}": "Two"}
    page = html.unescape(text_of(post(site, fields, files)))
    assert "Choose the calendar buttons" in page
    groups = re.findall(r'<legend>(The button for event \d \(\w+\))</legend>', page)
    assert groups == ["The button for event 1 (One)", "The button for event 2 (Two)"]
    lines = {label: str(n) for n, line in enumerate(text.split("\n"), 1)
             for label in "ABC" if f">{label}</a>" in line}  # fmt: skip
    backwards = {**fields, f"button-{first}": f"{lines['C']}:1",
                 f"button-{second}": f"{lines['B']}:1"}  # fmt: skip
    response = post(site, backwards, files)
    assert response.status == 422
    assert "The buttons go to the events in the order they come in the email" in html.unescape(
        text_of(response)
    )
    chosen = {**fields, f"button-{first}": f"{lines['A']}:1", f"button-{second}": f"{lines['C']}:1"}
    download = post(site, chosen, files, path="/download")
    (tmp_path / "two.html").write_text(text, "utf-8")
    out = tmp_path / "out.html"
    args = ["--endpoint", "contoso.svc.dynamics.com", "--event", f"{first}=One", "--event",
            f"{second}=Two", "--button", f"{lines['A']}:1", "--button",
            f"{lines['C']}:1"]  # fmt: skip
    assert main(["patch", *args, "-o", str(out), str(tmp_path / "two.html")]) == 0
    assert download.body == out.read_bytes()


def test_a_protected_button_is_named_and_force_is_one_press(site: Site) -> None:
    (case,) = [c for c in cases("refuse") if c.name == "protected-button"]
    page = html.unescape(text_of(post(site, form_fields(case), upload(case))))
    assert "The button 'Add to calendar' (line 83) is protected or locked in the designer" in page
    assert (
        '<button type="submit" form="convert-form" name="force" value="on" id="convert-force">'
        "Convert, changing the protected block</button>"
    ) in page
    # the checkbox in More options says what it is, without a flag
    label = re.search(r'<label class="check"><input type="checkbox" id="force".*?</label>', page)
    assert label is not None and "--force" not in label.group()
    assert "protected or locked" in label.group()


def test_the_command_line_on_the_page_converts_alike(site: Site, tmp_path: Path) -> None:
    import shlex

    (case,) = [c for c in cases("patch") if c.name == "custom-fields"]
    page = text_of(post(site, form_fields(case), upload(case)))
    shown = re.search(r'<pre id="cli">(.*?)</pre>', page, re.S)
    assert shown is not None
    words = shlex.split(html.unescape(shown.group(1)).replace("\\\n", " "))
    assert words[:2] == ["mailpatch", "patch"] and words[-1] == "input.html"
    (tmp_path / "input.html").write_bytes(case.input.read_bytes())
    assert main([*words[1:-1], str(tmp_path / "input.html")]) == 0
    download = post(site, form_fields(case), upload(case), path="/download")
    assert (tmp_path / "input.html").read_bytes() == download.body


def test_a_choice_too_large_for_a_page_is_not_offered(site: Site) -> None:
    """300 events that 20 Buttons could take: 6,000 radio buttons would be no choice at all;
    the page says mailpatch's reason instead."""
    from mailpatch.page._serve_view import MAX_CHOICES

    from pathological_inputs import ENDPOINT, guid, qr

    button = '<div data-editorblocktype="Button"><a href="#">Add</a></div>\n'
    email = "".join(qr(guid(i)) for i in range(300)) + button * 20
    fields = {"endpoint": ENDPOINT, **{f"id-{guid(i)}": f"ev-{i}" for i in range(300)}}
    response = post(site, fields, {"email_file": ("many.html", email.encode())})
    page = text_of(response)
    assert response.status == 422 and MAX_CHOICES < 300 * 20
    assert 'type="radio"' not in page and 'id="reason"' in page
