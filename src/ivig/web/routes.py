"""The web application's router: sign-in, home, static files, and the page routers.

Included by the service's app factory (``ROUTERS``) or by :func:`ivig.web.mount`.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ivig.web import pages_care, pages_knowledge, pages_registry, pages_request
from ivig.web.deps import config_of, guard, page, state_of, user_of
from ivig.web.session import COOKIE_NAME, SESSION_SECONDS, same_origin, sign_session

__all__ = ["router"]

_security = logging.getLogger("ivig.security")


def security_event(event: str, **fields: Any) -> None:
    """A sign-in or sign-out event on the ``ivig.security`` log (JSON lines in the service;
    only named fields, never a token or a password)."""
    _security.info(event, extra={"event": event, **fields})


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


def _login_page(request: Request, ctx: dict[str, Any], status: int = 200) -> Response:
    """The sign-in page with its CSRF token, and the nonce cookie the token is bound to."""
    from ivig.web.session import (
        LOGIN_COOKIE_NAME,
        LOGIN_FORM_SECONDS,
        login_csrf,
        login_nonce,
    )

    config = config_of(request)
    nonce = login_nonce(request.cookies.get(LOGIN_COOKIE_NAME))
    ctx = {"demo_users": _demo_users(request), **ctx, "login_csrf": login_csrf(config, nonce)}
    response = page(request, "login.html", ctx, status=status)
    response.set_cookie(
        LOGIN_COOKIE_NAME,
        nonce,
        max_age=LOGIN_FORM_SECONDS,
        httponly=True,
        samesite="strict",
        secure=config.secure_cookie or state_of(request).settings.secure_cookies,
        path="/app/login",
    )
    return response


@router.get("/app/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/app") -> Response:
    """Sign in with an API token (or, in a demonstration, as a demo user)."""
    return _login_page(request, {"next": _safe_next(next)})


def _server_session(request: Request, username: str, token: str | None) -> str:
    """The registry session of a registry user ("" without a registry or for other users)."""
    registry = state_of(request).registry
    if registry is None:
        return ""
    from ivig.registry.sessions import start_web_session

    try:
        with registry.session() as session:
            return start_web_session(session, username, api_token=token)["secret"]
    except LookupError:  # a static or OAuth user has no registry row
        return ""


def _signed_in(request: Request, principal: Any, target: str, token: str | None = None) -> Response:
    config = config_of(request)
    sid = _server_session(request, principal.username, token)
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        sign_session(config, principal.username, principal.role, principal.via, sid=sid),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=config.secure_cookie or state_of(request).settings.secure_cookies,
        path="/",
    )
    security_event("sign_in", user=principal.username, role=principal.role, via=principal.via)
    return response


def _from_this_site(request: Request) -> bool:
    settings = state_of(request).settings
    allowed = (settings.public_base_url, f"{request.url.scheme}://{request.url.netloc}")
    return same_origin(request.headers.get("origin"), request.headers.get("referer"), allowed)


def _client_key(request: Request) -> str:
    import hashlib

    host = request.client.host if request.client else "unknown"
    return "ip:" + hashlib.sha256(host.encode("utf-8")).hexdigest()[:32]


def _throttled(request: Request, *, failed: bool = False) -> bool:
    """Whether this client is blocked; with ``failed``, count one more failure first."""
    registry = state_of(request).registry
    if registry is None:
        return False
    from ivig.registry.sessions import record_sign_in_failure, sign_in_blocked

    key = _client_key(request)
    if failed:
        with registry.session() as session:
            record_sign_in_failure(session, key)
        return False
    with registry.read_session() as session:
        return sign_in_blocked(session, key)


def _login_refused(request: Request, target: str, error: str, status: int) -> Response:
    return _login_page(request, {"next": _safe_next(target), "error": error}, status)


@router.post("/app/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the token (as the REST API does) and start a browser session."""
    from ivig.service.auth import Principal, authenticate
    from ivig.service.security import Unauthorized

    form = await request.form()
    target = str(form.get("next") or "/app")
    if not _from_this_site(request):
        security_event("sign_in_refused", reason="another origin", status=403)
        return _login_refused(request, target, "Sign in from this site's own page.", 403)
    from ivig.web.session import LOGIN_COOKIE_NAME, check_login_csrf

    nonce = request.cookies.get(LOGIN_COOKIE_NAME)
    if not check_login_csrf(config_of(request), nonce, form.get("login_csrf")):
        security_event("sign_in_refused", reason="CSRF check failed", status=403)
        error = "This sign-in page has expired or came from elsewhere: sign in again here."
        return _login_refused(request, target, error, 403)
    if _throttled(request):
        security_event("sign_in_refused", reason="too many failed sign-ins", status=429)
        return _login_refused(request, target, "Too many failed sign-ins: try again later.", 429)
    demo_name = str(form.get("demo_user") or "")
    if demo_name:
        for user in _demo_users(request):
            if user["username"] == demo_name:
                return _signed_in(request, Principal(demo_name, str(user["role"]), "demo"), target)
    token = str(form.get("token") or "").strip()
    try:
        principal = await authenticate(request, token)
    except Unauthorized as exc:
        _throttled(request, failed=True)
        security_event("sign_in_failed", reason=str(exc.reason)[:200], status=401)
        error = "This token is not valid (unknown, revoked or expired)."
        return _login_refused(request, target, error, 401)
    return _signed_in(request, principal, target, token if principal.via == "registry" else None)


@router.post("/app/logout")
async def logout(request: Request) -> Response:
    """End the browser session (here and in the registry, for every worker)."""
    from ivig.web.session import check_csrf, read_session

    cookie = request.cookies.get(COOKIE_NAME)
    form = await request.form()
    if not _from_this_site(request) or not check_csrf(config_of(request), cookie, form.get("csrf")):
        security_event("sign_out_refused", reason="CSRF check failed", status=403)
        return Response("sign-out refused: reload the page and try again", status_code=403)
    user = read_session(config_of(request), cookie)
    registry = state_of(request).registry
    if user is not None and user.sid and registry is not None:
        from ivig.registry.sessions import end_web_session

        with registry.session() as session:
            end_web_session(session, user.sid)
    security_event("sign_out", user=user.username if user else None)
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
