"""The application factory: ``create_app(settings)`` builds the FastAPI app.

Routers come from :data:`ROUTERS`, a list of ``(module, attribute, needs_registry)``; the web
application (issue 10) adds its own entry there, or passes it in ``extra_routers``. Modules are
imported when the app is built, so ``import ivig.service`` stays cheap.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from ivig.service.settings import Settings

__all__ = ["HOT_MODULES", "ROUTERS", "create_app", "freeze_startup_heap"]

#: (module, attribute, needs a registry) of every router the app includes, in this order
ROUTERS: list[tuple[str, str, bool]] = [
    ("ivig.service.routers.api", "router", False),
    ("ivig.service.routers.kb", "router", False),
    ("ivig.service.routers.fhir", "router", False),
    ("ivig.service.routers.cds_hooks", "router", False),
    ("ivig.service.routers.registry", "router", True),
    ("ivig.service.routers.registry", "audit_router", False),
]

#: modules the request paths import on first use: a server imports them before it freezes its heap
HOT_MODULES = (
    "anyio.to_thread",
    "ivig.app.form_link",
    "ivig.app.order_check",
    "ivig.app.recommend",
    "ivig.core.recommend",
    "ivig.registry.api",
    "ivig.registry.users",
    "ivig.service.fhir.orders",
    "ivig.service.fhir.read",
    "ivig.service.fhir.record",
    "ivig.service.fhir.units",
    "ivig.service.fhir.write",
)


def freeze_startup_heap() -> None:
    """Import what the first requests would, build the UCUM registry, collect, then move every
    object alive (knowledge base, routes, modules) to the permanent generation (``gc.freeze``).

    A full collection otherwise walks all of them: about 90,000 objects, a pause of 30-180 ms on
    the event loop that every request in flight waits for (measured by
    ``benchmarks/cds_load.py --in-process 2000 --gc``). Only for a server process, after its
    app is built: frozen objects are never collected.
    """
    for name in HOT_MODULES:
        importlib.import_module(name)
    from ivig.service.fhir.units import load_unit_registry

    load_unit_registry()
    gc.collect()
    gc.freeze()


DESCRIPTION = """Decision support and stewardship for immunoglobulin therapy in neurology.

REST endpoints for every command-line capability (`/api`), CDS Hooks 2.0 services for the EHR
(`/cds-services`), FHIR R4 in and out (`/api/fhir`). Errors are 422 with one problem per field.
Every result carries the knowledge version. ivig supports clinical decisions; it does not replace
the judgement of the treating clinician."""


def _add_outer_layer(app: FastAPI, settings: Settings) -> None:
    """Limits, security headers, the access log and the last-resort 500 (outermost)."""
    from ivig.service.logs import install_json_logging
    from ivig.service.middleware import ServiceMiddleware

    if settings.json_logs:
        install_json_logging()
    app.add_middleware(
        ServiceMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )


def create_app(
    settings: Settings | None = None, *, extra_routers: Sequence[APIRouter] = ()
) -> FastAPI:
    """The service for ``settings`` (default: :meth:`Settings.from_env`)."""
    import httpx
    from fastapi import FastAPI

    from ivig import __version__
    from ivig.service.api_docs import add_offline_docs
    from ivig.service.auth import oauth_verifier
    from ivig.service.errors import IvigJSONResponse, install_error_handlers
    from ivig.service.security import JwtVerifier, add_cors, replay_cache_for
    from ivig.service.settings import Settings
    from ivig.service.state import FeedbackLog, RegistryLink, ServiceState

    settings = settings or Settings.from_env()
    if settings.knowledge is not None:
        kb = settings.knowledge
    else:
        from ivig.knowledge import load_knowledge

        kb = load_knowledge()
    registry = (
        RegistryLink(settings.database_url, token_cache_s=settings.api_token_cache_s)
        if settings.database_url
        else None
    )
    timeout = settings.fhir_timeout_s
    oauth = oauth_verifier(settings)
    state = ServiceState(
        settings=settings,
        kb=kb,
        cds_verifier=JwtVerifier(
            settings.cds_issuers,
            leeway_s=settings.jwt_leeway_s,
            replay=replay_cache_for(registry.engine if registry else None),
            max_lifetime_s=settings.cds_max_token_lifetime_s,
        ),
        oauth_verifier=oauth,
        registry=registry,
        feedback=FeedbackLog(),
        http_client=lambda: httpx.AsyncClient(timeout=timeout),
    )
    app = FastAPI(
        title="ivig",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=IvigJSONResponse,
        docs_url=None,
        redoc_url=None,
    )
    add_offline_docs(app)  # /docs and /redoc with assets served from the package, no CDN
    app.state.ivig = state
    install_error_handlers(app)
    add_cors(app, settings)
    _add_outer_layer(app, settings)
    for module_name, attribute, needs_registry in ROUTERS:
        if needs_registry and registry is None:
            continue
        module = importlib.import_module(module_name)
        app.include_router(getattr(module, attribute))
    for router in extra_routers:
        app.include_router(router)
    return app
