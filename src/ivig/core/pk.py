"""IgG pharmacokinetics: simulate a regimen, predict what a clinician asks, simulate a population.

The model and the closed-form engine are in :mod:`ivig.core.pk_model`; the maintenance optimiser
in :mod:`ivig.core.pk_optimise`; individualisation from measured levels in
:mod:`ivig.core.pk_map`. Populations, references and conventions come from ``pk.yaml`` through
the knowledge base. Every result lists the warnings of the population it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ivig.core.pk_model import (
    Dose,
    PkParameters,
    _amplitudes,
    _dose_arrays,
    evaluate_igg,
    parameters_from_population,
)
from ivig.errors import InputError, UnknownIdError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema_pk import PkPopulation, PkReference

__all__ = [
    "Dose",
    "PkParameters",
    "PkSimulation",
    "PopulationSimulation",
    "Predictions",
    "default_infusion_hours",
    "delta_igg",
    "pk_population",
    "predict",
    "sample_parameters",
    "simulate_population",
    "simulate_regimen",
    "steady_state_profile",
    "time_above_days",
]


#: Offset (days) used to read a level just before a dose: a bolus counts from its own instant.
_JUST_BEFORE = 1e-9


def pk_population(knowledge: KnowledgeBase, population_id: str | None = None) -> PkPopulation:
    """The ``pk.yaml`` population with this id (the default population when None)."""
    pk = knowledge.data["pk"]
    wanted = population_id or pk["default_population"]
    for pop in pk["populations"]:
        if pop["id"] == wanted:
            return pop
    raise UnknownIdError("pk_population", wanted, [p["id"] for p in pk["populations"]])


def default_infusion_hours(knowledge: KnowledgeBase) -> float:
    """Infusion time used when a regimen does not give one (a modelling convention)."""
    return float(knowledge.data["pk"]["conventions"]["default_iv_infusion_hours"]["value"])


def _times(end_day: float, step_days: float) -> NDArray[np.float64]:
    if not math.isfinite(step_days) or step_days <= 0:
        raise InputError("step_days", step_days, "above 0", "days")
    if not math.isfinite(end_day) or end_day <= 0:
        raise InputError("end_day", end_day, "above 0", "days")
    if end_day / step_days > 2_000_000:
        raise InputError("step_days", step_days, f"at least {end_day / 2_000_000:g}", "days")
    count = math.floor(end_day / step_days + 1e-9) + 1
    return np.arange(count, dtype=np.float64) * step_days


@dataclass(frozen=True)
class PkSimulation:
    """Serum IgG of one patient over time (g/L): total = endogenous + infused."""

    population_id: str
    weight_kg: float
    doses: tuple[Dose, ...]
    params: PkParameters
    times_days: NDArray[np.float64]
    total_igg_g_per_l: NDArray[np.float64]
    warnings: tuple[str, ...] = ()
    verified: bool = False

    @property
    def endogenous_igg_g_per_l(self) -> NDArray[np.float64]:
        return np.full_like(self.total_igg_g_per_l, float(self.params.baseline_igg_g_per_l[0]))

    @property
    def infused_igg_g_per_l(self) -> NDArray[np.float64]:
        return self.total_igg_g_per_l - self.endogenous_igg_g_per_l

    def at(self, days: NDArray[np.float64] | list[float]) -> NDArray[np.float64]:
        """Total IgG at exact days (not only grid points)."""
        values: NDArray[np.float64] = evaluate_igg(self.params, self.doses, days)[0]
        return values


def simulate_regimen(
    population: PkPopulation,
    doses: list[Dose] | tuple[Dose, ...],
    weight_kg: float,
    *,
    end_day: float | None = None,
    step_days: float = 1.0,
    baseline_igg_g_per_l: float | None = None,
    params: PkParameters | None = None,
) -> PkSimulation:
    """Total, endogenous and infused IgG of one patient on a grid from day 0 to ``end_day``.

    ``params`` overrides the population's typical values (e.g. individualised ones).
    """
    if not math.isfinite(weight_kg) or weight_kg <= 0:
        raise InputError("weight_kg", weight_kg, "above 0", "kg")
    if not doses:
        raise InputError("regimen", "[]", "at least one dose")
    ordered = tuple(sorted(doses, key=lambda d: d.day))
    last = max(d.end_day for d in ordered)
    end = end_day if end_day is not None else math.ceil(last) + 28.0
    p = params or parameters_from_population(population, baseline_igg_g_per_l)
    if params is not None and baseline_igg_g_per_l is not None:
        p = p.replace(baseline_igg_g_per_l=baseline_igg_g_per_l)
    times = _times(end, step_days)
    total = evaluate_igg(p, ordered, times)[0]
    return PkSimulation(
        population_id=population["id"],
        weight_kg=weight_kg,
        doses=ordered,
        params=p,
        times_days=times,
        total_igg_g_per_l=total,
        warnings=tuple(population.get("warnings", [])),
        verified=population["verified"],
    )


def steady_state_profile(
    params: PkParameters,
    cycle: list[Dose] | tuple[Dose, ...],
    interval_days: float,
    offsets_days: NDArray[np.float64] | list[float],
) -> NDArray[np.float64]:
    """IgG (patients, offsets) at steady state of ``cycle`` repeated every ``interval_days``.

    ``cycle`` days are relative to the start of a cycle and must end within it. The value is
    this cycle (closed form) plus all earlier cycles (a geometric series per mode).
    """
    if not math.isfinite(interval_days) or interval_days <= 0:
        raise InputError("interval_days", interval_days, "above 0", "days")
    for dose in cycle:
        if dose.end_day > interval_days:
            raise InputError(
                "interval_days",
                interval_days,
                f"at least {dose.end_day:g}",
                "days",
                "every dose of a cycle must end within the interval",
            )
    offsets = np.asarray(offsets_days, dtype=float)
    current = evaluate_igg(params, cycle, offsets)

    lam, coef = params.modes()
    start, amount, duration, is_sc = _dose_arrays(cycle)
    amps, rates = _amplitudes(params, lam, coef, amount=amount, duration=duration, is_sc=is_sc)
    ref = start + duration
    past = np.zeros_like(current)
    for m in range(rates.shape[1]):
        r = rates[:, m][:, None, None]
        lag = offsets[None, None, :] + interval_days - ref[None, :, None]
        series = np.exp(-r * lag) / (-np.expm1(-r * interval_days))
        past += np.einsum("nd,ndt->nt", amps[:, m, :], series)
    return current + past


@dataclass(frozen=True)
class Predictions:
    """The figures a clinician asks for, from one simulation."""

    peak_igg_g_per_l: float
    peak_day: float
    troughs: list[tuple[float, float]]
    steady_state_trough_g_per_l: float | None
    steady_state_peak_g_per_l: float | None
    maintenance_interval_days: float | None
    delta_igg_day14_g_per_l: float | None
    delta_reference: dict[str, Any] | None
    target_igg_g_per_l: float | None
    days_above_target: float | None
    notes: list[str] = field(default_factory=list)


def delta_igg(sim: PkSimulation, after_days: float = 14.0) -> float:
    """Rise in total IgG ``after_days`` after the first dose (from just before it)."""
    first = sim.doses[0].day
    before, after = sim.at([first - _JUST_BEFORE, first + after_days])
    return float(after - before)


def time_above_days(
    times: NDArray[np.float64], values: NDArray[np.float64], target: float
) -> float:
    """Days with IgG at or above ``target`` (linear between grid points)."""
    above = values >= target
    if times.size < 2:
        return 0.0
    dt = np.diff(times)
    a, b = values[:-1] - target, values[1:] - target
    both = above[:-1] & above[1:]
    total = float(dt[both].sum())
    cross = above[:-1] ^ above[1:]
    if cross.any():
        frac_up = np.where(a[cross] >= 0, a[cross] / (a[cross] - b[cross]), 0.0)
        frac_dn = np.where(a[cross] < 0, b[cross] / (b[cross] - a[cross]), 0.0)
        total += float((dt[cross] * (frac_up + frac_dn)).sum())
    return total


def _maintenance_cycle(doses: tuple[Dose, ...]) -> tuple[list[Dose], float] | None:
    """The repeating tail of a regimen: the last cycle and its interval, if there is one.

    Doses are grouped into courses (doses on consecutive days); when the last three or more
    courses are identical and evenly spaced, the last one is the cycle.
    """
    courses: list[list[Dose]] = []
    for dose in doses:
        if courses and dose.day - courses[-1][-1].day <= 1.0 + 1e-9:
            courses[-1].append(dose)
        else:
            courses.append([dose])
    if len(courses) < 3:
        return None

    def shape(course: list[Dose]) -> tuple[tuple[float, float, str, float], ...]:
        first = course[0].day
        return tuple(
            (round(d.day - first, 6), d.amount_g_per_kg, d.route, d.infusion_hours) for d in course
        )

    last = courses[-1]
    interval = last[0].day - courses[-2][0].day
    tail = 1
    for i in range(len(courses) - 2, -1, -1):
        spacing = courses[i + 1][0].day - courses[i][0].day
        if shape(courses[i]) != shape(last) or abs(spacing - interval) > 1e-9:
            break
        tail += 1
    if tail < 3:
        return None
    first = last[0].day
    cycle = [Dose(d.day - first, d.amount_g_per_kg, d.route, d.infusion_hours) for d in last]
    return cycle, interval


def _delta_reference(knowledge: KnowledgeBase, population_id: str) -> PkReference | None:
    for ref in knowledge.data["pk"]["references"]:
        if ref["population"] == population_id and ref["kind"] == "delta_igg":
            return ref
    return None


def predict(
    sim: PkSimulation,
    knowledge: KnowledgeBase | None = None,
    target_igg_g_per_l: float | None = None,
) -> Predictions:
    """Peak, trough before each dose, steady-state trough, day-14 rise, time above target."""
    if target_igg_g_per_l is not None and (
        not math.isfinite(target_igg_g_per_l) or target_igg_g_per_l <= 0
    ):
        raise InputError("target_igg_g_per_l", target_igg_g_per_l, "above 0", "g/L")
    ends = np.array([d.end_day for d in sim.doses])
    candidates = np.concatenate([sim.times_days, ends[ends <= sim.times_days[-1]]])
    values = sim.at(candidates)
    i = int(np.argmax(values))
    starts = [d.day for d in sim.doses]
    trough_days = sorted(set(starts))
    trough_values = sim.at([d - _JUST_BEFORE for d in trough_days])
    troughs = [(float(d), float(v)) for d, v in zip(trough_days, trough_values, strict=True)]
    notes: list[str] = []
    ss_trough = ss_peak = interval = None
    found = _maintenance_cycle(sim.doses)
    if found is not None:
        cycle, interval = found
        grid = np.linspace(0.0, interval, 4 * math.ceil(interval) + 1)
        grid = np.unique(np.concatenate([grid, [d.end_day for d in cycle]]))
        profile = steady_state_profile(sim.params, cycle, interval, grid)[0]
        ss_trough = float(profile[-1])  # end of a cycle = just before the next course
        ss_peak = float(profile.max())
    delta = None
    ref_out: dict[str, Any] | None = None
    ref = _delta_reference(knowledge, sim.population_id) if knowledge is not None else None
    delta_day = float(ref["day"]) if ref is not None and "day" in ref else None
    if delta_day is not None and sim.times_days[-1] >= sim.doses[0].day + delta_day:
        delta = delta_igg(sim, delta_day)
        if knowledge is not None and ref is not None and "mean" in ref and "sd" in ref:
            ref_out = {
                "id": ref["id"],
                "mean_g_per_l": ref["mean"],
                "sd_g_per_l": ref["sd"],
                "z": (delta - ref["mean"]) / ref["sd"] if ref["sd"] > 0 else None,
                "sources": [s["id"] for s in ref["sources"]],
                "verified": ref["verified"],
            }
            for other in knowledge.data["pk"]["references"]:
                if (
                    other["population"] == sim.population_id
                    and other["kind"] == "delta_igg_target"
                    and "min" in other
                ):
                    ref_out["target_g_per_l"] = other["min"]
                    ref_out["target_met"] = delta > other["min"]
                    ref_out["target_sources"] = [s["id"] for s in other["sources"]]
    above = None
    if target_igg_g_per_l is not None:
        above = time_above_days(sim.times_days, sim.total_igg_g_per_l, target_igg_g_per_l)
    if not sim.verified:
        notes.append("Uses parameters not verified against their sources (see warnings).")
    return Predictions(
        peak_igg_g_per_l=float(values[i]),
        peak_day=float(candidates[i]),
        troughs=troughs,
        steady_state_trough_g_per_l=ss_trough,
        steady_state_peak_g_per_l=ss_peak,
        maintenance_interval_days=interval,
        delta_igg_day14_g_per_l=delta,
        delta_reference=ref_out,
        target_igg_g_per_l=target_igg_g_per_l,
        days_above_target=above,
        notes=notes,
    )


def sample_parameters(
    population: PkPopulation, n_patients: int, rng: np.random.Generator
) -> PkParameters:
    """``n_patients`` parameter sets with log-normal between-patient variability."""
    if not isinstance(rng, np.random.Generator):
        raise InputError("rng", type(rng).__name__, "a numpy.random.Generator")
    if n_patients < 1:
        raise InputError("n_patients", n_patients, "at least 1", "count")
    typical = parameters_from_population(population)
    cvs: dict[str, float] = {v["parameter"]: v["cv"] for v in population["variability"]}

    def factor(name: str) -> NDArray[np.float64] | float:
        cv = cvs.get(name)
        if cv is None:
            return 1.0
        omega = math.sqrt(math.log1p(cv * cv))
        return np.exp(rng.standard_normal(n_patients) * omega)

    ones = np.ones(n_patients)
    vol = factor("volumes")
    return PkParameters(
        clearance_l_per_kg_per_day=typical.clearance_l_per_kg_per_day * factor("clearance") * ones,
        central_volume_l_per_kg=typical.central_volume_l_per_kg * vol * ones,
        peripheral_volume_l_per_kg=typical.peripheral_volume_l_per_kg * vol * ones,
        intercompartmental_l_per_kg_per_day=typical.intercompartmental_l_per_kg_per_day
        * factor("intercompartmental_clearance")
        * ones,
        baseline_igg_g_per_l=typical.baseline_igg_g_per_l * factor("baseline") * ones,
        sc_bioavailability=typical.sc_bioavailability * ones,
        sc_absorption_rate_per_day=typical.sc_absorption_rate_per_day
        * factor("sc_absorption_rate")
        * ones,
    )


@dataclass(frozen=True)
class PopulationSimulation:
    """Total IgG (patients x times, g/L) of virtual patients and their parameters."""

    population_id: str
    times_days: NDArray[np.float64]
    total_igg_g_per_l: NDArray[np.float64]
    params: PkParameters
    seed: int | None

    def delta_igg(self, after_days: float, first_dose_day: float = 0.0) -> NDArray[np.float64]:
        """Rise in IgG ``after_days`` after ``first_dose_day`` for each patient (grid days)."""
        k0 = int(np.argmin(np.abs(self.times_days - first_dose_day)))
        k1 = int(np.argmin(np.abs(self.times_days - (first_dose_day + after_days))))
        return self.total_igg_g_per_l[:, k1] - self.total_igg_g_per_l[:, k0]


def simulate_population(
    population: PkPopulation,
    doses: list[Dose] | tuple[Dose, ...],
    n_patients: int,
    *,
    seed: int | np.random.Generator,
    times_days: NDArray[np.float64] | list[float] | None = None,
    end_day: float = 365.0,
    step_days: float = 1.0,
) -> PopulationSimulation:
    """Simulate ``n_patients`` virtual patients (vectorised; explicit seed or Generator)."""
    if isinstance(seed, np.random.Generator):
        rng, seed_value = seed, None
    elif isinstance(seed, int) and not isinstance(seed, bool):
        rng, seed_value = np.random.default_rng(seed), seed
    else:
        raise InputError("seed", seed, "an int or a numpy.random.Generator")
    params = sample_parameters(population, n_patients, rng)
    times: NDArray[np.float64] = (
        np.asarray(times_days, dtype=np.float64)
        if times_days is not None
        else np.arange(math.floor(end_day / step_days), dtype=np.float64) * step_days
    )
    total = evaluate_igg(params, tuple(sorted(doses, key=lambda d: d.day)), times)
    return PopulationSimulation(population["id"], times, total, params, seed_value)
