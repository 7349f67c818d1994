"""The status line for one file's outcome: what ``mailpatch patch`` prints on stderr, and what
the local page shows above its result (``-v`` adds what was kept, updated or left unchecked)."""

from __future__ import annotations

from mailpatch._run import Outcome, Status

# the statuses that change a file (or would, with --check/--diff)
CHANGED = (Status.PATCHED, Status.WOULD_PATCH, Status.UPDATED, Status.WOULD_UPDATE)


def status_line(outcome: Outcome, verbose: bool, warnings: bool = True) -> str | None:
    """The status line for one file, or None when it is not worth a line at this verbosity;
    then, with ``warnings``, a line for each text about the removed QR code (the page lists
    those on its own)."""
    made = f" ({outcome.changes})"
    if outcome.status in (Status.REFUSED, Status.ERROR):
        return f"error: cannot patch {outcome.where}: {outcome.message}"
    if outcome.status in CHANGED and outcome.up_to_date:  # a second run into one folder
        if not verbose:
            return None
        line = (
            f"unchanged {outcome.written_to} (already up to date from {outcome.path}: "
            f"{outcome.changes})"
        )
    elif outcome.status in CHANGED and outcome.written_to:  # say what happened to the file
        line = f"wrote {outcome.written_to}{made} from {outcome.path}"
    elif outcome.status in CHANGED:
        line = f"{outcome.status.value} {outcome.path}{made}"
    elif verbose and outcome.journeys:
        line = f"{outcome.status.value} {outcome.path} ({journeys_said(outcome.journeys)})"
    elif verbose:
        line = f"{outcome.status.value} {outcome.path}" + (
            f" ({outcome.message})" if outcome.message else ""
        )
    else:
        return None
    if verbose and outcome.link_changes:
        line += f"; {outcome.changed_links}"
    if verbose and outcome.unchecked:
        line += f"; {outcome.not_checked}"
    if verbose and outcome.left:
        line += "; removed with the QR block: " + ", ".join(repr(t) for t in outcome.left)
    if not warnings:
        return line
    return line + "".join("\n" + text for text in qr_warnings(outcome))


def journeys_said(signs: str) -> str:
    """What -v says of it; the summary gives the native button's page."""
    return (
        f"no ERQRCode block; looks like a real-time journeys email: {signs}; use real-time "
        "journeys' own Add to Calendar button"
    )


def qr_warnings(outcome: Outcome) -> list[str]:
    """A warning for each text the patched email still has about the QR code it removed, in
    the file the person opens: the result written, or the input when nothing is written."""
    where = outcome.written_to or outcome.path
    return [
        f"warning: {where}:{at}: refers to the removed QR code: {text!r} (edit it in the "
        "designer)"
        for at, text in outcome.qr_mentions
    ]
