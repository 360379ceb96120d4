"""What every page handler needs: the web configuration, the signed-in user, page guards and
the response helpers (pages always show the knowledge version and the disclaimer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, RedirectResponse, Response

from ivig.web.access import NAV, allowed
from ivig.web.cache import RegistryCache
from ivig.web.glossary import name, plain, where
from ivig.web.session import (
    COOKIE_NAME,
    WebConfig,
    WebUser,
    csrf_token,
    read_session,
    session_is_live,
)
from ivig.web.templating import render_page

if TYPE_CHECKING:
    from starlette.requests import Request

    from ivig.service.state import ServiceState

__all__ = ["cache_of", "config_of", "guard", "page", "state_of", "user_of"]

_DEFAULT: list[WebConfig] = []


def config_of(request: Request) -> WebConfig:
    """The app's :class:`WebConfig` (set by :func:`ivig.web.mount`, else from the environment)."""
    config = getattr(request.app.state, "ivig_web", None)
    if isinstance(config, WebConfig):
        return config
    if not _DEFAULT:
        _DEFAULT.append(WebConfig.from_env())
    request.app.state.ivig_web = _DEFAULT[0]
    return _DEFAULT[0]


def cache_of(request: Request) -> RegistryCache:
    """The app's cache of registry reads (created on first use)."""
    cache = getattr(request.app.state, "ivig_web_cache", None)
    if not isinstance(cache, RegistryCache):
        cache = RegistryCache()
        request.app.state.ivig_web_cache = cache
    return cache


def state_of(request: Request) -> ServiceState:
    """The service state shared with the REST API."""
    from ivig.service.state import get_state

    return get_state(request)


def _still_active(request: Request, user: WebUser) -> bool:
    registry = state_of(request).registry
    if not session_is_live(registry, user):  # signed out, revoked or deactivated (registry)
        return False
    if user.via not in ("registry", "demo") or registry is None:
        return True
    from ivig.registry import api

    try:
        with registry.session() as session:
            api.require_role(session, user.username)
    except api.RoleError:
        return False
    return True


def user_of(request: Request) -> WebUser | None:
    """The signed-in user, or ``None`` (a deactivated registry user is signed out)."""
    cached = getattr(request.state, "web_user", False)
    if cached is None or isinstance(cached, WebUser):
        return cached
    user = read_session(config_of(request), request.cookies.get(COOKIE_NAME))
    if user is not None and not _still_active(request, user):
        user = None
    request.state.web_user = user
    return user


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with the common context (user, navigation, version, CSRF token)."""
    state = state_of(request)
    user = user_of(request)
    cookie = request.cookies.get(COOKIE_NAME)
    common: dict[str, Any] = {
        "request": request,
        "user": user,
        "nav": [(path, label) for key, path, label in NAV if user and allowed(user.role, key)],
        "path": request.url.path,
        "knowledge_version": state.kb.version,
        "disclaimer": state.kb.disclaimer,
        "csrf": csrf_token(config_of(request), cookie) if cookie and user else "",
        "has_registry": state.registry is not None,
        "may": (lambda what: bool(user and allowed(user.role, what))),
        "plain": (lambda text: plain(state.kb, text)),
        "name": (lambda ident: name(state.kb, ident)),
        "where": (lambda path: where(state.kb, path)),
    }
    html = render_page(template, {**common, **(context or {})})
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def guard(request: Request, what: str) -> WebUser | Response:
    """The user if signed in and allowed ``what``; else a redirect to sign in, or a 403 page."""
    user = user_of(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/app/login?next={quote(target)}", status_code=303)
    if not allowed(user.role, what):
        return page(
            request,
            "error.html",
            {"title": "Not allowed", "message": f"Your role ({user.role}) may not open this page."},
            status=403,
        )
    return user
