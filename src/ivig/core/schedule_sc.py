"""Subcutaneous schedules: volume and rate per site and the number of sites (``sc_rates``).

Split from :mod:`ivig.core.schedule` (IV step tables). Nothing is invented: a product without
a labelled SC rate per site is refused with a clear message.
"""

from __future__ import annotations

import math

from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.knowledge.schema_products import Product, ScRates
    from ivig.results import InfusionOut as InfusionSchedule
    from ivig.results import InfusionStep as ScheduleStep

__all__ = ["sc_schedule"]

_MIN_PER_H = 60.0
_MG_PER_G = 1000.0


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


def sc_schedule(
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
        "first_infusion_reason": "",
        "at_risk": [],
        "steps": [step],
        "max_rate_mg_per_kg_per_min": rate_mg,
        "label_max_rate_mg_per_kg_per_min": rate_mg,
        "at_risk_ceiling_mg_per_kg_per_min": None,
        "ceilings": [],
        "titration": None,
        "duration_min": span * sessions,
        "duration_at_label_max_min": span * sessions,
        "practical_duration_min": span * sessions,
        "split_offer": None,
        "weight_basis": "",
        "actual_weight_kg": None,
        "actual_weight_max_rate_ml_per_h": None,
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
