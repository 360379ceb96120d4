"""MedicationRequests in: which are normal immunoglobulin, which earlier order sets the phase,
and what the draft order asks for (dose, days, interval, rate) for the order check.

Only normal-immunoglobulin orders count for the episode: a specific immunoglobulin (anti-D,
hepatitis B…) never does. An earlier order makes the new one ``maintenance`` only when it treats
the same condition (its ``reasonReference`` or ``reasonCode`` maps to it) and was written within
the episode window of the knowledge base; otherwise the phase is ``induction``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ivig.errors import InputError
from ivig.service.fhir.medication import MedicationMatch, classify_medication, resolve_medication
from ivig.service.fhir.record import Record, Resource, codings, parse_date
from ivig.service.fhir.units import reading_value

if TYPE_CHECKING:
    from collections.abc import Callable

    from ivig.knowledge.base import KnowledgeBase

__all__ = ["classify_order", "ig_orders", "infer_phase", "ordered_regimen"]

_SKIP_STATUS = {"entered-in-error", "cancelled"}
_PHASE_OF_COURSE = {"acute": "induction", "continuous": "maintenance"}
_DAYS_PER_UNIT = {"d": 1.0, "wk": 7.0, "mo": 30.4375, "h": 1 / 24, "a": 365.25}


def classify_order(
    kb: KnowledgeBase,
    record: Record,
    order: Mapping[str, Any],
    local_codes: Iterable[str] = (),
) -> MedicationMatch | None:
    """What the order's medication is (``None``: not an immunoglobulin)."""
    concept = resolve_medication(order, record.resources, record.full_urls)
    match = classify_medication(kb, concept, local_codes)
    if match is not None and match.is_normal and _route_of(order) == "im":
        return MedicationMatch(
            "normal_immunoglobulin_intramuscular", match.class_id, match.name, "im", match.via
        )
    return match


def _route_of(order: Mapping[str, Any]) -> str | None:
    from ivig.service.fhir import codes as C

    for dosage in order.get("dosageInstruction", []) or []:
        if not isinstance(dosage, dict):
            continue
        for coding in codings(dosage.get("route")):
            pair = (coding.get("system"), coding.get("code"))
            if pair == C.ROUTE_IV[:2]:
                return "iv"
            if pair == C.ROUTE_SC[:2]:
                return "sc"
            if pair == C.ROUTE_IM[:2]:
                return "im"
    return None


def ig_orders(kb: KnowledgeBase, record: Record, local_codes: Iterable[str] = ()) -> list[Resource]:
    """The normal-immunoglobulin MedicationRequests of the record (not cancelled)."""
    found = []
    for res in record.of_type("MedicationRequest"):
        if res.get("status") in _SKIP_STATUS:
            continue
        match = classify_order(kb, record, res, local_codes)
        if match is not None and match.is_normal:
            found.append(res)
    return found


def _order_date(order: Mapping[str, Any]) -> str | None:
    for value in (
        order.get("authoredOn"),
        (order.get("dispenseRequest") or {}).get("validityPeriod", {}).get("start")
        if isinstance(order.get("dispenseRequest"), dict)
        else None,
    ):
        if isinstance(value, str) and value:
            return value
    return None


def _treats(
    record: Record,
    order: Mapping[str, Any],
    condition_id: str,
    map_condition: Callable[[object], str | None],
) -> bool:
    for ref in order.get("reasonReference", []) or []:
        target = record.resolve(ref)
        if target is not None and map_condition(target.get("code")) == condition_id:
            return True
    return any(map_condition(c) == condition_id for c in order.get("reasonCode", []) or [])


def infer_phase(
    kb: KnowledgeBase,
    record: Record,
    *,
    order: Mapping[str, Any] | None,
    earlier: list[Resource],
    condition_id: str,
    today: dt.date,
    map_condition: Callable[[object], str | None],
) -> tuple[str, str | None]:
    """The phase and the reference of the earlier order that set it (``None``: no such order)."""
    if order is not None:
        course = {c.get("code") for c in codings(order.get("courseOfTherapyType"))}
        stated = next((_PHASE_OF_COURSE[c] for c in course if c in _PHASE_OF_COURSE), None)
        if stated is not None:
            return stated, None
    window = reading_value(kb, "episode_window_days")
    counted: list[tuple[str, Resource]] = []
    for past in earlier:
        written = _order_date(past)
        span = parse_date(written) if written else None
        if not _treats(record, past, condition_id, map_condition):
            recent = span is not None and (today - span[1]).days <= window
            message = (
                f"earlier immunoglobulin order {record.ref(past)} does not name {condition_id} "
                "as its reason: not counted for the phase"
            )
            record.notes.append(message)
            if recent and not past.get("reasonReference") and not past.get("reasonCode"):
                record.cautions.append(
                    f"{record.ref(past)} of {written} is a recent normal-immunoglobulin order "
                    "with no reason: if it treated the same condition this is maintenance"
                )
        elif span is None:
            record.notes.append(f"earlier order {record.ref(past)} has no date: not counted")
        elif (today - span[1]).days <= window:
            counted.append((span[1].isoformat(), past))
    if not counted:
        record.notes.append(
            f"phase induction: no normal-immunoglobulin order for {condition_id} in the last "
            f"{window:g} days; set MedicationRequest.courseOfTherapyType to state it"
        )
        return "induction", None
    written, past = max(counted, key=lambda c: c[0])
    ref = record.ref(past)
    record.notes.append(
        f"phase maintenance: set by the earlier order {ref} of {written} for {condition_id} "
        f"(within {window:g} days)"
    )
    return "maintenance", ref


def _grams(qty: object, dosing_weight_kg: float | None) -> float | None:
    """A dose quantity in grams (mass units, or g/kg times the weight when one is given)."""
    if not isinstance(qty, dict) or isinstance(qty.get("value"), bool):
        return None
    value = qty.get("value")
    code = qty.get("code") or qty.get("unit")
    if not isinstance(value, int | float) or not isinstance(code, str):
        return None
    factors = {"g": 1.0, "mg": 0.001, "kg": 1000.0}
    if code in factors:
        return float(value) * factors[code]
    if code in ("g/kg", "g/kg/d") and dosing_weight_kg is not None:
        return float(value) * dosing_weight_kg
    return None


def _rate_ml_per_h(qty: object) -> float | None:
    if not isinstance(qty, dict) or isinstance(qty.get("value"), bool):
        return None
    value, code = qty.get("value"), qty.get("code") or qty.get("unit")
    per = {"mL/h": 1.0, "ml/h": 1.0, "mL/min": 60.0, "L/h": 1000.0}
    if isinstance(value, int | float) and code in per:
        return float(value) * per[str(code)]
    return None


def _timing(dosage: Mapping[str, Any]) -> tuple[int | None, float | None]:
    """(days, interval in weeks) from ``timing.repeat``."""
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, dict) else None
    if not isinstance(repeat, dict):
        return None, None
    period, unit = repeat.get("period"), repeat.get("periodUnit")
    count = repeat.get("count")
    bounds = repeat.get("boundsDuration")
    period_days = (
        float(period) * _DAYS_PER_UNIT[unit]
        if isinstance(period, int | float) and unit in _DAYS_PER_UNIT
        else None
    )
    if period_days is not None and period_days >= 7:
        return 1, period_days / 7
    if isinstance(count, int) and count >= 1:
        return _days(count, "timing.repeat.count"), None
    if isinstance(bounds, dict) and bounds.get("code") == "d":
        value = bounds.get("value")
        if isinstance(value, int | float) and value >= 1:
            return _days(value, "timing.repeat.boundsDuration.value"), None
    return None, None


def _days(value: float, element: str) -> int:
    """A number of days from the draft, refused above a year (no course is longer; a larger
    figure would overflow the grams it multiplies)."""
    if value > 366:
        shown: object = value if value < 10**18 else "(a number of more than 18 digits)"
        raise InputError(
            f"draftOrders MedicationRequest.dosageInstruction.{element}",
            shown,
            "a whole number of days from 1 to 366",
            "days",
        )
    return int(value)


def ordered_regimen(
    kb: KnowledgeBase,
    record: Record,
    order: Mapping[str, Any],
    *,
    product: str | None,
    dosing_weight_kg: float | None,
) -> dict[str, Any]:
    """What the draft asks for, as the order check reads it (every field optional)."""
    out: dict[str, Any] = {"product": product}
    days_total = 0
    grams_total = 0.0
    for dosage in order.get("dosageInstruction", []) or []:
        if not isinstance(dosage, dict):
            continue
        doses = [dr for dr in dosage.get("doseAndRate", []) or [] if isinstance(dr, dict)]
        in_mass = [_grams(dr.get("doseQuantity"), None) for dr in doses]
        per_kg = [_grams(dr.get("doseQuantity"), dosing_weight_kg) for dr in doses]
        grams = next((g for g in in_mass + per_kg if g is not None), None)
        rate = next(
            (r for r in (_rate_ml_per_h(dr.get("rateQuantity")) for dr in doses) if r), None
        )
        days, interval = _timing(dosage)
        if rate is not None:
            out["rate_ml_per_h"] = max(rate, out.get("rate_ml_per_h", 0.0))
        if interval is not None:
            out["interval_weeks"] = round(interval, 3)
        if grams is None:
            continue
        days = days or 1
        days_total += days
        grams_total += grams * days
    if days_total:
        out["total_g"] = round(grams_total, 3)
        out["days"] = days_total
    return {k: v for k, v in out.items() if v is not None}
