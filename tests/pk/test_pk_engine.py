"""The closed-form engine against an ODE solver, and its invariants."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.core import pk_model
from ivig.core.pk import pk_population, simulate_population, steady_state_profile
from ivig.core.pk_model import Dose, PkParameters, evaluate_igg, parameters_from_population
from ivig.core.pk_ode import solve_ode_reference
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase

REGIMENS = {
    "single_bolus": [Dose(0.0, 0.4)],
    "single_infusion": [Dose(0.0, 2.0, "iv", 8.0)],
    "five_day_course": [Dose(float(d), 0.4, "iv", 4.0) for d in range(5)],
    "repeated_maintenance": [Dose(21.0 * k, 1.0, "iv", 5.0) for k in range(6)],
    "sc_weekly": [Dose(7.0 * k, 0.1, "sc") for k in range(10)],
    "mixed": [
        Dose(0.0, 0.4, "iv", 4.0),
        Dose(1.5, 0.4, "iv", 30.0),
        Dose(10.0, 0.2, "sc"),
        Dose(12.25, 0.5),
    ],
}


def _params(n: int = 1, seed: int = 0) -> PkParameters:
    rng = np.random.default_rng(seed)
    base = (0.004, 0.0259, 0.0259, 0.0094, 8.3, 0.65, 0.35)
    return PkParameters(*(np.full(n, v) * np.exp(rng.normal(0, 0.3, n)) for v in base))


@pytest.mark.parametrize("name", sorted(REGIMENS))
@pytest.mark.parametrize("dense", [True, False])
def test_closed_form_matches_ode(name: str, dense: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Superposition of closed forms equals the integrated ODE within 1e-6 (target 0.1%)."""
    if not dense:
        monkeypatch.setattr(pk_model, "_DENSE_LIMIT", 0)
    params = _params(3)
    times = np.linspace(0.0, 90.0, 361)
    closed = evaluate_igg(params, REGIMENS[name], times)
    for i in range(params.n):
        ode = solve_ode_reference(params, REGIMENS[name], times, index=i)
        assert np.max(np.abs(closed[i] - ode) / ode) < 1e-6


def test_unsorted_times_give_the_same_values() -> None:
    params = _params(2)
    times = np.array([30.0, 0.5, 14.0, 2.1, 7.0])
    doses = REGIMENS["five_day_course"]
    direct = evaluate_igg(params, doses, times)
    order = np.argsort(times)
    assert np.allclose(direct[:, order], evaluate_igg(params, doses, times[order]))


def test_before_the_first_dose_only_endogenous_igg() -> None:
    params = _params(1)
    values = evaluate_igg(params, [Dose(10.0, 1.0)], [0.0, 5.0, 9.99])
    assert np.allclose(values, params.baseline_igg_g_per_l[0])


def test_steady_state_equals_a_long_simulation(kb: KnowledgeBase) -> None:
    params = parameters_from_population(pk_population(kb, "cidp"), 9.0)
    cycle = [Dose(0.0, 0.5, "iv", 4.0), Dose(1.0, 0.5, "iv", 4.0)]
    many = [Dose(d.day + 28.0 * k, d.amount_g_per_kg, "iv", 4.0) for k in range(80) for d in cycle]
    offsets = np.array([0.5, 1.1, 3.0, 27.9])
    long_run = evaluate_igg(params, many, 28.0 * 79 + offsets)
    assert np.allclose(steady_state_profile(params, cycle, 28.0, offsets), long_run, rtol=1e-8)


def test_population_same_seed_same_patients(kb: KnowledgeBase) -> None:
    pop = pk_population(kb, "gbs")
    doses = REGIMENS["five_day_course"]
    a = simulate_population(pop, doses, 500, seed=7, end_day=30)
    b = simulate_population(pop, doses, 500, seed=7, end_day=30)
    c = simulate_population(pop, doses, 500, seed=8, end_day=30)
    assert np.array_equal(a.total_igg_g_per_l, b.total_igg_g_per_l)
    assert not np.array_equal(a.total_igg_g_per_l, c.total_igg_g_per_l)
    g = simulate_population(pop, doses, 500, seed=np.random.default_rng(7), end_day=30)
    assert np.array_equal(a.total_igg_g_per_l, g.total_igg_g_per_l)


def test_population_needs_an_explicit_seed(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="seed"):
        simulate_population(pk_population(kb), REGIMENS["single_bolus"], 10, seed=None)  # type: ignore[arg-type]


def test_population_matches_one_by_one(kb: KnowledgeBase) -> None:
    """Vectorised population equals each patient simulated alone."""
    result = simulate_population(
        pk_population(kb, "cidp"), REGIMENS["mixed"], 20, seed=3, end_day=40
    )
    for i in (0, 7, 19):
        alone = evaluate_igg(
            result.params.take(slice(i, i + 1)), REGIMENS["mixed"], result.times_days
        )
        assert np.allclose(alone[0], result.total_igg_g_per_l[i], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    amount=st.floats(0.05, 2.0),
    extra=st.floats(0.001, 1.0),
    day=st.floats(0.0, 30.0),
    hours=st.one_of(st.just(0.0), st.floats(0.01, 12.0)),
    sc=st.booleans(),
)
def test_more_dose_never_lowers_igg(
    amount: float, extra: float, day: float, hours: float, sc: bool
) -> None:
    params = _params(4, seed=1)
    route: Literal["iv", "sc"] = "sc" if sc else "iv"
    h = 0.0 if sc else hours
    times = np.linspace(0.0, 60.0, 241)
    base = [Dose(0.0, 0.4, "iv", 4.0), Dose(day, amount, route, h)]
    more = [Dose(0.0, 0.4, "iv", 4.0), Dose(day, amount + extra, route, h)]
    assert np.all(evaluate_igg(params, more, times) >= evaluate_igg(params, base, times) - 1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"day": -1.0, "amount_g_per_kg": 1.0}, "dose.day"),
        ({"day": 0.0, "amount_g_per_kg": 0.0}, "dose.amount"),
        (
            {"day": 0.0, "amount_g_per_kg": 1.0, "route": "sc", "infusion_hours": 2.0},
            "dose.infusion_hours",
        ),
    ],
)
def test_bad_doses_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError, match=field):
        Dose(**kwargs)  # type: ignore[arg-type]
