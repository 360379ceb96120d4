"""Unit conversion for patient measurements: the one tested module for it.

Physical definitions only (1 lb = 0.45359237 kg exactly; 1 in = 2.54 cm exactly). Clinical
coefficients, such as the BloodSTAR cm-to-inch factor of the Devine formula, are data in the
knowledge base, not here.
"""

from __future__ import annotations

from ivig.errors import InputError

__all__ = ["KG_PER_LB", "to_cm", "to_kg"]

KG_PER_LB = 0.45359237
CM_PER_IN = 2.54

_MASS = {"kg": 1.0, "g": 0.001, "lb": KG_PER_LB}
_LENGTH = {"cm": 1.0, "m": 100.0, "mm": 0.1, "in": CM_PER_IN}


def to_kg(value: float, unit: str, field: str = "weight") -> float:
    """``value`` in ``unit`` (kg, g, lb) as kilograms."""
    factor = _MASS.get(unit)
    if factor is None:
        raise InputError(f"{field} unit", unit, ", ".join(_MASS))
    return value * factor


def to_cm(value: float, unit: str, field: str = "height") -> float:
    """``value`` in ``unit`` (cm, m, mm, in) as centimetres."""
    factor = _LENGTH.get(unit)
    if factor is None:
        raise InputError(f"{field} unit", unit, ", ".join(_LENGTH))
    return value * factor
