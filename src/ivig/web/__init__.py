"""The web application (an adapter): server-rendered pages for clinicians, pharmacists, nurses
and immunoglobulin stewards, on the same FastAPI process as the REST API.

Pages render the core's result objects (the recommendation, registry rows) with Jinja2
templates shipped in the package; charts are SVG drawn on the server; the little JavaScript
in ``static/app.js`` only refreshes form fields. ``ivig.core`` never imports this package.

Use :func:`mount` on an app built by :func:`ivig.service.create_app`, or include
``ivig.web.routes.router`` in its ``ROUTERS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ivig.web.session import WebConfig

__all__ = ["mount", "warm_up"]


def mount(app: FastAPI, settings: object = None, *, config: WebConfig | None = None) -> FastAPI:
    """Add the web pages to ``app`` (built by ``create_app``); returns ``app``.

    ``config`` sets the session secret and the demonstration sign-in; by default they come
    from ``IVIG_WEB_SECRET`` and ``IVIG_WEB_DEMO_LOGIN`` (see :class:`WebConfig`).
    ``settings`` is accepted for symmetry with ``create_app``; the pages read the service's
    own settings from the app state.
    """
    from ivig.web.routes import router
    from ivig.web.session import WebConfig

    app.state.ivig_web = config or WebConfig.from_env()
    service_state = getattr(app.state, "ivig", None)
    if service_state is not None:  # the CDS cards' form links open on these pages
        service_state.use_form_secret(app.state.ivig_web.secret)
    app.include_router(router)
    warm_up(app)
    return app


def warm_up(app: FastAPI) -> None:
    """Compile the templates and import what the pages use, so no visitor waits for it."""
    import ivig.app.patient  # noqa: F401  (numpy and the PK model, for the patient page)
    from ivig.web.templating import environment

    env = environment()
    for name in env.list_templates():
        env.get_template(name)
    state = getattr(app.state, "ivig", None)
    if state is not None:
        state.kb.search_conditions("warm-up")
