"""UCUM quantities of FHIR Observations converted with a real UCUM library, comparators honoured.

Units are parsed by ``ucumvert`` (a UCUM grammar on top of ``pint``), so ``[lb_av]``, ``[oz_av]``,
``[in_i]``, ``g/l``, ``mg/dL`` and every prefixed form convert by their definitions. Creatinine
in mass units is converted with the molar mass held in the knowledge base. eGFR, normalised to
1.73 m² of body surface, is written in many ways (``mL/min/{1.73_m2}``, ``mL/min/1.73.m2``,
``mL/min/1.73 m2``…); those spellings are recognised before the volume rate is converted.

A quantity's ``comparator`` (``<``, ``<=``, ``>=``, ``>``) is returned with the value: the caller
decides whether a rule is settled by it (:func:`decide`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivig.errors import InputError

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "FIELD_UNITS",
    "Reading",
    "convert",
    "decide",
    "load_unit_registry",
    "quantity_code",
    "reading_value",
    "ucum_quantity",
]

#: request field -> the unit it is in (UCUM)
FIELD_UNITS: dict[str, str] = {
    "weight_kg": "kg",
    "height_cm": "cm",
    "iga_g_per_l": "g/L",
    "igg_g_per_l": "g/L",
    "creatinine_umol_per_l": "umol/L",
    "egfr_ml_per_min_1_73m2": "mL/min",
}
#: what an EHR writes in ``Quantity.unit`` without a UCUM code (display names, not UCUM)
_DISPLAY_UNITS = {"lb": "[lb_av]", "lbs": "[lb_av]", "in": "[in_i]", "oz": "[oz_av]"}
#: words and abbreviations EHRs write in ``Quantity.unit`` of an order (``mL/hr``, ``gram``,
#: ``days``), one token of a unit expression at a time, as the UCUM code they stand for
_UNIT_WORDS = {
    **dict.fromkeys(("gram", "grams", "gm", "gms"), "g"),
    **dict.fromkeys(("milligram", "milligrams", "mgs"), "mg"),
    **dict.fromkeys(("kilogram", "kilograms", "kgs"), "kg"),
    **dict.fromkeys(("ml", "mls", "milliliter", "milliliters", "millilitre", "millilitres"), "mL"),
    **dict.fromkeys(("l", "liter", "liters", "litre", "litres"), "L"),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("mins", "minute", "minutes"), "min"),
    **dict.fromkeys(("day", "days"), "d"),
    **dict.fromkeys(("week", "weeks", "wks"), "wk"),
    **dict.fromkeys(("month", "months"), "mo"),
}
_UNIT_TOKEN = re.compile(r"[A-Za-z]+")
_PER_BSA = re.compile(r"^(?P<rate>.+?)/(\{1\.73_?m2\}|\(?1\.73[ .]?m2\)?|\{1\.73 ?m2\})$", re.I)
_COMPARATORS = ("<", "<=", ">=", ">")


@dataclass(frozen=True)
class Reading:
    """A converted value, with the comparator the record gave (``None``: exact)."""

    value: float
    comparator: str | None
    unit: str


@functools.lru_cache(maxsize=1)
def _registry() -> Any:
    import ucumvert  # type: ignore[import-untyped]

    return ucumvert.PintUcumRegistry()


def load_unit_registry() -> None:
    """Build the UCUM registry now (a server does it at start-up, not in its first request)."""
    _registry()


@functools.lru_cache(maxsize=256)
def _parsed(code: str) -> Any:
    """The pint unit of a UCUM code (parsed once per code; a failure is not cached). An
    annotation alone (``{drops}``) is no unit: ucumvert gives its parser token back."""
    import pint

    parsed = _registry().from_ucum(code)
    if not isinstance(parsed, pint.Quantity):
        raise ValueError(f"{code!r} is an annotation alone, not a unit")
    return parsed


def _unit(code: str, where: str) -> Any:
    import ucumvert

    try:
        return _parsed(code)
    except (ucumvert.InvalidUcumError, ValueError, KeyError, AttributeError) as exc:
        raise InputError(where, code, "a UCUM unit code", detail=str(exc).splitlines()[0]) from None


def convert(kb: KnowledgeBase, value: float, code: str, field: str, where: str) -> float:
    """``value`` in UCUM ``code`` as the unit of ``field`` (``InputError`` names ``where``)."""
    import pint

    code = _DISPLAY_UNITS.get(code.strip(), code.strip())
    target = FIELD_UNITS[field]
    if field == "egfr_ml_per_min_1_73m2":
        match = _PER_BSA.match(code.replace("\u00a0", " "))
        if match is None:
            raise InputError(
                where, code, "a rate per 1.73 m2, such as mL/min/{1.73_m2}", detail="eGFR"
            )
        code = match.group("rate")
    if field != "creatinine_umol_per_l":  # a mass concentration of creatinine needs its molar mass
        return value * _factor(code, target, where, field)
    quantity = value * _unit(code, where)
    try:
        if quantity.check("[mass]/[length]**3"):
            molar_mass = reading_value(kb, "creatinine_molar_mass_g_per_mol") * _unit(
                "g/mol", where
            )
            quantity = quantity / molar_mass
        return float(quantity.to(_unit(target, where)).magnitude)
    except pint.DimensionalityError:
        raise InputError(where, code, f"a unit convertible to {target}", detail=field) from None


@functools.lru_cache(maxsize=256)
def _cached_factor(code: str, target: str) -> float:
    return float((1.0 * _parsed(code)).to(_parsed(target)).magnitude)


def _factor(code: str, target: str, where: str, field: str) -> float:
    """How many ``target`` one ``code`` is: converted by pint once per pair of units (every
    unit of :data:`FIELD_UNITS` is multiplicative: no offset as in degrees Celsius)."""
    import pint

    if code == target:
        return 1.0
    _unit(code, where)  # an unknown code raises InputError naming ``where`` (and is not cached)
    try:
        return _cached_factor(code, target)
    except pint.DimensionalityError:
        raise InputError(where, code, f"a unit convertible to {target}", detail=field) from None


def quantity_code(qty: dict[str, Any]) -> str | None:
    """The UCUM code of a FHIR Quantity: its ``code`` when the system is UCUM (or not given),
    else its ``unit`` text with the words EHRs write spelt as UCUM (``mL/hr`` -> ``mL/h``,
    ``gram`` -> ``g``, ``days`` -> ``d``); ``None`` when it gives neither."""
    system, code, unit = qty.get("system"), qty.get("code"), qty.get("unit")
    if isinstance(code, str) and code.strip() and system in (None, "http://unitsofmeasure.org"):
        text = code.strip()
    elif isinstance(unit, str) and unit.strip():
        text = unit.strip()
    else:
        return None
    return _UNIT_TOKEN.sub(lambda m: _UNIT_WORDS.get(m.group(0).lower(), m.group(0)), text)


def ucum_quantity(value: float, code: str, where: str) -> Any:
    """``value`` in UCUM ``code`` as a pint quantity (``InputError`` naming ``where``)."""
    return float(value) * _unit(code, where)


def reading_value(kb: KnowledgeBase, reading_id: str) -> float:
    """A number of ``medication_codes.yaml`` ``readings`` (raises ``KeyError`` if absent)."""
    for reading in kb.data["medication_codes"]["readings"]:
        if reading["id"] == reading_id:
            return float(reading["value"])
    raise KeyError(reading_id)


def comparator_of(qty: dict[str, Any], where: str) -> str | None:
    """The quantity's comparator (``ad``, "sufficient to achieve", is refused: not a bound)."""
    comparator = qty.get("comparator")
    if comparator is None:
        return None
    if comparator not in _COMPARATORS:
        raise InputError(f"{where}.comparator", comparator, "<, <=, >= or >")
    return str(comparator)


def decide(comparator: str, bound: float, op: str, threshold: float) -> bool | None:
    """Whether ``value op threshold`` holds for every value with ``value comparator bound``.

    ``True`` or ``False`` when every such value gives the same answer, ``None`` when the
    comparator leaves it open (say ``IgA < 0.1 g/L`` against a threshold of 0.05 g/L).
    """
    below = comparator in ("<", "<=")
    closed = comparator in ("<=", ">=")
    if op not in _COMPARATORS:
        return None
    rule_below = op in ("<", "<=")
    rule_closed = op in ("<=", ">=")
    if below == rule_below:
        # values run towards the rule's side: all pass when the bound is inside the rule
        if below:
            inside = bound < threshold or (bound == threshold and (not closed or rule_closed))
        else:
            inside = bound > threshold or (bound == threshold and (not closed or rule_closed))
        return True if inside else None
    # values run away from the rule's side: none pass when the bound is outside the rule
    if below:
        outside = bound < threshold or (bound == threshold and not (closed and rule_closed))
    else:
        outside = bound > threshold or (bound == threshold and not (closed and rule_closed))
    return False if outside else None
