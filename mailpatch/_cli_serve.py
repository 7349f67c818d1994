"""``mailpatch serve``: convert one email in the browser, on a page served to this computer only."""

from __future__ import annotations

import errno
import signal
from types import FrameType

import click

from mailpatch._files import DEFAULT_MAX_SIZE

DEFAULT_PORT = 8765  # a fixed address to bookmark; when it is taken, any free port


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the web browser; False when none could be opened (no desktop, no
    browser, or $BROWSER failed), which the caller says."""
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


@click.command(
    "serve",
    epilog="""\b
The page: choose, drop or paste an exported email, and its events are listed at once;
fill in the endpoint and each event's readable id and press Convert. The outcome comes
first, in plain words: the patched file to download (the bytes `mailpatch patch -o`
writes) and the next steps, or what to choose or change; then what each sample registrant
gets, what changed (the diff folded), the command line and a [tool.mailpatch] snippet.
The server listens on 127.0.0.1 only and answers only to http://127.0.0.1:PORT/ and
http://localhost:PORT/; it writes nothing to disk. Each conversion (and each listing of
an email's events) runs in a process of its own, stopped after 60 s or when it needs more
memory than 100 times --max-size (2,000 MB by default). Ctrl-C stops it.""",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    metavar="N",
    help=f"Port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one when it is taken, said "
    "so; 0: a free one).",
)
@click.option(
    "--open",
    "open_browser",
    is_flag=True,
    help="Open the page in the web browser (said when none can be opened).",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    metavar="BYTES",
    help=f"Refuse emails larger than this (default {DEFAULT_MAX_SIZE:,}).",
)
def serve_command(port: int | None, open_browser: bool, max_size: int | None) -> None:
    """Convert one email on a local web page: choose it, fill in the ids, download."""
    from mailpatch.page._server import make_server

    limit = max_size or DEFAULT_MAX_SIZE
    try:
        server = make_server(DEFAULT_PORT if port is None else port, limit)
    except OSError as exc:
        if port is not None or exc.errno != errno.EADDRINUSE:
            raise click.ClickException(
                f"cannot listen on 127.0.0.1:{DEFAULT_PORT if port is None else port}: "
                f"{exc.strerror or exc} (--port 0 takes a free port)"
            ) from None
        server = make_server(0, limit)  # the default port is taken: any free one will do
        click.echo(
            f"mailpatch serve: port {DEFAULT_PORT} is in use; using {server.site.port}", err=True
        )
    url = server.site.url
    click.echo(f"mailpatch serve: {url} (local only; Ctrl-C to stop)", err=True)
    signal.signal(signal.SIGTERM, _stop)  # `kill` stops it as Ctrl-C does (where the loop cannot)
    try:
        if open_browser and not open_in_browser(url):
            click.echo(f"mailpatch serve: no web browser could be opened; open {url}", err=True)
        server.serve_forever()  # returns on SIGINT or SIGTERM, its workers killed
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    click.echo("\nmailpatch serve: stopped.", err=True)
