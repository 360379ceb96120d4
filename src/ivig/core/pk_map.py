"""Individualisation: maximum a posteriori parameters from measured IgG levels.

The population's log-normal between-patient variability is the prior; the residual error is
proportional (log scale) with the population's ``residual_cv``. The estimated random effects are
those of the parameters that have variability in the population (clearance, volumes, ...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize

from ivig.core.pk_model import Dose, PkParameters, evaluate_igg, parameters_from_population
from ivig.errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ivig.knowledge.schema_pk import PkPopulation

__all__ = ["IndividualFit", "Level", "individualise"]

_FIELDS = {
    "clearance": ("clearance_l_per_kg_per_day",),
    "volumes": ("central_volume_l_per_kg", "peripheral_volume_l_per_kg"),
    "intercompartmental_clearance": ("intercompartmental_l_per_kg_per_day",),
    "baseline": ("baseline_igg_g_per_l",),
    "sc_absorption_rate": ("sc_absorption_rate_per_day",),
}


@dataclass(frozen=True)
class Level:
    """A measured total serum IgG level on ``day`` (days from the regimen's day 0)."""

    day: float
    igg_g_per_l: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.day) or self.day < 0:
            raise InputError("level.day", self.day, "a day >= 0", "days")
        if not math.isfinite(self.igg_g_per_l) or self.igg_g_per_l <= 0:
            raise InputError("level.igg_g_per_l", self.igg_g_per_l, "above 0", "g/L")


@dataclass(frozen=True)
class IndividualFit:
    """Individual parameters, the random effects behind them and the fit to the levels."""

    params: PkParameters
    etas: dict[str, float]
    predicted_g_per_l: list[float]
    observed_g_per_l: list[float]
    objective: float
    converged: bool


def _apply(typical: PkParameters, names: Sequence[str], eta: NDArray[np.float64]) -> PkParameters:
    values: dict[str, NDArray[np.float64]] = {}
    for name, e in zip(names, eta, strict=True):
        for fld in _FIELDS[name]:
            values[fld] = getattr(typical, fld) * math.exp(float(e))
    return typical.replace(**values)


def individualise(
    population: PkPopulation,
    doses: list[Dose] | tuple[Dose, ...],
    levels: list[Level],
    *,
    baseline_igg_g_per_l: float | None = None,
) -> IndividualFit:
    """MAP estimate of the patient's parameters given ``levels`` measured on ``doses``.

    With a known baseline (pre-treatment level) the baseline is fixed, otherwise it is
    estimated when the population gives it variability.
    """
    if not levels:
        raise InputError("levels", "[]", "at least one measured level")
    if not doses:
        raise InputError("regimen", "[]", "the doses given before the levels")
    typical = parameters_from_population(population, baseline_igg_g_per_l)
    omegas = {
        v["parameter"]: math.sqrt(math.log1p(v["cv"] ** 2)) for v in population["variability"]
    }
    if baseline_igg_g_per_l is not None:
        omegas.pop("baseline", None)
    names = [n for n in _FIELDS if n in omegas]
    omega = np.array([omegas[n] for n in names])
    residual = population.get("residual_cv")
    if residual is None:
        raise InputError("population", population["id"], "a population with residual_cv")
    sigma = math.sqrt(math.log1p(residual["value"] ** 2))
    days = np.array([lv.day for lv in levels])
    observed = np.array([lv.igg_g_per_l for lv in levels])
    ordered = tuple(sorted(doses, key=lambda d: d.day))
    if not names:
        pred = evaluate_igg(typical, ordered, days)[0]
        return IndividualFit(typical, {}, pred.tolist(), observed.tolist(), 0.0, True)

    def objective(eta: NDArray[np.float64]) -> float:
        pred = evaluate_igg(_apply(typical, names, eta), ordered, days)[0]
        if np.any(pred <= 0):
            return 1e12
        resid = (np.log(observed) - np.log(pred)) / sigma
        return float(resid @ resid + ((eta / omega) ** 2).sum())

    best = minimize(
        objective,
        np.zeros(len(names)),
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000},
    )
    eta = np.asarray(best.x, dtype=float)
    params = _apply(typical, names, eta)
    pred = evaluate_igg(params, ordered, days)[0]
    return IndividualFit(
        params=params,
        etas={n: float(e) for n, e in zip(names, eta, strict=True)},
        predicted_g_per_l=pred.tolist(),
        observed_g_per_l=observed.tolist(),
        objective=float(best.fun),
        converged=bool(best.success),
    )
