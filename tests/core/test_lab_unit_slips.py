"""Issue 17, defect 5: a creatinine typed in mg/dL or a haemoglobin in g/dL into the SI fields
is refused with the unit named (``dosing.limits``, low-side unit-slip guards), not accepted."""

from __future__ import annotations

import pytest

from ivig.app.recommend import recommend
from ivig.errors import InvalidRequestError
from ivig.knowledge import KnowledgeBase


@pytest.mark.parametrize(
    ("lab", "value", "unit"),
    [("creatinine_umol_per_l", 1.2, "mg/dL"), ("haemoglobin_g_per_l", 13.5, "g/dL")],
)
def test_a_value_in_the_other_unit_is_refused(
    kb: KnowledgeBase, lab: str, value: float, unit: str
) -> None:
    data = {"patient": {"sex": "male", "age_years": 60, "weight_kg": 80, "height_cm": 175,
                        "labs": {lab: value}},
            "condition": "gbs", "phase": "induction"}  # fmt: skip
    with pytest.raises(InvalidRequestError) as info:
        recommend(kb, data)
    (problem,) = info.value.problems
    assert problem["field"] == f"patient.labs.{lab}"
    assert unit in str(problem["message"])


def test_ordinary_si_values_pass(kb: KnowledgeBase) -> None:
    data = {"patient": {"sex": "male", "age_years": 60, "weight_kg": 80, "height_cm": 175,
                        "labs": {"creatinine_umol_per_l": 88, "haemoglobin_g_per_l": 135}},
            "condition": "gbs", "phase": "induction"}  # fmt: skip
    assert recommend(kb, data)["dose"] is not None
