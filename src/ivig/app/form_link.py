"""The link from an EHR card to the ivig web form, prefilled without patient data in the URL.

A CDS card whose findings are incomplete links to ``/app/request/new`` so the clinician can
complete them. The values the EHR gave (sex, age, weight, height, labs, findings) are not put
in the query string, where the browser history, proxy logs and ``Referer`` headers would keep
them: they are sealed (encrypted and authenticated, Fernet: AES-128-CBC + HMAC-SHA256) under a
key derived from the web app's secret, which every worker shares (``IVIG_WEB_SECRET`` or the
secret file), and the link carries only ``?prefill=<token>``. The form opens the token for a
signed-in user within :data:`PREFILL_TTL_S`; an altered, foreign or expired token opens an
empty form that says why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "PREFILL_TTL_S",
    "PrefillError",
    "form_params",
    "seal",
    "shared_secret",
    "unseal",
]

#: a prefilled link opens the form for this long after the card was made, seconds
PREFILL_TTL_S = 3600
#: the largest sealed token accepted (a request's fields are far smaller)
MAX_TOKEN_CHARS = 8192
_KEY_CONTEXT = b"ivig form prefill v1"
_FOREVER_S = 10**10


class PrefillError(ValueError):
    """A prefill token that cannot be opened (altered, made under another secret, or expired)."""


def shared_secret(env: Mapping[str, str] | None = None) -> bytes:
    """The web app's secret: ``IVIG_WEB_SECRET``, else the private file ``IVIG_WEB_SECRET_FILE``
    (default ``web-secret.key`` in the registry's data directory, created once, mode 0600)."""
    from pathlib import Path

    from ivig.registry.audit_key import data_dir, private_file

    env = os.environ if env is None else env
    raw = env.get("IVIG_WEB_SECRET")
    if raw:
        return raw.encode("utf-8")
    named = env.get("IVIG_WEB_SECRET_FILE")
    path = Path(named).expanduser() if named else data_dir() / "web-secret.key"
    private_file(path, secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def _fernet(secret: bytes) -> Any:
    from cryptography.fernet import Fernet

    key = hmac.new(secret, _KEY_CONTEXT, hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def form_params(request: Mapping[str, Any], missing: Sequence[str]) -> list[tuple[str, str]]:
    """The web form's fields for ``request``, with each ``missing`` finding as an empty field."""
    patient = request["patient"]
    params: list[tuple[str, str]] = [
        ("condition", str(request["condition"])),
        ("phase", str(request["phase"])),
    ]
    for key in ("indication", "jurisdiction", "route", "product"):
        if request.get(key):
            params.append((key, str(request[key])))
    for key in ("sex", "age_years", "weight_kg", "height_cm"):
        if key in patient:
            params.append((f"patient.{key}", _param(patient[key])))
    for key, value in (patient.get("labs") or {}).items():
        params.append((f"patient.labs.{key}", _param(value)))
    for key, value in (request.get("findings") or {}).items():
        params.append((f"findings.{key}", _param(value)))
    params += [(f"findings.{name}", "") for name in missing]
    return params


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def seal(params: Sequence[tuple[str, str]], secret: bytes, *, now: float | None = None) -> str:
    """The URL-safe token holding ``params``, readable only with ``secret``."""
    body = zlib.compress(json.dumps([list(p) for p in params], separators=(",", ":")).encode())
    token: bytes = _fernet(secret).encrypt_at_time(body, int(time.time() if now is None else now))
    return token.decode("ascii")


def unseal(
    token: str,
    secret: bytes,
    *,
    max_age_s: int = PREFILL_TTL_S,
    now: float | None = None,
) -> list[tuple[str, str]]:
    """The form fields sealed in ``token``; :class:`PrefillError` if it cannot be opened."""
    from cryptography.fernet import InvalidToken

    if len(token) > MAX_TOKEN_CHARS:
        raise PrefillError(
            f"the prefill token is {len(token)} characters (at most {MAX_TOKEN_CHARS})"
        )
    fernet = _fernet(secret)
    at = int(time.time() if now is None else now)
    try:
        body = fernet.decrypt_at_time(token.encode("ascii"), max_age_s, at)
    except (InvalidToken, UnicodeEncodeError):
        try:  # tell an expired link from an altered one: an intact token past its age
            fernet.decrypt_at_time(token.encode("ascii"), _FOREVER_S, at)
        except (InvalidToken, UnicodeEncodeError, TypeError):
            raise PrefillError("the prefill link was altered or made by another server") from None
        raise PrefillError(
            f"the prefill link has expired (links open the form for {max_age_s // 60} minutes "
            "after the EHR made them)"
        ) from None
    try:
        rows = json.loads(zlib.decompress(body))
        return [(str(k), str(v)) for k, v in rows]
    except (ValueError, TypeError, zlib.error) as exc:  # sealed by us, so never expected
        raise PrefillError("the prefill link holds no form fields") from exc
