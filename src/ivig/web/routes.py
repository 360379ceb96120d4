"""The web application's router: sign-in, home, static files, and the page routers.

Included by the service's app factory (``ROUTERS``) or by :func:`ivig.web.mount`.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ivig.web import pages_care, pages_knowledge, pages_registry, pages_request
from ivig.web.deps import config_of, guard, page, state_of, user_of
from ivig.web.session import COOKIE_NAME, SESSION_SECONDS, sign_session

__all__ = ["router"]

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def root() -> Response:
    """The web application lives under ``/app``."""
    return RedirectResponse("/app", status_code=307)


@router.get("/app/static/{name}")
def static(name: str) -> Response:
    """A file shipped in ``ivig/web/static`` (no directories, no other files)."""
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        path.read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=3600"}
    )


def _demo_users(request: Request) -> list[dict[str, object]]:
    registry = state_of(request).registry
    if not config_of(request).demo_login or registry is None:
        return []
    from ivig.registry import api

    with registry.session() as session:
        return [u for u in api.list_users(session) if u.get("active", True)]


def _safe_next(target: str) -> str:
    return target if target.startswith("/app") and "//" not in target else "/app"


@router.get("/app/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/app") -> Response:
    """Sign in with an API token (or, in a demonstration, as a demo user)."""
    return page(
        request, "login.html", {"next": _safe_next(next), "demo_users": _demo_users(request)}
    )


def _signed_in(request: Request, username: str, role: str, via: str, target: str) -> Response:
    config = config_of(request)
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        sign_session(config, username, role, via),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=config.secure_cookie,
        path="/",
    )
    return response


@router.post("/app/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the token (as the REST API does) and start a browser session."""
    from ivig.service.auth import authenticate
    from ivig.service.security import Unauthorized

    form = await request.form()
    target = str(form.get("next") or "/app")
    demo_name = str(form.get("demo_user") or "")
    if demo_name:
        for user in _demo_users(request):
            if user["username"] == demo_name:
                return _signed_in(request, demo_name, str(user["role"]), "demo", target)
    token = str(form.get("token") or "").strip()
    try:
        principal = await authenticate(request, token)
    except Unauthorized:
        ctx = {"next": _safe_next(target), "demo_users": _demo_users(request),
               "error": "This token is not valid (unknown, revoked or expired)."}  # fmt: skip
        return page(request, "login.html", ctx, status=401)
    return _signed_in(request, principal.username, principal.role, principal.via, target)


@router.post("/app/logout")
def logout() -> Response:
    """End the browser session."""
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/app", response_class=HTMLResponse)
def home(request: Request) -> Response:
    """What the signed-in role can do, with reviews due for those who follow patients."""
    user = guard(request, "home")
    if isinstance(user, Response):
        return user
    return page(request, "home.html", {"me": user_of(request)})


router.include_router(pages_request.router)
router.include_router(pages_registry.router)
router.include_router(pages_care.router)
router.include_router(pages_knowledge.router)
