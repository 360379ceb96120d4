"""Browser sessions: a signed cookie naming the user and role, and a CSRF token per session.

The cookie holds ``username``, ``role``, how the user signed in and an expiry, signed with
HMAC-SHA256 under the server's secret (:class:`WebConfig`). Nothing clinical is stored in it.
Every form that changes data carries :func:`csrf_token`, checked with :func:`check_csrf`.
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

__all__ = [
    "COOKIE_NAME",
    "SESSION_SECONDS",
    "WebConfig",
    "WebUser",
    "check_csrf",
    "csrf_token",
    "read_session",
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
        """``IVIG_WEB_SECRET`` (random per process when unset), ``IVIG_WEB_DEMO_LOGIN=1``."""
        env = dict(os.environ) if env is None else env
        raw = env.get("IVIG_WEB_SECRET")
        secret = raw.encode("utf-8") if raw else secrets.token_bytes(32)
        return cls(
            secret=secret,
            demo_login=env.get("IVIG_WEB_DEMO_LOGIN") == "1",
            secure_cookie=env.get("IVIG_PUBLIC_URL", "").startswith("https://"),
        )


@dataclass(frozen=True)
class WebUser:
    """The signed-in user of a browser session."""

    username: str
    role: str
    via: str
    expires: int

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
    config: WebConfig, username: str, role: str, via: str, *, now: float | None = None
) -> str:
    """The cookie value of a new session for ``username``."""
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    body = {"u": username, "r": role, "v": via, "e": expires, "n": secrets.token_hex(8)}
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
        user = WebUser(str(body["u"]), str(body["r"]), str(body["v"]), int(body["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    if user.expires < (time.time() if now is None else now):
        return None
    return user


def csrf_token(config: WebConfig, cookie: str) -> str:
    """The token every state-changing form of this session carries."""
    return _mac(config.secret, "csrf:" + cookie.split(".", 1)[0])


def check_csrf(config: WebConfig, cookie: str | None, token: object) -> bool:
    """True when ``token`` is this session's CSRF token."""
    if not cookie or not isinstance(token, str) or not token:
        return False
    return hmac.compare_digest(token, csrf_token(config, cookie))
