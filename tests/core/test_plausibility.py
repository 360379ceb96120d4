"""Plausibility across fields (issue 14): an adult weight/height pair whose BMI is outside the
plausible range, or an adult weight under 20 kg, is refused naming both fields and the BMI,
unless the request confirms it; the plan then records the confirmation. Limits are knowledge
data (``dosing.limits``: ``bmi_kg_per_m2_adult``, ``weight_kg_adult``)."""

from __future__ import annotations

from typing import Any

import pytest

from ivig.app.recommend import recommend
from ivig.errors import InvalidRequestError
from ivig.knowledge import KnowledgeBase


def _request(weight_kg: float, height_cm: float, age: float = 40, **extra: Any) -> dict[str, Any]:
    return {
        "patient": {"sex": "female", "age_years": age, "weight_kg": weight_kg,
                    "height_cm": height_cm},
        "condition": "mg", "indication": "mg.crisis", "phase": "induction", **extra,
    }  # fmt: skip


def test_the_limits_are_knowledge_data(kb: KnowledgeBase) -> None:
    bmi = kb.limit("bmi_kg_per_m2_adult")
    assert bmi is not None and (bmi["min"], bmi["max"]) == (12, 80)
    assert bmi.get("min_age_years") == 18  # adults only, as data
    assert bmi["sources"] and bmi["verified"] is False  # a project guard, not a clinical source


@pytest.mark.parametrize(("weight_kg", "height_cm", "bmi"), [(30, 180, "9.3"), (300, 150, "133.3")])
def test_an_implausible_bmi_is_refused_naming_both_fields(
    kb: KnowledgeBase, weight_kg: float, height_cm: float, bmi: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        recommend(kb, _request(weight_kg, height_cm))
    (problem,) = info.value.problems
    assert problem["field"] == "patient.weight_kg"
    message = str(problem["message"])
    assert "patient.height_cm" in message and f"BMI {bmi}" in message
    assert "confirm_unusual" in message


def test_an_adult_under_20_kg_is_refused_without_a_height(kb: KnowledgeBase) -> None:
    data = _request(15, 150)
    del data["patient"]["height_cm"]
    with pytest.raises(InvalidRequestError, match="for an adult"):
        recommend(kb, data)


def test_a_child_is_not_held_to_the_adult_limits(kb: KnowledgeBase) -> None:
    rec = recommend(kb, _request(15, 100, age=4))
    assert rec["dose"] is not None


def test_a_confirmed_value_passes_and_is_recorded(kb: KnowledgeBase) -> None:
    rec = recommend(kb, _request(30, 180, confirm_unusual=["weight_kg"]))
    assert rec["dose"] is not None and rec["dose"]["total_g"] == 60
    assert rec["request"]["confirm_unusual"] == ["weight_kg"]
    assert any("confirmed by the requester" in w and "BMI 9.3" in w for w in rec["warnings"])


def test_an_ordinary_pair_passes_without_a_note(kb: KnowledgeBase) -> None:
    rec = recommend(kb, _request(70, 165))
    assert not any("confirm_unusual" in w for w in rec["warnings"])
