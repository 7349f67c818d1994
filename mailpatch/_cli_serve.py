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


@click.command(
    "serve",
    epilog="""\b
The page: upload or paste an exported email, give the endpoint and each event's readable
id, and get the refusal (with line:col), or the diff, a preview per sample registrant,
the patched file to download (the bytes `mailpatch patch -o` writes) and the settings as
a [tool.mailpatch] snippet. The server listens on 127.0.0.1 only and answers only to
http://127.0.0.1:PORT/ and http://localhost:PORT/; it writes nothing to disk.
Each conversion runs in a process of its own, stopped after 60 s or when it needs more
memory than 100 times --max-size (2,000 MB by default). Ctrl-C stops it.""",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    metavar="N",
    help=f"Port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one when it is taken; "
    "0: a free one).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    metavar="BYTES",
    help=f"Refuse emails larger than this (default {DEFAULT_MAX_SIZE:,}).",
)
def serve_command(port: int | None, open_browser: bool, max_size: int | None) -> None:
    """Convert one email on a local web page: upload it, fill in the ids, download."""
    from mailpatch._server import make_server

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
    url = server.site.url
    click.echo(f"mailpatch serve: {url} (local only; Ctrl-C to stop)", err=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    signal.signal(signal.SIGTERM, _stop)  # `kill` stops it as Ctrl-C does (where the loop cannot)
    try:
        server.serve_forever()  # returns on SIGINT or SIGTERM, its workers killed
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    click.echo("\nmailpatch serve: stopped.", err=True)
