"""MedicationRequests in: which are normal immunoglobulin, which earlier order sets the phase,
and what the draft order asks for (dose, days, interval, rate) for the order check.

Only normal-immunoglobulin orders count for the episode: a specific immunoglobulin (anti-D,
hepatitis B…) never does. An earlier order makes the new one ``maintenance`` only when it treats
the same condition (its ``reasonReference`` or ``reasonCode`` maps to it) and was written within
the episode window of the knowledge base; otherwise the phase is ``induction``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ivig.service.fhir.dosage import Basis, Dose, NotRead, Rate, dose_of, rate_of
from ivig.service.fhir.medication import MedicationMatch, classify_medication, resolve_medication
from ivig.service.fhir.record import Record, Resource, codings, parse_date
from ivig.service.fhir.timing import read_timing
from ivig.service.fhir.units import reading_value, ucum_quantity

if TYPE_CHECKING:
    from collections.abc import Callable

    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "OrderReading",
    "classify_order",
    "ig_orders",
    "infer_phase",
    "ordered_regimen",
    "read_order",
]

_SKIP_STATUS = {"entered-in-error", "cancelled"}
_PHASE_OF_COURSE = {"acute": "induction", "continuous": "maintenance"}


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
    history: bool = True,
) -> tuple[str, str | None]:
    """The phase and the reference of the earlier order that set it (``None``: no such order).

    ``history`` False: the earlier orders were not received; a first course inferred from none
    is then said to be a guess and raised as a caution (a maintenance patient read as a first
    course gets a dose suggestion of a whole induction course)."""
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
    if not counted and not history and not earlier:
        doubt = (
            "phase induction assumed: the patient's earlier immunoglobulin orders (prefetch "
            "igOrders) were not received, so a maintenance course cannot be recognised; set "
            "MedicationRequest.courseOfTherapyType to state the phase"
        )
        record.notes.append(doubt)
        record.cautions.append(doubt)
        return "induction", None
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


@dataclass(frozen=True)
class OrderReading:
    """What the draft asks for (the fields of :class:`ivig.app.order_check.Order`) and how it
    was read (notes for the card: conversions, ranges read at their high end, refusals)."""

    order: dict[str, Any]
    notes: list[str]


#: grams per dL in one percent weight/volume (10 % w/v = 10 g/100 mL): a unit definition
_PERCENT_W_V = "g/dL"


def _concentration(kb: KnowledgeBase, product: str | None) -> tuple[float | None, str]:
    """The ordered product's concentration in g/mL (``concentration.percent``), or why none."""
    if product is None:
        return None, "the order names no product the knowledge base knows"
    record = kb.product(product)
    name = str(record["name"])
    conc: Mapping[str, Any] = record.get("concentration") or {}
    if conc.get("percent") is None:
        return None, f"the knowledge base has no concentration for {name}"
    options = sorted({float(o) for o in conc.get("options_percent") or [conc["percent"]]})
    if len(options) > 1:
        shown = ", ".join(f"{o:g}" for o in options)
        return None, f"{name} is made up at {shown} %: the volume does not say the grams"
    percent = float(conc["percent"])
    g_per_ml = float(ucum_quantity(percent, _PERCENT_W_V, "concentration").to("g/mL").magnitude)
    flag = "" if conc.get("verified") else ", concentration unverified"
    strength = "" if f"{percent:g} %" in name else f" {percent:g} %"
    return g_per_ml, f"the concentration of {name}{strength} ({g_per_ml:g} g/mL{flag})"


def _basis(
    kb: KnowledgeBase,
    product: str | None,
    dosing_weight_kg: float | None,
    plan_infusion: Mapping[str, Any] | None,
) -> Basis:
    conc, of = _concentration(kb, product)
    rate_conc, rate_of = conc, of
    infusion = plan_infusion or {}
    if product is None and infusion.get("concentration_g_per_ml"):
        rate_conc = float(infusion["concentration_g_per_ml"])
        name = infusion.get("product_name") or "the planned product"
        rate_of = (
            f"the concentration of {name} ({rate_conc:g} g/mL), the planned product whose "
            "schedule the rate is checked on"
        )
    return Basis(dosing_weight_kg, conc, of, rate_conc, rate_of)


def _pick(doses: list[Dose], where: str, notes: list[str]) -> Dose:
    """The dose of a dosage element: one read from grams first (an EHR writes the ordered g/kg
    beside the calculated grams), a note when the elements disagree."""
    chosen = sorted(doses, key=lambda d: not d.absolute)[0]
    others = [d for d in doses if not math.isclose(d.grams, chosen.grams, rel_tol=0.01)]
    if others:
        notes.append(
            f"{where}.doseAndRate gives {len(doses)} doses that differ ("
            + ", ".join(f"{d.grams:.4g} g" for d in doses)
            + f"): {chosen.grams:.4g} g is checked"
        )
    return chosen


@dataclass
class _Reading:
    """What the dosage elements gave so far."""

    notes: list[str] = field(default_factory=list)
    dose_refused: list[str] = field(default_factory=list)
    rate_refused: list[str] = field(default_factory=list)
    rates: list[Rate] = field(default_factory=list)


def _entries(dosage: Mapping[str, Any], where: str, basis: Basis, seen: _Reading) -> list[Dose]:
    """The doses of a dosage element's ``doseAndRate`` (its rates and refusals go to ``seen``)."""
    doses: list[Dose] = []
    refused: list[str] = []
    entries = dosage.get("doseAndRate") or []
    for j, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        at = f"{where}.doseAndRate[{j}]"
        if not isinstance(entry, dict):
            refused.append(f"{at} is not a Dosage.doseAndRate object: not read")
            continue
        try:
            dose = dose_of(entry, at, basis)
            if dose is not None:
                doses.append(dose)
        except NotRead as exc:
            refused.append(str(exc))
        try:
            rate = rate_of(entry, at, basis)
            if rate is not None:
                seen.rates.append(rate)
        except NotRead as exc:
            seen.rate_refused.append(str(exc))
    if doses:  # another element of the same dosage gives the dose
        seen.notes += [f"{r} (another doseAndRate is read)" for r in refused]
    else:
        seen.dose_refused += refused
    return doses


def _dosage_part(
    dosage: Mapping[str, Any], where: str, basis: Basis, seen: _Reading
) -> tuple[float, int, float | None] | None:
    """(grams a day, days, interval in weeks) of one dosage element; ``None``: no dose read."""
    refused_before = len(seen.dose_refused)
    doses = _entries(dosage, where, basis, seen)
    try:
        timing = read_timing(dosage, where)
    except NotRead as exc:
        (seen.dose_refused if doses else seen.notes).append(str(exc))
        return None
    if not doses:
        text = dosage.get("text")
        said = isinstance(text, str) and any(ch.isdigit() for ch in text)
        if said and len(seen.dose_refused) == refused_before:
            seen.notes.append(
                f"{where}.text {text!r} is not read: the dose is read from doseAndRate"
            )
        return (0.0, 0, timing.interval_weeks) if timing.interval_weeks else None
    dose = _pick(doses, where, seen.notes)
    seen.notes += [*timing.notes, *([dose.how] if dose.how else [])]
    per_day = dose.grams if dose.per_day else dose.grams * timing.doses_per_day
    return per_day, timing.days, timing.interval_weeks


def read_order(
    kb: KnowledgeBase,
    record: Record,
    order: Mapping[str, Any],
    *,
    product: str | None,
    dosing_weight_kg: float | None = None,
    plan_infusion: Mapping[str, Any] | None = None,
) -> OrderReading:
    """What the draft asks for, as the order check reads it (every field optional).

    A dose per kg is read on ``dosing_weight_kg`` (the plan's); without it, it is not read
    (``dose_not_read`` says why). ``plan_infusion``: the plan's infusion schedule, whose
    concentration converts a rate in mg/kg/min when the order names no product. A dose or
    rate the order gives but that cannot be read is ``dose_not_read`` / ``rate_not_read``
    (the order check says it was not checked) and a note."""
    basis = _basis(kb, product, dosing_weight_kg, plan_infusion)
    out: dict[str, Any] = {"product": product}
    seen = _Reading()
    ref = f"{record.ref(order)}.dosageInstruction"
    days_total, grams_total = 0, 0.0
    dosages = order.get("dosageInstruction") or []
    for i, dosage in enumerate(dosages if isinstance(dosages, list) else [dosages]):
        if not isinstance(dosage, dict):
            seen.notes.append(f"{ref}[{i}] is not a Dosage object: not read")
            continue
        part = _dosage_part(dosage, f"{ref}[{i}]", basis, seen)
        if part is None:
            continue
        per_day, days, interval = part
        if interval is not None:
            out["interval_weeks"] = interval
        days_total += days
        grams_total += per_day * days
    if seen.rates:
        top = max(seen.rates, key=lambda r: r.rate_ml_per_h)
        out["rate_ml_per_h"] = round(top.rate_ml_per_h, 3)
        seen.notes += [top.how] if top.how else []
    if seen.dose_refused:
        out["dose_not_read"] = "; ".join(seen.dose_refused)
    elif days_total and grams_total > 0:
        out["total_g"] = round(grams_total, 3)
        out["days"] = days_total
    if seen.rate_refused:
        out["rate_not_read"] = "; ".join(seen.rate_refused)
    notes = [*seen.notes, *seen.dose_refused, *seen.rate_refused]
    return OrderReading({k: v for k, v in out.items() if v is not None}, notes)


def ordered_regimen(
    kb: KnowledgeBase,
    record: Record,
    order: Mapping[str, Any],
    *,
    product: str | None,
    dosing_weight_kg: float | None,
) -> dict[str, Any]:
    """What the draft asks for, as the order check reads it (:func:`read_order` without its
    notes: the reading before the plan, whose dosing weight a dose per kg needs)."""
    return read_order(kb, record, order, product=product, dosing_weight_kg=dosing_weight_kg).order
