"""``mailpatch serve`` in a real browser: Debian's Chromium, headless, driven by Playwright.

No browser is downloaded: Playwright is pointed at /usr/bin/chromium (`.ci/run` installs it).
The server runs as a real subprocess; the tests choose, drop or paste a fixture, fill the
readable ids the page lists at once, convert once, read the preview frames (the calendar button
shown to the registered contact and not to the unregistered one) and download the patched file,
which must be byte for byte what ``mailpatch patch -o`` writes; a refusal is answered with its
choice, a patched email fills its own ids, and the page holds at 700 pixels wide. Set
MAILPATCH_SCREENSHOT=docs/preview.png to save the screenshot the README shows, and
MAILPATCH_SHOTS=FOLDER for the narrow page's pictures.
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
    from playwright.sync_api import Browser, BrowserContext, Frame, Page, Route

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
# slow, left out by `pytest -m "not slow"` (.ci/run runs it): chromium driving `serve`
pytestmark = [pytest.mark.slow, pytest.mark.skipif(_WHY is not None, reason=_WHY or "")]


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
    """The page's patched-email frames, by contact ('No registration', …), each loaded (read
    from the iframe elements, not page.frames: a srcdoc frame is attached a moment after the
    page's own elements are there). One level: the page holds them directly."""
    page.wait_for_load_state("load")  # after every frame of the page has loaded
    out = {}
    for element in page.locator('iframe[title^="Patched email for "]').element_handles():
        frame = element.content_frame()
        assert frame is not None and frame.parent_frame == page.main_frame
        frame.wait_for_load_state("load")
        assert frame.locator("iframe").count() == 0  # no frame holding frames
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


def events_listed(page: Page) -> list[str]:
    """The events the page lists (their GUIDs), once the script has read the email."""
    page.wait_for_function(
        "() => { const t = document.getElementById('email-status').textContent;"
        " return t && !t.startsWith('Reading'); }"
    )
    return [row.get_attribute("data-guid") or "" for row in page.locator(".event").all()]


def in_view(page: Page, selector: str) -> bool:
    """Whether the element's top is inside the window, as the person sees it."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return 0 <= box["y"] < size["height"] and box["x"] + box["width"] <= size["width"]


def guarded(context: BrowserContext) -> list[str]:
    """Requests for anywhere but this machine, stopped and listed (none may leave)."""
    left: list[str] = []

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    return left


def test_one_event_in_one_step(server: str, browser: Browser, tmp_path: Path) -> None:
    """Choosing the file lists its event at once; one Convert converts it, and the outcome is
    the first thing in view, with its download and next steps."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    left = guarded(context)
    page = context.new_page()
    page.goto(server)
    assert page.title() == "mailpatch"
    bom = ROOT / "fixtures" / "patch" / "bom"
    (guid,) = events_in((bom / "input.html").read_text("utf-8-sig")).guids
    page.set_input_files("#email_file", str(bom / "input.html"))
    assert events_listed(page) == [guid]
    assert page.url == server  # listed by the script: no page was submitted
    assert "input.html" in page.inner_text("#email-status")
    assert page.evaluate("document.activeElement.id") == "endpoint"  # the first empty field
    page.fill("#endpoint", ENDPOINT)
    page.fill(f"#id-{guid}", "MargiesTravelExpo_SP_2025")
    page.click("#convert")
    page.wait_for_selector("#outcome")
    assert page.inner_text("#outcome-title") == "Converted"
    assert in_view(page, "#outcome") and in_view(page, "#download") and in_view(page, "#next-steps")
    assert "Save before you leave the HTML tab." in page.inner_text("#next-steps")
    assert not page.locator("#diff").is_visible()  # folded: for whoever wants it
    name, data = download(page, tmp_path)
    assert name == "input.html"
    assert data == (bom / "expected.html").read_bytes() and data.startswith(b"\xef\xbb\xbf")
    frames = patched_frames(page)
    assert frames["No registration"].locator(CALENDAR_LINK).count() == 0
    (registered,) = [label for label in frames if label.startswith("Registered for M")]
    assert frames[registered].locator(CALENDAR_LINK).count() == 1
    assert left == []
    context.close()


def test_two_events_in_one_step_and_the_tab_remembers(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1400})
    left = guarded(context)
    page = context.new_page()
    page.goto(server)
    page.set_input_files("#email_file", str(MULTI_EVENT / "input.html"))
    assert events_listed(page) == list(IDS)
    page.fill("#endpoint", ENDPOINT)
    for guid, (readable, session) in IDS.items():
        page.fill(f"#id-{guid}", readable)
        page.fill(f"#session-{guid}", session)
    page.click("#convert")
    page.wait_for_selector("#outcome")
    assert "two calendar buttons now download" in page.inner_text("#status")
    assert in_view(page, "#download")
    frames = patched_frames(page)
    assert frames["No registration"].locator(CALENDAR_LINK).count() == 0
    registered = [label for label in frames if label.startswith("Registered for")]
    assert registered and all(frames[r].locator(CALENDAR_LINK).count() >= 1 for r in registered)
    if os.environ.get("MAILPATCH_SCREENSHOT"):  # the README's picture (not in CI: no diff)
        shot = ROOT / os.environ["MAILPATCH_SCREENSHOT"]
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(300)  # let the frames paint
        page.screenshot(path=str(shot))
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
    page.click("#developer summary")
    (tmp_path / "pyproject.toml").write_text(page.inner_text("#toml"), "utf-8")
    (tmp_path / "again.html").write_bytes((MULTI_EVENT / "input.html").read_bytes())
    subprocess.run(
        [sys.executable, "-m", "mailpatch", "patch", str(tmp_path / "again.html")],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "again.html").read_bytes() == expected

    # the tab's next email: the endpoint and each event's ids are there already
    page.goto(server)
    assert page.input_value("#endpoint") == ENDPOINT
    page.set_input_files("#email_file", str(MULTI_EVENT / "input.html"))
    assert events_listed(page) == list(IDS)
    for guid, (readable, session) in IDS.items():
        assert page.input_value(f"#id-{guid}") == readable
        assert page.input_value(f"#session-{guid}") == session
    # nothing beyond the tab: another tab starts empty
    other = context.new_page()
    other.goto(server)
    assert other.input_value("#endpoint") == ""
    assert left == []
    context.close()


def test_every_missing_field_is_said_at_once_before_any_request(
    server: str, browser: Browser
) -> None:
    page = browser.new_page()
    page.goto(server)
    page.set_input_files("#email_file", str(MULTI_EVENT / "input.html"))
    guids = events_listed(page)
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    page.click("#convert")
    assert page.locator("#client-problems li").all_inner_texts() == [
        "Events API endpoint is required.",
        "Readable event id of event 1 is required.",
        "Readable event id of event 2 is required.",
    ]
    assert posted == [] and page.url == server
    invalid = page.locator(".invalid").evaluate_all("nodes => nodes.map(n => n.id)")
    assert invalid == ["endpoint", *(f"id-{g}" for g in guids)]
    page.close()


def test_a_refusal_is_a_choice_of_buttons(server: str, browser: Browser, tmp_path: Path) -> None:
    """Two buttons could take the link: the page names them by label and line, with a choice;
    choosing one converts as --button does."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    case = ROOT / "fixtures" / "refuse" / "ambiguous-two-buttons"
    page.goto(server)
    page.set_input_files("#email_file", str(case / "input.html"))
    (guid,) = events_listed(page)
    page.fill("#endpoint", ENDPOINT)
    page.fill(f"#id-{guid}", "LitwareDevConf2025")
    page.click("#convert")
    page.wait_for_selector("#outcome")
    assert page.inner_text("#outcome-title") == "Choose the calendar button"
    assert "'Add to Outlook' (line 70) and 'Add to Google Calendar' (line 80)" in page.inner_text(
        "#status"
    )
    assert in_view(page, "#convert-choice")
    page.get_by_label("'Add to Google Calendar' (line 80)").check()
    page.click("#convert-choice")
    page.wait_for_selector("#download")
    assert page.inner_text("#outcome-title") == "Converted"
    _, data = download(page, tmp_path)
    assert data == patch_o(case / "input.html", tmp_path, "--endpoint", ENDPOINT,
                           "--event-id", "LitwareDevConf2025", "--button", "80:1")  # fmt: skip
    context.close()


def test_a_patched_email_fills_its_endpoint_and_ids(server: str, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(server)
    page.set_input_files("#email_file", str(MULTI_EVENT / "expected.html"))
    assert events_listed(page) == list(IDS)
    assert page.input_value("#endpoint") == ENDPOINT
    assert page.inner_text("#endpoint-note") == "Read from this email's calendar links."
    for guid, (readable, session) in IDS.items():
        assert page.input_value(f"#id-{guid}") == readable
        assert page.input_value(f"#session-{guid}") == session
    assert page.locator(".event .note").count() == 2
    page.click("#convert")
    page.wait_for_selector("#outcome")
    assert page.inner_text("#outcome-title") == "Nothing to change"
    page.close()


def test_a_dropped_email_is_the_email(server: str, browser: Browser, tmp_path: Path) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(server)
    source = ROOT / "fixtures" / "patch" / "crlf" / "input.html"
    (guid,) = events_in(source.read_text("utf-8")).guids
    dropped = page.evaluate_handle(
        "text => { const t = new DataTransfer();"
        " t.items.add(new File([text], 'dropped.html', {type: 'text/html'})); return t; }",
        source.read_bytes().decode("utf-8"),  # CRLF kept: a File holds the string as it is
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dropped})
    assert events_listed(page) == [guid]
    page.fill("#endpoint", ENDPOINT)
    page.fill(f"#id-{guid}", "ContosoSummit2026")
    page.click("#convert")
    page.wait_for_selector("#download")
    name, data = download(page, tmp_path)
    assert name == "dropped.html"
    assert data == patch_o(source, tmp_path, "--endpoint", ENDPOINT, "--event-id",
                           "ContosoSummit2026")  # fmt: skip
    context.close()


@pytest.mark.parametrize("step", ["form", "result", "refusal"])
def test_the_page_at_700_pixels(server: str, browser: Browser, step: str) -> None:
    """A narrow window: nothing wider than it, the frames one above the other, the outcome in
    view."""
    page = browser.new_page(viewport={"width": 700, "height": 900})
    page.goto(server)
    email = MULTI_EVENT / "input.html"
    if step == "refusal":
        email = ROOT / "fixtures" / "refuse" / "ambiguous-two-buttons" / "input.html"
    page.set_input_files("#email_file", str(email))
    guids = events_listed(page)
    if step != "form":
        page.fill("#endpoint", ENDPOINT)
        for guid in guids:
            page.fill(f"#id-{guid}", IDS.get(guid, ("LitwareDevConf2025", ""))[0])
        page.click("#convert")
        page.wait_for_selector("#outcome")
        assert in_view(page, "#outcome-title")
        assert in_view(page, "#download" if step == "result" else "#convert-choice")
    assert page.evaluate("document.documentElement.scrollWidth") <= 700
    if step == "result":
        before, after = (
            page.locator("#contact-1 iframe").nth(i).bounding_box() for i in range(2)
        )
        assert before is not None and after is not None and after["y"] > before["y"]
    shots = os.environ.get("MAILPATCH_SHOTS")  # a folder: every step's picture, to look at
    if shots:
        page.screenshot(path=str(Path(shots) / f"700-{step}.png"), full_page=True)
    page.close()


def test_bytes_are_kept_for_an_upload_and_normalised_for_a_paste(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """A paste is listed at once too, and arrives with the browser's CRLF (as the page says)
    and is patched as those bytes."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    source = ROOT / "fixtures" / "patch" / "bare-markers" / "input.html"
    (guid,) = events_in(source.read_text("utf-8")).guids
    page.goto(server)
    assert not page.locator("#email_name").is_visible()  # a pasted email's name only
    page.fill("#email_text", source.read_text("utf-8"))
    page.fill("#email_name", "summit.html")
    assert events_listed(page) == [guid]
    page.fill("#endpoint", ENDPOINT)
    page.fill(f"#id-{guid}", "LitwareDevConf2025_Seattle")
    page.click("#convert")
    page.wait_for_selector("#download")
    name, data = download(page, tmp_path)
    crlf = tmp_path / "summit.html"
    crlf.write_bytes(re.sub(rb"\r?\n", b"\r\n", source.read_bytes()))
    args = ("--endpoint", ENDPOINT, "--event-id", "LitwareDevConf2025_Seattle")
    assert name == "summit.html"
    assert data == patch_o(crlf, tmp_path, *args)
    context.close()


def test_without_its_script_the_page_converts_in_two_submits(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """Scripts off: the first Convert lists the events and asks for the ids, the second
    converts; the download is the same."""
    context = browser.new_context(accept_downloads=True, java_script_enabled=False)
    page = context.new_page()
    page.goto(server)
    page.set_input_files("#email_file", str(MULTI_EVENT / "input.html"))
    page.fill("#endpoint", ENDPOINT)
    page.click("#convert")
    page.wait_for_selector("#problems")
    assert [row.get_attribute("data-guid") for row in page.locator(".event").all()] == list(IDS)
    for guid, (readable, session) in IDS.items():
        page.fill(f"#id-{guid}", readable)
        page.fill(f"#session-{guid}", session)
    page.click("#convert")  # the email travels with the form: no new upload
    page.wait_for_selector("#download")
    _, data = download(page, tmp_path)
    assert data == (MULTI_EVENT / "expected.html").read_bytes()
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
