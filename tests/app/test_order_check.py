"""Check an order (issue 14): the order beside the policy plan, with graded findings."""

from __future__ import annotations

from typing import Any

import pytest

from ivig.app.order_check import check_order
from ivig.contract import Request, validate_request
from ivig.core.recommend import recommend
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.results import DoseOut


def _gbs(**patient: Any) -> Request:
    return validate_request(
        {
            "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85}
            | patient,
            "condition": "gbs",
            "phase": "induction",
            "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
            "jurisdiction": "au",
        }
    )


def _cidp_maintenance() -> Request:
    return validate_request(
        {
            "patient": {"sex": "female", "age_years": 54, "height_cm": 160, "weight_kg": 90},
            "condition": "cidp",
            "indication": "cidp.maintenance",
            "phase": "maintenance",
            "findings": {
                "previous_ig_response": True,
                "baseline_measure_recorded": True,
                "anti_mag_antibodies": False,
            },
            "jurisdiction": "au",
        }
    )


def _dose(kb: KnowledgeBase, request: Request) -> DoseOut:
    dose = recommend(kb, request)["dose"]
    assert dose is not None
    return dose


def _codes(result: Any) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in result["findings"]}


def test_a_tenfold_overdose_is_critical_above_the_regimen_maximum(kb: KnowledgeBase) -> None:
    """GBS 2 g/kg over 5 days (regimen gbs-2g-5d; efns-2008): ten times the policy's daily
    grams is above the regimen maximum (2 g/kg x dosing weight) and far above the policy."""
    request = _gbs()
    policy = _dose(kb, request)
    per_day = policy["total_g"] / len(policy["days"])
    result = check_order(kb, request, {"grams_per_day": 10 * per_day, "days": 5})
    assert result["severity"] == "critical"
    assert _codes(result)["above_regimen_maximum"] == "critical"
    assert _codes(result)["above_policy"] == "warning"
    assert result["ratio"] == pytest.approx(10, rel=1e-3)
    assert result["policy_total_g"] == policy["total_g"]
    assert result["difference_pct"] == pytest.approx(900, abs=0.2)
    assert result["ordered_g_per_kg"] == pytest.approx(
        10 * policy["total_g"] / policy["dosing_weight_kg"], rel=1e-3
    )


def test_an_order_within_tolerance_is_info_and_one_just_above_is_a_warning(
    kb: KnowledgeBase,
) -> None:
    """Tolerance 10 % (the common stewardship rule) around the gbs-2g-5d policy dose; the
    regimen's maximum is its fixed 2 g/kg (efns-2008), so the tolerance applies to it too."""
    request = _gbs()
    total = _dose(kb, request)["total_g"]
    within = check_order(kb, request, {"total_g": total * 1.05})
    above = check_order(kb, request, {"total_g": total * 1.08}, tolerance_pct=5)
    below = check_order(kb, request, {"total_g": total * 0.5})
    assert _codes(within) == {"within_policy": "info"}
    assert within["severity"] == "info"
    # 8 % over with a 5 % tolerance: above the policy and above the fixed maximum
    assert _codes(above) == {"above_policy": "warning", "above_regimen_maximum": "critical"}
    assert _codes(below) == {"below_policy": "warning"}


def test_an_interval_shorter_than_the_regimen_is_found(kb: KnowledgeBase) -> None:
    """CIDP maintenance ICE regimen: 1 g/kg every 3 weeks (cidp-maint-ice; nm-ice-2008)."""
    request = _cidp_maintenance()
    total = _dose(kb, request)["total_g"]
    result = check_order(kb, request, {"total_g": total, "interval_weeks": 1})
    assert _codes(result)["interval_too_short"] == "warning"
    assert "3-3 weeks" in next(
        f["message"] for f in result["findings"] if f["code"] == "interval_too_short"
    )
    same = check_order(kb, request, {"total_g": total, "interval_weeks": 3})
    assert "interval_too_short" not in _codes(same)


def test_an_excluded_product_is_critical(kb: KnowledgeBase) -> None:
    """Hyperprolinaemia excludes proline-stabilised products such as Privigen (ranking rule
    hyperprolinaemia-proline; source pv-nhs)."""
    request = _gbs(risk_factors=["hyperprolinaemia"])
    total = _dose(kb, request)["total_g"]
    result = check_order(kb, request, {"total_g": total, "product": "privigen"})
    assert _codes(result)["excluded_product"] == "critical"
    assert result["severity"] == "critical"
    fine = check_order(kb, _gbs(), {"total_g": total, "product": "privigen"})
    assert "excluded_product" not in _codes(fine)


def test_a_rate_above_the_schedule_is_a_warning(kb: KnowledgeBase) -> None:
    """The ordered rate is compared with the highest step of the product's schedule."""
    request = _gbs()
    infusion = recommend(kb, request)["infusion"]
    assert infusion is not None
    top = max(s["rate_ml_per_h"] for s in infusion["steps"])
    product = infusion["product"]
    high = check_order(kb, request, {"product": product, "rate_ml_per_h": top * 2})
    ok = check_order(kb, request, {"product": product, "rate_ml_per_h": top})
    assert _codes(high)["rate_above_schedule"] == "warning"
    assert "rate_above_schedule" not in _codes(ok)


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ({"grams_per_day": -3, "days": 2}, "order.grams_per_day"),
        ({"grams_per_day": 30}, "order.days"),
        ({"days": 2.5, "grams_per_day": 3}, "order.days"),
        ({"total_g": "lots"}, "order.total_g"),
        ({"dose": 3}, "order.dose"),
        ({"grams_per_day": 30, "days": 2, "total_g": 90}, "order.total_g"),
        ({"product": "no-such-product"}, "product"),
    ],
)
def test_a_bad_order_is_refused_naming_the_field(
    kb: KnowledgeBase, order: dict[str, Any], field: str
) -> None:
    with pytest.raises(InputError) as exc:
        check_order(kb, _gbs(), order)
    assert exc.value.field == field


def test_an_order_is_checked_against_a_provisional_plan(kb: KnowledgeBase) -> None:
    """CIDP maintenance without criteria findings: the provisional plan still has the ICE dose
    (cidp-maint-ice; nm-ice-2008), so the order is compared with it."""
    request = validate_request(
        {
            "patient": {"sex": "female", "age_years": 54, "height_cm": 160, "weight_kg": 90},
            "condition": "cidp",
            "phase": "maintenance",
            "jurisdiction": "au",
        }
    )
    total = _dose(kb, request)["total_g"]
    result = check_order(kb, request, {"total_g": total * 3, "interval_weeks": 3})
    assert result["plan_status"] == "provisional"
    assert result["ratio"] == pytest.approx(3, rel=1e-3)
    assert _codes(result)["above_regimen_maximum"] == "critical"
