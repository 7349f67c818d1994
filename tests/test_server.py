"""``mailpatch serve`` under load, over real sockets: many and slow clients, conversions over
their time or memory, signals mid-conversion. Servers run in a thread (make_server, with small
limits) or as a real ``mailpatch serve`` process (descriptor limits, signals); the slow and the
large conversions are genuinely heavy emails, under a small time or memory bound."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailpatch.page._server import Limits, SiteServer, make_server

from fixturecases import cases
from page_forms import BOUNDARY, cli_output, form_fields, multipart, upload
from pathological_inputs import BUTTON, ENDPOINT, GUID, qr

# slow (`pytest -m "not slow"` leaves it out; .ci/run runs it):
# a real server: sockets, worker processes, deadlines and signals
pytestmark = pytest.mark.slow

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc, sets another process's limits"
)

# ---------------------------------------------------------------- helpers


@contextlib.contextmanager
def serving(max_size: int = 20 * 1024 * 1024, **limits: float) -> Iterator[SiteServer]:
    """make_server in a thread, with its workers ready."""
    server = make_server(0, max_size, Limits(**limits))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(server.worker_pids) == server.limits.workers, "workers ready")
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def wait_for(ready: Callable[[], object], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.02)


def dense_email(size: int) -> bytes:
    """A registration email of ``size`` bytes dense in expressions: heavy to convert (patch,
    verify, diff and preview all walk it), as an agency's export could be."""
    line = "<p>Hi {{contact.firstname}}, see you at {{msevtmgt_event.msevtmgt_name}}</p>\n"
    body = line * (size // len(line))
    return f"<html><body>\n{qr()}{BUTTON}{body}</body></html>\n".encode()


@functools.cache
def heavy_email() -> bytes:
    """16 MB: patch, verify and diff alone take ~2 s here, whatever renders the preview."""
    return dense_email(16_000_000)


def wait_until_idle(workers: list[int]) -> None:
    """Until the workers (started, warming up) spend no CPU for a while: ready."""

    def still() -> bool:
        before = [cpu_seconds(p) for p in workers]
        time.sleep(0.2)
        return before == [cpu_seconds(p) for p in workers]

    wait_for(still, "the workers to be ready")


def wait_until_converting(workers: list[int] | set[int]) -> None:
    """Until one of the workers has spent 0.2 s of CPU more than now."""
    before = {pid: cpu_seconds(pid) for pid in workers}
    wait_for(lambda: any(cpu_seconds(p) > t + 0.2 for p, t in before.items()), "a conversion")


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float


def request(
    port: int, path: str = "/", data: bytes | None = None, timeout: float = 30, **headers: str
) -> Answer:
    start = time.monotonic()
    sent = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(sent, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return Answer(status, body, time.monotonic() - start)


def convert(server: SiteServer, email: bytes, path: str = "/") -> Answer:
    """The page's form for ``email`` (one event, its id given), as a browser posts it."""
    site = server.site
    fields = {"token": site.token, "endpoint": ENDPOINT, f"id-{GUID}": "ev-1"}
    body = multipart(fields, {"email_file": ("email.html", email)})
    kind = f"multipart/form-data; boundary={BOUNDARY}"
    return request(site.port, path, body, **{"Content-Type": kind})


def download_fixture(server: SiteServer, tmp_path: Path) -> None:
    """A small email's download is the bytes patch -o writes (the workers still work)."""
    (case,) = [c for c in cases("patch") if c.name == "crlf"]
    site = server.site
    body = multipart({"token": site.token, **form_fields(case)}, upload(case))
    kind = f"multipart/form-data; boundary={BOUNDARY}"
    answer = request(site.port, "/download", body, **{"Content-Type": kind})
    assert answer.status == 200
    assert answer.body == cli_output(case, tmp_path)


class InBackground(threading.Thread):
    """A call in a thread, its result kept."""

    def __init__(self, call: Callable[[], Answer]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.result: Answer | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:
            self.error = exc


def page_text(answer: Answer) -> str:
    return re.sub(r"\s+", " ", answer.body.decode("utf-8"))


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def closed_by_server(sock: socket.socket) -> bool:
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except ConnectionError:
        return True
    finally:
        sock.settimeout(timeout)


def started_request(port: int) -> socket.socket:
    """A connection that sends part of a request, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
    return sock


@dataclass
class ServeProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self, signum: int = signal.SIGINT, group: bool = False) -> tuple[int, float, str]:
        """Send the signal; the exit code, the seconds it took, what it said."""
        start = time.monotonic()
        if group:  # as the terminal sends Ctrl-C: to every process of the group
            os.killpg(self.proc.pid, signum)
        else:
            self.proc.send_signal(signum)
        code = self.proc.wait(30)
        return code, time.monotonic() - start, self.log.read_text()


@contextlib.contextmanager
def serve_process(tmp_path: Path, descriptors: int | None = None) -> Iterator[ServeProcess]:
    """`mailpatch serve --port 0` in a session of its own (as from a terminal)."""

    def limit() -> None:
        if descriptors is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors, descriptors))

    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailpatch", "serve", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=tmp_path,
            start_new_session=True,
            preexec_fn=limit,
        )
    try:
        found: list[str] = []
        wait_for(lambda: found.extend(re.findall(r"127\.0\.0\.1:(\d+)/", log.read_text())) or found
                 or proc.poll() is not None, "the URL")  # fmt: skip
        assert proc.poll() is None, log.read_text()
        server = ServeProcess(proc, int(found[0]), log)
        wait_for(lambda: len(children(proc.pid)) == 2, "two workers")
        wait_until_idle(children(proc.pid))
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---------------------------------------------------------------- many and slow clients


@linux_only
@pytest.mark.parametrize(
    "lowered", [False, True], ids=["low-limit-at-start", "limit-lowered-while-serving"]
)
def test_many_idle_connections_leave_the_page_answering(tmp_path: Path, lowered: bool) -> None:
    """Connections that send part of a request and wait: beyond the bound (or when accept()
    finds no descriptor), the oldest are closed; the page answers at once, the server does
    not spin, the terminal gets at most one line. (Before: EMFILE in a busy loop, 70 % of a
    core, and the page unanswered until the idle ones timed out a minute later.)"""
    limit = 48 if lowered else 64
    with serve_process(tmp_path, None if lowered else limit) as server:
        if lowered:  # the server's bound (64 connections) is now over what it can open
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.prlimit(server.proc.pid, resource.RLIMIT_NOFILE, (limit, hard))
        idle = [started_request(server.port) for _ in range(150)]
        cpu, start = cpu_seconds(server.proc.pid), time.monotonic()
        for _ in range(3):
            answer = request(server.port, timeout=5)
            assert answer.status == 200 and answer.seconds < 2
        time.sleep(2)
        spent = cpu_seconds(server.proc.pid) - cpu
        assert spent < 0.25 * (time.monotonic() - start), f"{spent} s of CPU"
        assert sum(map(closed_by_server, idle)) >= len(idle) - limit
        for sock in idle:
            sock.close()
        code, _, said = server.stop()
    assert code == 0 and "stopped." in said and "Traceback" not in said, said
    assert said.count("out of file descriptors") == lowered, said


@pytest.fixture(scope="module")
def shared() -> Iterator[SiteServer]:
    """One server for the tests that need no limit of their own, with a short deadline."""
    with serving(workers=1, request_seconds=1.5) as server:
        yield server


SLOW_SENDERS = {
    "silent": (b"", b""),
    "headers-line-by-line": (b"GET / HTTP/1.1\r\n", b"X-Slow: 1\r\n"),
    "body-byte-by-byte": (
        b"POST / HTTP/1.1\r\nHost: HOST\r\nContent-Length: 100000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n",
        b"a",
    ),
}


@pytest.mark.parametrize("start, trickle", SLOW_SENDERS.values(), ids=SLOW_SENDERS.keys())
def test_a_slow_request_is_cut_at_its_deadline(
    shared: SiteServer, start: bytes, trickle: bytes
) -> None:
    """Headers and body together within request_seconds of the connection, however steadily
    the client sends (before: 60 s per read, so a line every 20 s held it for ever). The page
    answers meanwhile."""
    port = shared.site.port
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    opened = time.monotonic()
    sock.sendall(start.replace(b"HOST", f"127.0.0.1:{port}".encode()))
    answered = False
    while not closed_by_server(sock):
        assert time.monotonic() - opened < 5, "the slow request was never cut"
        if trickle:
            with contextlib.suppress(ConnectionError):
                sock.sendall(trickle)
        if not answered:
            assert request(port, timeout=5).status == 200
            answered = True
        time.sleep(0.1)
    lasted = time.monotonic() - opened
    sock.close()
    assert 1.4 < lasted < 3, lasted
    assert answered


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: HOST\r\n\r\n", 200, id="get"),
        pytest.param(b"\r\nGET / HTTP/1.1\r\nHost: HOST\r\n\r\n", 200, id="blank-line-first"),
        pytest.param(b"GET / HTTP/1.1\nHost: HOST\n\n", 200, id="bare-newlines"),
        pytest.param(b"HEAD / HTTP/1.1\r\nHost: HOST\r\n\r\n", 405, id="head"),
        pytest.param(b"GET /x HTTP/1.0\r\nHost: HOST\r\n\r\n", 404, id="unknown-path"),
        pytest.param(b"GET / HTTP/1.0\r\n\r\n", 421, id="no-host"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: HOST\r\nHost: HOST\r\n\r\n", 421, id="two-hosts"),
        pytest.param(b"hello\r\n\r\n", 400, id="not-a-request-line"),
        pytest.param(b"GET / HTTP/2.0\r\nHost: HOST\r\n\r\n", 400, id="http-2"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: HOST\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
            431,
            id="long-header",
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: HOST\r\n" + b"X: a\r\n" * 101 + b"\r\n",
            431,
            id="many-headers",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: chunked\r\n\r\n",
            411,
            id="chunked",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: HOST\r\nContent-Length: 99999999999\r\n\r\n",
            413,
            id="too-large",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: HOST\r\nContent-Length: 5\r\n\r\nabcde",
            400,
            id="not-a-form",
        ),
    ],
)
def test_requests_as_http_server_read_them(shared: SiteServer, raw: bytes, status: int) -> None:
    port = shared.site.port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.replace(b"HOST", f"127.0.0.1:{port}".encode()))
        sock.shutdown(socket.SHUT_WR)  # all sent: a refused body is not waited for
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.0 {status} ".encode()), head
    length = re.search(rb"Content-Length: (\d+)", head)
    assert length is not None
    assert len(body) == (0 if raw.startswith(b"HEAD") else int(length.group(1)))


def test_beyond_the_bound_with_every_connection_answered_a_new_one_gets_503(
    tmp_path: Path,
) -> None:
    """No connection is still sending (the one open waits for its conversion): a new one is
    told 'busy' and closed at once, and the page answers again once there is room."""
    with serving(connections=1, workers=1, conversion_seconds=2) as server:
        slow = InBackground(lambda: convert(server, heavy_email()))
        workers = server.worker_pids
        slow.start()
        wait_until_converting(workers)
        answer = request(server.site.port, timeout=5)
        assert answer.status == 503 and answer.seconds < 1
        assert answer.body == b"mailpatch serve is busy: too many connections.\n"
        slow.join(10)
        assert slow.result is not None and slow.result.status == 422
        wait_for(lambda: request(server.site.port).status == 200, "the page again")


# ---------------------------------------------------------------- conversions


def test_a_conversion_over_its_time_is_stopped_and_the_page_answers_meanwhile(
    tmp_path: Path,
) -> None:
    """A real heavy email under a small time bound: its worker is killed at the bound and
    replaced; meanwhile the page and another conversion are answered."""
    with serving(conversion_seconds=1.0) as server:
        workers = set(server.worker_pids)
        slow = InBackground(lambda: convert(server, heavy_email()))
        slow.start()
        wait_until_converting(workers)
        assert request(server.site.port, timeout=5).status == 200
        download_fixture(server, tmp_path)
        assert slow.is_alive()  # both answered while it ran
        slow.join(10)
        assert slow.result is not None, slow.error
        assert slow.result.status == 422
        assert "This email took too long to convert (over 1 s)" in page_text(slow.result)
        assert slow.result.seconds < 4
        (killed,) = workers - set(server.worker_pids)
        assert not alive(killed)
        wait_for(lambda: len(server.worker_pids) == 2, "a new worker")
        download_fixture(server, tmp_path)


def test_a_conversion_over_its_memory_is_refused_plainly(tmp_path: Path) -> None:
    """An 8 MB email needs ~120 MB to convert; under an 80 MB bound it is refused in plain
    words, its worker replaced; a small email converts under the same bound."""
    with serving(conversion_memory=80 * 1024 * 1024) as server:
        download_fixture(server, tmp_path)
        workers = set(server.worker_pids)
        answer = convert(server, dense_email(8_000_000))
        assert answer.status == 422, page_text(answer)
        assert "needs more memory than the 80 MB this page allows" in page_text(answer)
        wait_for(lambda: len(set(server.worker_pids) - workers) == 1, "a new worker")
        download_fixture(server, tmp_path)


def test_more_conversions_than_workers_and_places_are_told_busy(tmp_path: Path) -> None:
    with serving(workers=1, waiting=0, conversion_seconds=5) as server:
        slow = InBackground(lambda: convert(server, heavy_email()))
        workers = server.worker_pids
        slow.start()
        wait_until_converting(workers)
        answer = convert(server, b"<p>another</p>")
        assert answer.status == 503 and answer.seconds < 1
        assert "converting other emails" in page_text(answer)
        assert request(server.site.port, timeout=5).status == 200
    slow.join(10)  # the server stopped: its worker was killed


def test_listing_an_emails_events_takes_a_worker_as_a_conversion_does(tmp_path: Path) -> None:
    """The page's /inspect (the events of an email as soon as it is chosen) runs in the
    conversion workers, under their bounds: with the one worker busy and no place to wait,
    it is told busy; once the worker is free, it answers."""
    with serving(workers=1, waiting=0, conversion_seconds=5) as server:
        slow = InBackground(lambda: convert(server, heavy_email()))
        workers = server.worker_pids
        slow.start()
        wait_until_converting(workers)
        answer = convert(server, qr().encode(), path="/inspect")
        assert answer.status == 503 and answer.seconds < 1
        assert "converting other emails" in page_text(answer)
        slow.join(10)
        answer = convert(server, qr().encode(), path="/inspect")
        assert answer.status == 200 and f'"guid": "{GUID}"'.encode() in answer.body


# ---------------------------------------------------------------- signals


@linux_only
@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-to-the-terminal-group", "sigterm-to-the-server"],
)
def test_a_signal_mid_conversion_stops_the_server_and_its_workers(
    tmp_path: Path, signum: int, group: bool
) -> None:
    with serve_process(tmp_path) as server:
        workers = children(server.proc.pid)
        token = re.search(rb'name="token" value="([^"]+)"', request(server.port).body)
        assert token is not None
        fields = {"token": token.group(1).decode(), "endpoint": ENDPOINT, f"id-{GUID}": "ev-1"}
        body = multipart(fields, {"email_file": ("email.html", heavy_email())})
        kind = f"multipart/form-data; boundary={BOUNDARY}"
        slow = InBackground(lambda: request(server.port, "/", body, **{"Content-Type": kind}))
        slow.start()
        wait_until_converting(workers)
        assert slow.is_alive()
        code, seconds, said = server.stop(signum, group)
        slow.join(10)
    assert code == 0 and seconds < 2, (code, seconds, said)
    assert said.rstrip().endswith("mailpatch serve: stopped."), said
    assert "Traceback" not in said, said
    assert not any(alive(p) for p in workers)
