"""Compact JSON text without the :mod:`json` package (start-up time, issue 20).

``import json`` compiles the regular expressions of its decoder and encoder, and so imports
:mod:`re` and with it :mod:`enum`, :mod:`functools` and :mod:`collections`: on the command
line's fast path, about two thirds as long as Python takes to start. :func:`dumps` writes the
text ``json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))`` writes - the
same characters for every object (a test compares the two over generated objects) - for the
objects a result is made of; ``--pretty`` (indented) output still uses :mod:`json`.
"""

from __future__ import annotations

import math

__all__ = ["dumps"]

#: the characters a JSON string escapes (as json's encoder writes them; the rest stay as they are)
_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x20)}
_ESCAPES.update({ord(c): f"\\{e}" for c, e in zip('"\\\n\r\t\b\f', '"\\nrtbf', strict=True)})


def _string(text: str) -> str:
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'  # nothing to escape (the usual case, tested without a table)
    return '"' + str.translate(text, _ESCAPES) + '"'


def _float(value: float) -> str:
    if math.isfinite(value):
        return float.__repr__(value)
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def _key(key: object) -> str:
    """A mapping key as json writes it (a string, or a scalar turned into one)."""
    if isinstance(key, str):
        return _string(key)
    if isinstance(key, float):
        return _string(_float(key))
    if key is True or key is False or key is None:
        return _string(_SCALARS[key])
    if isinstance(key, int):
        return _string(int.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


_SCALARS: dict[object, str] = {None: "null", True: "true", False: "false"}


def _scalar(obj: object) -> str | None:
    """``obj`` as JSON when it is a scalar (a subclass of one as its base type), else ``None``."""
    if obj is None or obj is True or obj is False:
        return _SCALARS[obj]
    if isinstance(obj, str):
        return _string(str.__str__(obj))
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, float):
        return _float(float.__float__(obj))
    return None


def _text(obj: object, seen: set[int]) -> str:
    """``obj`` as JSON; ``seen`` holds the containers being written (a cycle is an error)."""
    if type(obj) is str:  # the usual case first
        return _string(obj)
    text = _scalar(obj)
    if text is not None:
        return text
    if id(obj) in seen:
        raise ValueError("Circular reference detected")
    seen.add(id(obj))
    if isinstance(obj, dict):
        text = "{" + ",".join([f"{_key(k)}:{_text(v, seen)}" for k, v in obj.items()]) + "}"
    elif isinstance(obj, (list, tuple)):
        text = "[" + ",".join([_text(v, seen) for v in obj]) + "]"
    else:
        text = _text(str(obj), seen)  # default=str
    seen.discard(id(obj))
    return text


def dumps(obj: object) -> str:
    """``obj`` as ``json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))``
    writes it."""
    return _text(obj, set())
