"""The API documentation pages (Swagger UI at ``/docs``, ReDoc at ``/redoc``) served offline.

The JavaScript and CSS of Swagger UI (Apache-2.0) and ReDoc (MIT) come from the
``fastapi-offline`` package (MIT), which ships them; the pages name no other host, load no web
font and no favicon from elsewhere, so a clinical server makes no third-party request.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request  # resolved at run time by FastAPI (route signatures)
from starlette.responses import HTMLResponse

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ASSETS_URL", "add_offline_docs", "assets_dir"]

#: where the documentation assets are served
ASSETS_URL = "/docs-assets"

#: the browser may fetch images, fonts and data only from this server (ReDoc's bundle links
#: its maker's logo on a CDN: that request is never made)
_POLICY = "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = _POLICY
    return page


def assets_dir() -> Path:
    """The folder of Swagger UI and ReDoc files shipped by ``fastapi-offline``."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def add_offline_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Mount the assets and add the two documentation pages to ``app`` (built with
    ``docs_url=None, redoc_url=None``)."""
    from fastapi.openapi.docs import (
        get_redoc_html,
        get_swagger_ui_html,
        get_swagger_ui_oauth2_redirect_html,
    )
    from fastapi.staticfiles import StaticFiles

    app.mount(ASSETS_URL, StaticFiles(directory=str(assets_dir())), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _offline(
            get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=f"{root}{redirect_url}",
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _offline(
            get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )
