"""Doses and rates of ``MedicationRequest.dosageInstruction[].doseAndRate`` in grams and mL/h.

EHRs write a dose in g, mg, g/kg, mg/kg, mL or mL/kg, per administration or per day (g/kg/d),
as a ``doseQuantity`` or a ``doseRange``; a rate in mL/h (``mL/hr``), mL/min, mg/kg/min,
mL/kg/min or mL/kg/h, as a ``rateQuantity``, a ``rateRatio`` (mL per h) or a ``rateRange``.
Units are read as UCUM (:func:`ivig.service.fhir.units.quantity_code`, pint through ucumvert):

* a dose or rate per kg of body weight is multiplied by the plan's dosing weight (the weight the
  order check compares the rate on: the infusion schedule's ``weight_kg``);
* a volume is converted with the ordered product's concentration (``concentration.percent`` of
  the knowledge base; 10 % w/v = 0.1 g/mL), only when the order names a product the knowledge
  base knows with one concentration;
* a rate in mass per time (mg/kg/min) with the ordered product's concentration, else with the
  concentration of the planned product whose schedule the order check then uses;
* a range is read at its high end, the most that may be given.

A quantity that cannot be read raises :class:`NotRead`, whose message names the element, the
value and what is allowed: the caller turns it into a note and a "not checked" finding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivig.errors import InputError
from ivig.service.fhir.units import quantity_code, ucum_quantity

__all__ = ["Basis", "Dose", "NotRead", "Rate", "dose_of", "rate_of"]

_DOSE_ALLOWED = (
    "a mass (g, mg), a volume (mL: needs a product of known concentration), either per kg of "
    "body weight (g/kg, mg/kg, mL/kg) or per day (g/d, g/kg/d)"
)
_RATE_ALLOWED = (
    "a volume per time (mL/h, mL/min, L/h), per kg of body weight (mL/kg/h, mL/kg/min) or a "
    "mass per kg per time (mg/kg/min: needs a product of known concentration)"
)


class NotRead(Exception):
    """A dose, rate or timing the order gives but that cannot be read (the message says why)."""


@dataclass(frozen=True)
class Basis:
    """What a dose or rate in other units is converted with (``None``: not known)."""

    #: the plan's dosing weight (``None`` on the first reading, before the plan is composed)
    weight_kg: float | None = None
    #: the ordered product's concentration, and its name or why there is none
    concentration_g_per_ml: float | None = None
    concentration_of: str = "the order names no product the knowledge base knows"
    #: the concentration a rate in mass per time is converted with, and whose it is
    rate_concentration_g_per_ml: float | None = None
    rate_concentration_of: str = "the order names no product the knowledge base knows"


@dataclass(frozen=True)
class Dose:
    """One dose in grams: per administration, or per day when the unit says so (g/kg/d)."""

    grams: float
    per_day: bool
    #: read from the quantity alone (grams or milligrams), without a weight or a concentration
    absolute: bool
    #: how it was read, when more than a unit conversion (a note for the card)
    how: str | None


@dataclass(frozen=True)
class Rate:
    rate_ml_per_h: float
    how: str | None


def _refuse(where: str, value: object, allowed: str, detail: str | None = None) -> NotRead:
    return NotRead(str(InputError(where, value, allowed, detail=detail)))


def _value(qty: object, where: str, allowed: str) -> tuple[float, str]:
    """The number and UCUM code of a Quantity (``NotRead`` naming the element otherwise)."""
    if not isinstance(qty, dict):
        raise _refuse(where, type(qty).__name__, "a Quantity with a value and a unit")
    value = qty.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = value if not isinstance(value, dict | list) else type(value).__name__
        raise _refuse(f"{where}.value", shown, "a number (JSON number, not text)")
    if isinstance(value, int) and not -(10**18) < value < 10**18:
        raise _refuse(f"{where}.value", "(a number of more than 18 digits)", "a number")
    if not math.isfinite(value) or value <= 0:
        raise _refuse(f"{where}.value", value, "a number above 0")
    if qty.get("comparator") is not None:
        raise _refuse(f"{where}.comparator", qty["comparator"], "no comparator: an amount")
    code = quantity_code(qty)
    if code is None:
        raise _refuse(f"{where}.unit", None, allowed)
    if "[drp]" in code:
        raise _refuse(f"{where}.code", code, allowed, "a drop's volume depends on the giving set")
    return float(value), code


def _parse(value: float, code: str, where: str, allowed: str) -> Any:
    try:
        return ucum_quantity(value, code, where)
    except InputError:
        raise _refuse(f"{where}.code", code, allowed, "not a UCUM unit") from None


def _parts(qty: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in dict(qty._units).items()}


def _per_body_mass(qty: Any) -> bool:
    """The unit divides by a mass (mg/kg, mL/kg/min): a figure per kg of body weight."""
    return any(exp < 0 and _dimension(qty, n) == "mass" for n, exp in _parts(qty).items())


def _dimension(qty: Any, name: str) -> str:
    dims = dict(qty._REGISTRY.Quantity(1, name).dimensionality)
    return next(iter(dims)).strip("[]") if len(dims) == 1 else ""


def _per_day(qty: Any) -> bool | None:
    """``True``: the unit is per day; ``False``: per another time; ``None``: not per time."""
    times = [n for n, e in _parts(qty).items() if e < 0 and _dimension(qty, n) == "time"]
    if not times:
        return None
    return len(times) == 1 and math.isclose(
        float(qty._REGISTRY.Quantity(1, times[0]).to("day").magnitude), 1.0
    )


def _on_weight(qty: Any, text: str, where: str, basis: Basis, allowed: str) -> tuple[Any, str]:
    if basis.weight_kg is None:
        raise _refuse(where, text, allowed, "a figure per kg needs the plan's dosing weight")
    kg = basis.weight_kg
    return qty * ucum_quantity(kg, "kg", where), f"on the plan's dosing weight of {kg:g} kg"


def _dose_quantity(qty: object, where: str, basis: Basis) -> Dose:
    value, code = _value(qty, where, _DOSE_ALLOWED)
    text = f"{value:g} {code}"
    amount = _parse(value, code, where, _DOSE_ALLOWED)
    how: list[str] = []
    if _per_body_mass(amount):
        amount, on = _on_weight(amount, text, where, basis, _DOSE_ALLOWED)
        how.append(on)
    per_day = _per_day(amount)
    if per_day is False:
        raise _refuse(where, text, _DOSE_ALLOWED, "a dose per another time than a day")
    if per_day:
        amount = amount * ucum_quantity(1, "d", where)
    if amount.check("[length]**3"):
        if basis.concentration_g_per_ml is None:
            why = f"a volume needs the product's concentration: {basis.concentration_of}"
            raise _refuse(where, text, _DOSE_ALLOWED, why)
        amount = amount * ucum_quantity(basis.concentration_g_per_ml, "g/mL", where)
        how.append(f"with {basis.concentration_of}")
    if not amount.check("[mass]"):
        raise _refuse(where, text, _DOSE_ALLOWED)
    grams = float(amount.to("g").magnitude)
    if not how:
        return Dose(grams, bool(per_day), True, None)
    per = "/day" if per_day else ""
    return Dose(
        grams, bool(per_day), False, f"{where} {text} read as {grams:.4g} g{per} " + " ".join(how)
    )


def _high(rng: object, where: str) -> tuple[Any, str]:
    """The high end of a Range (the most that may be given) and a note saying so."""
    if not isinstance(rng, dict) or not isinstance(rng.get("high"), dict):
        raise _refuse(f"{where}.high", None, "a high end (the most that may be given)")
    low = rng.get("low")
    low_text = ""
    if isinstance(low, dict) and isinstance(low.get("value"), int | float):
        low_text = f" (low end {low['value']:g} {quantity_code(low) or ''})".replace(" )", ")")
    return rng["high"], f"{where} is read at its high end, the most that may be given{low_text}"


def dose_of(entry: Mapping[str, Any], where: str, basis: Basis) -> Dose | None:
    """The dose of one ``doseAndRate`` element (``None``: it gives none; ``NotRead``: it gives
    one that cannot be read)."""
    if "doseQuantity" in entry:
        return _dose_quantity(entry["doseQuantity"], f"{where}.doseQuantity", basis)
    if "doseRange" in entry:
        high, note = _high(entry["doseRange"], f"{where}.doseRange")
        dose = _dose_quantity(high, f"{where}.doseRange.high", basis)
        how = f"{note}; {dose.how}" if dose.how else note
        return Dose(dose.grams, dose.per_day, dose.absolute, how)
    return None


def _rate_quantity(amount: Any, text: str, where: str, basis: Basis) -> Rate:
    how: list[str] = []
    if _per_body_mass(amount):
        amount, on = _on_weight(amount, text, where, basis, _RATE_ALLOWED)
        how.append(on)
    if amount.check("[mass]/[time]"):
        if basis.rate_concentration_g_per_ml is None:
            why = f"a mass rate needs the product's concentration: {basis.rate_concentration_of}"
            raise _refuse(where, text, _RATE_ALLOWED, why)
        amount = amount / ucum_quantity(basis.rate_concentration_g_per_ml, "g/mL", where)
        how.append(f"with {basis.rate_concentration_of}")
    if not amount.check("[length]**3/[time]"):
        raise _refuse(where, text, _RATE_ALLOWED)
    ml_per_h = float(amount.to("mL/h").magnitude)
    if not how and text.endswith(" mL/h"):
        return Rate(ml_per_h, None)
    return Rate(ml_per_h, " ".join([f"{where} {text} read as {ml_per_h:.4g} mL/h", *how]))


def _rate_ratio(ratio: object, where: str, basis: Basis) -> Rate:
    if not isinstance(ratio, dict):
        raise _refuse(where, type(ratio).__name__, "a Ratio of a volume to a time")
    num_v, num_c = _value(ratio.get("numerator"), f"{where}.numerator", _RATE_ALLOWED)
    den_v, den_c = _value(ratio.get("denominator"), f"{where}.denominator", _RATE_ALLOWED)
    amount = _parse(num_v, num_c, f"{where}.numerator", _RATE_ALLOWED) / _parse(
        den_v, den_c, f"{where}.denominator", _RATE_ALLOWED
    )
    text = f"{num_v:g} {num_c} per {den_v:g} {den_c}"
    rate = _rate_quantity(amount, text, where, basis)
    return Rate(
        rate.rate_ml_per_h, rate.how or f"{where} {text} read as {rate.rate_ml_per_h:.4g} mL/h"
    )


def _rate_simple(qty: object, where: str, basis: Basis) -> Rate:
    value, code = _value(qty, where, _RATE_ALLOWED)
    amount = _parse(value, code, where, _RATE_ALLOWED)
    return _rate_quantity(amount, f"{value:g} {code}", where, basis)


def rate_of(entry: Mapping[str, Any], where: str, basis: Basis) -> Rate | None:
    """The rate of one ``doseAndRate`` element in mL/h (``None``: it gives none; ``NotRead``:
    it gives one that cannot be read)."""
    if "rateQuantity" in entry:
        return _rate_simple(entry["rateQuantity"], f"{where}.rateQuantity", basis)
    if "rateRatio" in entry:
        return _rate_ratio(entry["rateRatio"], f"{where}.rateRatio", basis)
    if "rateRange" in entry:
        high, note = _high(entry["rateRange"], f"{where}.rateRange")
        rate = _rate_simple(high, f"{where}.rateRange.high", basis)
        return Rate(rate.rate_ml_per_h, f"{note}; {rate.how}" if rate.how else note)
    return None
