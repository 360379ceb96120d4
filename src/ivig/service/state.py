"""What every request handler shares: settings, knowledge base, verifiers, registry, feedback."""

from __future__ import annotations

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

__all__ = ["FeedbackLog", "RegistryLink", "ServiceState", "fhir_server_allowed", "get_state"]


class RegistryLink:
    """The registry database behind the service (migrated to head when opened)."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        from ivig.registry.db import make_engine, upgrade

        self.url = url
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

    def verify_token(self, token: str) -> dict[str, Any] | None:
        """The active user holding ``token``, or ``None``."""
        from ivig.registry import api

        with self.read_session() as session:
            user: dict[str, Any] | None = api.verify_token(session, token)
        return user


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


def fhir_server_allowed(state: ServiceState, request: Request, base: str) -> bool:
    """Whether the CDS client's ``fhirServer`` is on its issuer's allow-list (settings
    ``fhir_allowed_bases``); a refused one is not fetched (no SSRF) and is logged."""
    issuer = getattr(request.state, "cds_issuer", None)
    if state.settings.fhir_base_allowed(issuer, base):
        return True
    from ivig.service.logs import security_event

    security_event("fhir_server_refused", reason="not on the issuer's allow-list")
    return False
