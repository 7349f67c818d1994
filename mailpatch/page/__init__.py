"""The web side of mailpatch: the local page of ``mailpatch serve`` and the page of
``mailpatch preview``, with the Handlebars interpreter that fills an email for a contact and
their jinja2 templates (kept apart as black keeps blackd).

The top of the layer order (CONTRIBUTING.md, "Layers"; held by ``tests/test_layers.py``), beside
the command line: it builds on the core, the checks and the runner, and imports neither click
nor any ``mailpatch._cli*`` module; the commands ``serve`` and ``preview`` import it, never the
reverse. Nothing outside this package imports jinja2.

| module | what it does |
| --- | --- |
| ``_serve``, ``_serve_view`` | the page's routes, pure functions of a request; what they show |
| ``_server`` | the socket layer: one event loop, deadlines, conversions in worker processes |
| ``_preview`` | the preview: the email filled per contact, its links decoded |
| ``_render``, ``_render_syntax``, ``_render_values`` | Handlebars.js 4.7, interpreted |
| ``_templates`` | the one jinja2 Environment over ``templates/`` |
"""
