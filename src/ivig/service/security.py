"""Trusting the EHR: JWT verification for CDS Hooks calls (and OAuth2 bearer JWTs), and CORS.

As CDS Hooks 2.0 asks: every call carries ``Authorization: Bearer <jwt>`` signed with an
asymmetric algorithm (ES384 or RS384 here); ``iss`` must be on the allow list, whose JWK Set is
given out of band or fetched from its URL (``jku`` only from that issuer's allow list); ``aud``
must name this service (its base URL or the exact URL called); ``exp``, ``iat`` and ``jti`` are
required and a ``jti`` is accepted once. Any failure answers 401 with no detail; the reason goes
to the log (never a claim value, never patient data).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jwt

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from ivig.service.settings import CdsIssuer, Settings

__all__ = [
    "ALGORITHMS",
    "JwksCache",
    "JwtVerifier",
    "ReplayCache",
    "Unauthorized",
    "add_cors",
    "bearer_token",
]

log = logging.getLogger("ivig.service.security")

#: asymmetric algorithms accepted (CDS Hooks 2.0 recommends ES384 and RS384; never none or HMAC)
ALGORITHMS = ("ES384", "RS384")
#: how long a fetched JWK Set is trusted before it is fetched again, seconds
JWKS_TTL_S = 300.0
#: a key id missing from a cached set triggers at most one refetch per this many seconds
JWKS_REFETCH_S = 10.0


class Unauthorized(Exception):
    """The caller could not be authenticated; answered as 401 with no detail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class ReplayCache:
    """``jti`` values already seen, each kept until its token expires."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._clock = clock

    def check_and_add(self, iss: str, jti: str, exp: float) -> bool:
        """True the first time ``(iss, jti)`` is seen before it expires; False on a replay."""
        now = self._clock()
        if len(self._seen) > 1024:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
        key = (iss, jti)
        until = self._seen.get(key)
        if until is not None and until > now:
            return False
        self._seen[key] = exp
        return True


class JwksCache:
    """JWK Sets by URL, fetched with httpx and kept for :data:`JWKS_TTL_S` seconds."""

    def __init__(
        self,
        client_factory: Callable[[], httpx.AsyncClient] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}
        self._client_factory = client_factory
        self._clock = clock

    async def keys(self, url: str, *, refresh: bool = False) -> dict[str, Any]:
        """The JWK Set at ``url`` (``{"keys": [...]}``), from the cache when fresh."""
        now = self._clock()
        cached = self._sets.get(url)
        if cached is not None:
            fetched_at, jwks = cached
            age = now - fetched_at
            if age < JWKS_TTL_S and not (refresh and age > JWKS_REFETCH_S):
                return jwks
        jwks = await self._fetch(url)
        self._sets[url] = (now, jwks)
        return jwks

    async def _fetch(self, url: str) -> dict[str, Any]:
        import httpx

        factory = self._client_factory or (lambda: httpx.AsyncClient(timeout=5.0))
        try:
            async with factory() as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthorized(f"JWKS not available ({type(exc).__name__})") from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise Unauthorized("JWKS is not a JWK Set")
        return data


def _find_key(jwks: Mapping[str, Any] | None, kid: str) -> dict[str, Any] | None:
    for key in (jwks or {}).get("keys", []):
        if isinstance(key, dict) and key.get("kid") == kid:
            return key
    return None


class JwtVerifier:
    """Verify signed JWTs from an allow list of issuers (:class:`CdsIssuer`)."""

    def __init__(
        self,
        issuers: Sequence[CdsIssuer],
        *,
        leeway_s: float = 30.0,
        jwks_cache: JwksCache | None = None,
        replay: ReplayCache | None = None,
        require_jti: bool = True,
    ) -> None:
        self.issuers = {i.iss: i for i in issuers}
        self.leeway_s = leeway_s
        self.jwks = jwks_cache or JwksCache()
        self.replay = replay or ReplayCache()
        self.require_jti = require_jti
        self._keys: dict[tuple[str, str, str], Any] = {}

    async def verify(self, token: str, audiences: Sequence[str]) -> dict[str, Any]:
        """The verified claims of ``token``; raise :class:`Unauthorized` on any failure."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("token is not a JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise Unauthorized("algorithm not allowed")
        typ = header.get("typ")
        if typ is not None and str(typ).upper() != "JWT":
            raise Unauthorized("typ is not JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("kid missing")
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise Unauthorized("issuer not on the allow list")
        key = await self._key(issuer, kid, header.get("jku"))
        required = ["exp", "iat", "iss", "aud"] + (["jti"] if self.require_jti else [])
        try:
            signing_key = self._signing_key(issuer.iss, alg, key)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=[alg],
                audience=list(audiences),
                issuer=issuer.iss,
                leeway=self.leeway_s,
                options={"require": required},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"token rejected ({type(exc).__name__})") from None
        jti = claims.get("jti")
        if jti is not None and not self.replay.check_and_add(
            issuer.iss, str(jti), float(claims["exp"]) + self.leeway_s
        ):
            raise Unauthorized("jti replayed")
        return claims

    def _signing_key(self, iss: str, alg: str, jwk: dict[str, Any]) -> Any:
        """The public key object of ``jwk`` (built once per issuer, algorithm and key)."""
        import json

        cache_key = (iss, alg, json.dumps(jwk, sort_keys=True))
        found = self._keys.get(cache_key)
        if found is None:
            found = jwt.PyJWK(jwk, algorithm=alg).key
            if len(self._keys) > 256:
                self._keys.clear()
            self._keys[cache_key] = found
        return found

    async def _key(self, issuer: CdsIssuer, kid: str, jku: object) -> dict[str, Any]:
        if jku is not None:
            if not isinstance(jku, str) or jku not in (*issuer.jku_allowed, issuer.jwks_url):
                raise Unauthorized("jku not on the allow list")
            url: str | None = jku
        else:
            url = issuer.jwks_url
        key = _find_key(issuer.jwks, kid)
        if key is not None and jku is None:
            return key
        if url is None:
            raise Unauthorized("unknown key id")
        key = _find_key(await self.jwks.keys(url), kid)
        if key is None:  # the issuer may have rotated its keys
            key = _find_key(await self.jwks.keys(url, refresh=True), kid)
        if key is None:
            raise Unauthorized("unknown key id")
        return key


def add_cors(app: FastAPI, settings: Settings) -> None:
    """CORS limited to ``settings.cors_origins`` (nothing is added when the list is empty)."""
    if not settings.cors_origins:
        return
    from starlette.middleware.cors import CORSMiddleware

    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
        max_age=600,
    )
