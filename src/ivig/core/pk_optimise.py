"""Trough-guided maintenance: the smallest dose or the longest interval for a target trough.

The model is linear, so the steady-state trough is ``baseline + dose x u(interval)`` where
``u`` is the trough of a unit dose; the smallest dose is found in closed form and the longest
interval by scanning whole steps (the trough falls as the interval grows). The weekly SC
equivalent is given both by the label conversion rules in ``pk.yaml`` and by the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ivig.core.pk import steady_state_profile
from ivig.core.pk_model import Dose, PkParameters
from ivig.errors import InputError

if TYPE_CHECKING:
    from ivig.knowledge import KnowledgeBase

__all__ = [
    "MaintenancePlan",
    "optimise_maintenance",
    "sc_weekly_equivalents",
    "steady_state_trough",
]

_DAYS_PER_WEEK = 7.0


def _cycle(
    amount_g_per_kg: float, days_per_course: int, route: Literal["iv", "sc"], hours: float
) -> list[Dose]:
    per_day = amount_g_per_kg / days_per_course
    return [
        Dose(float(k), per_day, route, hours if route == "iv" else 0.0)
        for k in range(days_per_course)
    ]


def steady_state_trough(
    params: PkParameters,
    amount_g_per_kg: float,
    interval_days: float,
    *,
    days_per_course: int = 1,
    route: Literal["iv", "sc"] = "iv",
    infusion_hours: float = 0.0,
) -> float:
    """Steady-state total IgG just before a course (g/L), patient 0 of ``params``.

    Evaluated at the end of a cycle, i.e. the limit just before the next course starts.
    """
    cycle = _cycle(amount_g_per_kg, days_per_course, route, infusion_hours)
    return float(steady_state_profile(params, cycle, interval_days, [interval_days])[0, 0])


@dataclass(frozen=True)
class MaintenancePlan:
    """The answer of :func:`optimise_maintenance` with the check that proves it."""

    find: Literal["dose", "interval"]
    target_trough_g_per_l: float
    route: Literal["iv", "sc"]
    days_per_course: int
    dose_g_per_kg: float
    dose_g: float
    interval_days: float
    predicted_trough_g_per_l: float
    #: trough one rounding step below (smaller dose or longer interval): below target
    next_step_trough_g_per_l: float | None
    sc_equivalents: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Course:
    """What every step of the search shares: route, course length and infusion time."""

    params: PkParameters
    weight_kg: float
    target_trough_g_per_l: float
    days_per_course: int
    route: Literal["iv", "sc"]
    infusion_hours: float

    def trough(self, dose_g_per_kg: float, interval_days: float) -> float:
        return steady_state_trough(
            self.params,
            dose_g_per_kg,
            interval_days,
            days_per_course=self.days_per_course,
            route=self.route,
            infusion_hours=self.infusion_hours,
        )


def optimise_maintenance(
    params: PkParameters,
    weight_kg: float,
    target_trough_g_per_l: float,
    *,
    find: Literal["dose", "interval"] = "dose",
    interval_days: float | None = None,
    dose_g_per_kg: float | None = None,
    days_per_course: int = 1,
    route: Literal["iv", "sc"] = "iv",
    infusion_hours: float = 0.0,
    dose_step_g: float = 0.0,
    interval_step_days: float = 7.0,
    max_interval_days: float = 365.0,
) -> MaintenancePlan:
    """Smallest dose (``find="dose"``) or longest interval keeping the steady-state trough up.

    ``dose_step_g`` rounds the dose up to a multiple of that many grams (0: no rounding);
    the interval is a whole multiple of ``interval_step_days``.
    """
    if not math.isfinite(weight_kg) or weight_kg <= 0:
        raise InputError("weight_kg", weight_kg, "above 0", "kg")
    if not math.isfinite(target_trough_g_per_l) or target_trough_g_per_l <= 0:
        raise InputError("target_trough_g_per_l", target_trough_g_per_l, "above 0", "g/L")
    if days_per_course < 1:
        raise InputError("days_per_course", days_per_course, "at least 1", "days")
    course = _Course(
        params, weight_kg, target_trough_g_per_l, days_per_course, route, infusion_hours
    )
    if find == "dose":
        return _smallest_dose(course, interval_days, dose_step_g)
    if find != "interval":
        raise InputError("find", find, "dose or interval")
    return _longest_interval(course, dose_g_per_kg, interval_step_days, max_interval_days)


def _smallest_dose(
    course: _Course, interval_days: float | None, dose_step_g: float
) -> MaintenancePlan:
    """The smallest dose per course (rounded up to ``dose_step_g``) meeting the target."""
    if interval_days is None or not math.isfinite(interval_days) or interval_days <= 0:
        raise InputError("interval_days", interval_days, "above 0 (needed to find a dose)", "days")
    if dose_step_g < 0 or not math.isfinite(dose_step_g):
        raise InputError("dose_step_g", dose_step_g, ">= 0", "g")
    baseline = float(course.params.baseline_igg_g_per_l[0])
    notes: list[str] = []
    # the trough rises linearly with the dose: the rise for 1 g/kg scales to any dose
    unit = course.trough(1.0, interval_days) - baseline
    needed = max(course.target_trough_g_per_l - baseline, 0.0) / unit
    if needed == 0.0:
        notes.append("The baseline (endogenous) IgG already meets the target trough.")
    dose_g = needed * course.weight_kg
    if dose_step_g > 0:
        dose_g = math.ceil(dose_g / dose_step_g - 1e-9) * dose_step_g
    amount = dose_g / course.weight_kg
    smaller = None
    if dose_step_g > 0 and dose_g >= dose_step_g:
        smaller = baseline + (dose_g - dose_step_g) / course.weight_kg * unit
    return MaintenancePlan(
        "dose",
        course.target_trough_g_per_l,
        course.route,
        course.days_per_course,
        amount,
        dose_g,
        interval_days,
        baseline + amount * unit,
        smaller,
        notes=notes,
    )


def _longest_interval(
    course: _Course,
    dose_g_per_kg: float | None,
    interval_step_days: float,
    max_interval_days: float,
) -> MaintenancePlan:
    """The longest interval (a multiple of ``interval_step_days``) meeting the target."""
    if dose_g_per_kg is None or not math.isfinite(dose_g_per_kg) or dose_g_per_kg <= 0:
        raise InputError(
            "dose_g_per_kg", dose_g_per_kg, "above 0 (needed to find an interval)", "g/kg"
        )
    if not math.isfinite(interval_step_days) or interval_step_days <= 0:
        raise InputError("interval_step_days", interval_step_days, "above 0", "days")
    shortest = max(float(course.days_per_course), interval_step_days)
    steps = np.arange(
        math.ceil(shortest / interval_step_days), int(max_interval_days // interval_step_days) + 1
    )
    if steps.size == 0:
        raise InputError("max_interval_days", max_interval_days, f"at least {shortest:g}", "days")
    troughs = np.array([course.trough(dose_g_per_kg, float(k * interval_step_days)) for k in steps])
    ok = np.flatnonzero(troughs >= course.target_trough_g_per_l)
    if ok.size == 0:
        raise InputError(
            "target_trough_g_per_l",
            course.target_trough_g_per_l,
            f"at most {troughs[0]:.2f} with {dose_g_per_kg:g} g/kg",
            "g/L",
            f"even every {steps[0] * interval_step_days:g} days the trough stays below target",
        )
    best = int(ok[-1])
    nxt = float(troughs[best + 1]) if best + 1 < troughs.size else None
    notes = [] if nxt is not None else [
        f"Target met up to the search limit of {max_interval_days:g} days."]  # fmt: skip
    return MaintenancePlan(
        "interval",
        course.target_trough_g_per_l,
        course.route,
        course.days_per_course,
        dose_g_per_kg,
        dose_g_per_kg * course.weight_kg,
        float(steps[best] * interval_step_days),
        float(troughs[best]),
        nxt,
        notes=notes,
    )


def sc_weekly_equivalents(
    knowledge: KnowledgeBase,
    params: PkParameters,
    iv_dose_g: float,
    iv_interval_days: float,
    weight_kg: float,
) -> list[dict[str, Any]]:
    """Weekly SC doses (g) equivalent to an IV regimen: label rules, then the model.

    Label rules: IV dose / weeks between doses x factor. Model: the weekly SC dose with the
    same steady-state mean IgG (IV weekly-equivalent / bioavailability), and the one with the
    same steady-state trough.
    """
    if iv_dose_g <= 0 or iv_interval_days <= 0 or weight_kg <= 0:
        raise InputError("iv_dose_g", iv_dose_g, "dose, interval and weight above 0", "g")
    weekly_iv = iv_dose_g / (iv_interval_days / _DAYS_PER_WEEK)
    out: list[dict[str, Any]] = []
    for rule in knowledge.data["pk"]["sc_conversions"]:
        factor = rule["factor"]["value"]
        out.append(
            {
                "method": "label_rule",
                "id": rule["id"],
                "name": rule["name"],
                "weekly_sc_dose_g": weekly_iv * factor,
                "factor": factor,
                "applies_to": rule["applies_to"],
                "sources": [s["id"] for s in rule["sources"]],
                "verified": rule["verified"] and rule["factor"]["verified"],
            }
        )
    f = float(params.sc_bioavailability[0])
    out.append(
        {
            "method": "model_same_mean",
            "id": "model_same_mean",
            "name": "Model: same steady-state mean IgG (weekly IV equivalent / bioavailability)",
            "weekly_sc_dose_g": weekly_iv / f,
            "bioavailability": f,
            "verified": False,
        }
    )
    iv_trough = steady_state_trough(params, iv_dose_g / weight_kg, iv_interval_days)
    baseline = float(params.baseline_igg_g_per_l[0])
    unit = steady_state_trough(params, 1.0, _DAYS_PER_WEEK, route="sc") - baseline
    out.append(
        {
            "method": "model_same_trough",
            "id": "model_same_trough",
            "name": "Model: same steady-state trough",
            "weekly_sc_dose_g": max(iv_trough - baseline, 0.0) / unit * weight_kg,
            "iv_trough_g_per_l": iv_trough,
            "verified": False,
        }
    )
    return out
