"""Dosing weight: worked examples, policies, and refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.core.weight import compute_dosing_weight
from ivig.errors import InputError, MissingFieldError
from ivig.knowledge import KnowledgeBase

EXAMPLES = yaml.safe_load(
    (Path(__file__).parent.parent / "data/dosing_weight_examples.yaml").read_text()
)


@pytest.mark.parametrize("case", EXAMPLES, ids=lambda c: f"case{c['case']}")
def test_worked_examples_au_2026(kb: KnowledgeBase, case: dict[str, Any]) -> None:
    """research/ig-criteria.md section 8; au-nba-ddw-calculator and au-lifeblood-abw-2026."""
    result = compute_dosing_weight(
        kb,
        policy_id="au-2026",
        sex=case["sex"],
        age_years=case["age_years"],
        weight_kg=case["weight_kg"],
        height_cm=case["height_cm"],
        pregnant=case.get("pregnant", False),
    )
    assert result["rule"]["id"] == case["rule"]
    assert result["kg"] == pytest.approx(case["dosing_kg"], abs=0.01)
    if "ideal_kg" in case:
        assert result["ideal_kg"] == pytest.approx(case["ideal_kg"], abs=0.01)
        assert result["adjusted_kg"] == pytest.approx(case["adjusted_kg"], abs=0.01)


def test_rule_names_the_value_that_decided(kb: KnowledgeBase) -> None:
    result = compute_dosing_weight(
        kb, policy_id="au-2026", sex="female", age_years=60, weight_kg=90, height_cm=148
    )
    assert result["method"] == "actual"
    assert "height under 152 cm" in result["rule"]["reason"]
    assert "148" in result["rule"]["reason"]


def test_missing_height_is_an_error_naming_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(MissingFieldError, match=r"patient\.height_cm.*actual"):
        compute_dosing_weight(kb, policy_id="au-2026", sex="male", age_years=60, weight_kg=90)


def test_actual_policy_needs_no_height(kb: KnowledgeBase) -> None:
    result = compute_dosing_weight(kb, policy_id="actual", sex="male", age_years=60, weight_kg=90)
    assert result["kg"] == 90 and result["method"] == "actual"


def test_out_of_range_weight_is_refused_not_clamped(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match=r"patient\.weight_kg: 900.*0\.5 to 350.*kg"):
        compute_dosing_weight(kb, policy_id="actual", sex="male", age_years=60, weight_kg=900)


def test_unknown_policy_lists_known(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="au-2026"):
        compute_dosing_weight(kb, policy_id="au-2020", sex="male", age_years=60, weight_kg=90)


def test_us_120_threshold(kb: KnowledgeBase) -> None:
    """us-order-form-120: adjusted weight only above 120% of IBW."""
    # male 175 cm: IBW 70.46 kg; 120% = 84.55 kg
    below = compute_dosing_weight(
        kb, policy_id="us-120", sex="male", age_years=50, weight_kg=84, height_cm=175
    )
    above = compute_dosing_weight(
        kb, policy_id="us-120", sex="male", age_years=50, weight_kg=85, height_cm=175
    )
    assert below["method"] == "actual" and above["method"] == "adjusted"


def test_ontario_rules(kb: KnowledgeBase) -> None:
    """on-dose-calculator: BMI > 30 adjusted; below the size thresholds actual; pre-pregnancy."""
    short_light = compute_dosing_weight(
        kb, policy_id="ontario", sex="female", age_years=40, weight_kg=45, height_cm=150
    )
    assert short_light["method"] == "actual"
    obese = compute_dosing_weight(
        kb, policy_id="ontario", sex="female", age_years=40, weight_kg=90, height_cm=150
    )
    assert obese["method"] == "adjusted" and obese["rule"]["id"] == "obese"
    with pytest.raises(MissingFieldError, match="pre_pregnancy_weight_kg"):
        compute_dosing_weight(
            kb,
            policy_id="ontario",
            sex="female",
            age_years=30,
            weight_kg=80,
            height_cm=165,
            pregnant=True,
        )


def test_ontario_pregnancy_adjusts_the_pre_pregnancy_weight(kb: KnowledgeBase) -> None:
    """on-dose-calculator: "For pregnant patients: The pre-pregnancy weight should be used for
    the dose calculator (in addition to the above criteria)" -- the calculator (Devine IBW, then
    IBW + 0.4 x (weight - IBW)) runs on the pre-pregnancy weight; it is not the dosing weight.

    165 cm woman, 85 kg before pregnancy (92 kg now): IBW = 45.5 + 2.3 x (64.96 - 60) = 56.91 kg;
    adjusted = 56.91 + 0.4 x (85 - 56.91) = 68.15 kg, i.e. 68.2 kg, not 85 kg (+25 %).
    """
    pregnant = compute_dosing_weight(
        kb,
        policy_id="ontario",
        sex="female",
        age_years=30,
        weight_kg=92,
        height_cm=165,
        pregnant=True,
        pre_pregnancy_weight_kg=85,
    )
    assert round(pregnant["kg"], 1) == 68.2
    assert pregnant["method"] == "adjusted" and pregnant["actual_kg"] == 92
    assert pregnant["rule"]["id"] == "obese"  # BMI 85 / 1.65^2 = 31.2 > 30, before pregnancy
    assert "pre-pregnancy" in pregnant["rule"]["reason"]
    assert [s["step"] for s in pregnant["steps"]][:2] == ["actual weight", "pre-pregnancy weight"]


def test_ontario_pregnancy_thresholds_apply_to_the_pre_pregnancy_weight(
    kb: KnowledgeBase,
) -> None:
    """on-dose-calculator: the criteria (height 152.4 cm or over, female over 45.5 kg) apply with
    the pre-pregnancy weight: a 150 cm woman, 50 kg before pregnancy (58 kg now), is below the
    height threshold, so her pre-pregnancy weight of 50 kg itself is dosed."""
    light = compute_dosing_weight(
        kb,
        policy_id="ontario",
        sex="female",
        age_years=30,
        weight_kg=58,
        height_cm=150,
        pregnant=True,
        pre_pregnancy_weight_kg=50,
    )
    assert light["kg"] == 50 and light["method"] == "pre_pregnancy"
    assert light["rule"]["id"] == "otherwise-actual"


def test_au_pregnancy_uses_the_measured_weight(kb: KnowledgeBase) -> None:
    """au-lifeblood-abw-2026: pregnant patients are dosed on actual weight (the pre-pregnancy
    weight is not asked for)."""
    result = compute_dosing_weight(
        kb,
        policy_id="au-2026",
        sex="female",
        age_years=30,
        weight_kg=92,
        height_cm=165,
        pregnant=True,
    )
    assert result["kg"] == 92 and result["rule"]["id"] == "pregnant"


def test_opt_out_is_recorded(kb: KnowledgeBase) -> None:
    result = compute_dosing_weight(
        kb,
        policy_id="au-2026",
        sex="male",
        age_years=50,
        weight_kg=120,
        height_cm=175,
        opt_out_justification="severe refractory disease, neurologist request",
    )
    assert result["method"] == "actual" and result["rule"]["id"] == "opt-out"
    assert "neurologist request" in result["rule"]["reason"]
    with pytest.raises(InputError, match="opt-out"):
        compute_dosing_weight(
            kb,
            policy_id="us-120",
            sex="male",
            age_years=50,
            weight_kg=120,
            height_cm=175,
            opt_out_justification="x",
        )


@settings(max_examples=300, deadline=None)
@given(
    sex=st.sampled_from(["female", "male"]),
    age=st.floats(0, 120),
    weight=st.floats(0.5, 350),
    height=st.floats(120, 250),
    policy=st.sampled_from(["au-2026", "ontario", "us-120", "actual"]),
)
def test_adjusted_policies_never_exceed_actual_weight(
    kb: KnowledgeBase, sex: str, age: float, weight: float, height: float, policy: str
) -> None:
    result = compute_dosing_weight(
        kb, policy_id=policy, sex=sex, age_years=age, weight_kg=weight, height_cm=height
    )
    assert result["kg"] <= weight + 0.01


@settings(max_examples=200, deadline=None)
@given(
    sex=st.sampled_from(["female", "male"]),
    weight=st.floats(40, 300),
    extra=st.floats(0.1, 50),
    height=st.floats(152, 210),
    policy=st.sampled_from(["au-2026", "actual"]),
)
def test_dosing_weight_grows_with_weight(
    kb: KnowledgeBase, sex: str, weight: float, extra: float, height: float, policy: str
) -> None:
    def kg(w: float) -> float:
        r = compute_dosing_weight(
            kb, policy_id=policy, sex=sex, age_years=50, weight_kg=w, height_cm=height
        )
        return float(r["kg"])

    assert kg(weight + extra) >= kg(weight) - 0.01


def test_threshold_policies_have_a_cliff(kb: KnowledgeBase) -> None:
    """us-120 switches from actual to adjusted at 120% of IBW, so a heavier patient can get a
    lower dosing weight; the engine reports it rather than smoothing it away."""
    just_below = compute_dosing_weight(
        kb, policy_id="us-120", sex="male", age_years=50, weight_kg=84.5, height_cm=175
    )
    just_above = compute_dosing_weight(
        kb, policy_id="us-120", sex="male", age_years=50, weight_kg=84.6, height_cm=175
    )
    assert just_above["kg"] < just_below["kg"]


def test_ontario_paediatric_rule(kb: KnowledgeBase) -> None:
    """on-dose-calculator: "If less than 18 years of age and do not meet the dose calculator
    height and weight criteria ... then actual weight = dosing weight" -- a child who meets
    them (165 cm, 60 kg girl) is dosed on adjusted weight like an adult; one who does not
    (150 cm, 40 kg) on actual weight."""
    meets = compute_dosing_weight(
        kb, policy_id="ontario", sex="female", age_years=16, weight_kg=60, height_cm=165
    )
    assert meets["rule"]["id"] == "size-female" and meets["method"] == "adjusted"
    assert meets["kg"] < 60
    below = compute_dosing_weight(
        kb, policy_id="ontario", sex="female", age_years=16, weight_kg=40, height_cm=150
    )
    assert below["method"] == "actual" and below["kg"] == 40
