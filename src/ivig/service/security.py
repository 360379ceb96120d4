"""Trusting the EHR: JWT verification for CDS Hooks calls (and OAuth2 bearer JWTs), and CORS.

As CDS Hooks 2.0 asks: every call carries ``Authorization: Bearer <jwt>`` signed with an
asymmetric algorithm (ES384 or RS384 here); ``iss`` must be on the allow list, whose JWK Set is
given out of band or fetched from its URL (``jku`` only from that issuer's allow list); ``aud``
must name this service (its base URL or the exact URL called); ``exp``, ``iat`` and ``jti`` are
required (``exp`` and ``iat`` as numbers; a CDS Hooks token may live at most
``Settings.cds_max_token_lifetime_s``, 5 minutes by default) and a ``jti`` is accepted once, by
every worker sharing the registry database (:mod:`ivig.service.replay`). Any failure answers
401 with no detail; the reason goes to the log (never a claim value, never patient data).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt

from ivig.service.replay import DatabaseReplayCache, MemoryReplayCache, ReplayStore

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

    from ivig.service.settings import CdsIssuer, Settings

__all__ = [
    "ALGORITHMS",
    "JwksCache",
    "JwtVerifier",
    "KeySet",
    "ReplayCache",
    "Unauthorized",
    "add_cors",
    "bearer_token",
    "parse_jwt",
    "replay_cache_for",
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


#: the in-memory replay cache (one process); :func:`replay_cache_for` picks the shared one
ReplayCache = MemoryReplayCache


def replay_cache_for(engine: Engine | None) -> ReplayStore:
    """The replay cache of a service: in the registry database when there is one, so every
    worker refuses a token another worker accepted; in memory otherwise.

    On SQLite the cache uses an engine of its own with ``synchronous=NORMAL`` (a replay entry
    lost to a power cut only re-admits a token that is still unexpired; the registry's own
    engine keeps ``synchronous=FULL``).
    """
    if engine is None:
        return MemoryReplayCache()
    database = engine.url.database or ""
    if engine.dialect.name == "sqlite" and database not in ("", ":memory:"):
        from sqlalchemy import event

        from ivig.registry.db import make_engine

        engine = make_engine(engine.url.render_as_string(hide_password=False))
        event.listen(engine, "connect", _sqlite_normal_sync)
    return DatabaseReplayCache(engine)


def _sqlite_normal_sync(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class KeySet:
    """A JWK Set indexed by ``kid`` (O(1) lookups), with the public-key objects built once."""

    def __init__(self, jwks: Mapping[str, Any] | None) -> None:
        self._jwks: dict[str, dict[str, Any]] = {}
        for key in (jwks or {}).get("keys", []) or []:
            kid = key.get("kid") if isinstance(key, dict) else None
            if isinstance(kid, str) and kid not in self._jwks:
                self._jwks[kid] = key
        self._objects: dict[tuple[str, str], Any] = {}

    def __contains__(self, kid: str) -> bool:
        return kid in self._jwks

    def public_key(self, kid: str, alg: str) -> Any | None:
        """The public key ``kid`` for ``alg`` (``None`` when the set has no such key)."""
        found = self._objects.get((kid, alg))
        if found is None:
            jwk = self._jwks.get(kid)
            if jwk is None:
                return None
            try:
                found = jwt.PyJWK(jwk, algorithm=alg).key
            except jwt.PyJWTError:
                raise Unauthorized("key unusable for the algorithm") from None
            self._objects[(kid, alg)] = found
        return found


class JwksCache:
    """JWK Sets by URL, fetched with httpx and kept for :data:`JWKS_TTL_S` seconds."""

    def __init__(
        self,
        client_factory: Callable[[], httpx.AsyncClient] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sets: dict[str, tuple[float, KeySet]] = {}
        self._client_factory = client_factory
        self._clock = clock

    async def keys(self, url: str, *, refresh: bool = False) -> KeySet:
        """The JWK Set at ``url``, indexed by ``kid``, from the cache when fresh."""
        now = self._clock()
        cached = self._sets.get(url)
        if cached is not None:
            fetched_at, keys = cached
            age = now - fetched_at
            if age < JWKS_TTL_S and not (refresh and age > JWKS_REFETCH_S):
                return keys
        keys = KeySet(await self._fetch(url))
        self._sets[url] = (now, keys)
        return keys

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


def _b64_json(part: str) -> dict[str, Any]:
    data = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def parse_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signing input and signature of a compact JWS, decoded once.

    Raise :class:`Unauthorized` when ``token`` is not three base64url parts of JSON objects.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("token is not a JWT")
    try:
        header = _b64_json(parts[0])
        claims = _b64_json(parts[1])
        signature = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Unauthorized("token is not a JWT") from None
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """The NumericDate claim ``name`` if present (a JSON number; a string or boolean is refused)."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Unauthorized(f"{name} is not a number")
    return float(value)


def _required_date(claims: Mapping[str, Any], name: str) -> float:
    value = _numeric_date(claims, name)
    if value is None:
        raise Unauthorized(f"{name} missing")
    return value


def _check_audience(claims: Mapping[str, Any], audiences: Sequence[str]) -> None:
    aud = claims.get("aud")
    named = [aud] if isinstance(aud, str) else aud
    if not isinstance(named, list) or not named:
        raise Unauthorized("aud missing")
    if not any(isinstance(a, str) and a in audiences for a in named):
        raise Unauthorized("aud does not name this service")


@dataclass(frozen=True)
class _Header:
    alg: str
    kid: str
    jku: object


def _check_header(header: Mapping[str, Any]) -> _Header:
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Unauthorized("algorithm not allowed")
    typ = header.get("typ")
    if typ is not None and str(typ).upper() != "JWT":
        raise Unauthorized("typ is not JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("kid missing")
    if "crit" in header:
        raise Unauthorized("crit header not supported")
    return _Header(str(alg), kid, header.get("jku"))


class JwtVerifier:
    """Verify signed JWTs from an allow list of issuers (:class:`CdsIssuer`).

    The token is decoded once (:func:`parse_jwt`), its signature checked with the issuer's key
    (found by ``kid`` in O(1)), then its claims: ``exp`` and ``iat`` numbers, ``nbf`` if given,
    ``aud``, ``jti`` and, when ``max_lifetime_s`` is set, ``exp`` no later than that many seconds
    after ``iat``.
    """

    def __init__(
        self,
        issuers: Sequence[CdsIssuer],
        *,
        leeway_s: float = 30.0,
        jwks_cache: JwksCache | None = None,
        replay: ReplayStore | None = None,
        require_jti: bool = True,
        max_lifetime_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuers = {i.iss: i for i in issuers}
        self._static = {i.iss: KeySet(i.jwks) for i in issuers}
        self.leeway_s = leeway_s
        self.jwks = jwks_cache or JwksCache()
        self.replay = replay or MemoryReplayCache()
        self.require_jti = require_jti
        self.max_lifetime_s = max_lifetime_s
        self._clock = clock
        self._algorithms = {name: jwt.get_algorithm_by_name(name) for name in ALGORITHMS}

    async def verify(self, token: str, audiences: Sequence[str]) -> dict[str, Any]:
        """The verified claims of ``token``; raise :class:`Unauthorized` on any failure."""
        header_raw, claims, signing_input, signature = parse_jwt(token)
        header = _check_header(header_raw)
        iss = claims.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise Unauthorized("issuer not on the allow list")
        key = await self._key(issuer, header)
        try:
            valid = self._algorithms[header.alg].verify(signing_input, key, signature)
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise Unauthorized("token rejected (InvalidSignatureError)")
        exp = self._check_times(claims)
        _check_audience(claims, audiences)
        jti = self._jti(claims)
        if jti is not None and not await self._first_use(issuer.iss, jti, exp + self.leeway_s):
            raise Unauthorized("jti replayed")
        return claims

    async def _first_use(self, iss: str, jti: str, until: float) -> bool:
        """The replay check; a database cache runs in a worker thread, off the event loop."""
        if isinstance(self.replay, DatabaseReplayCache):
            import anyio.to_thread

            return await anyio.to_thread.run_sync(self.replay.check_and_add, iss, jti, until)
        return self.replay.check_and_add(iss, jti, until)

    def _check_times(self, claims: Mapping[str, Any]) -> float:
        """``exp`` (returned), ``iat`` and ``nbf`` against the clock and the lifetime bound."""
        now = self._clock()
        exp = _required_date(claims, "exp")
        iat = _required_date(claims, "iat")
        nbf = _numeric_date(claims, "nbf")
        if exp + self.leeway_s <= now:
            raise Unauthorized("token rejected (ExpiredSignatureError)")
        if iat - self.leeway_s > now:
            raise Unauthorized("iat in the future")
        if nbf is not None and nbf - self.leeway_s > now:
            raise Unauthorized("token not yet valid")
        if self.max_lifetime_s is not None and exp - iat > self.max_lifetime_s:
            raise Unauthorized("token lifetime longer than allowed")
        return exp

    def _jti(self, claims: Mapping[str, Any]) -> str | None:
        """The one-time ``jti`` to check for replay; ``None`` for reusable bearer tokens.

        CDS Hooks JWTs (``require_jti``) are single-use; OAuth2 access tokens are presented on
        every request of their lifetime, so their ``jti`` is not a one-time value.
        """
        if not self.require_jti:
            return None
        jti = claims.get("jti")
        if jti is None:
            raise Unauthorized("jti missing")
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("jti is not a string")
        return jti

    async def _key(self, issuer: CdsIssuer, header: _Header) -> Any:
        jku = header.jku
        if jku is not None:
            if not isinstance(jku, str) or jku not in (*issuer.jku_allowed, issuer.jwks_url):
                raise Unauthorized("jku not on the allow list")
            url: str | None = jku
        else:
            url = issuer.jwks_url
            key = self._static[issuer.iss].public_key(header.kid, header.alg)
            if key is not None:
                return key
        if url is None:
            raise Unauthorized("unknown key id")
        keys = await self.jwks.keys(url)
        if header.kid not in keys:  # the issuer may have rotated its keys
            keys = await self.jwks.keys(url, refresh=True)
        key = keys.public_key(header.kid, header.alg)
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
