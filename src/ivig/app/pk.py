"""Use cases of IgG pharmacokinetics: simulate a regimen (individualised from measured levels
when given), find a trough-guided maintenance regimen, summarise a virtual population.

Each returns the core's objects in one frozen result; the CLI (``ivig pk``) only formats them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ivig.core.pk import PkSimulation, Predictions
from ivig.core.pk_map import IndividualFit, Level
from ivig.core.pk_regimen import SYNTAX as REGIMEN_SYNTAX
from ivig.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ivig.core.pk_model import Dose, PkParameters
    from ivig.knowledge import KnowledgeBase

__all__ = [
    "REGIMEN_SYNTAX",
    "IndividualFit",
    "Level",
    "MaintenanceResult",
    "PkSimulation",
    "Predictions",
    "SimulationResult",
    "optimise",
    "population_info",
    "population_summary",
    "simulate",
]


@dataclass(frozen=True)
class SimulationResult:
    population: Any
    sim: PkSimulation
    predictions: Predictions
    fit: IndividualFit | None


@dataclass(frozen=True)
class MaintenanceResult:
    population: Any
    plan: Any
    params: PkParameters
    fit: IndividualFit | None
    sc_equivalents: list[dict[str, Any]]
    #: the plan simulated over ``plot_days`` with its troughs, when asked for
    sim: PkSimulation | None
    troughs: list[tuple[float, float]]


def population_info(kb: KnowledgeBase, population_id: str | None) -> dict[str, Any]:
    """The population's id, name, verified flag, warnings and sources."""
    from ivig.core.pk import pk_population

    pop = pk_population(kb, population_id)
    return {
        "id": pop["id"],
        "name": pop["name"],
        "verified": pop["verified"],
        "warnings": pop.get("warnings", []),
        "sources": [s["id"] for s in pop["sources"]],
    }


def _individualise(
    kb: KnowledgeBase,
    population_id: str | None,
    doses: Sequence[Dose],
    levels: Sequence[Level] | None,
    baseline_igg_g_per_l: float | None,
) -> tuple[PkParameters | None, IndividualFit | None]:
    if not levels:
        return None, None
    from ivig.core.pk import pk_population
    from ivig.core.pk_map import individualise

    fit = individualise(
        pk_population(kb, population_id),
        list(doses),
        list(levels),
        baseline_igg_g_per_l=baseline_igg_g_per_l,
    )
    return fit.params, fit


def simulate(
    kb: KnowledgeBase,
    *,
    population_id: str | None,
    regimen: Sequence[str],
    weight_kg: float,
    end_day: float | None = None,
    step_days: float | None = None,
    baseline_igg_g_per_l: float | None = None,
    target_igg_g_per_l: float | None = None,
    levels: Sequence[Level] | None = None,
) -> SimulationResult:
    """Serum IgG over time for ``regimen`` (individualised from ``levels`` when given)."""
    from ivig.core.pk import default_infusion_hours, pk_population, predict, simulate_regimen
    from ivig.core.pk_regimen import parse_regimen

    pop = pk_population(kb, population_id)
    doses = parse_regimen(list(regimen), weight_kg, default_infusion_hours(kb))
    params, fit = _individualise(kb, population_id, doses, levels, baseline_igg_g_per_l)
    options: dict[str, Any] = {"end_day": end_day, "step_days": step_days}
    sim = simulate_regimen(
        pop,
        doses,
        weight_kg,
        **{k: v for k, v in options.items() if v is not None},
        baseline_igg_g_per_l=baseline_igg_g_per_l,
        params=params,
    )
    pred = predict(sim, kb, target_igg_g_per_l)
    return SimulationResult(pop, sim, pred, fit)


def _interval(interval_weeks: float | None, interval_days: float | None) -> float | None:
    if interval_weeks is not None:
        return interval_weeks * 7.0
    return interval_days


def optimise(
    kb: KnowledgeBase,
    *,
    population_id: str | None,
    weight_kg: float,
    target_trough_g_per_l: float,
    find: Literal["dose", "interval"],
    route: Literal["iv", "sc"] = "iv",
    regimen: Sequence[str] | None = None,
    levels: Sequence[Level] | None = None,
    baseline_igg_g_per_l: float | None = None,
    interval_weeks: float | None = None,
    interval_days: float | None = None,
    dose_g_per_kg: float | None = None,
    days_per_course: int | None = None,
    dose_step_g: float | None = None,
    interval_step_days: float | None = None,
    plot_days: float | None = None,
) -> MaintenanceResult:
    """The smallest dose (or the longest interval) that keeps the steady-state trough at or
    above the target, individualised from measured levels after ``regimen`` when given."""
    from ivig.core.pk import default_infusion_hours, pk_population
    from ivig.core.pk_model import parameters_from_population
    from ivig.core.pk_optimise import optimise_maintenance, sc_weekly_equivalents
    from ivig.core.pk_regimen import parse_regimen

    pop = pk_population(kb, population_id)
    hours = default_infusion_hours(kb)
    fit = None
    params = parameters_from_population(pop, baseline_igg_g_per_l)
    if regimen:
        history = parse_regimen(list(regimen), weight_kg, hours)
        individual, fit = _individualise(kb, population_id, history, levels, baseline_igg_g_per_l)
        params = individual or params
    elif levels:
        raise InputError("regimen", None, "the doses given before the levels (--regimen)")
    route_hours = hours if route == "iv" else 0.0
    options: dict[str, Any] = {
        "dose_g_per_kg": dose_g_per_kg,
        "days_per_course": days_per_course,
        "dose_step_g": dose_step_g,
        "interval_step_days": interval_step_days,
    }
    plan = optimise_maintenance(
        params,
        weight_kg,
        target_trough_g_per_l,
        find=find,
        interval_days=_interval(interval_weeks, interval_days),
        route=route,
        infusion_hours=route_hours,
        **{k: v for k, v in options.items() if v is not None},
    )
    equivalents: list[dict[str, Any]] = []
    if route == "iv":
        equivalents = list(
            sc_weekly_equivalents(kb, params, plan.dose_g, plan.interval_days, weight_kg)
        )
    sim: PkSimulation | None = None
    troughs: list[tuple[float, float]] = []
    if plot_days:
        sim, troughs = _plan_curve(pop, plan, params, weight_kg, route_hours, plot_days)
    return MaintenanceResult(pop, plan, params, fit, equivalents, sim, troughs)


def _plan_curve(
    pop: Any,
    plan: Any,
    params: PkParameters,
    weight_kg: float,
    route_hours: float,
    plot_days: float,
) -> tuple[PkSimulation, list[tuple[float, float]]]:
    from ivig.core.pk import simulate_regimen
    from ivig.core.pk_model import Dose

    per_day = plan.dose_g_per_kg / plan.days_per_course
    doses = [
        Dose(c * plan.interval_days + k, per_day, plan.route, route_hours)
        for c in range(math.ceil(plot_days / plan.interval_days))
        for k in range(plan.days_per_course)
    ]
    sim = simulate_regimen(
        pop,
        doses,
        weight_kg,
        end_day=plot_days,
        step_days=0.25,
        params=params,
    )
    troughs = [
        (d.day, float(v))
        for d, v in zip(sim.doses, sim.at([d.day for d in sim.doses]), strict=True)
    ]
    return sim, troughs


def population_summary(
    kb: KnowledgeBase,
    *,
    population_id: str | None,
    regimen: Sequence[str],
    weight_kg: float,
    patients: int,
    seed: int,
    end_day: float,
    step_days: float,
    percentiles: tuple[float, ...],
    workers: int,
) -> tuple[Any, Any]:
    """Percentiles of IgG per day over virtual patients, simulated in chunks."""
    from ivig.core.pk import default_infusion_hours, pk_population
    from ivig.core.pk_population import summarise_population
    from ivig.core.pk_regimen import parse_regimen

    pop = pk_population(kb, population_id)
    doses = parse_regimen(list(regimen), weight_kg, default_infusion_hours(kb))
    summary = summarise_population(
        pop,
        doses,
        patients,
        seed=seed,
        end_day=end_day,
        step_days=step_days,
        percentiles=percentiles,
        workers=workers,
    )
    return pop, summary
