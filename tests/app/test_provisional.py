"""Always an answer (issue 14): the plan is computed whenever the condition, the phase and the
patient determine a regimen; the authorisation is what waits for the criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivig.app.dose import dose
from ivig.app.recommend import recommend
from ivig.knowledge import KnowledgeBase

#: the pharmacist's request of the issue: CIDP, maintenance, 82 kg, 172 cm, heart failure
CIDP: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 60, "weight_kg": 82, "height_cm": 172,
                "risk_factors": ["heart_failure"]},
    "condition": "cidp", "phase": "maintenance", "jurisdiction": "au",
}  # fmt: skip


def test_cidp_maintenance_with_patient_data_only_gets_a_provisional_plan(
    kb: KnowledgeBase,
) -> None:
    """1 g/kg every 3 weeks on the au-2026 dosing weight [au-nba-criteria-cidp,
    au-lifeblood-abw-2026]; the criteria wait, grouped by candidate indication."""
    rec = recommend(kb, CIDP)
    assert rec["eligibility"]["indication"] == "cidp.maintenance"
    assert rec["plan_status"] == "provisional"
    assert rec["dose"] is not None and rec["dose"]["g_per_kg"] == 1
    assert rec["dose"]["interval_weeks"] == 3
    assert rec["products"] and rec["infusion"] is not None and rec["monitoring"]
    groups = rec["eligibility"]["missing_groups"]
    assert groups[0]["indication"] == "cidp.maintenance"
    assert groups[0]["next_step"].startswith("add `indication: cidp.maintenance` and these")
    names = [f["name"] for g in groups for f in g["findings"]]
    assert len(names) == len(set(names)), "a finding listed in two groups"
    assert all(not g["indication"].endswith("initial") or g["findings"] for g in groups)
    assert rec["to_confirm"] and rec["warnings"][0].startswith("provisional plan")


def test_ivig_dose_gives_the_same_dose(kb: KnowledgeBase) -> None:
    rec = recommend(kb, CIDP)
    patient = CIDP["patient"]
    query = {key: patient[key] for key in ("sex", "age_years", "weight_kg", "height_cm")}
    result = dose(kb, {**query, "condition": "cidp", "phase": "maintenance", "jurisdiction": "au"})
    assert rec["dose"] is not None
    assert result["indication"] == rec["eligibility"]["indication"]
    assert result["dose"]["total_g"] == rec["dose"]["total_g"]
    assert result["dosing_weight"]["kg"] == rec["dosing_weight"]["kg"]  # type: ignore[index]


def test_a_named_mg_crisis_needs_no_crisis_finding(kb: KnowledgeBase) -> None:
    """mg.crisis implies myasthenic_crisis (knowledge ``implies``): 2 g/kg [on-igum-mg]."""
    patient = {"sex": "female", "age_years": 40, "weight_kg": 70, "height_cm": 165}
    data = {"patient": patient, "condition": "mg", "indication": "mg.crisis", "phase": "induction"}
    rec = recommend(kb, data)
    assert rec["eligibility"]["status"] in ("supported", "supported_with_conditions")
    assert rec["eligibility"]["implied_findings"] == {"myasthenic_crisis": True}
    assert rec["plan_status"] == "ready" and rec["dose"] is not None
    assert rec["dose"]["total_g"] == 140


def test_not_supported_and_out_of_scope_still_give_no_dose(kb: KnowledgeBase) -> None:
    patient = {"sex": "male", "age_years": 60, "weight_kg": 80, "height_cm": 175}
    als = recommend(kb, {"patient": patient, "condition": "als", "phase": "induction"})
    assert als["eligibility"]["status"] == "not_supported"
    assert als["dose"] is None and als["plan_status"] == "none"
    itp = recommend(kb, {"patient": patient, "condition": "itp", "phase": "induction"})
    assert itp["eligibility"]["status"] == "out_of_scope" and itp["dose"] is None


def test_a_plan_on_a_product_the_patients_risks_caution_against_is_provisional(
    kb: KnowledgeBase,
) -> None:
    """IgA deficiency with anti-IgA antibodies is a labelled contraindication of almost every
    product (ranking rule anti-iga-class; pv-isi): every product is 'caution', so the plan on
    the lowest-IgA one must not be 'ready' (a pharmacist found it was, with no warning)."""
    import yaml

    examples = Path(__file__).resolve().parents[2] / "examples"
    request = yaml.safe_load((examples / "iga-deficient.yaml").read_text())
    rec = recommend(kb, request)
    dose = rec["dose"]
    assert dose is not None
    assert rec["plan_status"] == "provisional"
    name = kb.product(str(dose["product"]))["name"]
    (item,) = rec["to_confirm"]
    assert item.startswith(f"the product {name}")
    assert "labelled contraindication of almost every product" in item
    assert rec["warnings"][0].startswith("provisional plan: before authorisation confirm")
    without = {**request, "patient": {**request["patient"], "labs": {"iga_g_per_l": 1.2}}}
    assert recommend(kb, without)["plan_status"] == "ready"


def test_a_creatinine_without_an_egfr_leaves_the_renal_risk_to_confirm(kb: KnowledgeBase) -> None:
    """Renal impairment is derived from the eGFR only (risk factor renal_impairment: creatinine
    alone has no sourced threshold). A creatinine of 250 umol/L with no eGFR was planned as if the
    kidneys were normal, at up to 9 mg/kg/min; the plan must say the renal risk is unjudged."""
    request: dict[str, Any] = {
        "patient": {"sex": "male", "age_years": 60, "height_cm": 175, "weight_kg": 70,
                    "labs": {"creatinine_umol_per_l": 250}},
        "condition": "gbs", "phase": "induction",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 4},
    }  # fmt: skip
    rec = recommend(kb, request)
    assert rec["plan_status"] == "provisional"
    (item,) = [t for t in rec["to_confirm"] if t.startswith("renal function")]
    assert "250 umol/L" in item and "eGFR" in item
    with_egfr = {**request, "patient": {**request["patient"],
                                        "labs": {"creatinine_umol_per_l": 250,
                                                 "egfr_ml_per_min_1_73m2": 22}}}  # fmt: skip
    judged = recommend(kb, with_egfr)
    assert not any(t.startswith("renal function") for t in judged["to_confirm"])
    assert "renal_impairment" in {r["id"] for r in judged["risk_profile"]}
    named = {**request, "patient": {**request["patient"], "risk_factors": ["renal_impairment"]}}
    assert not any(t.startswith("renal function") for t in recommend(kb, named)["to_confirm"])
