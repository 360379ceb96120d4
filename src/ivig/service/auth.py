"""Who is calling the REST API, and may they: bearer tokens and roles per endpoint.

A bearer token is one of: a static token from the settings, an OAuth2 access token (a JWT from a
trusted issuer, role in its ``role`` or ``roles`` claim), or an API token issued by the registry.
Each endpoint declares the roles it allows with :func:`require_roles`; ``admin`` may do
everything. No token or an unknown one answers 401; a known user without the role answers 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ivig.permissions import ROLES, Action, roles_for
from ivig.service.logs import security_event
from ivig.service.security import JwtVerifier, ReplayCache, Unauthorized
from ivig.service.state import get_state

if TYPE_CHECKING:
    from ivig.service.settings import Settings

__all__ = [
    "ANY_USER",
    "ROLES",
    "Principal",
    "ReuseAllowed",
    "authenticate",
    "oauth_verifier",
    "require_permission",
    "require_roles",
]

ANY_USER = ROLES


class ReuseAllowed(ReplayCache):
    """OAuth access tokens are bearer tokens meant for many calls: their ``jti`` (Keycloak,
    Okta, Entra ID and Auth0 all send one) is not a one-time nonce. Replay checks stay for
    CDS Hooks JWTs only."""

    def check_and_add(self, iss: str, jti: str, exp: float) -> bool:
        return True


def oauth_verifier(settings: Settings) -> JwtVerifier | None:
    """The verifier of OAuth access tokens for the REST API (no replay check), if configured."""
    if not settings.oauth_issuers:
        return None
    return JwtVerifier(
        settings.oauth_issuers,
        leeway_s=settings.jwt_leeway_s,
        require_jti=False,
        replay=ReuseAllowed(),
    )


bearer_scheme = HTTPBearer(auto_error=False, description="API token or OAuth2 access token")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the audit log records ``username``."""

    username: str
    role: str
    via: str


async def authenticate(request: Request, token: str | None) -> Principal:
    """The caller holding ``token``; raise :class:`Unauthorized` when there is none."""
    state = get_state(request)
    settings = state.settings
    if not settings.api_require_auth:
        return Principal(username="demo", role="admin", via="open")
    if not token:
        raise Unauthorized("no bearer token")
    static = settings.static_tokens.get(token)
    if static is not None:
        return Principal(static.username, static.role, "static")
    if token.count(".") == 2 and state.oauth_verifier is not None:
        audience = settings.oauth_audience or settings.public_base_url
        try:
            claims = await state.oauth_verifier.verify(token, [audience])
        except Unauthorized as exc:
            security_event("jwt_rejected", reason=str(exc.reason)[:200], via="oauth")
            raise
        return Principal(_username(claims), _role(claims), "oauth")
    if state.registry is not None:
        user = state.registry.cached_user(token)  # looked up here a moment ago: no database
        if user is None:
            user = await run_in_threadpool(state.registry.verify_token, token)
        if user is not None and user.get("active", True):
            return Principal(str(user["username"]), str(user["role"]), "registry")
    raise Unauthorized("unknown token")


def _username(claims: dict[str, Any]) -> str:
    for key in ("preferred_username", "sub"):
        if isinstance(claims.get(key), str) and claims[key]:
            return str(claims[key])
    raise Unauthorized("token names no user")


def _role(claims: dict[str, Any]) -> str:
    raw = claims.get("role", claims.get("roles"))
    roles = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []
    for role in ROLES[::-1]:  # the strongest role held
        if role in roles:
            return role
    raise Unauthorized("token holds no ivig role")


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks that it holds one of ``roles``."""
    allowed = frozenset(roles) | {"admin"}
    shown = ", ".join(sorted(allowed))

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> Principal:
        principal = await authenticate(request, credentials.credentials if credentials else None)
        request.state.principal = principal
        if principal.role not in allowed:
            raise HTTPException(403, f"this operation needs one of the roles: {shown}")
        return principal

    dependency.__name__ = f"require_{'_or_'.join(sorted(allowed))}"
    return dependency


def require_permission(action: Action) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through the roles ``ivig.permissions`` allows for ``action``."""
    return require_roles(*roles_for(action))
