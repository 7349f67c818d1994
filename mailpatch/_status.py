"""The status line for one file's outcome: what ``mailpatch patch`` prints on stderr, and what
the local page shows above its result (``-v`` adds what was kept, updated or left unchecked)."""

from __future__ import annotations

from mailpatch._run import Outcome, Status

# the statuses that change a file (or would, with --check/--diff)
CHANGED = (Status.PATCHED, Status.WOULD_PATCH, Status.UPDATED, Status.WOULD_UPDATE)


def status_line(outcome: Outcome, verbose: bool) -> str | None:
    """The status line for one file, or None when it is not worth a line at this verbosity."""
    made = f" ({outcome.changes})"
    if outcome.status in (Status.REFUSED, Status.ERROR):
        return f"error: cannot patch {outcome.where}: {outcome.message}"
    if outcome.status in CHANGED and outcome.written_to:  # say what happened to the file
        line = f"wrote {outcome.written_to}{made} from {outcome.path}"
    elif outcome.status in CHANGED:
        line = f"{outcome.status.value} {outcome.path}{made}"
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
    return line
