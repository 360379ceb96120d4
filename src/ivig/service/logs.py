"""Logs fit for a hospital: JSON lines, no patient data, no secrets.

Two loggers: ``ivig.access`` (one line per request: request id, user, route template, method,
status, milliseconds) and ``ivig.security`` (401/403 reasons, refused requests, JWT
rejections, token creation and revocation, sign-in and sign-out, authorisation overrides,
server errors by type and place). Fields are chosen here, never copied from a request: a route
is its template (``/api/registry/recall/{lot_number}``, not the lot), a user is a username,
and no message carries a value the caller sent. :func:`install_json_logging` gives the
``ivig`` logger a JSON-lines handler on stderr when nothing else configured it.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson

__all__ = ["JsonLinesFormatter", "access_log", "install_json_logging", "security_event"]

access_logger = logging.getLogger("ivig.access")
security_logger = logging.getLogger("ivig.security")
#: the only extra fields a log line may carry (anything else is dropped)
FIELDS = (
    "event",
    "request_id",
    "user",
    "role",
    "via",
    "route",
    "method",
    "status",
    "ms",
    "reason",
    "error",
    "where",
    "token_id",
    "target_user",
    "entity",
    "entity_id",
    "count",
)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the allowed fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage() if not record.args else record.msg,
        }
        for name in FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["error"] = record.exc_info[0].__name__ if record.exc_info[0] else "unknown"
        return orjson.dumps(out, default=str).decode("utf-8")


def install_json_logging(stream: Any = None) -> None:
    """Give the ``ivig`` logger a JSON-lines handler (stderr) unless it already has handlers."""
    logger = logging.getLogger("ivig")
    if logger.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLinesFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def security_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one security event with only the allowed fields."""
    extra = {k: v for k, v in fields.items() if k in FIELDS}
    security_logger.log(level, event, extra={"event": event, **extra})


def _principal(scope: MutableMapping[str, Any]) -> Any:
    state = scope.get("state") or {}
    return state.get("principal") if isinstance(state, dict) else None


def access_log(
    scope: MutableMapping[str, Any], request_id: str, status: int, seconds: float
) -> None:
    """One access line: the route template, never the path (paths may carry patient data)."""
    route = scope.get("route")
    template = getattr(route, "path", None) or "(unmatched)"
    principal = _principal(scope)
    access_logger.info(
        "request",
        extra={
            "event": "request",
            "request_id": request_id,
            "method": scope.get("method"),
            "route": template,
            "status": status,
            "ms": round(seconds * 1000, 1),
            "user": getattr(principal, "username", None),
            "role": getattr(principal, "role", None),
        },
    )
