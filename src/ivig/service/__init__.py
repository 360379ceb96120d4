"""The ivig service: REST API, CDS Hooks 2.0 and FHIR R4 over the same core (an adapter).

``create_app(settings)`` builds the ASGI application; ``Settings`` configures it. Importing
this package is cheap: FastAPI is imported when the app is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.service.app import create_app, freeze_startup_heap
    from ivig.service.settings import CdsIssuer, Settings, StaticToken

__all__ = ["CdsIssuer", "Settings", "StaticToken", "create_app", "freeze_startup_heap"]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "freeze_startup_heap"):
        from ivig.service import app

        return getattr(app, name)
    if name in ("CdsIssuer", "Settings", "StaticToken"):
        from ivig.service import settings

        return getattr(settings, name)
    raise AttributeError(name)
