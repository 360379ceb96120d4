"""Users, roles and API tokens (only the SHA-256 of a token is stored)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivig.errors import InputError, IvigError
from ivig.permissions import ROLES, Action, roles_for
from ivig.registry.audit import append_audit
from ivig.registry.models import ApiToken, User, utc_now

__all__ = [
    "ROLES",
    "SYSTEM_ACTOR",
    "RoleError",
    "create_user",
    "get_user",
    "hash_token",
    "issue_token",
    "list_users",
    "require_permission",
    "require_role",
    "revoke_token",
    "set_user_active",
    "user_out",
    "verify_token",
]

#: the actor recorded for set-up steps run from the command line before any user exists
SYSTEM_ACTOR = "system"


class RoleError(IvigError):
    """The user does not exist, is inactive, or lacks the role the action needs."""

    def __init__(self, username: str, needed: tuple[str, ...], detail: str) -> None:
        self.username = username
        self.needed = needed
        super().__init__(
            f"user {username!r} may not do this ({detail}); needs role: {', '.join(needed)}"
        )


def hash_token(token: str) -> str:
    """SHA-256 (hex) of an API token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_out(user: User) -> dict[str, Any]:
    """A user as plain data."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "display_name": user.display_name,
        "active": user.active,
    }


def get_user(session: Session, username: str) -> User:
    """The user row for ``username``; ``InputError`` when there is none."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InputError("username", username, "an existing user (see `ivig registry users`)")
    return user


def require_role(session: Session, username: str, *roles: str) -> dict[str, Any]:
    """The active user ``username`` if their role is one of ``roles`` (admin always passes)."""
    needed = tuple(roles) or ROLES
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise RoleError(username, needed, "no such user")
    if not user.active:
        raise RoleError(username, needed, "the user is deactivated")
    if user.role != "admin" and user.role not in needed:
        raise RoleError(username, needed, f"their role is {user.role}")
    return user_out(user)


def require_permission(session: Session, username: str, action: Action) -> dict[str, Any]:
    """The active user ``username`` if their role may do ``action`` (``ivig.permissions``)."""
    return require_role(session, username, *roles_for(action))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError("role", role, ", ".join(ROLES))


def create_user(
    session: Session,
    username: str,
    role: str,
    *,
    actor: str,
    display_name: str | None = None,
) -> dict[str, Any]:
    """Add a user. The first user may be created by ``system``; later ones need an admin."""
    _check_role(role)
    name = username.strip()
    if not name or len(name) > 80 or name == SYSTEM_ACTOR:
        raise InputError("username", username, f"1 to 80 characters, not {SYSTEM_ACTOR!r}")
    has_users = session.scalar(select(User.id).limit(1)) is not None
    if has_users or actor != SYSTEM_ACTOR:
        require_permission(session, actor, "manage_users")
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise InputError("username", name, "a username not already taken")
    user = User(username=name, role=role, display_name=display_name, active=True)
    session.add(user)
    session.flush()
    out = user_out(user)
    append_audit(
        session, actor=actor, action="create_user", entity="user", entity_id=user.id, payload=out
    )
    return out


def list_users(
    session: Session, *, limit: int | None = None, after: str | None = None
) -> list[dict[str, Any]]:
    """Users by username: all of them, or at most ``limit`` after the username ``after``."""
    query = select(User).order_by(User.username)
    if after is not None:
        query = query.where(User.username > after)
    if limit is not None:
        query = query.limit(limit)
    return [user_out(u) for u in session.scalars(query)]


def set_user_active(session: Session, username: str, active: bool, *, actor: str) -> dict[str, Any]:
    """Activate or deactivate a user (admin only); a deactivated user's tokens stop working."""
    require_permission(session, actor, "manage_users")
    user = get_user(session, username)
    user.active = active
    if not active:
        from ivig.registry.sessions import end_user_sessions

        end_user_sessions(session, user_id=user.id)
    session.flush()
    out = user_out(user)
    append_audit(
        session,
        actor=actor,
        action="activate_user" if active else "deactivate_user",
        entity="user",
        entity_id=user.id,
        payload=out,
    )
    return out


def issue_token(
    session: Session, username: str, *, actor: str, label: str | None = None
) -> dict[str, Any]:
    """A new API token for ``username``; the token is returned once and never stored.

    Users may issue tokens for themselves; an admin may issue them for anyone.
    """
    if actor != username:
        require_permission(session, actor, "manage_users")
    else:
        require_role(session, actor)
    user = get_user(session, username)
    token = "ivig_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), label=label)
    session.add(row)
    session.flush()
    append_audit(
        session,
        actor=actor,
        action="issue_token",
        entity="api_token",
        entity_id=row.id,
        payload={"username": username, "label": label, "token_sha256": row.token_hash},
    )
    return {"token": token, "token_id": row.id, "username": username, "label": label}


def revoke_token(session: Session, token_id: int, *, actor: str) -> dict[str, Any]:
    """Revoke a token (its owner or an admin)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise InputError("token_id", token_id, "the id of an issued token")
    if row.user.username != actor:
        require_permission(session, actor, "manage_users")
    if row.revoked_at is None:
        from ivig.registry.sessions import end_user_sessions

        row.revoked_at = utc_now()
        end_user_sessions(session, api_token_id=row.id)
        session.flush()
        append_audit(
            session,
            actor=actor,
            action="revoke_token",
            entity="api_token",
            entity_id=row.id,
            payload={"username": row.user.username},
        )
    return {"token_id": row.id, "username": row.user.username, "revoked": True}


def verify_token(session: Session, token: str) -> dict[str, Any] | None:
    """The active user who owns ``token``, or ``None`` (unknown, revoked or deactivated)."""
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return user_out(row.user)
