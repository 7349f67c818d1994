"""``mailpatch serve`` in a real browser: Debian's Chromium, headless, driven by Playwright.

No browser is downloaded: Playwright is pointed at /usr/bin/chromium (`.ci/run` installs it).
The server runs as a real subprocess; the test uploads a fixture, fills the readable ids the
page lists, reads the preview frames (the calendar button shown to the registered contact and
not to the unregistered one) and downloads the patched file, which must be byte for byte what
``mailpatch patch -o`` writes. Set MAILPATCH_SCREENSHOT=docs/preview.png to save the
screenshot the README shows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from mailpatch._patch import events_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Frame, Page, Route

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# the closed network refuses Chromium's own connections to Google: no background traffic
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # a foreign name that resolves to this machine: what DNS rebinding gives an attacker
    "--host-resolver-rules=MAP rebound.example 127.0.0.1",
]
MULTI_EVENT = ROOT / "fixtures" / "patch" / "multi-event"
ENDPOINT = "contoso.svc.dynamics.com"
IDS = {  # fixtures/patch/multi-event/options.json
    "0d2f4a6c-8e1b-ef11-a82e-000d3a4b5c6d": ("ContosoCloudSummit2025_Day1", ""),
    "5a7c9e1f-3b4d-ef11-a82e-000d3a4b5c6d": (
        "ContosoCloudSummit2025_Labs",
        "b3e1d7a2-4c6f-ef11-a82e-000d3a4b5c6d",
    ),
}
CALENDAR_LINK = 'a[href*="calendar/personal/ics"]'


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


_WHY = _missing()
if _WHY and os.environ.get("CI"):  # CI installs both: there, missing is a failure
    pytest.fail(f"the browser test cannot run in CI: {_WHY}", pytrace=False)
pytestmark = pytest.mark.skipif(_WHY is not None, reason=_WHY or "")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`mailpatch serve --port 0` as a subprocess; its URL. Stopped with Ctrl-C (SIGINT)."""
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailpatch", "serve", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"http://127\.0\.0\.1:\d+/", log.read_text())):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "mailpatch serve printed no URL"
            time.sleep(0.05)
        yield found.group()
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)
    said = log.read_text()
    assert code == 0 and "stopped." in said and "Traceback" not in said, said


@pytest.fixture
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def patch_o(source: Path, tmp_path: Path, *args: str) -> bytes:
    out = tmp_path / "cli.html"
    subprocess.run(
        [sys.executable, "-m", "mailpatch", "patch", *args, "-o", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


def patched_frames(page: Page) -> dict[str, Frame]:
    """The preview's patched-email frames, by contact ('No registration', …), each loaded
    (read from the page's iframe elements, not page.frames: a srcdoc frame is attached to
    the page a moment after the page's own elements are there)."""
    page.wait_for_load_state("load")  # after every frame of the page has loaded
    handle = page.locator("#preview").element_handle()  # the preview page, in its own frame
    preview = handle.content_frame()
    assert preview is not None
    preview.wait_for_load_state("load")
    out = {}
    for element in preview.locator('iframe[title^="Patched email for "]').element_handles():
        frame = element.content_frame()
        assert frame is not None
        frame.wait_for_load_state("load")
        title = element.get_attribute("title") or ""
        out[title.removeprefix("Patched email for ")] = frame
    return out


def download(page: Page, tmp_path: Path) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.click("#download")
    got = info.value
    target = tmp_path / "downloaded.html"
    got.save_as(target)
    return got.suggested_filename, target.read_bytes()


def test_convert_in_the_browser(server: str, browser: Browser, tmp_path: Path) -> None:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    left: list[str] = []  # requests for anywhere else that got past the page's policy

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.goto(server)
    assert page.title() == "mailpatch"

    # first submit: the email and the endpoint; the page lists the event GUIDs it found
    page.set_input_files("#email_file", str(MULTI_EVENT / "input.html"))
    page.fill("#endpoint", ENDPOINT)
    page.click("#convert")
    page.wait_for_selector("#events")
    assert "Fill in the readable event id" in page.inner_text("#notice")
    guids = sorted(events_in((MULTI_EVENT / "input.html").read_text("utf-8")).guids)
    assert guids == sorted(IDS)
    for guid, (readable, session) in IDS.items():
        page.fill(f"#id-{guid}", readable)
        page.fill(f"#session-{guid}", session)
    page.click("#convert")  # the email travels with the form: no new upload
    page.wait_for_selector("#status")
    assert "patched input.html (2 calendar buttons)" in page.inner_text("#status")
    assert page.locator("#diff .add").count() > 0

    # the preview: a registered contact gets the calendar button, an unregistered one none
    frames = patched_frames(page)
    assert "No registration" in frames, sorted(frames)
    assert frames["No registration"].locator(CALENDAR_LINK).count() == 0
    registered = [label for label in frames if label.startswith("Registered for")]
    assert registered, sorted(frames)
    for label in registered:
        assert frames[label].locator(CALENDAR_LINK).count() >= 1, label
    if os.environ.get("MAILPATCH_SCREENSHOT"):  # the README's picture (not in CI: no diff)
        shot = ROOT / os.environ["MAILPATCH_SCREENSHOT"]
        shot.parent.mkdir(parents=True, exist_ok=True)
        preview = frames[registered[0]].parent_frame  # the preview page, in its own frame
        assert preview is not None
        page.set_viewport_size({"width": 1280, "height": 1240})
        preview.locator("section.contact").nth(1).evaluate("e => e.scrollIntoView()")
        page.locator("#preview-section").evaluate("e => e.scrollIntoView()")
        page.wait_for_timeout(300)  # let the frames paint
        page.screenshot(path=str(shot))

    # the download: the original name, the bytes `mailpatch patch -o` writes
    name, data = download(page, tmp_path)
    expected = patch_o(
        MULTI_EVENT / "input.html",
        tmp_path,
        "--endpoint",
        ENDPOINT,
        *(a for g, (i, s) in IDS.items() for a in ("--event", f"{g}={i}" + (f"@{s}" if s else ""))),
    )
    assert name == "input.html"
    assert data == expected == (MULTI_EVENT / "expected.html").read_bytes()

    # the settings as configuration: pasted into a pyproject.toml, patch writes the same
    (tmp_path / "pyproject.toml").write_text(page.inner_text("#toml"), "utf-8")
    (tmp_path / "again.html").write_bytes((MULTI_EVENT / "input.html").read_bytes())
    subprocess.run(
        [sys.executable, "-m", "mailpatch", "patch", str(tmp_path / "again.html")],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "again.html").read_bytes() == expected

    # nothing left the machine: the email's remote images were stopped by the page's policy
    assert left == []
    context.close()


def test_bytes_are_kept_for_an_upload_and_normalised_for_a_paste(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """An upload keeps its BOM and CRLF; a paste arrives with the browser's CRLF (as the page
    says) and is patched as those bytes."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    bom = ROOT / "fixtures" / "patch" / "bom"
    (guid,) = events_in((bom / "input.html").read_text("utf-8-sig")).guids
    page.goto(server)
    page.set_input_files("#email_file", str(bom / "input.html"))
    page.click("#convert")
    page.fill("#endpoint", ENDPOINT)
    page.fill(f"#id-{guid}", "MargiesTravelExpo_SP_2025")
    page.click("#convert")
    page.wait_for_selector("#status")
    _, data = download(page, tmp_path)
    assert data == (bom / "expected.html").read_bytes() and data.startswith(b"\xef\xbb\xbf")

    source = ROOT / "fixtures" / "patch" / "bare-markers" / "input.html"
    (guid,) = events_in(source.read_text("utf-8")).guids
    page.goto(server)
    page.fill("#email_text", source.read_text("utf-8"))
    page.fill("#email_name", "summit.html")
    page.fill("#endpoint", ENDPOINT)
    page.click("#convert")
    page.fill(f"#id-{guid}", "LitwareDevConf2025_Seattle")
    page.click("#convert")
    page.wait_for_selector("#status")
    name, data = download(page, tmp_path)
    crlf = tmp_path / "summit.html"
    crlf.write_bytes(re.sub(rb"\r?\n", b"\r\n", source.read_bytes()))
    args = ("--endpoint", ENDPOINT, "--event-id", "LitwareDevConf2025_Seattle")
    assert name == "summit.html"
    assert data == patch_o(crlf, tmp_path, *args)
    context.close()


def test_a_rebound_name_is_refused(server: str, browser: Browser) -> None:
    """DNS rebinding: a page at another name that resolves to 127.0.0.1 gets no form."""
    page = browser.new_page()
    port = urlsplit(server).port
    response = page.goto(f"http://rebound.example:{port}/")
    assert response is not None and response.status == 421
    assert page.locator('input[name="token"]').count() == 0
    assert page.goto(f"http://localhost:{port}/").status == 200  # type: ignore[union-attr]
    page.close()
