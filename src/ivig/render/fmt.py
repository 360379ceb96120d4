"""Number formats shared by every renderer, so that all of them show the same figures."""

from __future__ import annotations

__all__ = ["grams", "minutes", "ml_per_h", "num"]


def num(value: object) -> str:
    """A number without trailing zeros; anything else as text."""
    return f"{value:g}" if isinstance(value, int | float) else ("" if value is None else str(value))


def ml_per_h(value: float) -> str:
    """Pump rates to 0.1 mL/h."""
    return f"{value:.1f}"


def minutes(value: float) -> str:
    """Times to the whole minute."""
    return f"{value:.0f}"


def grams(value: float) -> str:
    """Grams to 0.01 g, without trailing zeros."""
    return f"{round(value, 2):g}"
