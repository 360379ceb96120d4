"""Use case: the serum IgG of one course, as the patient page shows it.

From the infusions given and the levels measured, :func:`igg_course` gives the IgG the
population PK model predicts, the same model fitted to the measured levels (maximum a
posteriori, :func:`ivig.core.pk_map.individualise`), and the target trough band for *this*
patient's condition and product, or the reason there is none. The population and the band are
chosen here, once, for every adapter (the web page, a report).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ivig.core.pk_model import Dose
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["choose_population", "igg_course", "target_band"]


def choose_population(kb: KnowledgeBase, condition: str | None) -> tuple[Any, bool]:
    """The PK population of ``condition`` and True, or the default population and False."""
    from ivig.core.pk import pk_population

    for pop in kb.data["pk"]["populations"]:
        if condition and pop.get("condition") == condition:
            return pop, True
    return pk_population(kb), False


def target_band(
    kb: KnowledgeBase,
    population: Any,
    *,
    for_condition: bool,
    product: str | None,
    interval_days: float | None,
) -> tuple[Any | None, str]:
    """The steady-state trough reference that applies to this patient, and why (or why not).

    A trough band applies only when it belongs to the patient's own condition population (a
    primary-immunodeficiency label trough is not a target in neurology), to the product given
    when the reference names one, and to a maintenance interval (nearest one).
    """
    if interval_days is None:
        return None, "no target band: a trough band belongs to a maintenance interval"
    if not for_condition:
        return None, (
            "no target trough band in the knowledge base for this condition; the "
            "immunodeficiency label troughs do not apply"
        )
    refs = [
        r
        for r in kb.data["pk"]["references"]
        if r["population"] == population["id"]
        and r["kind"] == "trough"
        and {"min", "max"} <= set(r)
        and r.get("product") in (None, product)
    ]
    if not refs:
        return None, "no target trough band in the knowledge base for this condition and product"
    best = min(refs, key=lambda r: abs(r.get("interval_days", 0.0) - interval_days))
    return best, str(best["description"])


def _doses(
    kb: KnowledgeBase, infusions: list[dict[str, Any]], weight_kg: float
) -> tuple[dt.date, list[Dose]]:
    """Infusions on the same date are one dose; the route comes from the product's routes."""
    from ivig.core.pk import Dose, default_infusion_hours

    first = dt.date.fromisoformat(infusions[0]["date"])
    by_day: dict[int, float] = {}
    routes: dict[int, Literal["iv", "sc"]] = {}
    products: dict[str, Any] = {p["id"]: p for p in kb.data["products"]}
    for inf in infusions:
        day = (dt.date.fromisoformat(inf["date"]) - first).days
        by_day[day] = by_day.get(day, 0.0) + float(inf["grams"])
        product_routes = (products.get(inf["product"]) or {}).get("routes", ["iv"])
        routes[day] = "iv" if "iv" in product_routes else "sc"
    hours = default_infusion_hours(kb)
    doses = [
        Dose(
            day=float(day),
            amount_g_per_kg=grams / weight_kg,
            route=routes[day],
            infusion_hours=hours if routes[day] == "iv" else 0.0,
        )
        for day, grams in sorted(by_day.items())
    ]
    return first, doses


def _fit(
    population: Any, doses: list[Dose], first: dt.date, levels: list[dict[str, Any]]
) -> tuple[Any | None, float | None, list[str]]:
    """The fitted parameters (or None), the baseline used and notes on what was left out."""
    from ivig.core.pk_map import Level, individualise
    from ivig.errors import InputError

    baselines = [lv for lv in levels if lv["kind"] == "baseline"]
    baseline = float(baselines[-1]["igg_g_per_l"]) if baselines else None
    measured = [
        Level(day=float((dt.date.fromisoformat(lv["date"]) - first).days),
              igg_g_per_l=float(lv["igg_g_per_l"]))
        for lv in levels
        if lv["kind"] != "baseline" and dt.date.fromisoformat(lv["date"]) >= first
    ]  # fmt: skip
    if not measured:
        return None, baseline, []
    try:
        fit = individualise(population, doses, measured, baseline_igg_g_per_l=baseline)
    except InputError as exc:
        return None, baseline, [f"the levels could not be fitted: {exc}"]
    notes = [] if fit.converged else ["the fit to the measured levels did not converge"]
    return fit.params, baseline, notes


def igg_course(
    kb: KnowledgeBase,
    course: dict[str, Any],
    levels: list[dict[str, Any]],
    *,
    until: dt.date | None = None,
) -> dict[str, Any] | None:
    """Predicted and fitted total IgG (g/L) by date over the course, the measured levels and
    the target band; ``None`` when the course has no infusion or no weight.

    ``course`` is the patient page's course (infusions, request, recommendation, condition,
    product); ``levels`` the registry's measured levels (date, kind, igg_g_per_l).
    """
    from ivig.core.pk import simulate_regimen

    infusions = course["infusions"]
    weight_kg = (course["request"].get("patient") or {}).get("weight_kg")
    if not infusions or not weight_kg:
        return None
    first, doses = _doses(kb, infusions, float(weight_kg))
    end_day = float(max(d.day for d in doses) + 28)
    if until is not None:
        end_day = max(end_day, float((until - first).days))
    population, for_condition = choose_population(kb, course.get("condition"))
    params, baseline, notes = _fit(population, doses, first, levels)
    typical = simulate_regimen(
        population, doses, float(weight_kg), end_day=end_day, step_days=1.0,
        baseline_igg_g_per_l=baseline,
    )  # fmt: skip

    def dated(times: Any, values: Any) -> list[tuple[dt.date, float]]:
        return [
            (first + dt.timedelta(days=int(t)), float(v))
            for t, v in zip(times, values, strict=True)
        ]

    fitted = None
    if params is not None:
        sim = simulate_regimen(
            population, doses, float(weight_kg), end_day=end_day, step_days=1.0, params=params
        )
        fitted = dated(sim.times_days, sim.total_igg_g_per_l)
    interval_weeks = (course["recommendation"].get("dose") or {}).get("interval_weeks")
    band, band_note = target_band(
        kb, population, for_condition=for_condition, product=course.get("product"),
        interval_days=interval_weeks * 7 if interval_weeks else None,
    )  # fmt: skip
    return {
        "population": {
            "id": population["id"],
            "name": population["name"],
            "for_condition": for_condition,
            "verified": population["verified"],
            "warnings": list(population.get("warnings", [])),
        },
        "points": dated(typical.times_days, typical.total_igg_g_per_l),
        "fitted": fitted,
        "measured": [
            (dt.date.fromisoformat(lv["date"]), float(lv["igg_g_per_l"]), lv["kind"])
            for lv in levels
        ],
        "band": band,
        "band_note": band_note,
        "notes": notes,
        "doses": len(doses),
    }
