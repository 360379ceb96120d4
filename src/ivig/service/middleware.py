"""The outer layer of every HTTP request: limits, security headers, access log, last resort.

One pure ASGI middleware, run before routing and authentication:

- **limits**: headers larger than ``max_header_bytes`` answer 431; a body whose
  ``Content-Length`` passes ``max_body_bytes`` answers 413 before one byte of it is read, and a
  chunked body is cut off (413) as soon as it passes the limit, so memory stays flat;
- **headers**: CSP (``frame-ancestors 'none'``), ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` (no referrer leaves
  the site, and a form POST still names its origin) on every answer (the interactive API docs
  get a CSP that lets their page load);
- **access log**: one JSON line per request (request id, user, route template, status,
  milliseconds), never the path's values, the query or the body (no patient data);
- **last resort**: an unexpected exception answers 500 with no detail and is logged with its
  type and place only; it is not re-raised, so the connection stays open.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ivig.service.logs import access_log, security_event

__all__ = ["ServiceMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
#: the API docs pages load their scripts and styles from this server (ivig.service.api_docs)
#: and run an inline script; ReDoc's workers come from blob: URLs
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)
_DOCS = ("/docs", "/redoc")


class _TooLarge(Exception):
    """The body passed the limit while it was being read."""


def _security_headers(path: str) -> list[tuple[bytes, bytes]]:
    csp = DOCS_CSP if path.startswith(_DOCS) else CSP
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]


async def _plain(send: Send, status: int, detail: str, request_id: str) -> None:
    body = json.dumps({"detail": detail, "problems": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                *_security_headers(""),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ServiceMiddleware:
    """See the module text; ``max_body_bytes`` and ``max_header_bytes`` come from settings."""

    def __init__(self, app: App, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = scope.get("headers") or []
        if sum(len(k) + len(v) for k, v in headers) > self.max_header_bytes:
            return 431, f"request headers larger than {self.max_header_bytes} bytes"
        for key, value in headers:
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return 400, "Content-Length is not a number"
                if length > self.max_body_bytes:
                    return 413, f"request body larger than {self.max_body_bytes} bytes"
        return None

    def _counting(self, receive: Receive, status: dict[str, Any]) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    status["too_large"] = True
                    raise _TooLarge
            return message

        return counted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500, "sent": False, "too_large": False}
        refusal = self._refusal(scope)
        if refusal is not None:
            status["code"] = refusal[0]
            security_event("request_refused", request_id=request_id, status=refusal[0])
            await _plain(send, refusal[0], refusal[1], request_id)
        else:
            sending = self._sending(send, status, request_id, str(scope.get("path", "")))
            await self._run(scope, self._counting(receive, status), sending, status, request_id)
        access_log(scope, request_id, int(status["code"]), time.perf_counter() - started)

    def _sending(self, send: Send, status: dict[str, Any], request_id: str, path: str) -> Send:
        async def sending(message: Message) -> None:
            if status["too_large"]:  # the app answered a body it could not read: say why
                if message["type"] == "http.response.start" and not status["sent"]:
                    status["code"], status["sent"] = 413, True
                    detail = f"request body larger than {self.max_body_bytes} bytes"
                    await _plain(send, 413, detail, request_id)
                return
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = int(message["status"]), True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    *_security_headers(path),
                ]
            await send(message)

        return sending

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: dict[str, Any],
        request_id: str,
    ) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # the last resort: answer 500, keep the connection open
            if status["too_large"]:
                await send({"type": "http.response.start", "status": 413, "headers": []})
                return
            frames = traceback.extract_tb(exc.__traceback__)
            where = " <- ".join(
                f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in frames[::-1][:6]
            )
            security_event(
                "server_error", request_id=request_id, error=type(exc).__name__, where=where
            )
            if not status["sent"]:
                status["sent"] = True
                await _plain(send, 500, "internal error", request_id)
            status["code"] = 500
