"""Infusion-rate schedule of one dose: the step table in mg/kg/min and mL/h.

IV products follow the label's rate record (``iv_rates`` of the product file): the labelled
steps, then a fixed increment or - where the label says only "increase as tolerated" - one step
to the maximum once the labelled first period is over. At-risk ceilings (renal or thrombotic
risk) come from the label; where the label says only "minimum rate practicable" the schedule
holds the lowest labelled rate unless the prescriber gives a rate. SC products give the volume
and rate per site and the number of sites (``sc_rates``). Nothing is invented: a product without
a rate record is refused with a clear message.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ivig.core.catalogue import concentration_g_per_ml
from ivig.core.risk import risk_groups, risk_ids
from ivig.errors import InputError

if TYPE_CHECKING:
    from typing import NotRequired

    from typing_extensions import TypedDict

    from ivig.core.risk import RiskFinding
    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema_products import Product, RateSchedule, ScRates

    class ScheduleStep(TypedDict):
        start_min: float
        duration_min: float
        rate_mg_per_kg_per_min: float
        rate_ml_per_h: float
        grams: float
        cumulative_ml: float
        cumulative_g: float
        basis: str

    class ScPlan(TypedDict):
        sites: int
        sessions: int
        volume_ml_per_site: float
        rate_ml_per_h_per_site: float
        max_volume_ml_per_site: float | None
        max_rate_ml_per_h_per_site: float
        max_sites: int | None

    class InfusionSchedule(TypedDict):
        """The step table of one infusion day and what it rests on."""

        product: str
        product_name: str
        route: str
        rate_record: str
        region: str
        weight_kg: float
        dose_g: float
        concentration_g_per_ml: float
        volume_ml: float
        first_infusion: bool
        at_risk: list[str]
        steps: list[ScheduleStep]
        max_rate_mg_per_kg_per_min: float
        label_max_rate_mg_per_kg_per_min: float
        at_risk_ceiling_mg_per_kg_per_min: float | None
        duration_min: float
        duration_at_label_max_min: float
        notes: list[str]
        sources: list[str]
        verified: bool
        sc: NotRequired[ScPlan]


__all__ = ["compute_infusion_schedule", "to_mg_per_kg_per_min"]

_MIN_PER_H = 60.0
_MG_PER_G = 1000.0
_DEFAULT_AT_RISK = ("renal", "thrombosis")


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


def _plan_rates(
    record: RateSchedule, conc: float, cap: float | None, strict: bool, first_hold: float | None
) -> tuple[list[tuple[float, float | None, str]], list[str]]:
    """(rate mg/kg/min, duration or None = until done, basis) in order, and notes."""
    unit = record["unit"]
    top = to_mg_per_kg_per_min(record["max_rate"], unit, conc)
    plan: list[tuple[float, float | None, str]] = [
        (to_mg_per_kg_per_min(s["rate"], unit, conc), s.get("duration_min"), "label step")
        for s in record["steps"]
    ]
    notes: list[str] = []
    titration = record["titration"]
    if titration == "fixed_increment":
        inc = to_mg_per_kg_per_min(record["increment"], unit, conc)
        rate = plan[-1][0]
        while rate < top - 1e-12:
            rate = min(rate + inc, top)
            plan.append((rate, record["interval_min"], "label increment"))
    elif plan[-1][0] < top - 1e-12:
        if plan[-1][1] is None:
            plan[-1] = (plan[-1][0], record.get("interval_min") or first_hold, plan[-1][2])
        if plan[-1][1] is None:
            notes.append(
                "The label gives no time for the first step ('increase as tolerated'): the "
                "table holds the initial rate; give a step interval to tabulate the climb."
            )
        else:
            plan.append((top, None, "label maximum, reached as tolerated"))
            if titration == "as_tolerated":
                notes.append(
                    "The label gives no intermediate steps ('increase as tolerated'): the table "
                    "goes from the first step to the maximum, the fastest the label allows."
                )
    if cap is not None:
        kept = [p for p in plan if (p[0] < cap if strict else p[0] <= cap + 1e-12)]
        if not strict and len(kept) < len(plan):
            kept.append((cap, None, "at-risk ceiling"))
        if not kept:
            raise InputError(
                "rate", plan[0][0], f"below {cap:g}", "mg/kg/min", "no labelled step is below"
            )
        plan = kept
    last_rate, _, last_basis = plan[-1]
    plan[-1] = (last_rate, None, last_basis)
    return plan, notes


def _table(
    plan: list[tuple[float, float | None, str]], weight_kg: float, dose_g: float, conc: float
) -> list[ScheduleStep]:
    """Walk the rate plan until the dose is given; the last step ends exactly at ``dose_g``."""
    steps: list[ScheduleStep] = []
    start = 0.0
    given = 0.0
    for rate, duration, basis in plan:
        remaining = dose_g - given
        if remaining <= 0:
            break
        g_per_min = rate * weight_kg / _MG_PER_G
        to_finish = remaining / g_per_min
        if duration is None or to_finish <= duration:
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


def compute_infusion_schedule(
    kb: KnowledgeBase,
    product_id: str,
    *,
    weight_kg: float,
    dose_g: float,
    risks: list[RiskFinding] | list[str],
    first_infusion: bool,
    indication: str | None = None,
    region: str | None = None,
    route: str | None = None,
    at_risk_rate_mg_per_kg_per_min: float | None = None,
    step_interval_min: float | None = None,
    concentration_percent: float | None = None,
    age_years: float | None = None,
    sites: int | None = None,
) -> InfusionSchedule:
    """The infusion schedule of ``dose_g`` of one product for one day.

    ``first_infusion`` (or the ``first_infusion`` / ``product_switch`` risk factors) selects the
    label's first-infusion record. ``at_risk_rate_mg_per_kg_per_min`` is the prescriber's rate
    for renal/thrombotic risk where the label gives no number; ``step_interval_min`` times the
    first step where the label gives none. Raises :class:`InputError` on bad input or when the
    knowledge base holds no rates for the product.
    """
    weight_kg = _positive("weight_kg", weight_kg, "kg")
    dose_g = _positive("dose_g", dose_g, "g")
    _check_limit(kb, "weight_kg", weight_kg, "kg")
    product: Product = kb.product(product_id)
    ids = risk_ids(kb, risks)
    first = bool(first_infusion) or bool({"first_infusion", "product_switch"} & ids)
    groups = risk_groups(kb, ids)
    if route is None:
        route = "iv" if "iv" in product["routes"] else product["routes"][0]
    if route not in product["routes"]:
        raise InputError("route", route, ", ".join(product["routes"]), detail=product["id"])
    conc = concentration_g_per_ml(product, concentration_percent)
    if route == "sc":
        return _sc_schedule(
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
    records = product.get("iv_rates", [])
    if route != "iv" or not records:
        raise InputError(
            "product",
            product["id"],
            "a product with labelled IV infusion rates in the knowledge base",
            detail=f"no {route.upper()} infusion rates of {product['name']} were found in the "
            "sources; use the current product information",
        )
    notes: list[str] = []
    record: RateSchedule = _pick(
        records, first=first, region=region, indication=indication, conc=conc, notes=notes
    )
    label_top = to_mg_per_kg_per_min(record["max_rate"], record["unit"], conc)
    applies = set(record.get("at_risk_applies_to", _DEFAULT_AT_RISK))
    at_risk = sorted(groups & applies)
    cap: float | None = None
    strict = False
    sources = [s["id"] for s in record["sources"]]
    verified = record["verified"]
    first_rate = to_mg_per_kg_per_min(record["steps"][0]["rate"], record["unit"], conc)
    if at_risk:
        if "at_risk_max_rate" in record:
            cap = to_mg_per_kg_per_min(record["at_risk_max_rate"], record["unit"], conc)
            strict = bool(record.get("at_risk_strict"))
            sign = "<" if strict else "≤"
            notes.append(f"At risk ({', '.join(at_risk)}): label ceiling {sign}{cap:g} mg/kg/min.")
            if "at_risk_sources" in record:
                sources += [s["id"] for s in record["at_risk_sources"]]
            verified = verified and record.get("at_risk_verified", True)
        else:
            cap = first_rate
            notes.append(
                f"At risk ({', '.join(at_risk)}): the label says 'minimum rate practicable' "
                f"without a number; the table holds the lowest labelled rate ({cap:g} mg/kg/min)."
            )
        if at_risk_rate_mg_per_kg_per_min is not None:
            chosen = _positive("at_risk_rate_mg_per_kg_per_min", at_risk_rate_mg_per_kg_per_min, "")
            upper = cap if "at_risk_max_rate" in record else label_top
            if chosen > upper or (strict and chosen >= upper) or chosen < first_rate:
                raise InputError(
                    "at_risk_rate_mg_per_kg_per_min",
                    chosen,
                    f"{first_rate:g} to {upper:g}" + (" (exclusive)" if strict else ""),
                    "mg/kg/min",
                )
            cap, strict = chosen, False
            notes.append(f"Prescriber's at-risk rate: {chosen:g} mg/kg/min.")
    interval = None
    if step_interval_min is not None:
        interval = _positive("step_interval_min", step_interval_min, "min")
    plan, plan_notes = _plan_rates(record, conc, cap, strict, interval)
    notes += plan_notes
    steps = _table(plan, weight_kg, dose_g, conc)
    if "note" in record:
        notes.append(f"Label: {record['note']}")
    if not verified:
        notes.append("UNVERIFIED: this rate record was not confirmed in its cited source.")
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
        "first_infusion": first,
        "at_risk": at_risk,
        "steps": steps,
        "max_rate_mg_per_kg_per_min": max(s["rate_mg_per_kg_per_min"] for s in steps),
        "label_max_rate_mg_per_kg_per_min": label_top,
        "at_risk_ceiling_mg_per_kg_per_min": cap,
        "duration_min": steps[-1]["start_min"] + steps[-1]["duration_min"],
        "duration_at_label_max_min": dose_g * _MG_PER_G / (label_top * weight_kg),
        "notes": notes,
        "sources": list(dict.fromkeys(sources)),
        "verified": verified,
    }


def _sc_record(
    product: Product,
    *,
    weight_kg: float,
    first: bool,
    indication: str | None,
    region: str | None,
    age_years: float | None,
    notes: list[str],
) -> ScRates:
    records = product.get("sc_rates", [])
    fitting = [
        r
        for r in records
        if weight_kg >= r.get("min_weight_kg", 0)
        and ("below_weight_kg" not in r or weight_kg < r["below_weight_kg"])
        and (age_years is None or age_years >= r.get("min_age_years", 0))
    ]
    if not fitting:
        raise InputError(
            "product",
            product["id"],
            "a product with labelled SC volume and rate per site for this patient",
            detail=f"no SC rates of {product['name']} for {weight_kg:g} kg"
            + (f", {age_years:g} years" if age_years is not None else "")
            + " were found in the sources",
        )
    if age_years is None and any("min_age_years" in r for r in fitting):
        notes.append("Age not given: records with a minimum age are assumed to apply.")
    phase = "first" if first else "subsequent"
    pool = [r for r in fitting if r["infusions"] in (phase, "all")] or fitting
    if region is not None:
        pool = [r for r in pool if r["region"] == region] or pool
    if indication is not None:
        hits = [r for r in pool if indication in r["indications"]]
        if hits:
            pool = hits
        else:
            notes.append(f"No SC record for indication {indication!r}; using the most conservative")
    return min(pool, key=lambda r: r.get("max_rate_ml_per_h_per_site", math.inf))


def _sc_schedule(
    product: Product,
    *,
    weight_kg: float,
    dose_g: float,
    conc: float,
    first: bool,
    thrombosis: bool,
    indication: str | None,
    region: str | None,
    age_years: float | None,
    sites: int | None,
) -> InfusionSchedule:
    notes: list[str] = []
    if thrombosis:
        notes.append(
            "Thrombosis risk: SC labels carry the thrombosis warning (minimum dose and rate "
            "practicable); the label gives no lower SC rate, the table uses the label rate."
        )
    record = _sc_record(
        product,
        weight_kg=weight_kg,
        first=first,
        indication=indication,
        region=region,
        age_years=age_years,
        notes=notes,
    )
    volume_ml = dose_g / conc
    per_site_rate = record.get("max_rate_ml_per_h_per_site")
    per_site_volume = record.get("max_volume_ml_per_site")
    max_sites = record.get("max_sites")
    if per_site_rate is None:
        known = f"; up to {per_site_volume:g} mL per site" if per_site_volume else ""
        raise InputError(
            "product",
            product["id"],
            "a product with a labelled SC rate per site in the knowledge base",
            detail=f"the rate per site of {product['name']} was not found in the sources{known}",
        )
    if sites is not None:
        if isinstance(sites, bool) or not isinstance(sites, int) or sites < 1:
            raise InputError("sites", sites, "a whole number >= 1", "count")
        if max_sites is not None and sites > max_sites:
            raise InputError("sites", sites, f"1 to {max_sites}", "count", product["id"])
        total_sites = sites
    elif per_site_volume is not None:
        total_sites = math.ceil(volume_ml / per_site_volume - 1e-9)
    else:
        raise InputError(
            "sites",
            None,
            "a number of sites",
            "count",
            f"the label gives no volume per site for {product['id']}: give the sites",
        )
    sessions = 1
    if max_sites is not None and total_sites > max_sites:
        sessions = math.ceil(total_sites / max_sites)
        notes.append(
            f"The volume needs {total_sites} sites; the label allows {max_sites} at once: "
            f"give it in {sessions} sessions."
        )
    sites_per_session = math.ceil(total_sites / sessions)
    volume_per_site = volume_ml / (sessions * sites_per_session)
    if per_site_volume is not None and volume_per_site > per_site_volume + 1e-9:
        raise InputError(
            "sites", total_sites, f"enough sites for at most {per_site_volume:g} mL each", "count"
        )
    total_rate = per_site_rate * sites_per_session
    cap_total = record.get("max_rate_ml_per_h_total")
    if cap_total is not None and total_rate > cap_total:
        total_rate = cap_total
        notes.append(f"Total rate limited to {cap_total:g} mL/h for all sites.")
    rate_per_site = total_rate / sites_per_session
    if "min_rate_ml_per_h_per_site" in record:
        notes.append(
            f"Label range {record['min_rate_ml_per_h_per_site']:g}-{per_site_rate:g} mL/h/site: "
            "the table uses the upper end; start lower if needed."
        )
    if "note" in record:
        notes.append(f"Label: {record['note']}")
    if not record["verified"]:
        notes.append("UNVERIFIED: this SC record was not confirmed in its cited source.")
    session_ml = volume_ml / sessions
    span = session_ml / total_rate * _MIN_PER_H
    rate_mg = total_rate * conc * _MG_PER_G / _MIN_PER_H / weight_kg
    step: ScheduleStep = {
        "start_min": 0.0,
        "duration_min": span,
        "rate_mg_per_kg_per_min": rate_mg,
        "rate_ml_per_h": total_rate,
        "grams": dose_g / sessions,
        "cumulative_ml": session_ml,
        "cumulative_g": dose_g / sessions,
        "basis": "label rate per site x sites",
    }
    return {
        "product": product["id"],
        "product_name": product["name"],
        "route": "sc",
        "rate_record": record["id"],
        "region": record["region"],
        "weight_kg": weight_kg,
        "dose_g": dose_g,
        "concentration_g_per_ml": conc,
        "volume_ml": volume_ml,
        "first_infusion": first,
        "at_risk": [],
        "steps": [step],
        "max_rate_mg_per_kg_per_min": rate_mg,
        "label_max_rate_mg_per_kg_per_min": rate_mg,
        "at_risk_ceiling_mg_per_kg_per_min": None,
        "duration_min": span * sessions,
        "duration_at_label_max_min": span * sessions,
        "notes": notes,
        "sources": [s["id"] for s in record["sources"]],
        "verified": record["verified"],
        "sc": {
            "sites": sites_per_session,
            "sessions": sessions,
            "volume_ml_per_site": volume_per_site,
            "rate_ml_per_h_per_site": rate_per_site,
            "max_volume_ml_per_site": per_site_volume,
            "max_rate_ml_per_h_per_site": per_site_rate,
            "max_sites": max_sites,
        },
    }
