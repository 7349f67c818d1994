"""The socket layer of ``mailpatch serve``: connections, deadlines and conversion workers.

One event loop holds every connection; what a client may take is bounded, so that slow or
many clients cannot take the page from its person:

- a request (its headers and its body together) must arrive within ``request_seconds`` of its
  connection, or the connection is closed;
- at most ``connections`` are open at once (fewer under a low descriptor limit); beyond that
  the oldest one still sending its request is closed for the new one, or, when every one is
  being answered, the new one is told 503; when accept() finds no descriptor all the same,
  the oldest unfinished connections are closed for the waiting ones, or accepting pauses for a
  second (never a busy loop, a line a minute at most in the terminal);
- each conversion (a POST to / or /download: form, patch, verify, preview, page; or to
  /inspect: the events an email holds) runs in a worker process that the loop kills at
  ``conversion_seconds``, whose address space is bounded, and that is replaced when it dies;
  at most ``workers`` run and ``waiting`` more wait their turn, others are answered 503 at
  once.

SIGINT and SIGTERM stop the loop, which kills the workers mid-conversion. The routes stay in
``mailpatch.page._serve``; only plain data (the request, the response) crosses to a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, replace
from email.utils import formatdate
from http import HTTPStatus
from http.client import HTTPException, HTTPMessage, parse_headers
from pathlib import Path
from typing import Any, BinaryIO

import mailpatch
from mailpatch import __version__
from mailpatch._files import DEFAULT_MAX_SIZE
from mailpatch.page._serve import (
    _DIGITS,
    HOST,
    Form,
    Request,
    Response,
    Site,
    body_limit,
    convert,
    handle,
    message_page,
    page_script,
    refuse_host,
    refuse_length,
)
from mailpatch.page._templates import environment

MIB = 1024 * 1024
CONVERSION_PATHS = ("/", "/download", "/inspect")  # each in a worker, bounded alike


@dataclass(frozen=True)
class Limits:
    """What one client or one email may take from the server."""

    request_seconds: float = 30.0  # headers and body of a request, from its connection on
    connections: int = 64  # open at once (a browser uses a handful)
    conversion_seconds: float = 60.0  # wall clock of one conversion in its worker
    conversion_memory: int | None = None  # a worker's address space; None: from max_size
    workers: int = 2  # a one-person tool on a small machine: one slow email leaves one free
    waiting: int = 2  # conversions queued behind the running ones; each holds its body

    def memory(self, max_size: int) -> int:
        """A worker's address space: room for the largest email's conversion and page."""
        return self.conversion_memory or max(1024 * MIB, 100 * max_size)


# ---------------------------------------------------------------- reading a request

# the request line and headers: browsers send a few KB; localhost cookies of other local
# servers come along, so room for some
_HEAD_LIMIT = 64 * 1024


class _Refused(Exception):
    """A request answered without reaching the routes (malformed, too large a head)."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass(frozen=True)
class Head:
    method: str
    target: str
    headers: HTTPMessage

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def plain_headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}


def _bad_request(text: str, status: int = HTTPStatus.BAD_REQUEST) -> _Refused:
    return _Refused(message_page(status, HTTPStatus(status).phrase, text, back=False))


def parse_head(lines: list[bytes]) -> Head:
    """The request line and header lines (each with its line ending), as http.server reads
    them; _Refused for what it would refuse."""
    words = lines[0].decode("iso-8859-1").rstrip("\r\n").split()
    if len(words) != 3:
        raise _bad_request("The request line is not METHOD PATH HTTP/1.x.")
    method, target, version = words
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise _bad_request(f"{version!r} is not answered here: HTTP/1.0 or HTTP/1.1.")
    try:
        headers = parse_headers(io.BytesIO(b"".join(lines[1:]) + b"\r\n"))
    except HTTPException:
        raise _bad_request(
            "The request has too many headers.", HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        ) from None
    return Head(method, target, headers)


async def read_head(reader: asyncio.StreamReader) -> Head:
    """Lines up to the blank one that ends the headers, within _HEAD_LIMIT; EOF before it:
    IncompleteReadError (the client went away, nothing to answer)."""
    lines: list[bytes] = []
    size = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # a line over the reader's limit
            line = b""
            size = _HEAD_LIMIT + 1
        else:
            if not line.endswith(b"\n"):
                raise asyncio.IncompleteReadError(line, None)
            size += len(line)
        if size > _HEAD_LIMIT:
            raise _bad_request(
                "The request's headers are too large.", HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            )
        if line.strip(b"\r\n"):
            lines.append(line)
        elif lines:  # a blank line: the end of the headers (one before the request line is skipped)
            return parse_head(lines)


async def drain(reader: asyncio.StreamReader, length: str | None, site: Site) -> None:
    """Read and drop a body that is not used (up to a bound), so the browser sees the answer
    instead of a connection reset."""
    if length is None or not _DIGITS.fullmatch(length.strip()):
        return
    left = min(int(length), 8 * body_limit(site.max_size))
    while left > 0:
        chunk = await reader.read(min(left, MIB))
        if not chunk:
            return
        left -= len(chunk)


def response_bytes(response: Response, head_only: bool = False) -> bytes:
    lines = [
        f"HTTP/1.0 {response.status} {HTTPStatus(response.status).phrase}",
        f"Server: mailpatch/{__version__}",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        *(f"{name}: {value}" for name, value in response.headers),
        "Connection: close",
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


# beyond the connection bound, with no connection still sending to close instead
_TOO_MANY = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 47\r\nConnection: close\r\n\r\n"
    b"mailpatch serve is busy: too many connections.\n"
)


# ---------------------------------------------------------------- the worker processes

# a frame: two big-endian lengths (JSON header, body), the header, the body
_SIZES = struct.Struct(">QQ")
_READY = b"mailpatch-worker-ready\n"
_START_SECONDS = 60.0  # an interpreter start and the warm-up conversion, on a loaded machine
_WORKER_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from mailpatch.page._server import worker_main; worker_main(sys.argv[2:])"
)


def frame(meta: dict[str, Any], body: bytes) -> tuple[bytes, bytes]:
    header = json.dumps(meta).encode("utf-8")
    return _SIZES.pack(len(header), len(body)) + header, body


def job_meta(site: Site, request: Request) -> dict[str, Any]:
    return {
        "site": [site.port, site.token, site.max_size],
        "method": request.method,
        "path": request.path,
        "headers": dict(request.headers),
    }


class WorkerError(Exception):
    """A worker could not start."""


class Worker:
    """One conversion process, spoken to over its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, memory: int, seconds: float) -> Worker:
        # -P: the current folder (where the email may come from) is not searched for modules;
        # the package is imported from where this one was
        root = str(Path(mailpatch.__file__).resolve().parent.parent)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-P",
                "-c",
                _WORKER_CODE,
                root,
                str(memory),
                repr(seconds),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=MIB,
                # out of the terminal's process group: Ctrl-C reaches the server alone (not a
                # worker still importing), and the server stops its workers
                start_new_session=True,
            )
        except OSError as exc:
            raise WorkerError(f"cannot start a conversion process: {exc}") from None
        worker = cls(process)
        try:
            async with asyncio.timeout(_START_SECONDS):
                ready = await worker._stdout.readexactly(len(_READY))
        except BaseException as exc:
            await worker.kill()
            if isinstance(exc, (asyncio.IncompleteReadError, TimeoutError)):
                raise WorkerError(f"a conversion process did not start ({exc!r})") from None
            raise
        if ready != _READY:
            await worker.kill()
            raise WorkerError("a conversion process answered out of turn")
        return worker

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def _stdout(self) -> asyncio.StreamReader:
        assert self.process.stdout is not None
        return self.process.stdout

    async def run(self, meta: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        stdin = self.process.stdin
        assert stdin is not None
        head, body = frame(meta, body)
        stdin.write(head)
        stdin.write(body)
        await stdin.drain()
        sizes = await self._stdout.readexactly(_SIZES.size)
        header_size, body_size = _SIZES.unpack(sizes)
        answer = json.loads(await self._stdout.readexactly(header_size))
        return answer, await self._stdout.readexactly(body_size)

    async def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()


class Conversions:
    """The worker processes and the conversions waiting for one."""

    def __init__(self, limits: Limits, max_size: int) -> None:
        self.limits = limits
        self.memory = limits.memory(max_size)
        self._slots = asyncio.Semaphore(limits.workers)
        self._admitted = 0
        self._idle: list[Worker] = []
        self._starting: deque[asyncio.Task[Worker]] = deque()
        self._busy: set[Worker] = set()
        self._closing = False

    @property
    def pids(self) -> list[int]:
        """The workers ready or converting."""
        started = [t.result() for t in self._starting if t.done() and _started(t)]
        return [w.pid for w in [*started, *self._idle, *self._busy] if w.process.returncode is None]

    def prestart(self) -> None:
        for _ in range(self.limits.workers):
            self._start_one()

    def _start_one(self) -> None:
        task = asyncio.ensure_future(Worker.start(self.memory, self.limits.conversion_seconds))
        task.add_done_callback(_started)
        self._starting.append(task)

    async def _worker(self) -> Worker:
        if self._idle:
            return self._idle.pop()
        if self._starting:
            return await self._starting.popleft()
        return await Worker.start(self.memory, self.limits.conversion_seconds)

    def admit(self) -> bool:
        """A place for one more conversion (running or waiting); False: answer 'busy'."""
        if self._admitted >= self.limits.workers + self.limits.waiting:
            return False
        self._admitted += 1
        return True

    def release(self) -> None:
        self._admitted -= 1

    async def convert(self, site: Site, request: Request) -> Response:
        """The routes' answer to a conversion request, from a worker (admitted first)."""
        async with self._slots:
            try:
                worker = await self._worker()
            except WorkerError as exc:
                print(f"mailpatch serve: {exc}", file=sys.stderr)
                return _internal_error()
            self._busy.add(worker)
            try:
                async with asyncio.timeout(self.limits.conversion_seconds):
                    answer, body = await worker.run(job_meta(site, request), request.body)
            except TimeoutError:
                await self._replace(worker)
                return _too_slow(self.limits.conversion_seconds)
            except (asyncio.IncompleteReadError, ConnectionError):
                await self._replace(worker)
                if not self._closing:
                    code = worker.process.returncode
                    print(
                        f"mailpatch serve: a conversion process stopped (exit status {code}); "
                        "another replaces it",
                        file=sys.stderr,
                    )
                return _internal_error()
            except BaseException:
                await self._replace(worker)
                raise
            self._busy.discard(worker)
            failure = answer.get("failure")
            if failure == "memory":
                await self._replace(worker)  # it stops after a MemoryError: its state is suspect
                return _too_much_memory(self.memory)
            self._idle.append(worker)
            if failure is not None:
                return _internal_error()
            headers = tuple((str(k), str(v)) for k, v in answer["headers"])
            return Response(int(answer["status"]), body, str(answer["content_type"]), headers)

    async def _replace(self, worker: Worker) -> None:
        self._busy.discard(worker)
        await worker.kill()
        if not self._closing:
            self._start_one()

    async def close(self) -> None:
        """Kill every worker, mid-conversion or not."""
        self._closing = True
        starting = list(self._starting)
        self._starting.clear()
        for task in starting:
            task.cancel()  # a start under way kills its process
        started = await asyncio.gather(*starting, return_exceptions=True)
        workers = [*(w for w in started if isinstance(w, Worker)), *self._idle, *self._busy]
        self._idle.clear()
        await asyncio.gather(*(w.kill() for w in workers), return_exceptions=True)


def _started(task: asyncio.Task[Worker]) -> bool:
    """Whether a finished start gave a worker (a failure is said when a conversion asks
    for this worker; reading it here keeps asyncio from calling it never retrieved)."""
    return not task.cancelled() and task.exception() is None


def _internal_error() -> Response:
    return message_page(500, "Internal error", "mailpatch failed; the terminal shows why.")


def _too_slow(seconds: float) -> Response:
    return message_page(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "Too slow to convert",
        f"This email took too long to convert (over {seconds:g} s), so its conversion was "
        "stopped.",
    )


def _too_much_memory(memory: int) -> Response:
    return message_page(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "Too large to convert",
        f"Converting this email needs more memory than the {memory // MIB:,} MB this page allows "
        "a conversion, so it was stopped.",
    )


def _busy() -> Response:
    return message_page(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "Busy",
        "mailpatch is converting other emails; submit again in a moment.",
    )


# ---------------------------------------------------------------- inside a worker

# the smallest email the page converts in full (patch, verify, preview): run once at start, so
# the modules, the page templates and the renderer are ready before the first real email
_WARM_UP_GUID = "e4b81d2f-0a6c-ee11-9079-6045bd8e1f20"
_WARM_UP_EMAIL = f"""<html><body>
<div data-editorblocktype="ERQRCode">
<!--{{{{#each contact.msevtmgt_eventregistration_contact_msevtmgt_contactid }}}}-->
<!--{{{{#if (eq this.msevtmgt_eventid '{_WARM_UP_GUID}')}}}}-->
<img id="base64image" src="{{{{this.msevtmgt_qrcode}}}}" alt="Event registration QR code">
<!--{{{{/if}}}}-->
<!--{{{{/each}}}}-->
</div>
<div data-editorblocktype="Button" align="center" class="buttonWrapper">\
<a class="buttonClass" href="#"><span>Add to calendar</span></a></div>
<div data-editorblocktype="Text"><p>Hi {{{{contact.firstname}}}}</p></div>
</body></html>
""".encode()


def _warm_up() -> None:
    form = Form(
        {"endpoint": "contoso.svc.dynamics.com", f"id-{_WARM_UP_GUID}": "warm-up"},
        {"email_file": ("warm-up.html", _WARM_UP_EMAIL)},
    )
    with contextlib.suppress(Exception):  # the first real conversion will say what is wrong
        convert(Site(0), form)


def _limit_memory(memory: int) -> None:
    if sys.platform == "win32":
        return
    import resource

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        memory = min(memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory, hard))


def _limit_cpu(seconds: float) -> None:
    """A worker whose server died (SIGKILL: no one to kill it) stops by itself: a conversion
    may use its deadline's worth of CPU and a little more."""
    if sys.platform == "win32":
        return
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + 5
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def worker_main(argv: list[str]) -> None:
    """A conversion process: requests in on stdin, responses out on stdout, until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers
    memory, seconds = int(argv[0]), float(argv[1])
    jobs = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break a frame
    _warm_up()
    _limit_memory(memory)

    def send(meta: dict[str, Any], body: bytes = b"") -> None:
        head, body = frame(meta, body)
        answers.write(head)
        answers.write(body)
        answers.flush()

    answers.write(_READY)
    answers.flush()
    while True:
        sizes = _read_exactly(jobs, _SIZES.size)
        if sizes is None:
            return  # the server closed the pipe
        header_size, body_size = _SIZES.unpack(sizes)
        header, body = _read_exactly(jobs, header_size), _read_exactly(jobs, body_size)
        if header is None or body is None:
            return
        meta = json.loads(header)
        port, token, max_size = meta["site"]
        site = Site(port, token=token, max_size=max_size)
        _limit_cpu(seconds)
        failure = None
        try:
            response = handle(site, Request(meta["method"], meta["path"], meta["headers"], body))
        except MemoryError:
            failure = "memory"
        except Exception:  # a bug: the user gets a page, the terminal the traceback
            traceback.print_exc()
            failure = "error"
        del body  # (and, out of the except clauses, what the traceback held)
        if failure is not None:
            send({"failure": failure})
            if failure == "memory":
                return  # its state is suspect: the server starts another
            continue
        send(
            {
                "status": int(response.status),
                "content_type": response.content_type,
                "headers": list(response.headers),
            },
            response.body,
        )


# ---------------------------------------------------------------- the server


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    writer: asyncio.StreamWriter | None = None  # once its transport is set up
    reading: bool = True  # still sending its request: may be closed for a newer one
    closed: bool = False  # answered and closed in good order

    def close(self) -> None:
        if self.closed:
            return  # (aborting a transport closed after a write fails on asyncio's side)
        if self.writer is not None:
            self.writer.transport.abort()
        else:
            self.sock.close()


# descriptors kept free of connections: standard streams, the listening socket, the event
# loop's own, two pipes per worker, templates and modules opened late
_RESERVED_DESCRIPTORS = 32
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_ACCEPT_BURST = 64  # connections taken per turn of the loop; the rest wait in the backlog
_FREED_PER_SHORTAGE = 8  # connections closed when accept() finds no descriptor left


def connection_bound(limits: Limits) -> int:
    """limits.connections, lowered to stay under the process's descriptor limit."""
    if sys.platform == "win32":
        return limits.connections
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return limits.connections
    return max(1, min(limits.connections, soft - _RESERVED_DESCRIPTORS))


class SiteServer:
    """mailpatch serve's server: listening from its creation, answering in serve_forever
    until shutdown() (from another thread) or SIGINT/SIGTERM (in the main thread)."""

    def __init__(self, listener: socket.socket, site: Site, limits: Limits) -> None:
        self.listener, self.site, self.limits = listener, site, limits
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_asked = False
        self._finished = threading.Event()
        self._open: dict[_Connection, None] = {}  # oldest first
        self._bound = connection_bound(limits)
        self._conversions: Conversions | None = None
        self._accepting = False
        self._warned = -3600.0

    @property
    def worker_pids(self) -> list[int]:
        conversions = self._conversions
        return conversions.pids if conversions else []

    def serve_forever(self) -> None:
        try:
            asyncio.run(self._serve())
        finally:
            self._finished.set()

    def shutdown(self) -> None:
        with self._lock:
            self._stop_asked = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(stop.set)
            self._finished.wait()

    def server_close(self) -> None:
        self.listener.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        with self._lock:
            if self._stop_asked:
                return
            self._loop, self._stop = loop, stop
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                # Windows has none: Ctrl-C is a KeyboardInterrupt there
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, stop.set)
        self._conversions = conversions = Conversions(self.limits, self.site.max_size)
        conversions.prestart()
        templates = environment()
        for name in templates.list_templates():  # read now, not when descriptors run out
            templates.get_template(name)
        page_script()
        self.listener.setblocking(False)
        self._listen(True)
        try:
            await stop.wait()
        finally:
            self._listen(False)
            for connection in list(self._open):
                self._forget(connection)
            await conversions.close()

    # ------------------------------------------------------------ accepting

    def _listen(self, on: bool) -> None:
        loop = self._loop
        assert loop is not None
        if on and not self._accepting and not (self._stop and self._stop.is_set()):
            loop.add_reader(self.listener.fileno(), self._accept)
        elif not on and self._accepting:
            loop.remove_reader(self.listener.fileno())
        self._accepting = on

    def _listen_again(self, after: float) -> None:
        """Stop accepting, and start again in ``after`` seconds (0: on the loop's next turn,
        once the descriptors of connections closed now are free)."""
        loop = self._loop
        assert loop is not None
        self._listen(False)
        if after:
            loop.call_later(after, self._listen, True)
        else:
            loop.call_soon(self._listen, True)

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BURST):
            full = len(self._open) >= self._bound
            if full and (self._close_oldest_unfinished(1) or self._setting_up()):
                self._listen_again(0)  # the new one is accepted once a place is free
                return
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                self._cannot_accept(exc)
                return
            if full:  # every open connection is being answered: this one is told so
                with contextlib.suppress(OSError):
                    sock.setblocking(False)
                    sock.send(_TOO_MANY)
                sock.close()
                continue
            self._connect(sock)

    def _cannot_accept(self, exc: OSError) -> None:
        """accept() failed. Out of descriptors: close the oldest unfinished connections for
        the waiting ones, or (none) wait a second; anything else: wait a second. Never a busy
        loop, and a line a minute at most."""
        closed = 0
        if exc.errno in _OUT_OF_RESOURCES:
            closed = self._close_oldest_unfinished(_FREED_PER_SHORTAGE)
            said = (
                f"out of file descriptors ({exc.strerror}) with {len(self._open) + closed} "
                "connections open; closing the oldest unfinished"
            )
        else:
            said = f"cannot accept a connection ({exc.strerror or exc})"
        self._listen_again(0 if closed else 1.0)
        if time.monotonic() - self._warned > 60:
            self._warned = time.monotonic()
            print(f"mailpatch serve: {said}", file=sys.stderr)

    def _close_oldest_unfinished(self, count: int) -> int:
        oldest = [c for c in self._open if c.reading and c.writer is not None][:count]
        for connection in oldest:
            self._forget(connection)
        return len(oldest)

    def _setting_up(self) -> bool:
        """Connections accepted on this turn of the loop: closable on the next one."""
        return any(c.writer is None for c in self._open)

    def _forget(self, connection: _Connection) -> None:
        self._open.pop(connection, None)
        connection.close()

    def _connect(self, sock: socket.socket) -> None:
        connection = _Connection(sock)
        self._open[connection] = None
        loop = self._loop
        assert loop is not None
        loop.create_task(self._client(connection))

    async def _client(self, connection: _Connection) -> None:
        try:
            reader, connection.writer = await asyncio.open_connection(
                sock=connection.sock, limit=_HEAD_LIMIT
            )
            await self._exchange(reader, connection)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went away, or ran out of time
        except Exception:  # a bug: the terminal shows it, the loop goes on
            traceback.print_exc()
        finally:
            self._forget(connection)

    async def _exchange(self, reader: asyncio.StreamReader, connection: _Connection) -> None:
        """Read one request within the deadline, answer it, close."""
        site, limits = self.site, self.limits
        deadline = asyncio.get_running_loop().time() + limits.request_seconds
        head_only = False
        try:
            async with asyncio.timeout_at(deadline):
                head = await read_head(reader)
        except _Refused as refused:
            response = refused.response
        else:
            head_only = head.method == "HEAD"
            routed = self._route(head)
            length = head.headers.get("Content-Length")
            if isinstance(routed, Response):
                response = routed
                try:
                    async with asyncio.timeout_at(deadline):
                        await drain(reader, length, site)
                except TimeoutError:
                    pass  # answered all the same
            else:
                conversions = self._conversions
                assert conversions is not None
                try:
                    async with asyncio.timeout_at(deadline):
                        body = await reader.readexactly(int(length or 0))
                    connection.reading = False
                    response = await conversions.convert(site, replace(routed, body=body))
                finally:
                    conversions.release()
        connection.reading = False
        writer = connection.writer
        assert writer is not None
        writer.write(response_bytes(response, head_only))
        async with asyncio.timeout(limits.request_seconds):
            writer.close()
            await writer.wait_closed()
        connection.closed = True

    def _route(self, head: Head) -> Response | Request:
        """The answer to give now, or the request (its body to come) of an admitted
        conversion."""
        site = self.site
        hosts = head.headers.get_all("Host") or []
        refused = refuse_host(site, hosts[0] if len(hosts) == 1 else None)
        if refused is not None:
            return refused
        request = Request(head.method, head.target, head.plain_headers())
        if head.method == "POST" and head.path in CONVERSION_PATHS:
            length = head.headers.get("Content-Length")
            chunked = "chunked" in head.headers.get("Transfer-Encoding", "").lower()
            refused = refuse_length(site, length, chunked)
            if refused is not None:
                return refused
            assert self._conversions is not None
            return request if self._conversions.admit() else _busy()
        try:
            return handle(site, request)
        except Exception:  # a bug: the user gets a page, the terminal the traceback
            traceback.print_exc()
            return _internal_error()


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name == "posix":  # a restarted server takes its port back at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def make_server(
    port: int, max_size: int = DEFAULT_MAX_SIZE, limits: Limits | None = None
) -> SiteServer:
    """A server bound to 127.0.0.1 (port 0: any free port); OSError when the port is taken."""
    listener = _listening_socket(port)
    site = Site(listener.getsockname()[1], max_size=max_size)
    return SiteServer(listener, site, limits or Limits())
