"""Web sessions kept in the registry, and sign-in throttling.

A browser session is a row in ``web_sessions`` holding only the SHA-256 of the session's
secret, so every worker and every restart sees the same sessions, and signing out, revoking
the API token used to sign in, or deactivating the user ends them at once. Failed sign-ins are
rows in ``sign_in_failures`` (a key such as a hashed client address, never a password);
:data:`MAX_FAILURES` within :data:`FAILURE_WINDOW_S` blocks the key until the window passes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ivig.registry.models import ApiToken, SignInAttempt, User, WebSession, utc_now
from ivig.registry.users import hash_token

__all__ = [
    "FAILURE_WINDOW_S",
    "MAX_FAILURES",
    "SESSION_SECONDS",
    "end_user_sessions",
    "end_web_session",
    "record_sign_in_failure",
    "sign_in_blocked",
    "start_web_session",
    "web_session_user",
]

#: a session lasts one working shift
SESSION_SECONDS = 8 * 3600
#: failed sign-ins allowed per key within the window (then refused until it passes)
MAX_FAILURES = 10
FAILURE_WINDOW_S = 15 * 60


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def start_web_session(
    session: Session, username: str, *, api_token: str | None = None
) -> dict[str, str]:
    """A new session for the active user ``username``: its secret (for the cookie) and CSRF."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise LookupError(username)
    token_id = None
    if api_token:
        token_id = session.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == hash_token(api_token))
        )
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    session.add(
        WebSession(token_hash=_digest(secret), user_id=user.id, csrf=csrf, api_token_id=token_id)
    )
    session.flush()
    return {"secret": secret, "csrf": csrf}


def web_session_user(session: Session, secret: str | None) -> dict[str, Any] | None:
    """The user of a live session (not ended, not expired, user active, token not revoked)."""
    if not secret:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(secret)))
    if row is None or row.ended_at is not None or not row.user.active:
        return None
    if _aware(row.created_at) + dt.timedelta(seconds=SESSION_SECONDS) < utc_now():
        return None
    if row.api_token_id is not None:
        token = session.get(ApiToken, row.api_token_id)
        if token is None or token.revoked_at is not None:
            return None
    return {"username": row.user.username, "role": row.user.role, "csrf": row.csrf}


def end_web_session(session: Session, secret: str | None) -> bool:
    """End the session of ``secret``; True when there was a live one."""
    if not secret:
        return False
    result = session.execute(
        update(WebSession)
        .where(WebSession.token_hash == _digest(secret), WebSession.ended_at.is_(None))
        .values(ended_at=utc_now())
    )
    return bool(getattr(result, "rowcount", 0))


def end_user_sessions(
    session: Session, *, user_id: int | None = None, api_token_id: int | None = None
) -> None:
    """End every live session of a user, or every one started with an API token."""
    query = update(WebSession).where(WebSession.ended_at.is_(None)).values(ended_at=utc_now())
    if user_id is not None:
        query = query.where(WebSession.user_id == user_id)
    if api_token_id is not None:
        query = query.where(WebSession.api_token_id == api_token_id)
    session.execute(query)


def sign_in_blocked(session: Session, key: str) -> bool:
    """Whether ``key`` has had :data:`MAX_FAILURES` failed sign-ins within the window."""
    since = utc_now() - dt.timedelta(seconds=FAILURE_WINDOW_S)
    count = session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(SignInAttempt.username == key[:80], SignInAttempt.at >= since)
    )
    return int(count or 0) >= MAX_FAILURES


def record_sign_in_failure(session: Session, key: str) -> None:
    """Count one failed sign-in for ``key`` (and forget failures older than the window)."""
    since = utc_now() - dt.timedelta(seconds=FAILURE_WINDOW_S)
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < since))
    session.add(SignInAttempt(username=key[:80]))
    session.flush()
