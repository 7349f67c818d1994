"""The one jinja2 Environment of the page (``serve``) and the preview: ``templates/`` in this
package, autoescaping on (every value is text; an email goes into a frame's srcdoc escaped),
a missing value an error rather than an empty string."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2


@cache
def environment() -> jinja2.Environment:
    """Built once per process: its compiled templates are kept (some 2 MB and a tenth of a
    second a page otherwise). Rendering from it is thread-safe."""
    import jinja2  # when a page is first built: `patch`, `lint` and `ics` never import it

    return jinja2.Environment(
        loader=jinja2.PackageLoader("mailpatch.page", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
