"""Reference solution of the IgG model by numerical integration (``scipy.integrate.solve_ivp``).

The usual way to simulate a PK model, kept to check the closed-form engine of
:mod:`ivig.core.pk_model` (tests) and to compare speed (``benchmarks/pk_population.py``). The
integration restarts at every dose event so that infusion starts and stops are exact.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
from scipy.integrate import solve_ivp

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ivig.core.pk_model import Dose, PkParameters

__all__ = ["solve_ode_reference"]


def solve_ode_reference(
    params: PkParameters,
    doses: list[Dose] | tuple[Dose, ...],
    times_days: NDArray[np.float64] | list[float],
    *,
    index: int = 0,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> NDArray[np.float64]:
    """Total IgG (g/L) of patient ``index`` at sorted ``times_days`` by ODE integration.

    States: central and peripheral infused amounts (g/kg) and the SC depot (g/kg).
    """
    times = np.asarray(times_days, dtype=float)
    cl = float(params.clearance_l_per_kg_per_day[index])
    v1 = float(params.central_volume_l_per_kg[index])
    v2 = float(params.peripheral_volume_l_per_kg[index])
    q = float(params.intercompartmental_l_per_kg_per_day[index])
    ka = float(params.sc_absorption_rate_per_day[index])
    f = float(params.sc_bioavailability[index])
    baseline = float(params.baseline_igg_g_per_l[index])
    infusions = [
        (d.day, d.end_day, d.amount_g_per_kg / (d.end_day - d.day))
        for d in doses
        if d.route == "iv" and d.infusion_hours > 0
    ]

    def rhs(t: float, y: NDArray[np.float64], rate: float) -> list[float]:
        central, peripheral, depot = y
        return [
            rate + ka * depot - (cl + q) / v1 * central + q / v2 * peripheral,
            q / v1 * central - q / v2 * peripheral,
            -ka * depot,
        ]

    events = sorted({0.0, float(times[-1])} | {d.day for d in doses} | {d.end_day for d in doses})
    events = [e for e in events if e <= times[-1]]
    state = np.zeros(3)
    out = np.full(times.shape, baseline)
    for a, b in pairwise(events):
        for d in doses:
            if d.day == a and d.route == "sc":
                state[2] += f * d.amount_g_per_kg
            elif d.day == a and d.infusion_hours == 0:
                state[0] += d.amount_g_per_kg
        rate = sum(r for s, e, r in infusions if s <= a < e)
        inside = times[(times >= a) & (times <= b)]
        sol = solve_ivp(
            rhs,
            (a, b),
            state,
            args=(rate,),
            t_eval=inside if inside.size else None,
            rtol=rtol,
            atol=atol,
            method="LSODA",
        )
        if inside.size:
            out[(times >= a) & (times <= b)] = baseline + sol.y[0] / v1
        state = (
            sol.y[:, -1]
            if not inside.size or inside[-1] == b
            else solve_ivp(
                rhs, (a, b), state, args=(rate,), rtol=rtol, atol=atol, method="LSODA"
            ).y[:, -1]
        )
    return out
