"""Settings of the service: where it is reached, whom it trusts, which registry it uses.

Plain data (a frozen dataclass) so that tests build one in a line and ``ivig serve`` builds one
from the environment (:meth:`Settings.from_env`). Nothing here is clinical.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["CdsIssuer", "Settings", "StaticToken", "check_demo_host"]

#: hosts that only the machine itself can reach
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def check_demo_host(host: str, *, force: bool = False) -> str | None:
    """For ``ivig serve --demo``: refuse a host other machines can reach unless ``force``;
    with ``force``, the loud warning to print. ``None`` for a loopback host."""
    from ivig.errors import InputError

    if host in LOOPBACK_HOSTS or host.startswith("127."):
        return None
    if not force:
        raise InputError(
            "--host",
            host,
            "a loopback address (127.0.0.1) with --demo",
            detail="the demonstration accepts CDS calls without a JWT and prints tokens; "
            "pass --force-demo-host to expose it anyway",
        )
    return (
        f"WARNING: the demonstration is reachable from other machines on {host}: "
        "CDS Hooks calls without a JWT are accepted and the printed tokens give full access"
    )


@dataclass(frozen=True)
class CdsIssuer:
    """One EHR allowed to call the CDS services: its ``iss`` and where its keys are.

    ``jwks`` is a JWK Set given out of band; ``jwks_url`` is fetched (and cached) when a token
    names a key that ``jwks`` does not hold. ``jku_allowed`` lists the ``jku`` header values
    accepted for this issuer (a token with any other ``jku`` is refused).
    """

    iss: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None
    jku_allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaticToken:
    """An API token configured outside the registry (demonstration, tests, service accounts)."""

    username: str
    role: str


def _today() -> dt.date:
    return dt.date.today()


@dataclass(frozen=True)
class Settings:
    """Everything :func:`ivig.service.create_app` needs; every field has a safe default."""

    #: the URL clients use to reach the service; a CDS Hooks JWT's ``aud`` must name it
    public_base_url: str = "http://127.0.0.1:8000"
    #: browser origins allowed by CORS (none by default)
    cors_origins: tuple[str, ...] = ()
    #: EHRs allowed to call the CDS services
    cds_issuers: tuple[CdsIssuer, ...] = ()
    #: verify the EHR's JWT on every CDS Hooks call (turn off only for a loopback demo)
    cds_require_jwt: bool = True
    #: clock skew tolerated on ``exp``/``iat``/``nbf``, seconds
    jwt_leeway_s: float = 30.0
    #: longest lifetime (``exp`` - ``iat``) accepted for a CDS Hooks JWT, seconds; ``None``: any
    cds_max_token_lifetime_s: float | None = 300.0
    #: require a bearer token on the REST API (turn off only for a loopback demo)
    api_require_auth: bool = True
    #: seconds a registry API-token lookup is reused by one process: a token revoked (or a user
    #: deactivated) through another worker or the command line is refused at most this late;
    #: through this process, at once. 0 looks every request up in the database
    api_token_cache_s: float = 5.0
    #: API tokens known without a registry: token -> user and role
    static_tokens: Mapping[str, StaticToken] = field(default_factory=dict)
    #: OAuth2 bearer JWTs: issuers trusted for the REST API (roles in the ``roles`` claim)
    oauth_issuers: tuple[CdsIssuer, ...] = ()
    #: the ``aud`` expected in OAuth2 bearer JWTs (default: ``public_base_url``)
    oauth_audience: str | None = None
    #: SQLAlchemy URL of the registry; ``None`` runs without registry endpoints
    database_url: str | None = None
    #: jurisdiction used for CDS Hooks and FHIR requests that do not name one
    jurisdiction: str = "international"
    #: seconds to wait for the EHR's FHIR server when prefetch is missing
    fhir_timeout_s: float = 5.0
    #: extra RxNorm (or local) medication codes that mark an immunoglobulin order
    ig_medication_codes: tuple[str, ...] = ()
    #: an ordered dose more than this many per cent from the policy dose is flagged (CDS cards)
    #: the order check's tolerance above the policy dose, % (None: the knowledge base's default)
    order_tolerance_pct: float | None = None
    #: the knowledge base to serve; ``None`` loads the bundled one
    knowledge: KnowledgeBase | None = None
    #: today's date (tests fix it)
    today: Callable[[], dt.date] = _today
    #: largest request body accepted, bytes (413 above it, before parsing or authentication)
    max_body_bytes: int = 1_000_000
    #: largest total size of the request headers, bytes (431 above it)
    max_header_bytes: int = 16_384
    #: let a steward authorise their own request (single-person sites only; off by default)
    allow_self_authorisation: bool = False
    #: FHIR base URLs each CDS Hooks issuer may name as ``fhirServer`` (issuer -> bases)
    fhir_allowed_bases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: write the ``ivig`` logs as JSON lines on stderr when nothing else configured logging
    json_logs: bool = True

    #: local prices, a CSV file with columns product, price_per_g (``IVIG_PRICES``); the web
    #: dashboard shows cost per gram, usage cost and savings with it
    prices_file: str | None = None

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` whenever the public URL is https."""
        return self.public_base_url.lower().startswith("https://")

    def fhir_base_allowed(self, iss: str | None, base: str) -> bool:
        """Whether ``base`` is on the allow-list of issuer ``iss`` (no list: not allowed). An
        entry ending in ``*`` allows every URL that starts with the text before it."""
        allowed = self.fhir_allowed_bases.get(iss or "", ())
        wanted = base.rstrip("/")
        return any(
            wanted.startswith(b[:-1]) if b.endswith("*") else wanted == b.rstrip("/")
            for b in allowed
        )

    @property
    def knowledge_url(self) -> str:
        """Where a card's source link points: the knowledge-base index of this service."""
        return self.public_base_url.rstrip("/") + "/api/kb"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``IVIG_*`` environment variables, then ``overrides``.

        ``IVIG_PUBLIC_URL``, ``IVIG_CORS_ORIGINS`` (comma separated), ``IVIG_DATABASE_URL``,
        ``IVIG_JURISDICTION``, ``IVIG_CDS_ISSUERS`` (JSON list of ``{iss, jwks?, jwks_url?,
        jku_allowed?}``), ``IVIG_OAUTH_ISSUERS`` (same shape), ``IVIG_IG_CODES`` (comma separated,
        ``system|code`` or a bare code), ``IVIG_ORDER_TOLERANCE_PCT`` (a number, default 10),
        ``IVIG_CDS_MAX_TOKEN_LIFETIME_S`` (seconds, default 300), ``IVIG_TOKEN_CACHE_S`` (0 to
        300 seconds, default 5), ``IVIG_PRICES`` (a prices CSV file).
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("IVIG_PUBLIC_URL"):
            values["public_base_url"] = env["IVIG_PUBLIC_URL"]
        if env.get("IVIG_CORS_ORIGINS"):
            values["cors_origins"] = _split(env["IVIG_CORS_ORIGINS"])
        if env.get("IVIG_DATABASE_URL"):
            values["database_url"] = env["IVIG_DATABASE_URL"]
        if env.get("IVIG_JURISDICTION"):
            values["jurisdiction"] = env["IVIG_JURISDICTION"]
        if env.get("IVIG_IG_CODES"):
            values["ig_medication_codes"] = _split(env["IVIG_IG_CODES"])
        values.update(_limits(env))
        if env.get("IVIG_ORDER_TOLERANCE_PCT"):
            values["order_tolerance_pct"] = _percent(env["IVIG_ORDER_TOLERANCE_PCT"])
        if env.get("IVIG_CDS_MAX_TOKEN_LIFETIME_S"):
            values["cds_max_token_lifetime_s"] = _seconds(
                "IVIG_CDS_MAX_TOKEN_LIFETIME_S", env["IVIG_CDS_MAX_TOKEN_LIFETIME_S"]
            )
        if env.get("IVIG_TOKEN_CACHE_S"):
            values["api_token_cache_s"] = _cache_seconds(
                "IVIG_TOKEN_CACHE_S", env["IVIG_TOKEN_CACHE_S"]
            )
        if env.get("IVIG_PRICES"):
            values["prices_file"] = env["IVIG_PRICES"]
        for name, key in (
            ("cds_issuers", "IVIG_CDS_ISSUERS"),
            ("oauth_issuers", "IVIG_OAUTH_ISSUERS"),
        ):
            if env.get(key):
                values[name] = _issuers(key, env[key])
        values.update(overrides)
        return cls(**values)


def _limits(env: Mapping[str, str]) -> dict[str, Any]:
    """``IVIG_MAX_BODY_BYTES``, ``IVIG_MAX_HEADER_BYTES``, ``IVIG_ALLOW_SELF_AUTHORISATION``,
    ``IVIG_FHIR_ALLOWED_BASES`` (JSON object: issuer -> list of FHIR base URLs)."""
    from ivig.errors import InputError

    values: dict[str, Any] = {}
    for name, key in (
        ("max_body_bytes", "IVIG_MAX_BODY_BYTES"),
        ("max_header_bytes", "IVIG_MAX_HEADER_BYTES"),
    ):
        if env.get(key):
            text = env[key].strip()
            if not text.isdigit() or int(text) < 1024:
                raise InputError(key, text[:40], "a whole number of bytes, at least 1024")
            values[name] = int(text)
    if env.get("IVIG_ALLOW_SELF_AUTHORISATION"):
        flag = env["IVIG_ALLOW_SELF_AUTHORISATION"].strip().lower()
        values["allow_self_authorisation"] = flag in ("1", "true", "yes")
    if env.get("IVIG_FHIR_ALLOWED_BASES"):
        try:
            raw = json.loads(env["IVIG_FHIR_ALLOWED_BASES"])
        except json.JSONDecodeError:
            raw = None
        if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
            raise InputError(
                "IVIG_FHIR_ALLOWED_BASES", "(not shown)", "a JSON object: issuer -> list of URLs"
            )
        values["fhir_allowed_bases"] = {str(k): tuple(map(str, v)) for k, v in raw.items()}
    return values


def _percent(text: str) -> float:
    from ivig.errors import InputError

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1000:
        raise InputError("IVIG_ORDER_TOLERANCE_PCT", text, "a percentage from 0 to below 1000")
    return value


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _seconds(name: str, text: str) -> float:
    from ivig.errors import InputError

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise InputError(name, text[:40], "a positive number of seconds")
    return value


#: the longest API-token cache window accepted, seconds (the delay of a revocation elsewhere)
MAX_TOKEN_CACHE_S = 300.0


def _cache_seconds(name: str, text: str) -> float:
    from ivig.errors import InputError

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= MAX_TOKEN_CACHE_S:
        raise InputError(name, text[:40], f"a number of seconds from 0 to {MAX_TOKEN_CACHE_S:g}")
    return value


def _issuers(name: str, text: str) -> tuple[CdsIssuer, ...]:
    from ivig.errors import InputError

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(name, text[:40], "a JSON list of issuers", detail=exc.msg) from None
    if not isinstance(raw, list) or not all(isinstance(i, dict) and "iss" in i for i in raw):
        raise InputError(name, text[:40], "a JSON list of objects with an 'iss' key")
    return tuple(
        CdsIssuer(
            iss=str(i["iss"]),
            jwks=i.get("jwks"),
            jwks_url=i.get("jwks_url"),
            jku_allowed=tuple(i.get("jku_allowed", ())),
        )
        for i in raw
    )
