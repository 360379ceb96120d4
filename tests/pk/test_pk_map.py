"""Individualisation (MAP) from measured levels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ivig.core.pk import pk_population
from ivig.core.pk_map import Level, individualise
from ivig.core.pk_model import Dose, evaluate_igg, parameters_from_population
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase

DOSES = [Dose(float(d), 0.4, "iv", 4.0) for d in range(5)] + [
    Dose(28.0 + 21.0 * k, 1.0, "iv", 4.0) for k in range(4)
]


def test_map_moves_towards_the_true_patient(kb: KnowledgeBase) -> None:
    pop = pk_population(kb, "cidp")
    typical = parameters_from_population(pop, 9.0)
    truth = typical.replace(
        clearance_l_per_kg_per_day=typical.clearance_l_per_kg_per_day * 1.6,
        central_volume_l_per_kg=typical.central_volume_l_per_kg * 0.85,
        peripheral_volume_l_per_kg=typical.peripheral_volume_l_per_kg * 0.85,
    )
    days = [5.0, 27.9, 29.0, 48.9, 50.0, 90.9]
    observed = evaluate_igg(truth, DOSES, days)[0]
    fit = individualise(
        pop,
        DOSES,
        [Level(d, float(v)) for d, v in zip(days, observed, strict=True)],
        baseline_igg_g_per_l=9.0,
    )
    assert fit.converged
    assert fit.etas["clearance"] > 0.25
    assert fit.etas["volumes"] < 0
    future = [111.9, 132.9]
    err_fit = np.abs(evaluate_igg(fit.params, DOSES, future) - evaluate_igg(truth, DOSES, future))
    err_pop = np.abs(evaluate_igg(typical, DOSES, future) - evaluate_igg(truth, DOSES, future))
    assert np.all(err_fit < 0.25 * err_pop)


def test_levels_at_the_typical_prediction_keep_typical_values(kb: KnowledgeBase) -> None:
    pop = pk_population(kb, "cidp")
    typical = parameters_from_population(pop, 9.0)
    days = [27.9, 48.9]
    observed = evaluate_igg(typical, DOSES, days)[0]
    fit = individualise(
        pop,
        DOSES,
        [Level(d, float(v)) for d, v in zip(days, observed, strict=True)],
        baseline_igg_g_per_l=9.0,
    )
    assert all(abs(e) < 1e-3 for e in fit.etas.values())
    assert math.isclose(fit.objective, 0.0, abs_tol=1e-5)


def test_no_levels_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="levels"):
        individualise(pk_population(kb, "cidp"), DOSES, [])


def test_bad_level_is_refused() -> None:
    with pytest.raises(InputError, match="igg_g_per_l"):
        Level(3.0, -1.0)
