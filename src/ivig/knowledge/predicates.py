"""The small predicate language of criteria and policy rules.

A predicate is ``"<name> <op> <literal>"``: ``days_since_onset <= 14``,
``able_to_walk_unaided == false``, ``mgfa_class in ["IV", "V"]``. ``always`` is true.
Parsing is strict and evaluation is three-valued: a missing finding gives ``None`` (unknown),
which the eligibility engine reports as missing information instead of guessing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["OPS", "Predicate", "PredicateSyntaxError", "evaluate", "parse"]

OPS = ("==", "!=", "<=", ">=", "<", ">", " in ")

Literal_ = bool | int | float | str | list[bool | int | float | str] | None


class PredicateSyntaxError(ValueError):
    """The text is not a predicate of the grammar above."""


class Predicate:
    """A parsed predicate: ``name``, ``op`` and ``value``."""

    __slots__ = ("name", "op", "text", "value")

    def __init__(self, name: str, op: str, value: Literal_, text: str) -> None:
        self.name = name
        self.op = op
        self.value = value
        self.text = text

    def __repr__(self) -> str:
        return f"Predicate({self.text!r})"


def _parse_scalar(text: str) -> bool | int | float | str:
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise PredicateSyntaxError(f"not a literal: {text!r}") from None


def _parse_literal(text: str) -> Literal_:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        if not inner:
            raise PredicateSyntaxError("empty list")
        return [_parse_scalar(part) for part in inner.split(",")]
    return _parse_scalar(text)


#: parsed predicates by text (:func:`parse`), at most :data:`_PARSED_MAX` of them
_parsed: dict[str, Predicate] = {}
_PARSED_MAX = 4096


def parse(text: str) -> Predicate:
    """Parse ``text``; raise :class:`PredicateSyntaxError` if it is not a predicate.

    Results are cached: the knowledge base holds a few hundred predicate texts, evaluated again for
    every request (the batch audit parses the same strings millions of times). The cache is a
    plain dict (``functools.lru_cache`` would import :mod:`functools` and :mod:`collections` on
    the command line's fast path); past :data:`_PARSED_MAX` texts, new ones are parsed each time.
    """
    parsed = _parsed.get(text)
    if parsed is None:
        parsed = _parse(text)
        if len(_parsed) < _PARSED_MAX:
            _parsed[text] = parsed
    return parsed


def _parse(text: str) -> Predicate:
    stripped = text.strip()
    if stripped == "always":
        return Predicate("always", "always", None, stripped)
    for op in OPS:
        left, sep, right = stripped.partition(op)
        if sep:
            name = left.strip()
            if not name or not name.replace("_", "a").isalnum() or not name[0].isalpha():
                raise PredicateSyntaxError(f"bad finding name {name!r} in {text!r}")
            value = _parse_literal(right)
            if op.strip() == "in" and not isinstance(value, list):
                raise PredicateSyntaxError(f"'in' needs a [list] in {text!r}")
            if op.strip() != "in" and isinstance(value, list):
                raise PredicateSyntaxError(f"a list needs 'in' in {text!r}")
            return Predicate(name, op.strip(), value, stripped)
    raise PredicateSyntaxError(f"no operator ({', '.join(o.strip() for o in OPS)}) in {text!r}")


#: order comparisons of the grammar, of two floats (float's own: no operator module to import)
_ORDER: dict[str, Callable[[float, float], bool]] = {
    "<": float.__lt__,
    "<=": float.__le__,
    ">": float.__gt__,
    ">=": float.__ge__,
}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def evaluate(predicate: Predicate, values: dict[str, object]) -> bool | None:
    """True or false, or ``None`` when the finding is absent from ``values``."""
    if predicate.op == "always":
        return True
    if predicate.name not in values or values[predicate.name] is None:
        return None
    actual = values[predicate.name]
    expected = predicate.value
    op = predicate.op
    if op in ("==", "!="):
        return (actual == expected) == (op == "==")
    if op == "in":
        assert isinstance(expected, list)  # guaranteed by parse()
        return actual in expected
    if not _is_number(actual) or not _is_number(expected):
        return None
    assert isinstance(actual, int | float) and isinstance(expected, int | float)
    return _ORDER[op](float(actual), float(expected))
