"""Check an order (issue 14): the order beside the policy plan, with graded findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ivig.app.order_check import check_order
from ivig.contract import Request, validate_request
from ivig.core.recommend import recommend
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.results import DoseOut, InfusionOut

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


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


#: a man switching from IVIg; a woman who already infuses SC (later infusions)
_SWITCH: dict[str, Any] = {"sex": "male", "age_years": 44, "height_cm": 182, "weight_kg": 80,
                           "product_switch": True}  # fmt: skip
_LATER_SC: dict[str, Any] = {"sex": "female", "age_years": 50, "height_cm": 165, "weight_kg": 70,
                             "first_infusion": False}  # fmt: skip


def _cidp_sc(product: str, jurisdiction: str, **patient: Any) -> Request:
    """CIDP maintenance by the SC route on ``product``, the findings of a responder."""
    return validate_request(
        {
            "patient": patient, "condition": "cidp", "indication": "cidp.maintenance",
            "phase": "maintenance", "route": "sc", "jurisdiction": jurisdiction,
            "product": product,
            "findings": {"previous_ig_response": True, "baseline_measure_recorded": True,
                         "anti_mag_antibodies": False},
        }
    )  # fmt: skip


def _dose(kb: KnowledgeBase, request: Request) -> DoseOut:
    dose = recommend(kb, request)["dose"]
    assert dose is not None
    return dose


def _codes(result: Any) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in result["findings"]}


def _example(name: str) -> Request:
    return validate_request(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))


def _message(result: Any, code: str) -> str:
    (message,) = [f["message"] for f in result["findings"] if f["code"] == code]
    return str(message)


def _infusion(kb: KnowledgeBase, request: Request, product: str | None = None) -> InfusionOut:
    data: Any = dict(request) if product is None else {**request, "product": product}
    infusion = recommend(kb, data)["infusion"]
    assert infusion is not None and infusion["steps"]
    return infusion


def _ml_per_h(infusion: InfusionOut, mg_per_kg_per_min: float) -> float:
    """mg/kg/min as mL/h on the schedule's own weight and concentration."""
    return (
        mg_per_kg_per_min * infusion["weight_kg"] * 60 / (infusion["concentration_g_per_ml"] * 1000)
    )


def _regimens(kb: KnowledgeBase, dose: DoseOut) -> list[dict[str, Any]]:
    """The regimens of the plan's indication with its phase and route, read from the
    knowledge base (the limits the checks must use)."""
    return [
        dict(r)
        for r in kb.indication(dose["indication"])["regimens"]
        if r["phase"] == dose["phase"] and r["route"] == dose["route"]
    ]


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
    assert "regimen's 3 weeks" in next(
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


# --- the clinical pharmacist's review: orders the check used to miss ---------------------------


def test_a_caution_product_for_anti_iga_antibodies_is_a_warning_naming_the_reasons(
    kb: KnowledgeBase,
) -> None:
    """IgA deficiency with anti-IgA antibodies: the ranking marks every product caution
    (anti-IgA class rule, pv-isi) and orders them by IgA content (iga-lowest-first); Intratect
    10 % (IgA up to 1800 µg/mL, it10) is far down the list. The order is a warning that gives
    the ranking's reasons and the product the plan uses (the first it can plan)."""
    request = _example("iga-deficient")
    rec = recommend(kb, request)
    entry = next(p for p in rec["products"] if p["id"] == "intratect-10")
    assert rec["dose"] is not None
    planned = next(p for p in rec["products"] if p["id"] == rec["dose"]["product"])
    assert entry["status"] == "caution" and planned["id"] != "intratect-10"
    per_day = _dose(kb, request)["total_g"] / 5
    result = check_order(
        kb, request, {"product": "intratect-10", "grams_per_day": per_day, "days": 5}
    )
    assert _codes(result) == {"within_policy": "info", "caution_product": "warning"}
    assert result["severity"] == "warning"
    message = _message(result, "caution_product")
    by_rule = {r["rule"]: r["text"] for r in entry["reasons"]}
    assert by_rule["anti-iga-class"] in message and by_rule["iga-lowest-first"] in message
    assert "1800" in message
    assert f"the plan uses {planned['name']} (rank {planned['rank']}" in message
    assert by_rule["labelled-indication"] not in message  # not a reason for the caution


def test_a_sucrose_product_in_renal_risk_is_a_warning_naming_sucrose(kb: KnowledgeBase) -> None:
    """eGFR 38 and diabetes: sucrose-stabilised products carry the boxed renal warning
    (ranking rule renal-sucrose; pv-box, cm-dose, orbach), so Vigam is ranked caution."""
    request = _example("renal-risk")
    per_day = _dose(kb, request)["total_g"] / 5
    result = check_order(kb, request, {"product": "vigam", "grams_per_day": per_day, "days": 5})
    assert _codes(result)["caution_product"] == "warning"
    assert result["severity"] == "warning"
    assert "Sucrose-stabilised" in _message(result, "caution_product")


def test_a_whole_course_in_one_day_is_critical_above_the_daily_maximum(
    kb: KnowledgeBase,
) -> None:
    """GBS 2 g/kg (gbs-2g-5d, efns-2008) given in ONE day: the course total is the policy's,
    but the daily amount is above the largest any GBS induction regimen allows — 2 g/kg over at
    least 2 days (gbs-2g-2to5d, seed-001/seed-002) = 1 g/kg/day — and 1 day is outside every
    regimen's days."""
    request = _example("renal-risk")
    dose = _dose(kb, request)
    weight_kg = dose["dosing_weight_kg"]
    regimens = _regimens(kb, dose)
    top = max(r["dose_g_per_kg"]["max"] / r["days"]["min"] for r in regimens)
    result = check_order(
        kb, request, {"product": "gamunex-c", "grams_per_day": dose["total_g"], "days": 1}
    )
    assert result["severity"] == "critical"
    codes = _codes(result)
    assert codes["within_policy"] == "info"
    assert codes["above_daily_maximum"] == "critical"
    assert codes["days_outside_regimen"] == "warning"
    message = _message(result, "above_daily_maximum")
    assert f"{top:g} g/kg/day = {round(top * weight_kg, 2):g} g/day" in message
    assert "gbs-2g-2to5d" in message and "gbs-2g-5d [" not in message
    assert f"= {dose['total_g'] / weight_kg:g} g/kg/day," in message
    assert result["ordered_g_per_kg_per_day"] == pytest.approx(2.0)


def test_two_g_per_kg_over_two_days_matches_the_two_to_five_day_regimen(
    kb: KnowledgeBase,
) -> None:
    """2 g/kg over 2 days is the short end of gbs-2g-2to5d (seed-001, seed-002): above the
    plan's 0.4 g/kg/day (gbs-2g-5d) but a regimen of the knowledge base. Unable to walk, the
    patient is at thrombosis risk (immobility), for whom the boxed warning asks for the minimum
    dose and rate practicable: a warning naming the risk (information without a risk)."""
    from ivig.app.order_check import _at_risk_faster

    request = _gbs()
    dose = _dose(kb, request)
    result = check_order(kb, request, {"grams_per_day": dose["total_g"] / 2, "days": 2})
    assert _codes(result) == {"within_policy": "info", "matches_other_regimen": "warning"}
    message = _message(result, "matches_other_regimen")
    assert "gbs-2g-2to5d" in message and "at risk (thrombosis)" in message
    info = next(f for f in result["findings"] if f["code"] == "within_policy")
    assert _at_risk_faster([info], ["renal"]) == [info]
    plain = {"code": "matches_other_regimen", "severity": "info", "message": "m"}
    assert _at_risk_faster([plain], []) == [plain]  # type: ignore[list-item]


def test_days_outside_every_regimen_are_a_warning(kb: KnowledgeBase) -> None:
    """The GBS induction regimens run 5 days (gbs-2g-5d) or 2-5 days (gbs-2g-2to5d): the policy
    total over 7 days is a warning that lists them."""
    request = _gbs()
    total = _dose(kb, request)["total_g"]
    result = check_order(kb, request, {"total_g": total, "days": 7})
    assert _codes(result) == {"within_policy": "info", "days_outside_regimen": "warning"}
    assert "2-5 day(s)" in _message(result, "days_outside_regimen")


def test_weekly_cidp_maintenance_is_critical_above_the_regimen_intensity(
    kb: KnowledgeBase,
) -> None:
    """CIDP maintenance: the plan is 1 g/kg every 3 weeks (cidp-maint-ice, nm-ice-2008); the
    most intense IV maintenance regimen is 1 g/kg every 2 weeks (cidp-maint-iv-ean,
    ean-pns-cidp-2021). The planned dose every week is 3x the plan and above that maximum."""
    request = _example("cidp-maintenance")
    dose = _dose(kb, request)
    weight_kg = dose["dosing_weight_kg"]
    assert dose["interval_weeks"] is not None
    top = max(
        r["dose_g_per_kg"]["max"] / r["interval_weeks"]["min"]
        for r in _regimens(kb, dose)
        if r.get("interval_weeks")
    )
    result = check_order(kb, request, {"total_g": 67, "interval_weeks": 1})
    assert result["severity"] == "critical"
    assert _codes(result)["above_regimen_intensity"] == "critical"
    assert _codes(result)["interval_too_short"] == "warning"
    message = _message(result, "above_regimen_intensity")
    assert f"= {round(67 / weight_kg, 2):g} g/kg/week," in message
    assert f"{round(top, 2):g} g/kg/week" in message and "cidp-maint-iv-ean" in message
    plan = dose["total_g"] / dose["interval_weeks"] / weight_kg
    assert f"{round(plan, 2):g} g/kg/week" in message
    assert result["ordered_g_per_kg_per_week"] == pytest.approx(67 / weight_kg, abs=1e-4)
    assert result["policy_g_per_kg_per_week"] == pytest.approx(plan, abs=1e-4)


def test_every_two_weeks_is_a_warning_above_the_plan_intensity(kb: KnowledgeBase) -> None:
    """1 g/kg every 2 weeks is within cidp-maint-iv-ean (ean-pns-cidp-2021) but 1.5x the ICE
    plan (cidp-maint-ice, nm-ice-2008): a warning, not critical."""
    request = _example("cidp-maintenance")
    total = _dose(kb, request)["total_g"]
    result = check_order(kb, request, {"total_g": total, "interval_weeks": 2})
    assert result["severity"] == "warning"
    assert _codes(result)["above_policy_intensity"] == "warning"
    assert "above_regimen_intensity" not in _codes(result)
    assert "(1.5x)" in _message(result, "above_policy_intensity")


def test_a_rate_eight_times_the_label_maximum_is_critical_in_mg_per_kg_per_min(
    kb: KnowledgeBase,
) -> None:
    """Gamunex-C: label maximum 8 mg/kg/min (gx-dailymed-2010). 3000 mL/h of a 10 % solution
    on the dosing weight is 3000 x 0.1 x 1000 / (60 x kg) mg/kg/min."""
    request = _gbs()
    infusion = _infusion(kb, request)
    assert infusion["product"] == "gamunex-c"
    mg = 3000 * infusion["concentration_g_per_ml"] * 1000 / (60 * infusion["weight_kg"])
    assert mg == pytest.approx(64.2, abs=0.05)
    per_day = _dose(kb, request)["total_g"] / 5
    result = check_order(
        kb,
        request,
        {"product": "gamunex-c", "grams_per_day": per_day, "days": 5, "rate_ml_per_h": 3000},
    )
    assert result["severity"] == "critical"
    assert _codes(result)["rate_above_label_maximum"] == "critical"
    message = _message(result, "rate_above_label_maximum")
    label = infusion["label_max_rate_mg_per_kg_per_min"]
    assert f"label maximum of {label:g} mg/kg/min" in message
    # the labels count mg per kg of body weight: the maximum is compared on the actual weight,
    # and the mg/kg/min shown beside the ratio is on that weight too (not the dosing weight's)
    actual = infusion["actual_weight_kg"]
    assert actual is not None
    per_actual = 3000 * infusion["concentration_g_per_ml"] * 1000 / (60 * actual)
    assert f"= {round(per_actual, 2):g} mg/kg/min of the actual weight" in message
    assert f"{round(mg, 2):g} mg/kg/min" not in message
    on_actual = label * actual * 60 / (infusion["concentration_g_per_ml"] * 1000)
    times = f"{3000 / on_actual:.2f}".rstrip("0").rstrip(".")
    assert f"{times}x the label maximum" in message
    assert f"= {round(on_actual, 1):g} mL/h on the actual weight of {actual:g} kg" in message
    assert result["ordered_rate_mg_per_kg_per_min"] == pytest.approx(mg, abs=0.01)


def test_a_rate_above_a_site_overridable_ceiling_is_a_warning_naming_the_risk(
    kb: KnowledgeBase,
) -> None:
    """Non-ambulant GBS (immobility -> thrombosis): the class ceiling 3.3 mg/kg/min (oc10-pfz,
    pz-citp) is site-overridable; twice the top step is above it but below the label maximum."""
    request = _gbs()
    infusion = _infusion(kb, request)
    (ceiling,) = infusion["ceilings"]
    assert not ceiling["strict"]
    top = max(s["rate_ml_per_h"] for s in infusion["steps"])
    assert top * 2 < _ml_per_h(infusion, infusion["label_max_rate_mg_per_kg_per_min"])
    result = check_order(kb, request, {"product": infusion["product"], "rate_ml_per_h": top * 2})
    assert _codes(result) == {"dose_not_given": "info", "rate_above_at_risk_ceiling": "warning"}
    message = _message(result, "rate_above_at_risk_ceiling")
    assert "thrombosis" in message and "immobility" in message
    assert f"{ceiling['rate_mg_per_kg_per_min']:g} mg/kg/min" in message


def test_a_rate_above_a_strict_ceiling_is_critical_on_the_ordered_products_schedule(
    kb: KnowledgeBase,
) -> None:
    """Renal risk (age over 65, diabetes): Bivigam's own at-risk ceiling of 2 mg/kg/min is
    strict (bivigam-us-pi-at-risk; bv-mon). The plan's product is another one, so the check
    must use the schedule recomputed for Bivigam."""
    request = _example("renal-risk")
    assert _dose(kb, request)["product"] != "bivigam"
    infusion = _infusion(kb, request, "bivigam")
    strict = [c for c in infusion["ceilings"] if c["strict"]]
    assert strict
    limit = min(c["rate_mg_per_kg_per_min"] for c in strict)
    label = infusion["label_max_rate_mg_per_kg_per_min"]
    rate = _ml_per_h(infusion, (limit + label) / 2)
    result = check_order(kb, request, {"product": "bivigam", "rate_ml_per_h": rate})
    assert _codes(result)["rate_above_at_risk_ceiling"] == "critical"
    assert "strict" in _message(result, "rate_above_at_risk_ceiling")


def test_a_rate_above_the_schedule_only_is_a_warning(kb: KnowledgeBase) -> None:
    """MMN with Octagam 10 %: no at-risk ceiling, the schedule tops out below the EU label
    maximum (octagam-10-eu-all; oc-eu): a rate between the two is above the schedule only."""
    request = _example("mmn")
    infusion = _infusion(kb, request, "octagam-10")
    assert not infusion["ceilings"]
    top = max(infusion["steps"], key=lambda s: s["rate_ml_per_h"])
    label_ml = _ml_per_h(infusion, infusion["label_max_rate_mg_per_kg_per_min"])
    assert top["rate_ml_per_h"] < label_ml
    rate = (top["rate_ml_per_h"] + label_ml) / 2
    result = check_order(kb, request, {"product": "octagam-10", "rate_ml_per_h": rate})
    assert _codes(result)["rate_above_schedule"] == "warning"
    assert result["severity"] == "warning"
    message = _message(result, "rate_above_schedule")
    mg = rate * infusion["concentration_g_per_ml"] * 1000 / (60 * infusion["weight_kg"])
    assert f"= {round(mg, 2):g} mg/kg/min" in message


def test_a_rate_with_no_schedule_for_the_product_is_said_to_be_unchecked(
    kb: KnowledgeBase,
) -> None:
    """Intratect 10 % has no labelled IV rates in the knowledge base (the ranking says so)."""
    request = _gbs()
    result = check_order(kb, request, {"product": "intratect-10", "rate_ml_per_h": 100})
    assert _codes(result)["rate_not_checked"] == "info"
    assert result["ordered_rate_mg_per_kg_per_min"] is None


@pytest.mark.parametrize("example", ["gbs-non-ambulant", "cidp-maintenance", "renal-risk", "mmn"])
def test_the_policy_order_itself_is_quiet(kb: KnowledgeBase, example: str) -> None:
    """The plan ordered as planned — its product, g/day x days, interval and the schedule's top
    step as the rate — gives one info finding and nothing else."""
    request = _example(example)
    rec = recommend(kb, request)
    dose, infusion = rec["dose"], rec["infusion"]
    assert dose is not None and infusion is not None
    order: dict[str, Any] = {
        "product": dose["product"],
        "grams_per_day": dose["total_g"] / len(dose["days"]),
        "days": len(dose["days"]),
        "rate_ml_per_h": max(s["rate_ml_per_h"] for s in infusion["steps"]),
    }
    if dose["interval_weeks"] is not None:
        order["interval_weeks"] = dose["interval_weeks"]
    result = check_order(kb, request, order)
    assert _codes(result) == {"within_policy": "info"}, result["findings"]
    assert result["severity"] == "info"


@pytest.mark.parametrize(
    ("order", "hint"),
    [
        ({"grams_per_day": 0.4, "days": 5}, "did you mean 0.4 g/kg/day (= {per_day} g/day)?"),
        ({"total_g": 2}, "did you mean 2 g/kg (= {total} g)?"),
    ],
)
def test_a_g_per_kg_figure_typed_as_grams_gets_a_hint(
    kb: KnowledgeBase, order: dict[str, Any], hint: str
) -> None:
    """0.4 g/kg/day x 5 days = 2 g/kg (gbs-2g-5d, efns-2008) typed in g: the finding stays a
    below-policy warning and asks whether g/kg was meant."""
    request = _gbs()
    dose = _dose(kb, request)
    weight_kg = dose["dosing_weight_kg"]
    expected = hint.format(
        per_day=f"{round(0.4 * weight_kg, 2):g}", total=f"{round(2 * weight_kg, 2):g}"
    )
    result = check_order(kb, request, order)
    assert _codes(result) == {"below_policy": "warning"}
    assert _message(result, "below_policy").endswith(expected)


def test_a_low_order_that_is_not_a_unit_slip_gets_no_hint(kb: KnowledgeBase) -> None:
    """Half the policy dose is below it, but not a g/kg figure typed as g."""
    request = _gbs()
    total = _dose(kb, request)["total_g"]
    result = check_order(kb, request, {"total_g": total / 2})
    assert "did you mean" not in _message(result, "below_policy")
    tiny = check_order(kb, request, {"total_g": 0.5})
    assert "did you mean" not in _message(tiny, "below_policy")


def test_a_subcutaneous_rate_is_compared_per_site_not_with_an_iv_maximum(
    kb: KnowledgeBase,
) -> None:
    """Hizentra's maximum is a rate per site (hizentra-cidp-later; hz-hcp) times the sites, so a
    total rate three times the schedule's is judged per site (critical: more sites than the plan
    sets up), never against an IV label maximum in mg/kg/min."""
    request = validate_request({**_cidp_maintenance(), "route": "sc"})
    infusion = _infusion(kb, request, "hizentra")
    assert infusion["route"] == "sc"
    rate = 3 * max(s["rate_ml_per_h"] for s in infusion["steps"])
    result = check_order(kb, request, {"product": "hizentra", "rate_ml_per_h": rate})
    assert _codes(result)["rate_above_sc_maximum"] == "critical"
    assert "rate_above_label_maximum" not in _codes(result)


def test_every_result_matches_the_order_check_types(kb: KnowledgeBase) -> None:
    """The OrderCheck TypedDict and the FindingCode literal are the contract of the REST answer:
    every key emitted is declared (and the reverse), every value has its type and every code is
    a declared one, over orders that raise every new finding."""
    from typing import get_args

    from pydantic import TypeAdapter

    from ivig.app.order_check import FindingCode, OrderCheck

    adapter = TypeAdapter(OrderCheck)
    cases: list[tuple[Request, dict[str, Any]]] = [
        (_example("renal-risk"), {"product": "vigam", "grams_per_day": 132, "days": 1}),
        (_example("cidp-maintenance"), {"total_g": 67, "interval_weeks": 1}),
        (_example("cidp-maintenance"), {"total_g": 67.43, "interval_weeks": 2}),
        (_gbs(), {"product": "gamunex-c", "grams_per_day": 0.4, "days": 5, "rate_ml_per_h": 3e3}),
        (_gbs(), {"product": "intratect-10", "rate_ml_per_h": 100}),
    ]
    seen: set[str] = set()
    for request, order in cases:
        result = check_order(kb, request, order)
        assert set(result) == set(OrderCheck.__annotations__)
        adapter.validate_python(result, strict=True)
        seen |= {f["code"] for f in result["findings"]}
    assert seen <= set(get_args(FindingCode))
    assert {"above_daily_maximum", "above_regimen_intensity", "rate_above_label_maximum"} <= seen


def test_a_product_outside_the_regions_ranking_still_gets_the_patients_rules(
    kb: KnowledgeBase,
) -> None:
    """Re-review: in Ontario (only Sandoglobulin in the Canadian catalogue) Privigen for a
    patient with hyperprolinaemia passed as info; its L-proline exclusion (pv-nhs, hz-ci) now
    applies wherever the product is ordered."""
    request = validate_request(
        {
            "patient": {"sex": "female", "age_years": 74, "height_cm": 158, "weight_kg": 66,
                        "risk_factors": ["hyperprolinaemia"]},
            "condition": "gbs", "phase": "induction", "jurisdiction": "ontario",
            "findings": {"able_to_walk_unaided": False, "days_since_onset": 4},
        }
    )  # fmt: skip
    result = check_order(kb, request, {"product": "privigen", "grams_per_day": 23, "days": 5})
    codes = _codes(result)
    assert codes["product_not_ranked"] == "info"
    assert codes["excluded_product"] == "critical" and result["severity"] == "critical"
    assert "proline" in _message(result, "excluded_product").lower()
    fine = check_order(kb, request, {"product": "gamunex-c", "grams_per_day": 23, "days": 5})
    assert "excluded_product" not in _codes(fine)


def test_a_product_not_given_by_the_plans_route_is_critical(kb: KnowledgeBase) -> None:
    """Hizentra is SC only (hz-hcp): ordered for an IV GBS course it is critical."""
    request = _gbs()
    per_day = _dose(kb, request)["total_g"] / 5
    result = check_order(kb, request, {"product": "hizentra", "grams_per_day": per_day, "days": 5})
    assert _codes(result)["product_route_mismatch"] == "critical"
    assert "SC only; the plan is IV" in _message(result, "product_route_mismatch")
    same = check_order(kb, request, {"product": "privigen", "grams_per_day": per_day, "days": 5})
    assert "product_route_mismatch" not in _codes(same)


def test_a_rate_within_the_label_on_the_actual_weight_only_is_a_warning(
    kb: KnowledgeBase,
) -> None:
    """Re-review: 90 kg, dosing weight 67.43 kg: 8 mg/kg/min of the actual weight is 432 mL/h
    at 10 %; the plan's rates use the dosing weight, so it is above the plan, not the label."""
    request = _cidp_maintenance()
    infusion = _infusion(kb, request)
    label = infusion["label_max_rate_mg_per_kg_per_min"]
    conc = infusion["concentration_g_per_ml"]
    actual_kg = infusion["actual_weight_kg"]
    assert actual_kg is not None
    on_actual = label * actual_kg * 60 / (conc * 1000)
    on_dosing = label * infusion["weight_kg"] * 60 / (conc * 1000)
    assert on_dosing < on_actual
    total = _dose(kb, request)["total_g"]
    within = check_order(kb, request, {"total_g": total, "rate_ml_per_h": round(on_actual, 1)})
    assert _codes(within).get("rate_above_dosing_weight_maximum") == "warning"
    assert "rate_above_label_maximum" not in _codes(within)
    beyond = check_order(kb, request, {"total_g": total, "rate_ml_per_h": on_actual + 5})
    assert _codes(beyond)["rate_above_label_maximum"] == "critical"


def test_a_subcutaneous_rate_above_the_labels_sites_times_rate_is_critical(
    kb: KnowledgeBase,
) -> None:
    """Gammagard Liquid SC (ggl-dose, ggl-sc): at most 8 sites x 30 mL/h per site = 240 mL/h
    for a patient who already infuses SC (later infusions)."""
    request = _cidp_sc("gammagard-liquid", "us", **_LATER_SC)
    total = _dose(kb, request)["total_g"]
    order = {"product": "gammagard-liquid", "total_g": total, "interval_weeks": 1}
    result = check_order(kb, request, {**order, "rate_ml_per_h": 600})
    assert _codes(result)["rate_above_sc_maximum"] == "critical"
    assert "8 sites x 30 mL/h per site = 240 mL/h" in _message(result, "rate_above_sc_maximum")
    ok = check_order(kb, request, {**order, "rate_ml_per_h": 200})
    assert "rate_above_sc_maximum" not in _codes(ok)


def test_a_subcutaneous_rate_beyond_the_plans_sites_is_critical_when_the_label_has_no_limit(
    kb: KnowledgeBase,
) -> None:
    """Hizentra for CIDP (hz-hcp): at most 20 mL/h per site at the first infusions, and the
    label record gives no number of sites. A pharmacist found 1,000 mL/h ordered only warned;
    above the plan's sites x 20 mL/h it is critical and says how many sites it would need."""
    request = _cidp_sc("hizentra", "us", **_SWITCH)
    dose = _dose(kb, request)
    infusion = recommend(kb, request)["infusion"]
    assert infusion is not None
    sc = infusion["sc"]
    assert sc is not None and sc["max_rate_ml_per_h_per_site"] == 20 and not sc["max_sites"]
    planned = sc["sites"] * 20
    order = {"product": "hizentra", "total_g": dose["total_g"], "interval_weeks": 1}
    result = check_order(kb, request, {**order, "rate_ml_per_h": 1000})
    assert _codes(result)["rate_above_sc_maximum"] == "critical"
    message = _message(result, "rate_above_sc_maximum")
    assert f"= {planned:g} mL/h" in message and "at least 50 sites" in message
    assert "states no number of sites" in message
    within = check_order(kb, request, {**order, "rate_ml_per_h": planned})
    assert "rate_above_sc_maximum" not in _codes(within)


def test_the_plans_own_days_at_zero_tolerance_are_within_the_plan(kb: KnowledgeBase) -> None:
    """Re-review: 31.16 g x 5 = 155.8 g against the plan's 155.82 g (day 5 takes the 0.01 g
    remainders) warned "0 % below" at a tolerance of 0 %."""
    request = _gbs()
    dose = _dose(kb, request)
    first = dose["days"][0]["grams"]
    assert abs(first * 5 - dose["total_g"]) > 0.005
    result = check_order(kb, request, {"grams_per_day": first, "days": 5}, tolerance_pct=0)
    assert _codes(result)["within_policy"] == "info"
    assert f"{first * 5:g} g ordered is within 0 %" in _message(result, "within_policy")


@pytest.mark.parametrize(
    "order",
    [
        {"total_g": 170.0},
        {"grams_per_day": 85.0, "days": 2, "product": "privigen", "rate_ml_per_h": 300.0},
        {"total_g": 1700.0, "product": "hizentra"},
    ],
)
def test_a_plan_the_caller_already_has_gives_the_same_check(
    kb: KnowledgeBase, order: dict[str, Any]
) -> None:
    """The CDS service passes the recommendation it composed for the request (issue 20: the
    check composed it a second time); the check must come out exactly as when composed inside."""
    request = _gbs()
    plan = recommend(kb, request)
    assert check_order(kb, request, order, plan=plan) == check_order(kb, request, order)


def test_a_plan_for_a_named_product_is_not_taken_as_the_policy_plan(kb: KnowledgeBase) -> None:
    """The policy plan is composed without the request's product; a plan composed with one
    (here Gamunex-C, whose rates differ from the policy's first choice) is not reused."""
    request = validate_request({**_gbs(), "product": "gamunex-c"})
    with_product = recommend(kb, request)
    order = {"total_g": 170.0, "product": "privigen", "rate_ml_per_h": 300.0}
    assert check_order(kb, request, order, plan=with_product) == check_order(kb, request, order)


def test_an_order_repeating_at_another_interval_is_compared_per_week(kb: KnowledgeBase) -> None:
    """HyQvia 80 g every 4 weeks for an 80 kg CIDP patient whose plan is 0.2 g/kg every week
    (cidp-maint-sc): 20 g a week against 16 g, 25 % over (a warning), not "5x the policy dose"
    and "above the regimen maximum" (critical), which compared one dose with one weekly dose."""
    request = _cidp_sc("hyqvia", "international", **_SWITCH)
    dose = _dose(kb, request)
    assert dose["total_g"] == 16 and dose["interval_weeks"] == 1
    result = check_order(kb, request, {"product": "hyqvia", "total_g": 80, "interval_weeks": 4})
    codes = _codes(result)
    assert result["severity"] == "warning"
    assert "above_regimen_maximum" not in codes and "above_policy" not in codes
    assert codes["above_policy_intensity"] == "warning"
    assert codes["above_single_dose_maximum"] == "warning"
    assert result["compared_per"] == "week"
    assert (result["difference_g"], result["ratio"]) == (4.0, 1.25)
    assert (result["ordered_interval_weeks"], result["policy_interval_weeks"]) == (4, 1)
    too_much = check_order(kb, request, {"product": "hyqvia", "total_g": 200, "interval_weeks": 4})
    assert _codes(too_much)["above_regimen_intensity"] == "critical"
    weekly = check_order(kb, request, {"product": "hyqvia", "total_g": 80, "interval_weeks": 1})
    assert weekly["compared_per"] == "dose"
    assert _codes(weekly)["above_regimen_maximum"] == "critical"
