"""Linear two-compartment IgG model: parameters, doses and the closed-form superposition engine.

Total serum IgG = endogenous IgG (a steady baseline: constant production balanced by
first-order catabolism) + infused IgG. Infused IgG follows a linear two-compartment model with
elimination from the central compartment; IV doses are zero-order infusions (or boluses), SC
doses enter through a first-order depot with a bioavailability. Because the model is linear,
the concentration is a sum over doses and over the exponential modes of the system; every mode
is summed for all doses at once with cumulative sums over time blocks, so the cost is a few
array passes over (patients x times), with no Python loop per patient or per time point.

Units: time in days, doses in g per kg body weight, volumes in L/kg, clearances in L/kg/day,
concentrations in g/L.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ivig.errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ivig.knowledge.schema_pk import PkPopulation

__all__ = [
    "Dose",
    "PkParameters",
    "evaluate_igg",
    "parameters_from_population",
]

Route = Literal["iv", "sc"]

#: Patients per chunk, to keep temporaries small in population runs.
_CHUNK = 4096
#: Shortest infusion accepted (hours); shorter is a bolus (numerical floor, not clinical).
_MIN_INFUSION_HOURS = 0.01
#: Below this many patient x dose x time values the dense path is used.
_DENSE_LIMIT = 200_000
_ML_PER_L = 1000.0


@dataclass(frozen=True)
class Dose:
    """One administration: ``amount_g_per_kg`` starting on ``day``.

    IV doses run over ``infusion_hours`` (0 = bolus); SC doses are absorbed from a depot.
    """

    day: float
    amount_g_per_kg: float
    route: Route = "iv"
    infusion_hours: float = 0.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.day) or self.day < 0:
            raise InputError("dose.day", self.day, "a day >= 0", "days")
        if not np.isfinite(self.amount_g_per_kg) or self.amount_g_per_kg <= 0:
            raise InputError("dose.amount", self.amount_g_per_kg, "above 0", "g/kg")
        if self.route not in ("iv", "sc"):
            raise InputError("dose.route", self.route, "iv or sc")
        if not np.isfinite(self.infusion_hours) or self.infusion_hours < 0:
            raise InputError("dose.infusion_hours", self.infusion_hours, ">= 0", "hours")
        if 0 < self.infusion_hours < _MIN_INFUSION_HOURS:
            raise InputError(
                "dose.infusion_hours",
                self.infusion_hours,
                f"0 (bolus) or at least {_MIN_INFUSION_HOURS:g}",
                "hours",
            )
        if self.route == "sc" and self.infusion_hours:
            raise InputError(
                "dose.infusion_hours",
                self.infusion_hours,
                "0 for SC doses",
                "hours",
                "SC doses are absorbed from a depot",
            )

    @property
    def end_day(self) -> float:
        """Day the infusion ends (the start day for boluses and SC doses)."""
        return self.day + self.infusion_hours / 24.0


@dataclass(frozen=True)
class PkParameters:
    """Parameters of one or many patients, each a 1-D array of the same length."""

    clearance_l_per_kg_per_day: NDArray[np.float64]
    central_volume_l_per_kg: NDArray[np.float64]
    peripheral_volume_l_per_kg: NDArray[np.float64]
    intercompartmental_l_per_kg_per_day: NDArray[np.float64]
    baseline_igg_g_per_l: NDArray[np.float64]
    sc_bioavailability: NDArray[np.float64]
    sc_absorption_rate_per_day: NDArray[np.float64]

    @property
    def n(self) -> int:
        return int(self.clearance_l_per_kg_per_day.shape[0])

    def take(self, index: slice | NDArray[np.intp]) -> PkParameters:
        """The parameters of a subset of patients."""
        return PkParameters(
            *(np.asarray(getattr(self, f))[index] for f in self.__dataclass_fields__)
        )

    def replace(self, **values: NDArray[np.float64] | float) -> PkParameters:
        """A copy with some fields replaced (scalars are broadcast)."""
        current = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for key, value in values.items():
            current[key] = np.broadcast_to(np.asarray(value, dtype=float), (self.n,)).copy()
        return PkParameters(**current)

    def modes(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Disposition rates (n, 2) [alpha, beta] and central coefficients (n, 2) in kg/L.

        The central concentration after a unit bolus (1 g/kg) is sum_i c_i exp(-lambda_i t).
        """
        v1 = self.central_volume_l_per_kg
        k10 = self.clearance_l_per_kg_per_day / v1
        k12 = self.intercompartmental_l_per_kg_per_day / v1
        k21 = self.intercompartmental_l_per_kg_per_day / self.peripheral_volume_l_per_kg
        total = k10 + k12 + k21
        alpha = 0.5 * (total + np.sqrt(total * total - 4.0 * k10 * k21))
        beta = k10 * k21 / alpha
        c_alpha = (alpha - k21) / (v1 * (alpha - beta))
        c_beta = (k21 - beta) / (v1 * (alpha - beta))
        return np.stack([alpha, beta], axis=1), np.stack([c_alpha, c_beta], axis=1)

    def as_dict(self, index: int = 0) -> dict[str, float]:
        """Patient ``index`` in the units of ``pk.yaml`` (mL/kg, mL/kg/day, g/L, per day)."""
        return {
            "clearance_ml_per_kg_per_day": float(self.clearance_l_per_kg_per_day[index])
            * _ML_PER_L,
            "central_volume_ml_per_kg": float(self.central_volume_l_per_kg[index]) * _ML_PER_L,
            "peripheral_volume_ml_per_kg": float(self.peripheral_volume_l_per_kg[index])
            * _ML_PER_L,
            "intercompartmental_clearance_ml_per_kg_per_day": float(
                self.intercompartmental_l_per_kg_per_day[index]
            )
            * _ML_PER_L,
            "baseline_igg_g_per_l": float(self.baseline_igg_g_per_l[index]),
            "sc_bioavailability": float(self.sc_bioavailability[index]),
            "sc_absorption_rate_per_day": float(self.sc_absorption_rate_per_day[index]),
        }


def parameters_from_population(
    population: PkPopulation, baseline_igg_g_per_l: float | None = None
) -> PkParameters:
    """Typical parameters of a ``pk.yaml`` population (one patient)."""

    def one(value: float, scale: float = 1.0) -> NDArray[np.float64]:
        return np.array([value / scale], dtype=float)

    baseline = population["baseline_igg_g_per_l"]["value"]
    if baseline_igg_g_per_l is not None:
        if not np.isfinite(baseline_igg_g_per_l) or baseline_igg_g_per_l < 0:
            raise InputError("baseline_igg_g_per_l", baseline_igg_g_per_l, ">= 0", "g/L")
        baseline = baseline_igg_g_per_l
    return PkParameters(
        clearance_l_per_kg_per_day=one(
            population["clearance_ml_per_kg_per_day"]["value"], _ML_PER_L
        ),
        central_volume_l_per_kg=one(population["central_volume_ml_per_kg"]["value"], _ML_PER_L),
        peripheral_volume_l_per_kg=one(
            population["peripheral_volume_ml_per_kg"]["value"], _ML_PER_L
        ),
        intercompartmental_l_per_kg_per_day=one(
            population["intercompartmental_clearance_ml_per_kg_per_day"]["value"], _ML_PER_L
        ),
        baseline_igg_g_per_l=one(baseline),
        sc_bioavailability=one(population["sc_bioavailability"]["value"]),
        sc_absorption_rate_per_day=one(population["sc_absorption_rate_per_day"]["value"]),
    )


def _dose_arrays(
    doses: tuple[Dose, ...] | list[Dose],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    start = np.array([d.day for d in doses], dtype=float)
    amount = np.array([d.amount_g_per_kg for d in doses], dtype=float)
    duration = np.array([d.infusion_hours / 24.0 for d in doses], dtype=float)
    is_sc = np.array([d.route == "sc" for d in doses], dtype=bool)
    return start, amount, duration, is_sc


def _amplitudes(
    params: PkParameters,
    lam: NDArray[np.float64],
    coef: NDArray[np.float64],
    *,
    amount: NDArray[np.float64],
    duration: NDArray[np.float64],
    is_sc: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-mode amplitudes (n, M, D) at each dose's reference time, and the mode rates (n, M).

    Modes are alpha, beta and (when there are SC doses) the absorption rate ka.
    """
    n = params.n
    n_doses = amount.shape[0]
    has_sc = bool(is_sc.any())
    n_modes = 3 if has_sc else 2
    rates = np.empty((n, n_modes))
    rates[:, :2] = lam
    amps = np.zeros((n, n_modes, n_doses))
    iv = ~is_sc
    bolus = iv & (duration == 0)
    infusion = iv & (duration > 0)
    for i in range(2):
        c = coef[:, i : i + 1]
        li = lam[:, i : i + 1]
        amps[:, i, bolus] = c * amount[bolus]
        if infusion.any():
            dur = duration[infusion]
            amps[:, i, infusion] = c * amount[infusion] * (-np.expm1(-li * dur)) / (li * dur)
    if has_sc:
        ka = params.sc_absorption_rate_per_day
        # guard the removable singularity ka == lambda_i (identical rates give 0/0)
        gap = ka[:, None] - lam
        tiny = np.abs(gap) < 1e-9 * ka[:, None]
        if tiny.any():
            ka = np.where(tiny.any(axis=1), ka * (1.0 + 1e-6), ka)
            gap = ka[:, None] - lam
        rates[:, 2] = ka
        f_dose = params.sc_bioavailability[:, None] * amount[is_sc][None, :]
        total = np.zeros((n, int(is_sc.sum())))
        for i in range(2):
            a_i = f_dose * (coef[:, i] * ka / gap[:, i])[:, None]
            amps[:, i, is_sc] = a_i
            total += a_i
        amps[:, 2, is_sc] = -total
    return amps, rates


def _decay_table(rate: NDArray[np.float64], step: float, m: int) -> NDArray[np.float64]:
    """exp(-rate k step) for k = 0..m-1 as an (n, m) array.

    exp(-r k h) = exp(-r a B h) exp(-r b h) with k = a B + b: two small tables of exponentials
    and one multiplication replace n x m calls to exp.
    """
    size = max(int(np.ceil(np.sqrt(m))), 1)
    rows = -(-m // size)
    small = np.exp(-rate[:, None] * (step * np.arange(size))[None, :])
    big = np.exp(-rate[:, None] * (step * size * np.arange(rows))[None, :])
    table = big[:, :, None] * small[:, None, :]
    return table.reshape(rate.shape[0], rows * size)[:, :m]


def _uniform_step(times: NDArray[np.float64]) -> float | None:
    """The grid step if ``times`` is evenly spaced (to 1e-9 of a step), else None."""
    if times.shape[0] < 3:
        return None
    step = float(times[-1] - times[0]) / (times.shape[0] - 1)
    if step <= 0 or not np.all(np.abs(np.diff(times) - step) <= 1e-9 * step):
        return None
    return float(step)


def _add_mode(
    out: NDArray[np.float64],
    times: NDArray[np.float64],
    *,
    rate: NDArray[np.float64],
    amp: NDArray[np.float64],
    ref: NDArray[np.float64],
    step: float | None,
    scratch: NDArray[np.float64],
) -> None:
    """out[:, k] += sum over doses with ref <= t_k of amp * exp(-rate (t_k - ref)).

    ``ref`` and ``times`` are sorted. Between two consecutive reference times the sum is one
    exponential, carried from dose to dose by a recursion over doses; each stretch of time
    points is then filled with one multiplication by a table of powers of exp(-rate step).
    """
    n_t = times.shape[0]
    bounds = np.append(np.searchsorted(times, ref, side="left"), n_t)
    longest = int(np.max(bounds[1:] - bounds[:-1], initial=0))
    table = _decay_table(rate, step, longest) if step is not None and longest > 0 else None
    carried = np.zeros_like(rate)
    previous = None
    for j in range(ref.shape[0]):
        if previous is not None:
            carried *= np.exp(-rate * (ref[j] - previous))
        carried += amp[:, j]
        previous = ref[j]
        lo, hi = int(bounds[j]), int(bounds[j + 1])
        if hi <= lo:
            continue
        first = carried * np.exp(-rate * (times[lo] - ref[j]))
        if table is not None:
            block = table[:, : hi - lo]
        else:
            block = np.exp(-rate[:, None] * (times[None, lo:hi] - times[lo]))
        tmp = scratch[:, : hi - lo]
        np.multiply(block, first[:, None], out=tmp)
        out[:, lo:hi] += tmp


def _dense(
    out: NDArray[np.float64],
    times: NDArray[np.float64],
    *,
    lam: NDArray[np.float64],
    coef: NDArray[np.float64],
    amps: NDArray[np.float64],
    rates: NDArray[np.float64],
    start: NDArray[np.float64],
    ref: NDArray[np.float64],
    amount: NDArray[np.float64],
    duration: NDArray[np.float64],
    is_sc: NDArray[np.bool_],
) -> None:
    """Small problems (one patient, a few doses): every dose x time pair at once."""
    lag = times[None, :] - ref[:, None]
    after = lag >= 0
    lag_pos = np.where(after, lag, 0.0)
    for m in range(rates.shape[1]):
        decay = np.exp(-rates[:, m, None, None] * lag_pos[None]) * after[None]
        out += np.einsum("nd,ndt->nt", amps[:, m, :], decay)
    infusion = (~is_sc) & (duration > 0)
    if infusion.any():
        s, e = start[infusion], ref[infusion]
        elapsed = times[None, :] - s[:, None]
        inside = (elapsed > 0) & (times[None, :] < e[:, None])
        if inside.any():
            rate_in = (amount[infusion] / duration[infusion])[:, None] * inside
            el = np.where(inside, elapsed, 0.0)
            for i in range(2):
                li = lam[:, i, None, None]
                part = coef[:, i, None, None] * (-np.expm1(-li * el[None])) / li
                out += np.einsum("dt,ndt->nt", rate_in, part)


def _evaluate_chunk(
    params: PkParameters,
    doses: tuple[Dose, ...] | list[Dose],
    times: NDArray[np.float64],
    out: NDArray[np.float64],
    scratch: NDArray[np.float64],
) -> None:
    out[:] = params.baseline_igg_g_per_l[:, None]
    if not doses:
        return
    lam, coef = params.modes()
    start, amount, duration, is_sc = _dose_arrays(doses)
    amps, rates = _amplitudes(params, lam, coef, amount=amount, duration=duration, is_sc=is_sc)
    ref = start + duration
    if params.n * len(doses) * times.shape[0] <= _DENSE_LIMIT:
        _dense(
            out,
            times,
            lam=lam,
            coef=coef,
            amps=amps,
            rates=rates,
            start=start,
            ref=ref,
            amount=amount,
            duration=duration,
            is_sc=is_sc,
        )
        return
    order = np.argsort(ref, kind="stable")
    ref_sorted = ref[order]
    step = _uniform_step(times)
    for m in range(rates.shape[1]):
        _add_mode(
            out,
            times,
            rate=rates[:, m],
            amp=amps[:, m, order],
            ref=ref_sorted,
            step=step,
            scratch=scratch,
        )
    # time points inside an IV infusion: the partial-infusion formula
    for d in np.flatnonzero((~is_sc) & (duration > 0)):
        lo = int(np.searchsorted(times, start[d], side="right"))
        hi = int(np.searchsorted(times, ref[d], side="left"))
        if hi <= lo:
            continue
        elapsed = times[None, lo:hi] - start[d]
        rate_in = amount[d] / duration[d]
        for i in range(2):
            li = lam[:, i : i + 1]
            out[:, lo:hi] += coef[:, i : i + 1] * rate_in * (-np.expm1(-li * elapsed)) / li


def evaluate_igg(
    params: PkParameters,
    doses: tuple[Dose, ...] | list[Dose],
    times_days: NDArray[np.float64] | list[float],
) -> NDArray[np.float64]:
    """Total serum IgG (g/L), shape (patients, times), at ``times_days`` (any order)."""
    times = np.asarray(times_days, dtype=float)
    if times.ndim != 1 or times.size == 0:
        raise InputError("times_days", times.shape, "a non-empty 1-D sequence", "days")
    if not np.all(np.isfinite(times)):
        raise InputError("times_days", "non-finite", "finite days", "days")
    in_order = bool(np.all(times[1:] >= times[:-1]))
    order = np.arange(times.size) if in_order else np.argsort(times, kind="stable")
    sorted_times = times[order]
    out = np.empty((params.n, times.size))
    rows = min(params.n, _CHUNK)
    scratch = np.empty((rows, times.size))
    buffer = None if in_order else np.empty((rows, times.size))
    for lo in range(0, params.n, _CHUNK):
        hi = min(lo + _CHUNK, params.n)
        chunk = params.take(slice(lo, hi))
        if buffer is None:
            _evaluate_chunk(chunk, doses, sorted_times, out[lo:hi], scratch[: hi - lo])
        else:
            view = buffer[: hi - lo]
            _evaluate_chunk(chunk, doses, sorted_times, view, scratch[: hi - lo])
            out[lo:hi, order] = view
    return out
