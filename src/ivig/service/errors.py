"""Errors as HTTP answers: 422 with field-level problems, 401 with no detail, never a traceback.

Every bad input, whether caught by the contract (pydantic), by the knowledge base or by the core,
answers 422 with the same body: ``{"detail": text, "problems": [{field, message, value?,
allowed?, unit?}]}``. Unexpected errors answer 500 with no detail; the log gets the exception
type and where it happened, not its message (which may carry patient values).
"""

from __future__ import annotations

import json
import logging
import math
import traceback
from typing import TYPE_CHECKING, Any

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from ivig.errors import InputError, InvalidRequestError, IvigError
from ivig.service.logs import security_event
from ivig.service.security import Unauthorized

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

__all__ = [
    "ERROR_RESPONSES",
    "ErrorBody",
    "IvigJSONResponse",
    "Problem",
    "install_error_handlers",
    "json_bytes",
    "json_safe",
]

log = logging.getLogger("ivig.service")


class Problem(BaseModel):
    """One wrong field."""

    model_config = ConfigDict(extra="allow")
    field: str
    message: str


class ErrorBody(BaseModel):
    """The body of every 4xx answer except 401."""

    detail: str
    problems: list[Problem] = []


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated (no detail is given)"},
    403: {"model": ErrorBody, "description": "Authenticated, but the role is not allowed"},
    422: {"model": ErrorBody, "description": "Bad input; each problem names its field"},
}


def json_safe(obj: Any) -> Any:
    """``obj`` with non-finite floats as strings and unknown objects as text (JSON-ready)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    return str(obj)


#: orjson leaves dates and dataclasses to ``default`` (their text, as the standard library's
#: encoder was told), writes numpy numbers as numbers and int, float, bool and None keys as text
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_SERIALIZE_NUMPY
    | orjson.OPT_NON_STR_KEYS
)


def _text(value: object) -> object:
    """What orjson writes for an object it does not know: a float subclass as a number (the
    standard encoder did so too), anything else as its text."""
    return float(value) if isinstance(value, float) else str(value)


def json_bytes(content: Any) -> bytes:
    """Compact UTF-8 JSON of ``content`` (orjson; about 8x faster than the standard encoder).

    An odd object becomes its text; a non-finite float (no result holds one: inputs refuse
    them) is written ``null``. What orjson cannot write (an integer beyond 64 bits, a key of
    another type) goes through :func:`json_safe` and the standard encoder.
    """
    try:
        return orjson.dumps(content, default=_text, option=_ORJSON_OPTIONS)
    except TypeError:
        text = json.dumps(json_safe(content), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")


class IvigJSONResponse(JSONResponse):
    """JSON that never fails on a non-finite float or an odd object (dates become text)."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


#: at most this many characters of a bad value are quoted back (a 10 MB field is not echoed)
VALUE_PREFIX_CHARS = 40
#: at most this many characters of any message
MESSAGE_CHARS = 400


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with a note of how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def _problem_value(value: object) -> object:
    if isinstance(value, dict | list):
        return None
    if isinstance(value, str | bytes):
        text = value if isinstance(value, str) else value.decode("utf-8", "replace")
        return shorten(_printable(text), VALUE_PREFIX_CHARS)
    return json_safe(value)


def _printable(text: str) -> str:
    """``text`` with NUL and lone surrogates shown as escapes (they cannot be sent as JSON)."""
    return "".join(
        c if c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}" for c in text
    )


def _clean_problem(problem: dict[str, Any]) -> dict[str, Any]:
    out = dict(problem)
    if "value" in out:
        out["value"] = _problem_value(out["value"])
    for key in ("message", "allowed", "detail"):
        if isinstance(out.get(key), str):
            out[key] = shorten(_printable(out[key]), MESSAGE_CHARS)
    return out


def _error(status: int, detail: str, problems: list[dict[str, Any]]) -> Response:
    body = {
        "detail": shorten(_printable(detail), MESSAGE_CHARS),
        "problems": [json_safe(_clean_problem(p)) for p in problems],
    }
    return IvigJSONResponse(body, status_code=status)


def _short_input_error(exc: InputError) -> InputError:
    """The same error quoting only a prefix of its value (the message is built from it)."""
    value = exc.value
    if isinstance(value, str | bytes) and len(value) > VALUE_PREFIX_CHARS:
        value = _problem_value(value)
    elif isinstance(value, dict | list):
        value = "(a structure)"
    return InputError(exc.field, value, exc.allowed, exc.unit, exc.detail)


async def _request_validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            where, loc = loc[0], loc[1:]
        else:
            where = "body"
        field = ".".join(loc) or f"({where})"
        problem: dict[str, Any] = {"field": field, "message": str(err.get("msg", "invalid"))}
        if "input" in err and not isinstance(err["input"], dict | list):
            problem["value"] = _problem_value(err["input"])
        problems.append(problem)
    return _error(422, f"{len(problems)} problem(s) in the request", problems)


async def _invalid_request(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidRequestError)
    problems = [_clean_problem(p) for p in exc.problems]
    return _error(422, f"{len(problems)} problem(s) in the request", problems)


async def _input_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputError)
    short = _short_input_error(exc)
    problem = short.to_dict()
    problem["value"] = _problem_value(problem.get("value"))
    return _error(422, str(short), [problem])


async def _ivig_error(request: Request, exc: Exception) -> Response:
    if type(exc).__name__ == "RoleError":
        security_event(
            "forbidden",
            reason="registry role check",
            route=_route(request),
            status=403,
            user=getattr(exc, "username", None),
        )
        return _error(403, str(exc), [])
    if type(exc).__name__ == "KnowledgeValidationError":
        log.error("knowledge base does not validate")
        return _error(503, "the knowledge base is not available", [])
    return _error(422, str(exc), [])


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or "(unmatched)")


async def _unauthorized(request: Request, exc: Exception) -> Response:
    reason = exc.reason if isinstance(exc, Unauthorized) else "unauthorized"
    security_event(
        "unauthenticated", reason=shorten(str(reason), 200), route=_route(request), status=401
    )
    return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 401:
        security_event("unauthenticated", reason="401", route=_route(request), status=401)
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    if exc.status_code == 403:
        principal = getattr(request.state, "principal", None)
        security_event(
            "forbidden",
            reason=shorten(str(exc.detail), 200),
            route=_route(request),
            status=403,
            user=getattr(principal, "username", None),
        )
    headers = dict(exc.headers or {})
    body = {"detail": str(exc.detail), "problems": []}
    return IvigJSONResponse(body, status_code=exc.status_code, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in frames[::-1][:6])
    log.error("500 on %s %s: %s at %s", request.method, request.url.path, type(exc).__name__, where)
    return _error(500, "internal error", [])


def install_error_handlers(app: FastAPI) -> None:
    """Map ivig's exception family and framework errors to the answers described above."""
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(InvalidRequestError, _invalid_request)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(IvigError, _ivig_error)
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
