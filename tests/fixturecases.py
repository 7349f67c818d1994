"""The fixture folders, as test data shared by the test modules and the regeneration script."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mailpatch._options import build_options
from mailpatch._patch import PatchOptions

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@dataclass(frozen=True)
class Case:
    folder: Path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def input(self) -> Path:
        return self.folder / "input.html"

    @property
    def expected(self) -> Path:
        return self.folder / "expected.html"

    @property
    def options_json(self) -> dict[str, object]:
        path = self.folder / "options.json"
        return json.loads(path.read_text("utf-8")) if path.exists() else {}

    @property
    def args(self) -> list[str]:
        """The options as CLI arguments, in the order the JSON gives them."""
        return options_args(self.options_json)

    @property
    def options(self) -> PatchOptions:
        o = self.options_json

        def many(key: str) -> list[str]:
            value = o.get(key, [])
            return [value] if isinstance(value, str) else list(value)  # type: ignore[arg-type]

        return build_options(
            endpoint=o.get("endpoint"),  # type: ignore[arg-type]
            event_id=o.get("event-id"),  # type: ignore[arg-type]
            session_id=o.get("session-id"),  # type: ignore[arg-type]
            events=many("event"),
            fields=many("field"),
            drop_fields=many("drop-field"),
            keep_qr=bool(o.get("keep-qr")),
            buttons=many("button"),
            force=bool(o.get("force")),
            api_version=o.get("api-version"),  # type: ignore[arg-type]
        )

    @property
    def error(self) -> tuple[str, str]:
        """(message fragment, LINE:COL) for a refusal case."""
        lines = (self.folder / "error.txt").read_text("utf-8").splitlines()
        return lines[0].strip(), lines[1].strip()


def cases(kind: str) -> list[Case]:
    base = FIXTURES / kind
    return [Case(p) for p in sorted(base.iterdir()) if (p / "input.html").exists()]


def event_args(paths: list[Path], readable: str) -> list[str]:
    """``--event GUID=readable`` for every event the emails at ``paths`` are for: one
    ``--event-id`` reaches only a run whose emails share one event."""
    from mailpatch._patch import events_in

    guids = sorted({g for p in paths for g in events_in(p.read_text("utf-8-sig")).guids})
    return [arg for g in guids for arg in ("--event", f"{g}={readable}")]


def options_args(options: dict[str, object]) -> list[str]:
    """A fixture's options.json as CLI arguments, in the order the JSON gives them."""
    out: list[str] = []
    for key, value in options.items():
        if value is True:
            out.append(f"--{key}")
        elif isinstance(value, list):
            for item in value:
                out += [f"--{key}", str(item)]
        elif value not in (False, None):
            out += [f"--{key}", str(value)]
    return out
