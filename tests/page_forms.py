"""The local page's forms as a browser sends them, shared by tests/test_serve.py (the routes,
called directly) and tests/test_server.py (over a real socket): a multipart body, a fixture
case's options as the page's fields and its email as the upload, and the bytes the command
line writes for the same case (what the page must give back)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mailpatch import decode
from mailpatch._cli import main
from mailpatch._patch import events_in

from fixturecases import Case

BOUNDARY = "----mailpatchTestBoundary7MA4YWxkTrZu0gW"


def multipart(fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes]]) -> bytes:
    """A body as a browser sends it (fields as UTF-8, files as their bytes)."""
    out = b""
    for name, value in fields.items():
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (filename, data) in files.items():
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: text/html\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def form_fields(case: Case) -> dict[str, str]:
    """The case's options.json as the page's fields: each GUID its own readable id."""
    o = case.options_json

    def many(key: str) -> list[str]:
        value = o.get(key, [])
        return [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]

    fields = {"endpoint": str(o.get("endpoint", ""))}
    if "event-id" in o:
        for guid in events_in(decode(case.input.read_bytes()).text).guids:
            fields[f"id-{guid}"] = str(o["event-id"])
    for mapping in many("event"):
        guid, _, ref = mapping.partition("=")
        readable, _, session = ref.partition("@")
        fields[f"id-{guid.lower()}"] = readable
        fields[f"session-{guid.lower()}"] = session
    fields["fields"] = "\n".join(many("field"))
    fields["drop_fields"] = " ".join(many("drop-field"))
    if o.get("keep-qr"):
        fields["keep_qr"] = "on"
    if o.get("force"):
        fields["force"] = "on"
    fields["buttons"] = " ".join(many("button"))
    return fields


def cli_output(case: Case, tmp_path: Path) -> bytes:
    out = tmp_path / "cli.html"
    assert main(["patch", *case.args, "-o", str(out), str(case.input)]) == 0
    return out.read_bytes()


def upload(case: Case) -> dict[str, tuple[str, bytes]]:
    return {"email_file": (case.input.name, case.input.read_bytes())}
