"""Infusion-rate schedule of one dose: the step table in mg/kg/min and mL/h.

IV products follow the label's rate record (``iv_rates`` of the product file): the labelled
steps, a labelled fixed increment, or - where the label says only "increase gradually" - steps
at the label's interval, each at most double the previous (``schedule_rules.yaml``: a ward
protocol rule, stated in every schedule that uses it), never one jump to the maximum. At-risk
ceilings come from the product's label and from the class ceilings of ``schedule_rules.yaml``
(a label's ceiling for a risk applies to every product; the lowest governs). A day longer than
the practical duration (a setting) offers a split over more days within the regimen's range.
SC products give the volume and rate per site (:mod:`ivig.core.schedule_sc`). Nothing is
invented: a product without a rate record is refused with a clear message.
"""

from __future__ import annotations

import math

from ivig.core.catalogue import concentration_g_per_ml
from ivig.core.risk import risk_groups, risk_ids
from ivig.core.schedule_risk import applicable_ceilings, governing, infer_first_infusion
from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.core.risk import RiskFinding
    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema_products import Product, RateSchedule

    # the step table's types are the output contract's (one definition, in ivig.results)
    from ivig.results import InfusionOut as InfusionSchedule
    from ivig.results import InfusionStep as ScheduleStep
    from ivig.results import SplitOffer
    from ivig.results import TitrationOut as Titration

    Plan = list[tuple[float, float | None, str]]


__all__ = ["compute_infusion_schedule", "infer_first_infusion", "to_mg_per_kg_per_min"]

_MIN_PER_H = 60.0
_MG_PER_G = 1000.0
_EPS = 1e-12


def to_mg_per_kg_per_min(rate: float, unit: str, conc_g_per_ml: float) -> float:
    """Convert a labelled rate to mg/kg/min (mL rates need the concentration in g/mL)."""
    if unit == "mg/kg/min":
        return rate
    if unit == "mg/kg/h":
        return rate / _MIN_PER_H
    if unit == "mL/kg/min":
        return rate * conc_g_per_ml * _MG_PER_G
    if unit == "mL/kg/h":
        return rate * conc_g_per_ml * _MG_PER_G / _MIN_PER_H
    raise InputError("unit", unit, "mg/kg/min, mg/kg/h, mL/kg/min, mL/kg/h")


def _positive(field: str, value: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, value, "a finite number > 0", unit)
    if value <= 0:
        raise InputError(field, value, "> 0", unit)
    return float(value)


def _optional_positive(field: str, value: float | None, unit: str) -> float | None:
    return None if value is None else _positive(field, value, unit)


def _check_limit(kb: KnowledgeBase, field: str, value: float, unit: str) -> None:
    limit = kb.limit(field)
    if limit is not None and not limit["min"] <= value <= limit["max"]:
        allowed = f"{limit['min']:g} to {limit['max']:g}"
        raise InputError(field, value, allowed, unit, limit["reason"])


def _pick(
    records: list[Any],
    *,
    first: bool,
    region: str | None,
    indication: str | None,
    conc: float,
    notes: list[str],
) -> Any:
    """The rate record for this infusion, region and indication (most conservative if unsure)."""
    phase = "first" if first else "subsequent"
    pool = [r for r in records if r["infusions"] in (phase, "all")] or list(records)
    if region is not None:
        regional = [r for r in pool if r["region"] == region]
        if regional:
            pool = regional
        else:
            notes.append(f"No rate record for region {region}; using {pool[0]['region']} records.")
    if indication is not None:
        hits = [r for r in pool if indication in r["indications"] or "all" in r["indications"]]
        if hits:
            return hits[0]
        notes.append(
            f"No labelled rate record for indication {indication!r}; "
            "using the most conservative record (lowest maximum rate)."
        )
    elif len(pool) > 1:
        notes.append(
            "No indication given: using the most conservative record (lowest maximum rate)."
        )
    return min(pool, key=lambda r: to_mg_per_kg_per_min(r["max_rate"], r["unit"], conc))


# -- titration --------------------------------------------------------------------------------


def _interval(
    kb: KnowledgeBase, record: RateSchedule, prescribed: float | None
) -> tuple[float, str, list[str], bool]:
    """(interval, basis, sources, verified): prescriber, then label, then the engine default."""
    if prescribed is not None:
        return prescribed, "the prescriber's step interval", [], True
    if "interval_min" in record:
        return record["interval_min"], "the label's step interval", [], True
    default = kb.data["schedule_rules"]["default_step_interval_min"]
    return (
        default["value"],
        "the label gives no step interval: engine default (" + default["basis"] + ")",
        [s["id"] for s in default["sources"]],
        default["verified"],
    )


def _label_steps(record: RateSchedule, conc: float) -> Plan:
    unit = record["unit"]
    return [
        (to_mg_per_kg_per_min(s["rate"], unit, conc), s.get("duration_min"), "label step")
        for s in record["steps"]
    ]


def _climb(plan: Plan, top: float, interval: float, ratio: float, basis: str) -> Plan:
    """Steps from the last planned rate to ``top``, each at most ``ratio`` x the previous."""
    out = list(plan)
    rate, duration, why = out[-1]
    out[-1] = (rate, duration if duration is not None else interval, why)
    while rate < top - _EPS:
        rate = min(rate * ratio, top)
        out.append((rate, interval, basis))
    return out


def _titrate(
    kb: KnowledgeBase, record: RateSchedule, conc: float, top: float, prescribed: float | None
) -> tuple[Plan, Titration]:
    """The uncapped rate plan of the record and how it was built."""
    plan = _label_steps(record, conc)
    if record["titration"] == "fixed_increment":
        inc = to_mg_per_kg_per_min(record["increment"], record["unit"], conc)
        rate = plan[-1][0]
        while rate < top - _EPS:
            rate = min(rate + inc, top)
            plan.append((rate, record["interval_min"], "label increment"))
        method = {
            "method": "label increment",
            "interval_min": float(record["interval_min"]),
            "interval_basis": "the label's step interval",
            "max_step_ratio": None,
            "rule": "the label's fixed increment at the label's interval",
            "sources": [s["id"] for s in record["sources"]],
            "verified": record["verified"],
        }
        return plan, method  # type: ignore[return-value]
    if plan[-1][0] >= top - _EPS:
        return plan, {
            "method": "label steps",
            "interval_min": None,
            "interval_basis": "the label's steps",
            "max_step_ratio": None,
            "rule": "the label's step table",
            "sources": [s["id"] for s in record["sources"]],
            "verified": record["verified"],
        }
    interval, interval_basis, i_sources, i_verified = _interval(kb, record, prescribed)
    setting = kb.data["schedule_rules"]["max_step_ratio"]
    ratio = setting["value"]
    plan = _climb(plan, top, interval, ratio, f"ward protocol: at most x{ratio:g} per step")
    rule = (
        f"the label says only 'increase gradually': steps every {interval:g} min, each at most "
        f"{ratio:g} x the previous (ward-protocol rule: {setting['basis']})"
    )
    return plan, {
        "method": "doubling",
        "interval_min": interval,
        "interval_basis": interval_basis,
        "max_step_ratio": ratio,
        "rule": rule,
        "sources": [s["id"] for s in setting["sources"]] + i_sources,
        "verified": setting["verified"] and i_verified,
    }


def _table(plan: Plan, weight_kg: float, dose_g: float, conc: float) -> list[ScheduleStep]:
    """Walk the rate plan until the dose is given; the last step ends exactly at ``dose_g``."""
    steps: list[ScheduleStep] = []
    start = 0.0
    given = 0.0
    last = len(plan) - 1
    for n, (rate, duration, basis) in enumerate(plan):
        remaining = dose_g - given
        if remaining <= 0:
            break
        g_per_min = rate * weight_kg / _MG_PER_G
        to_finish = remaining / g_per_min
        if n == last or duration is None or to_finish <= duration:
            span, grams, given = to_finish, remaining, dose_g
        else:
            span, grams = duration, g_per_min * duration
            given += grams
        steps.append(
            {
                "start_min": start,
                "duration_min": span,
                "rate_mg_per_kg_per_min": rate,
                "rate_ml_per_h": g_per_min / conc * _MIN_PER_H,
                "grams": grams,
                "cumulative_ml": given / conc,
                "cumulative_g": given,
                "basis": basis,
            }
        )
        start += span
    return steps


def _duration(steps: list[ScheduleStep]) -> float:
    return steps[-1]["start_min"] + steps[-1]["duration_min"]


# -- practical duration and split -------------------------------------------------------------


def _split_offer(
    plan: Plan,
    *,
    weight_kg: float,
    conc: float,
    course: tuple[float, int, int] | None,
    limit_min: float,
    volume_risk: bool,
    duration_min: float,
) -> SplitOffer | None:
    """More days within the regimen's range when the day is too long or volume is a risk."""
    if course is None:
        return None
    course_g, days, max_days = course
    too_long = duration_min > limit_min
    if not (too_long or volume_risk) or max_days <= days:
        return None
    best: SplitOffer | None = None
    for n in range(days + 1, max_days + 1):
        day_g = course_g / n
        span = _duration(_table(plan, weight_kg, day_g, conc))
        best = {
            "days": n,
            "grams_per_day": day_g,
            "volume_ml_per_day": day_g / conc,
            "duration_min": span,
            "within_practical_duration": span <= limit_min,
            "reason": (
                f"the day's infusion takes {duration_min / _MIN_PER_H:.1f} h, longer than the "
                f"practical {limit_min / _MIN_PER_H:g} h"
                if too_long
                else "volume-overload risk: the longest split the regimen allows lowers the "
                "day's volume"
            ),
        }
        if too_long and not volume_risk and span <= limit_min:
            break
    return best


# -- the schedule -----------------------------------------------------------------------------


def _weight_basis(
    steps: list[ScheduleStep], weight_kg: float, actual_weight_kg: float | None
) -> tuple[str, float | None]:
    top = max(steps, key=lambda s: s["rate_ml_per_h"])
    text = f"mg/kg rates use the dosing weight ({weight_kg:g} kg)"
    if actual_weight_kg is None or abs(actual_weight_kg - weight_kg) < 1e-9:
        return text + (", the actual weight" if actual_weight_kg else "") + ".", (
            top["rate_ml_per_h"] if actual_weight_kg else None
        )
    at_actual = top["rate_ml_per_h"] * actual_weight_kg / weight_kg
    return (
        f"{text}; at the actual weight ({actual_weight_kg:g} kg) the top rate "
        f"{top['rate_mg_per_kg_per_min']:g} mg/kg/min would run at {at_actual:.0f} mL/h instead "
        f"of {top['rate_ml_per_h']:.0f} mL/h.",
        at_actual,
    )


def _concentration(
    product: Product, percent: float | None, volume_risk: bool, first: bool, notes: list[str]
) -> float:
    """The concentration: the caller's, else the highest option with volume-overload risk
    (not on a first infusion, where labels may require the default), else the default."""
    conc = product.get("concentration")
    options = conc.get("options_percent", []) if conc else []
    if percent is None and volume_risk and len(options) > 1:
        if first:
            notes.append(
                "Volume-overload risk: a higher concentration would lower the volume, but a first "
                "infusion keeps the label's default concentration."
            )
        else:
            percent = max(options)
            notes.append(
                f"Volume-overload risk: the highest concentration ({percent:g} %) gives the "
                "smallest volume."
            )
    return concentration_g_per_ml(product, percent)


def _first_reason(first: bool, ids: set[str], reason: str | None) -> str:
    if reason:
        return reason
    if {"first_infusion", "product_switch"} & ids:
        return "named risk factor: " + ", ".join(sorted({"first_infusion", "product_switch"} & ids))
    return "stated by the caller" if first else "not a first infusion (stated by the caller)"


def _iv_record(product: Product, route: str) -> list[RateSchedule]:
    records = product.get("iv_rates", [])
    if route != "iv" or not records:
        raise InputError(
            "product",
            product["id"],
            "a product with labelled IV infusion rates in the knowledge base",
            detail=f"no {route.upper()} infusion rates of {product['name']} were found in the "
            "sources; use the current product information",
        )
    return records


def compute_infusion_schedule(
    kb: KnowledgeBase,
    product_id: str,
    *,
    weight_kg: float,
    dose_g: float,
    risks: list[RiskFinding] | list[str],
    first_infusion: bool,
    first_infusion_reason: str | None = None,
    indication: str | None = None,
    region: str | None = None,
    route: str | None = None,
    at_risk_rate_mg_per_kg_per_min: float | None = None,
    step_interval_min: float | None = None,
    concentration_percent: float | None = None,
    age_years: float | None = None,
    sites: int | None = None,
    actual_weight_kg: float | None = None,
    course_g: float | None = None,
    course_days: int | None = None,
    max_course_days: int | None = None,
    practical_duration_h: float | None = None,
) -> InfusionSchedule:
    """The infusion schedule of ``dose_g`` of one product for one day.

    ``first_infusion`` (or the ``first_infusion`` / ``product_switch`` risk factors) selects the
    label's first-infusion record; ``first_infusion_reason`` (from :func:`infer_first_infusion`)
    is shown. ``at_risk_rate_mg_per_kg_per_min`` is a site's or prescriber's at-risk rate that
    replaces the chosen class ceiling (never above a label's own ceiling); ``step_interval_min``
    replaces the interval where the label gives none. ``course_g``, ``course_days`` and
    ``max_course_days`` let the schedule offer a split over more days; ``practical_duration_h``
    overrides the setting. ``actual_weight_kg`` shows what the actual weight would give.
    Raises :class:`InputError` on bad input or when the knowledge base holds no rates.
    """
    weight_kg = _positive("weight_kg", weight_kg, "kg")
    dose_g = _positive("dose_g", dose_g, "g")
    _check_limit(kb, "weight_kg", weight_kg, "kg")
    actual = _optional_positive("actual_weight_kg", actual_weight_kg, "kg")
    product: Product = kb.product(product_id)
    ids = risk_ids(kb, risks)
    first = bool(first_infusion) or bool({"first_infusion", "product_switch"} & ids)
    groups = risk_groups(kb, ids)
    route = route or ("iv" if "iv" in product["routes"] else product["routes"][0])
    if route not in product["routes"]:
        raise InputError("route", route, ", ".join(product["routes"]), detail=product["id"])
    notes: list[str] = []
    conc = _concentration(product, concentration_percent, "volume" in groups, first, notes)
    reason = _first_reason(first, ids, first_infusion_reason)
    if route == "sc":
        from ivig.core.schedule_sc import sc_schedule  # IV is the common case: SC on use

        sched = sc_schedule(
            product,
            weight_kg=weight_kg,
            dose_g=dose_g,
            conc=conc,
            first=first,
            thrombosis="thrombosis" in groups,
            indication=indication,
            region=region,
            age_years=age_years,
            sites=sites,
        )
        basis, at_actual = _weight_basis(sched["steps"], weight_kg, actual)
        sched["first_infusion_reason"] = reason
        sched["weight_basis"] = basis
        sched["actual_weight_kg"] = actual
        sched["actual_weight_max_rate_ml_per_h"] = at_actual
        return sched
    record: RateSchedule = _pick(
        _iv_record(product, route),
        first=first,
        region=region,
        indication=indication,
        conc=conc,
        notes=notes,
    )
    return _iv_schedule(
        kb,
        product,
        record,
        conc=conc,
        weight_kg=weight_kg,
        dose_g=dose_g,
        ids=ids,
        groups=groups,
        first=(first, reason),
        options={
            "override": _optional_positive(
                "at_risk_rate_mg_per_kg_per_min", at_risk_rate_mg_per_kg_per_min, "mg/kg/min"
            ),
            "interval": _optional_positive("step_interval_min", step_interval_min, "min"),
            "actual": actual,
            "course": _course(course_g, course_days, max_course_days),
            "practical_h": _optional_positive("practical_duration_h", practical_duration_h, "h"),
        },
        notes=notes,
    )


def _course(
    course_g: float | None, days: int | None, max_days: int | None
) -> tuple[float, int, int] | None:
    if course_g is None or days is None or max_days is None:
        return None
    _positive("course_g", course_g, "g")
    for field, value in (("course_days", days), ("max_course_days", max_days)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(field, value, "a whole number >= 1", "days")
    return float(course_g), days, max_days


def _iv_schedule(
    kb: KnowledgeBase,
    product: Product,
    record: RateSchedule,
    *,
    conc: float,
    weight_kg: float,
    dose_g: float,
    ids: set[str],
    groups: set[str],
    first: tuple[bool, str],
    options: dict[str, Any],
    notes: list[str],
) -> InfusionSchedule:
    label_top = to_mg_per_kg_per_min(record["max_rate"], record["unit"], conc)
    first_rate = to_mg_per_kg_per_min(record["steps"][0]["rate"], record["unit"], conc)
    ceilings = applicable_ceilings(
        kb, record, lambda r: to_mg_per_kg_per_min(r, record["unit"], conc), ids=ids, groups=groups
    )
    ceilings = [c for c in ceilings if c["rate_mg_per_kg_per_min"] < label_top or c["strict"]]
    rule = governing(ceilings)
    cap: float | None = None
    strict = False
    if rule is not None:  # the ceilings' module is imported only when one applies
        from ivig.core.schedule_ceiling import cap_plan, ceiling_rate

        cap, strict = ceiling_rate(
            rule, ceilings, options["override"], first_rate, label_top, notes
        )
    elif options["override"] is not None:
        notes.append("No at-risk ceiling applies: the at-risk rate given is not used.")
    plan, titration = _titrate(kb, record, conc, label_top, options["interval"])
    if cap is not None:
        plan = cap_plan(plan, cap, strict, titration["max_step_ratio"])
    steps = _table(plan, weight_kg, dose_g, conc)
    duration = _duration(steps)
    practical = options["practical_h"] or kb.data["schedule_rules"]["practical_duration_h"]["value"]
    limit_min = practical * _MIN_PER_H
    split = _split_offer(
        plan,
        weight_kg=weight_kg,
        conc=conc,
        course=options["course"],
        limit_min=limit_min,
        volume_risk="volume" in groups,
        duration_min=duration,
    )
    notes += _duration_notes(duration, limit_min, split, options["course"], dose_g / conc, groups)
    if titration["method"] == "doubling":
        notes.append("Titration: " + titration["rule"] + ".")
    if "note" in record:
        notes.append(f"Label: {record['note']}")
    verified = record["verified"] and titration["verified"]
    verified = verified and all(c["verified"] for c in ceilings[:1])
    if not record["verified"]:
        notes.append("UNVERIFIED: this rate record was not confirmed in its cited source.")
    if not titration["verified"]:
        notes.append("UNVERIFIED: the step rule is a ward-protocol setting, not a label statement.")
    if ceilings and not ceilings[0]["verified"]:
        notes.append("UNVERIFIED: the governing at-risk ceiling is not stated for this risk.")
    basis, at_actual = _weight_basis(steps, weight_kg, options["actual"])
    sources = [s["id"] for s in record["sources"]] + titration["sources"]
    for c in ceilings:
        sources += c["sources"]
    return {
        "product": product["id"],
        "product_name": product["name"],
        "route": "iv",
        "rate_record": record["id"],
        "region": record["region"],
        "weight_kg": weight_kg,
        "dose_g": dose_g,
        "concentration_g_per_ml": conc,
        "volume_ml": dose_g / conc,
        "first_infusion": first[0],
        "first_infusion_reason": first[1],
        "at_risk": sorted({r for c in ceilings for r in c["risks"]}),
        "steps": steps,
        "max_rate_mg_per_kg_per_min": max(s["rate_mg_per_kg_per_min"] for s in steps),
        "label_max_rate_mg_per_kg_per_min": label_top,
        "at_risk_ceiling_mg_per_kg_per_min": cap,
        "ceilings": ceilings,
        "titration": titration,
        "duration_min": duration,
        "duration_at_label_max_min": dose_g * _MG_PER_G / (label_top * weight_kg),
        "practical_duration_min": limit_min,
        "split_offer": split,
        "weight_basis": basis,
        "actual_weight_kg": options["actual"],
        "actual_weight_max_rate_ml_per_h": at_actual,
        "notes": notes,
        "sources": list(dict.fromkeys(sources)),
        "verified": verified,
    }


def _duration_notes(
    duration: float,
    limit_min: float,
    split: SplitOffer | None,
    course: tuple[float, int, int] | None,
    volume_ml: float,
    groups: set[str],
) -> list[str]:
    notes: list[str] = []
    if "volume" in groups:
        notes.append(f"Volume-overload risk: this day's volume is {volume_ml:.0f} mL.")
    if split is not None:
        notes.append(
            f"Split offered: {split['days']} days of {split['grams_per_day']:.1f} g "
            f"({split['volume_ml_per_day']:.0f} mL, {split['duration_min'] / _MIN_PER_H:.1f} h "
            f"a day) - {split['reason']}."
        )
    elif duration > limit_min:
        where = (
            "the regimen allows no more days"
            if course is not None
            else "give the course and its day range to see a split"
        )
        notes.append(
            f"The day's infusion takes {duration / _MIN_PER_H:.1f} h, longer than the practical "
            f"{limit_min / _MIN_PER_H:g} h: split the course over more days ({where})."
        )
    return notes
