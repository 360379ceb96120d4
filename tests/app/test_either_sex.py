"""A patient whose sex the record does not give (FHIR gender ``unknown``, ``other`` or absent):
planned for both, used only when the plan is the same (an EHR review found every check stopped,
even a tenfold dose under an actual-body-weight policy)."""

from __future__ import annotations

from typing import Any

import pytest

from ivig.app.recommend import recommend_either_sex, recommend_request, validate
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase


def _gbs(jurisdiction: str) -> dict[str, Any]:
    return {
        "patient": {"age_years": 62, "height_cm": 178, "weight_kg": 85},
        "condition": "gbs", "phase": "induction", "jurisdiction": jurisdiction,
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    }  # fmt: skip


def test_an_actual_weight_policy_plans_without_the_sex(kb: KnowledgeBase) -> None:
    """International policy: the actual body weight (efns-2008), whatever the sex."""
    request, rec = recommend_either_sex(kb, _gbs("international"))
    assert rec["dose"] is not None and rec["dose"]["total_g"] == 170
    for sex in ("female", "male"):
        known = _gbs("international")
        known["patient"] = {**known["patient"], "sex": sex}
        assert recommend_request(kb, validate(known))["dose"] == rec["dose"]
    assert request["patient"]["weight_kg"] == 85


@pytest.mark.parametrize("jurisdiction", ["au", "us"])
def test_a_policy_whose_weight_depends_on_sex_names_both_weights(
    kb: KnowledgeBase, jurisdiction: str
) -> None:
    """AU and US policies use an ideal-weight formula that differs by sex (Devine;
    au-nba-ddw-calculator): the plan cannot be made, and the error says why."""
    with pytest.raises(InputError) as caught:
        recommend_either_sex(kb, _gbs(jurisdiction))
    assert caught.value.field == "patient.sex"
    assert "dosing weight female" in str(caught.value) and "male" in str(caught.value)
