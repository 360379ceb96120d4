"""Trough-guided maintenance: the optimiser meets the target and one step less does not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.core.pk import pk_population
from ivig.core.pk_model import parameters_from_population
from ivig.core.pk_optimise import optimise_maintenance, sc_weekly_equivalents, steady_state_trough
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase, load_knowledge

_PARAMS = parameters_from_population(pk_population(load_knowledge(), "cidp"), 8.0)


@settings(max_examples=40, deadline=None)
@given(
    target=st.floats(8.5, 30.0),
    weeks=st.integers(1, 6),
    step=st.sampled_from([0.0, 1.0, 2.5, 5.0, 10.0]),
    days=st.integers(1, 3),
)
def test_dose_meets_target_and_one_step_less_does_not(
    target: float, weeks: int, step: float, days: int
) -> None:
    plan = optimise_maintenance(
        _PARAMS,
        70.0,
        target,
        interval_days=7.0 * weeks,
        days_per_course=days,
        infusion_hours=4.0,
        dose_step_g=step,
    )
    trough = steady_state_trough(
        _PARAMS, plan.dose_g_per_kg, 7.0 * weeks, days_per_course=days, infusion_hours=4.0
    )
    assert trough == pytest.approx(plan.predicted_trough_g_per_l)
    assert trough >= target - 1e-9
    if step > 0 and plan.next_step_trough_g_per_l is not None:
        assert plan.next_step_trough_g_per_l < target
    if step == 0:
        smaller = steady_state_trough(
            _PARAMS,
            plan.dose_g_per_kg * 0.99,
            7.0 * weeks,
            days_per_course=days,
            infusion_hours=4.0,
        )
        assert smaller < target


@settings(max_examples=25, deadline=None)
@given(target=st.floats(9.0, 20.0), dose=st.floats(0.2, 2.0))
def test_interval_is_the_longest_that_meets_target(target: float, dose: float) -> None:
    try:
        plan = optimise_maintenance(_PARAMS, 70.0, target, find="interval", dose_g_per_kg=dose)
    except InputError:
        assert steady_state_trough(_PARAMS, dose, 7.0) < target
        return
    assert plan.predicted_trough_g_per_l >= target
    longer = steady_state_trough(_PARAMS, dose, plan.interval_days + 7.0)
    assert longer < target or plan.next_step_trough_g_per_l is None


def test_baseline_above_target_needs_no_dose() -> None:
    plan = optimise_maintenance(_PARAMS, 70.0, 7.0, interval_days=21.0)
    assert plan.dose_g == 0.0
    assert plan.notes


def test_missing_interval_is_refused() -> None:
    with pytest.raises(InputError, match="interval_days"):
        optimise_maintenance(_PARAMS, 70.0, 12.0)


def test_sc_conversion_label_oracle(kb: KnowledgeBase, calibration: dict[str, Any]) -> None:
    """Hizentra US rule (hz-old): 40 g IVIG every 4 weeks -> 40 / 4 x 1.37 = 13.7 g/week."""
    for case in calibration["sc_conversion_oracles"]:
        rows = sc_weekly_equivalents(kb, _PARAMS, case["iv_dose_g"], case["iv_interval_days"], 70.0)
        row = next(r for r in rows if r["id"] == case["rule"])
        assert row["weekly_sc_dose_g"] == pytest.approx(case["weekly_sc_dose_g"])


def test_model_sc_equivalent_keeps_the_trough(kb: KnowledgeBase) -> None:
    rows = sc_weekly_equivalents(kb, _PARAMS, 35.0, 21.0, 70.0)
    same = next(r for r in rows if r["id"] == "model_same_trough")
    sc_trough = steady_state_trough(_PARAMS, same["weekly_sc_dose_g"] / 70.0, 7.0, route="sc")
    assert sc_trough == pytest.approx(same["iv_trough_g_per_l"])
