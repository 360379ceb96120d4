"""What every request handler shares: settings, knowledge base, verifiers, registry, feedback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase
    from ivig.service.security import JwtVerifier
    from ivig.service.settings import Settings

__all__ = [
    "FeedbackLog",
    "RegistryLink",
    "ServiceState",
    "TokenCache",
    "fhir_server_allowed",
    "get_state",
    "state_of",
]


class TokenCache:
    """Registry API-token lookups remembered for ``ttl_s`` seconds, by the token's SHA-256.

    Only a successful lookup (an active user) is kept, so an unknown token always reaches the
    database. A token revoked, or a user deactivated, elsewhere (another worker, the command
    line) is refused by this process at most ``ttl_s`` seconds later; a change made through
    this process clears the cache at once (:meth:`clear`). ``ttl_s`` 0 keeps nothing.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._users)

    def get(self, digest: str) -> dict[str, Any] | None:
        """The user remembered for ``digest`` if looked up less than ``ttl_s`` seconds ago."""
        found = self._users.get(digest)
        if found is None:
            return None
        if self._clock() - found[0] >= self.ttl_s:
            with self._lock:
                self._users.pop(digest, None)
            return None
        return found[1]

    def put(self, digest: str, user: dict[str, Any], looked_up_at: float) -> None:
        """Remember ``user`` for ``digest`` as read from the database at ``looked_up_at``."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._users) >= self.max_entries:  # bounded memory: start again
                self._users.clear()
            self._users[digest] = (looked_up_at, user)

    def clear(self) -> None:
        """Forget every lookup (after a revocation or a change of user made here)."""
        with self._lock:
            self._users.clear()

    def now(self) -> float:
        """The cache's clock (read before a database lookup, passed to :meth:`put`)."""
        return self._clock()


class RegistryLink:
    """The registry database behind the service (migrated to head when opened)."""

    def __init__(self, url: str, *, migrate: bool = True, token_cache_s: float = 0.0) -> None:
        from ivig.registry.db import make_engine, upgrade

        self.url = url
        self.tokens = TokenCache(token_cache_s)
        self.engine: Engine = make_engine(url)
        if migrate:
            upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction (commit on success, roll back on error)."""
        from ivig.registry.db import session_scope

        with session_scope(self.engine) as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """One read-only transaction (on SQLite it never takes the write lock)."""
        from ivig.registry.db import read_scope

        with read_scope(self.engine) as session:
            yield session

    def cached_user(self, token: str) -> dict[str, Any] | None:
        """The user holding ``token`` if this process looked it up within the cache's window
        (:class:`TokenCache`); ``None``: ask :meth:`verify_token`. No database access."""
        if self.tokens.ttl_s <= 0:
            return None
        from ivig.registry.users import hash_token

        return self.tokens.get(hash_token(token))

    def verify_token(self, token: str) -> dict[str, Any] | None:
        """The active user holding ``token``, or ``None`` (read-only; remembered when found)."""
        from ivig.registry import api
        from ivig.registry.users import hash_token

        looked_up_at = self.tokens.now()
        with self.read_session() as session:
            user: dict[str, Any] | None = api.verify_token(session, token)
        if user is not None and user.get("active", True):
            self.tokens.put(hash_token(token), user, looked_up_at)
        return user

    def forget_tokens(self) -> None:
        """Drop the remembered token lookups (a token or user changed through this process)."""
        self.tokens.clear()


@dataclass
class FeedbackLog:
    """CDS Hooks feedback seen by this process (kept here, and in the registry when there is
    one); makes the feedback endpoint idempotent."""

    items: list[dict[str, Any]] = field(default_factory=list)
    _keys: set[tuple[str, str, str]] = field(default_factory=set)
    #: at most this many items are kept (without a registry; with one, the registry keeps them)
    max_items: int = 10_000

    def record(self, service_id: str, item: dict[str, Any]) -> bool:
        """Add ``item`` unless the same card, outcome and time was recorded; True if added."""
        key = (str(item.get("card")), str(item.get("outcome")), str(item.get("outcomeTimestamp")))
        if key in self._keys:
            return False
        self._keys.add(key)
        self.items.append({"service_id": service_id, **item})
        if len(self.items) > self.max_items:  # bounded memory: forget the oldest
            old = self.items.pop(0)
            self._keys.discard(
                (str(old.get("card")), str(old.get("outcome")), str(old.get("outcomeTimestamp")))
            )
        return True


@dataclass
class ServiceState:
    """Built once by :func:`ivig.service.create_app`; reached through :func:`get_state`."""

    settings: Settings
    kb: KnowledgeBase
    cds_verifier: JwtVerifier
    oauth_verifier: JwtVerifier | None
    registry: RegistryLink | None
    feedback: FeedbackLog
    http_client: Callable[[], httpx.AsyncClient]
    _form_secret: bytes | None = field(default=None, repr=False)
    _form_secret_failed: bool = field(default=False, repr=False)

    def form_secret(self) -> bytes | None:
        """The secret that seals prefilled form links (:mod:`ivig.app.form_link`): the web
        app's own when it is mounted here, else ``IVIG_WEB_SECRET`` or the shared secret file
        (what a web app in another process reads). ``None`` when there is none to be had (a
        short secret, an unwritable data directory): the cards then carry no form link, and
        the reason is logged once."""
        if self._form_secret is None and not self._form_secret_failed:
            from ivig.app.form_link import shared_secret
            from ivig.errors import InputError

            try:
                self._form_secret = shared_secret()
            except (OSError, InputError) as exc:
                self._form_secret_failed = True
                import logging

                from ivig.service.logs import security_event

                security_event(
                    "form_link_disabled",
                    level=logging.WARNING,
                    reason=type(exc).__name__,
                    error=str(exc),
                )
        return self._form_secret

    def use_form_secret(self, secret: bytes) -> None:
        """Seal form links under ``secret`` (called by :func:`ivig.web.mount`)."""
        self._form_secret, self._form_secret_failed = secret, False


def get_state(request: Request) -> ServiceState:
    """The service state of the app handling ``request``."""
    state: ServiceState = request.app.state.ivig
    return state


async def state_of(request: Request) -> ServiceState:
    """:func:`get_state` as a FastAPI dependency: a coroutine, so it runs on the event loop (a
    plain function dependency is sent to a worker thread on every request)."""
    return get_state(request)


def fhir_server_allowed(state: ServiceState, request: Request, base: str) -> bool:
    """Whether the CDS client's ``fhirServer`` is on its issuer's allow-list (settings
    ``fhir_allowed_bases``); a refused one is not fetched (no SSRF) and is logged."""
    issuer = getattr(request.state, "cds_issuer", None)
    if state.settings.fhir_base_allowed(issuer, base):
        return True
    from ivig.service.logs import security_event

    security_event("fhir_server_refused", reason="not on the issuer's allow-list")
    return False
