"""A fast, conservative check of a request against the contract's JSON Schema, for the
command line: importing pydantic and building its validator costs about 0.1 s, more than the
whole recommendation.

:func:`validated` accepts only data that is plainly valid under ``schemas/request.json`` (the
schema pydantic generates from :class:`ivig.contract.Request`, shipped with the package; a test
keeps it current) and returns it as pydantic would (numbers in ``number`` fields as floats).
Anything else - a wrong type, a string where a number belongs, a value pydantic might coerce -
returns ``None``, and the caller asks pydantic, which accepts or names every problem. So the
fast path never accepts what the contract refuses, and its result equals the contract's.
"""

from __future__ import annotations

import math
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    SCHEMA_PATH: Path

__all__ = ["SCHEMA_PATH", "validated"]

_SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "schemas", "request.json")
_loaded: dict[str, dict[str, Any]] = {}


def __getattr__(name: str) -> Path:
    """``SCHEMA_PATH``: the shipped schema as a :class:`~pathlib.Path` (pathlib is imported
    only when asked for: the command line does not need it)."""
    if name == "SCHEMA_PATH":
        from pathlib import Path

        return Path(_SCHEMA_FILE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Refused(Exception):
    """The fast path cannot vouch for the data (pydantic decides)."""


def _schema() -> dict[str, Any]:
    loaded = _loaded.get("schema")
    if loaded is None:
        loaded = _loaded["schema"] = _cached_schema()
    return loaded


def _cached_schema() -> dict[str, Any]:
    """The shipped schema: from its :mod:`marshal` copy in the knowledge cache folder when that
    copy was made from this file (by this Python), else parsed by :mod:`json` and copied there.
    (``import json`` imports :mod:`re`, which the command line's fast path does without.)
    ``IVIG_NO_CACHE=1`` parses the file every time, as it validates the knowledge."""
    import marshal
    import sys

    from ivig.knowledge.loader import cache_digest, cache_dir

    if os.environ.get("IVIG_NO_CACHE"):
        return _parsed_schema()
    st = os.stat(_SCHEMA_FILE)
    stamp = f"{os.path.abspath(_SCHEMA_FILE)}:{st.st_size}:{st.st_mtime_ns}:{sys.version}"
    path = os.path.join(cache_dir(), f"request-schema-{cache_digest(stamp)}.marshal")
    try:
        with open(path, "rb") as fh:
            cached = marshal.loads(fh.read())
        if isinstance(cached, dict) and cached.get("stamp") == stamp:
            return cached["schema"]  # type: ignore[no-any-return]
    except (OSError, EOFError, ValueError, TypeError):
        pass
    schema = _parsed_schema()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            marshal.dump({"stamp": stamp, "schema": schema}, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home is fine: the file is parsed again next time
    return schema


def _parsed_schema() -> dict[str, Any]:
    import json

    with open(_SCHEMA_FILE, encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    name = ref.rsplit("/", 1)[-1]
    return _schema()["$defs"][name]  # type: ignore[no-any-return]


def _number(value: object, node: dict[str, Any]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Refused
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a float: pydantic names the field
        raise _Refused from None
    if not math.isfinite(number):
        raise _Refused
    if "minimum" in node and not number >= node["minimum"]:
        raise _Refused
    if "exclusiveMinimum" in node and not number > node["exclusiveMinimum"]:
        raise _Refused
    if "maximum" in node and not number <= node["maximum"]:
        raise _Refused
    return number


def _object(value: object, node: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _Refused
    properties = node.get("properties", {})
    if any(name not in value for name in node.get("required", [])):
        raise _Refused
    extra = node.get("additionalProperties", True)
    out = {}
    for key, item in value.items():
        if key in properties:
            out[key] = _check(item, properties[key])
        elif isinstance(extra, dict):
            out[key] = _check(item, extra)
        else:
            raise _Refused  # an unknown key (forbidden), or one pydantic would drop
    return out


def _scalar(value: object, kind: str, node: dict[str, Any]) -> object:
    if kind == "number":
        return _number(value, node)
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "string" and type(value) is str:
        return value
    raise _Refused


#: Python type -> the JSON Schema type it is an exact match for
_EXACT = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _union(value: object, node: dict[str, Any]) -> object:
    """Only unions of distinct JSON types are vouched for: pydantic's smart mode keeps an exact
    type match, so the value comes back unchanged."""
    kinds = {_resolve(option).get("type") for option in node["anyOf"]}
    kind = _EXACT.get(type(value))
    if kind is None or kind not in kinds:
        raise _Refused
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused
    return value


def _check(value: object, raw: dict[str, Any]) -> object:
    node = _resolve(raw)
    if "anyOf" in node:
        return _union(value, node)
    if "enum" in node and value not in node["enum"]:
        raise _Refused
    kind = node.get("type")
    if kind == "object":
        return _object(value, node)
    if kind == "array":
        if not isinstance(value, list):
            raise _Refused
        return [_check(item, node.get("items", {})) for item in value]
    if kind is None:
        raise _Refused
    return _scalar(value, kind, node)


def validated(data: object) -> dict[str, Any] | None:
    """``data`` as the contract's validator would return it, or ``None`` to ask pydantic."""
    try:
        out = _check(data, _schema())
    except _Refused:
        return None
    return out if isinstance(out, dict) else None
