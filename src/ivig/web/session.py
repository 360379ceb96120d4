"""Browser sessions: a signed cookie naming the user and role, and a CSRF token per session.

The cookie holds ``username``, ``role``, how the user signed in, an expiry and (with a
registry) the secret of the session's row in the registry (``web_sessions``), signed with
HMAC-SHA256 under the server's secret (:class:`WebConfig`). Nothing clinical is stored in it.
The registry row makes sessions work across workers and restarts and lets sign-out, token
revocation and user deactivation end them at once (:func:`session_is_live`). The signing
secret comes from ``IVIG_WEB_SECRET``, else from a file (``IVIG_WEB_SECRET_FILE``, default
``web-secret.key`` in the registry's data directory, created 0600), so every worker shares it.
Every form that changes data carries :func:`csrf_token`, checked with :func:`check_csrf`; the
sign-in and sign-out forms are also refused from another origin (:func:`same_origin`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COOKIE_NAME",
    "SESSION_SECONDS",
    "WebConfig",
    "WebUser",
    "check_csrf",
    "csrf_token",
    "read_session",
    "same_origin",
    "session_is_live",
    "sign_session",
]

COOKIE_NAME = "ivig_session"
#: a signed-in browser session lasts one working shift
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class WebConfig:
    """How the web pages sign sessions and whether the demonstration sign-in is offered.

    ``demo_login`` lists the registry users by name on the sign-in page and lets anyone sign
    in as one of them without a token: for a loopback demonstration only.
    """

    secret: bytes
    demo_login: bool = False
    secure_cookie: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WebConfig:
        """``IVIG_WEB_SECRET`` (else the secret file), ``IVIG_WEB_DEMO_LOGIN=1``."""
        env = dict(os.environ) if env is None else env
        from ivig.app.form_link import shared_secret

        return cls(
            secret=shared_secret(env),
            demo_login=env.get("IVIG_WEB_DEMO_LOGIN") == "1",
            secure_cookie=env.get("IVIG_PUBLIC_URL", "").startswith("https://"),
        )


@dataclass(frozen=True)
class WebUser:
    """The signed-in user of a browser session (``sid``: its registry session secret)."""

    username: str
    role: str
    via: str
    expires: int
    sid: str = ""

    def may(self, *roles: str) -> bool:
        """True when the user holds one of ``roles`` (``admin`` may do everything)."""
        return self.role == "admin" or self.role in roles


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def sign_session(
    config: WebConfig,
    username: str,
    role: str,
    via: str,
    *,
    now: float | None = None,
    sid: str = "",
) -> str:
    """The cookie value of a new session for ``username`` (``sid``: its registry row)."""
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    body = {"u": username, "r": role, "v": via, "e": expires, "n": secrets.token_hex(8)}
    if sid:
        body["s"] = sid
    payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_mac(config.secret, payload)}"


def read_session(
    config: WebConfig, cookie: str | None, *, now: float | None = None
) -> WebUser | None:
    """The user of a cookie value, or ``None`` when it is missing, forged or expired."""
    if not cookie or cookie.count(".") != 1:
        return None
    payload, mac = cookie.split(".")
    if not hmac.compare_digest(mac, _mac(config.secret, payload)):
        return None
    try:
        body = json.loads(_unb64(payload))
        user = WebUser(
            str(body["u"]), str(body["r"]), str(body["v"]), int(body["e"]), str(body.get("s", ""))
        )
    except (ValueError, KeyError, TypeError):
        return None
    if user.expires < (time.time() if now is None else now):
        return None
    return user


def csrf_token(config: WebConfig, cookie: str) -> str:
    """The token every state-changing form of this session carries."""
    return _mac(config.secret, "csrf:" + cookie.split(".", 1)[0])


#: the cookie holding the sign-in form's nonce (before any session exists)
LOGIN_COOKIE_NAME = "ivig_login"
#: how long a sign-in page stays usable, seconds
LOGIN_FORM_SECONDS = 3600


def login_nonce(cookie: str | None) -> str:
    """The sign-in form's nonce: the browser's own (from :data:`LOGIN_COOKIE_NAME`), else new."""
    if cookie and 16 <= len(cookie) <= 64 and cookie.replace("-", "").replace("_", "").isalnum():
        return cookie
    return secrets.token_urlsafe(24)


def login_csrf(config: WebConfig, nonce: str) -> str:
    """The token the sign-in form carries for the browser holding ``nonce`` (double submit:
    another site can neither read the cookie nor compute the token)."""
    return _mac(config.secret, "login:" + nonce)


def check_login_csrf(config: WebConfig, cookie: str | None, token: object) -> bool:
    """True when ``token`` is the sign-in token of the browser's nonce cookie."""
    if not cookie or not isinstance(token, str) or not token:
        return False
    return hmac.compare_digest(token, login_csrf(config, cookie))


def check_csrf(config: WebConfig, cookie: str | None, token: object) -> bool:
    """True when ``token`` is this session's CSRF token."""
    if not cookie or not isinstance(token, str) or not token:
        return False
    return hmac.compare_digest(token, csrf_token(config, cookie))


def session_is_live(registry: Any, user: WebUser) -> bool:
    """Whether the registry still holds this session (always true for one without a row)."""
    if not user.sid or registry is None:
        return True
    from ivig.registry.sessions import web_session_user

    with registry.read_session() as session:
        found = web_session_user(session, user.sid)
    return found is not None and found["username"] == user.username


def same_origin(origin: str | None, referer: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a sign-in or sign-out POST comes from this site: its ``Origin`` (else its
    ``Referer``) names one of ``allowed``; a request with neither (not a browser) passes."""

    def ours(url: str) -> bool:
        return any(url == a.rstrip("/") or url.startswith(a.rstrip("/") + "/") for a in allowed)

    if origin:
        return origin != "null" and ours(origin)
    return ours(referer) if referer else True
