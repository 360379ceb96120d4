"""Infusion schedules: label examples (data-driven), properties, and every product."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivig.core.schedule import compute_infusion_schedule
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase, load_knowledge

EXAMPLES = Path(__file__).parent.parent / "data" / "products" / "label_examples.yaml"


def label_examples() -> list[dict[str, Any]]:
    """The worked label examples (tests iterate over them)."""
    with EXAMPLES.open(encoding="utf-8") as fh:
        data: list[dict[str, Any]] = yaml.safe_load(fh)
    return data


_KB = load_knowledge()
IV_PRODUCTS = [p["id"] for p in _KB.data["products"] if "iv" in p["routes"]]
SC_PRODUCTS = [p["id"] for p in _KB.data["products"] if p["routes"] == ["sc"]]
PROFILES: list[list[str]] = [
    [],
    ["renal_impairment"],
    ["thrombosis_history"],
    ["heart_failure"],
    ["first_infusion"],
    ["age_over_65", "diabetes"],
]


@pytest.mark.parametrize("case", label_examples(), ids=lambda c: c["id"])
def test_label_example(kb: KnowledgeBase, case: dict[str, Any]) -> None:
    """Expected numbers come from the label source named in each case (``source``)."""
    assert kb.source(case["source"])
    schedule = compute_infusion_schedule(
        kb,
        case["product"],
        weight_kg=case["weight_kg"],
        dose_g=case["dose_g"],
        risks=case["risks"],
        first_infusion=case["first_infusion"],
        indication=case.get("indication"),
        step_interval_min=case.get("step_interval_min"),
    )
    expect = case["expect"]
    first = schedule["steps"][0]
    if "first_rate_mg_per_kg_per_min" in expect:
        assert first["rate_mg_per_kg_per_min"] == pytest.approx(
            expect["first_rate_mg_per_kg_per_min"]
        )
    if "first_rate_ml_per_h" in expect:
        assert first["rate_ml_per_h"] == pytest.approx(expect["first_rate_ml_per_h"])
    if "max_rate_mg_per_kg_per_min" in expect:
        assert schedule["max_rate_mg_per_kg_per_min"] == pytest.approx(
            expect["max_rate_mg_per_kg_per_min"]
        )
    if "step_rates_mg_per_kg_per_min" in expect:
        rates = [s["rate_mg_per_kg_per_min"] for s in schedule["steps"]]
        assert rates == pytest.approx(expect["step_rates_mg_per_kg_per_min"])
    if "sc_sites" in expect:
        assert schedule["sc"]["sites"] == expect["sc_sites"]
        assert schedule["sc"]["rate_ml_per_h_per_site"] == pytest.approx(
            expect["sc_rate_ml_per_h_per_site"]
        )
    if "volume_ml" in expect:
        assert schedule["volume_ml"] == pytest.approx(expect["volume_ml"])
    assert schedule["steps"][-1]["cumulative_g"] == pytest.approx(case["dose_g"])


def _schedule_or_refusal(kb: KnowledgeBase, pid: str, risks: list[str]) -> Any:
    try:
        return compute_infusion_schedule(
            kb, pid, weight_kg=70, dose_g=28, risks=risks, first_infusion=False, age_years=40
        )
    except InputError as exc:
        assert pid in str(exc) or "sites" in str(exc)
        return None


@pytest.mark.parametrize("pid", IV_PRODUCTS)
@pytest.mark.parametrize("risks", PROFILES, ids=lambda r: "+".join(r) or "none")
def test_every_iv_product_gives_a_schedule_or_a_clear_refusal(
    kb: KnowledgeBase, pid: str, risks: list[str]
) -> None:
    schedule = _schedule_or_refusal(kb, pid, risks)
    if schedule is not None:
        assert schedule["steps"][-1]["cumulative_g"] == pytest.approx(28)
        assert schedule["duration_min"] > 0


def test_most_iv_products_give_a_schedule(kb: KnowledgeBase) -> None:
    """The refusals above are the exception: every IV product with labelled rates schedules."""
    scheduled = [p for p in IV_PRODUCTS if _schedule_or_refusal(kb, p, []) is not None]
    with_rates = [p for p in IV_PRODUCTS if kb.product(p).get("iv_rates")]
    assert scheduled and set(with_rates) <= set(scheduled)
    assert {"privigen", "gamunex-c", "octagam-10", "panzyga"} <= set(scheduled)


@pytest.mark.parametrize("pid", SC_PRODUCTS)
def test_every_sc_product_gives_a_schedule_or_a_clear_refusal(kb: KnowledgeBase, pid: str) -> None:
    schedule = _schedule_or_refusal(kb, pid, [])
    if schedule is not None:
        sc = schedule["sc"]
        if sc["max_volume_ml_per_site"] is not None:
            assert sc["volume_ml_per_site"] <= sc["max_volume_ml_per_site"] + 1e-9
        assert sc["rate_ml_per_h_per_site"] <= sc["max_rate_ml_per_h_per_site"] + 1e-9


def test_product_without_rates_is_refused_with_its_name(kb: KnowledgeBase) -> None:
    # Intragam P (phasing out) has no labelled IV rates in the knowledge base.
    with pytest.raises(InputError, match="Intragam P"):
        compute_infusion_schedule(
            kb, "intragam-p", weight_kg=70, dose_g=28, risks=[], first_infusion=True
        )


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("weight_kg", {"weight_kg": 0, "dose_g": 10}),
        ("weight_kg", {"weight_kg": math.nan, "dose_g": 10}),
        ("dose_g", {"weight_kg": 70, "dose_g": -1}),
    ],
)
def test_bad_input_names_the_field(kb: KnowledgeBase, field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError, match=field):
        compute_infusion_schedule(kb, "privigen", risks=[], first_infusion=True, **kwargs)


def test_unknown_product_suggests_ids(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="privigen"):
        compute_infusion_schedule(
            kb, "privigenn", weight_kg=70, dose_g=10, risks=[], first_infusion=True
        )


def test_minimum_rate_practicable_uses_the_sourced_class_ceiling(kb: KnowledgeBase) -> None:
    """Privigen says only "minimum rate practicable" (pv-dose): the 3.3 mg/kg/min ceiling that
    the Octagam 10 % and Panzyga labels state for renal risk (oc10-pfz, pz-citp) applies, reached
    stepwise; it used to hold 0.5 mg/kg/min for the whole dose (the defect of issue 15)."""
    schedule = compute_infusion_schedule(
        kb,
        "privigen",
        weight_kg=80,
        dose_g=32,
        risks=["renal_impairment"],
        first_infusion=True,
        indication="cidp",
        step_interval_min=30,
    )
    assert schedule["max_rate_mg_per_kg_per_min"] == pytest.approx(3.3)
    rates = [s["rate_mg_per_kg_per_min"] for s in schedule["steps"]]
    assert rates == pytest.approx([0.5, 1, 2, 3.3])
    governing = schedule["ceilings"][0]
    assert governing["origin"] == "class" and {"oc10-pfz", "pz-citp"} <= set(governing["sources"])
    assert any("minimum rate practicable" in n for n in schedule["notes"])


def test_prescriber_at_risk_rate_is_used_and_bounded(kb: KnowledgeBase) -> None:
    schedule = compute_infusion_schedule(
        kb,
        "privigen",
        weight_kg=80,
        dose_g=32,
        risks=["renal_impairment"],
        first_infusion=True,
        indication="cidp",
        step_interval_min=30,
        at_risk_rate_mg_per_kg_per_min=2,
    )
    assert schedule["max_rate_mg_per_kg_per_min"] == pytest.approx(2)
    with pytest.raises(InputError, match="at_risk_rate"):
        compute_infusion_schedule(
            kb,
            "privigen",
            weight_kg=80,
            dose_g=32,
            risks=["renal_impairment"],
            first_infusion=True,
            at_risk_rate_mg_per_kg_per_min=9,
        )


def test_unverified_rate_record_is_flagged(kb: KnowledgeBase) -> None:
    schedule = compute_infusion_schedule(
        kb, "octagam-5", weight_kg=70, dose_g=35, risks=[], first_infusion=True
    )
    assert schedule["verified"] is False
    assert any("UNVERIFIED" in n for n in schedule["notes"])


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pid=st.sampled_from(
        [
            "privigen",
            "octagam-10",
            "panzyga",
            "bivigam",
            "gammaplex-10",
            "carimune-nf",
            "gammagard-liquid",
            "gamunex-c",
            "asceniv",
            "gammaplex-5",
            "flebogamma-dif-5",
        ]
    ),
    weight_kg=st.floats(min_value=3, max_value=200),
    dose_g_per_kg=st.floats(min_value=0.05, max_value=2),
    risks=st.sampled_from(PROFILES),
    first=st.booleans(),
    indication=st.sampled_from([None, "cidp", "pi", "itp", "mmn", "gbs"]),
    interval=st.sampled_from([None, 15.0, 30.0]),
)
def test_schedule_properties(
    pid: str,
    weight_kg: float,
    dose_g_per_kg: float,
    risks: list[str],
    first: bool,
    indication: str | None,
    interval: float | None,
) -> None:
    """No step above the label maximum or the at-risk ceiling; the dose is given exactly."""
    dose_g = weight_kg * dose_g_per_kg
    s = compute_infusion_schedule(
        _KB,
        pid,
        weight_kg=weight_kg,
        dose_g=dose_g,
        risks=risks,
        first_infusion=first,
        indication=indication,
        step_interval_min=interval,
    )
    top = s["label_max_rate_mg_per_kg_per_min"]
    ceiling = s["at_risk_ceiling_mg_per_kg_per_min"]
    total = 0.0
    for step in s["steps"]:
        assert step["rate_mg_per_kg_per_min"] <= top + 1e-9
        if ceiling is not None:
            assert step["rate_mg_per_kg_per_min"] <= ceiling + 1e-9
        total += step["grams"]
    assert total == pytest.approx(dose_g, rel=1e-9)
    assert s["steps"][-1]["cumulative_g"] == dose_g
    starts = [st_["start_min"] for st_ in s["steps"]]
    assert starts == sorted(starts)
