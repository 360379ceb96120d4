"""Catalogue helpers, risk profile, monitoring plan and the products' own data checks."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest

from ivig.core.catalogue import (
    concentration_g_per_ml,
    iga_representative,
    product_route,
    vial_sizes_g,
)
from ivig.core.monitoring import PHASES, build_monitoring_plan
from ivig.core.risk import derive_risk_profile
from ivig.errors import InputError, UnknownIdError
from ivig.knowledge import KnowledgeBase
from ivig.knowledge.schema_products import CHECKS, RISK_FACTOR_IDS

ISSUE_PRODUCTS = [
    "privigen",
    "hizentra",
    "gamunex-c",
    "gammagard-liquid",
    "gammagard-sd",
    "octagam-5",
    "octagam-10",
    "panzyga",
    "flebogamma-dif-5",
    "flebogamma-dif-10",
    "kiovig",
    "hyqvia",
    "cuvitru",
    "cutaquig",
    "xembify",
    "bivigam",
    "asceniv",
    "gammaplex-5",
    "gammaplex-10",
    "gammanorm",
    "intratect-5",
    "intratect-10",
    "yimmugo",
    "alyglo",
    "carimune-nf",
    "intragam-10",
    "evogam",
]


def test_catalogue_holds_every_product_the_issue_names(kb: KnowledgeBase) -> None:
    ids = {p["id"] for p in kb.data["products"]}
    assert set(ISSUE_PRODUCTS) <= ids
    # seed 002 Table 2 products are present with the seed's values kept beside the label
    seeded = {p["id"] for p in kb.data["products"] if "seed_table" in p}
    assert {
        "gammagard-sd",
        "gammar-p",
        "gamunex-c",
        "octagam-5",
        "flebogamma-dif-5",
        "sandoglobulin",
        "privigen",
        "kiovig",
    } <= seeded


def test_concentration_and_vials(kb: KnowledgeBase) -> None:
    """Privigen 10 % (pv-au); EU packs 2.5-40 g (pv-eu-es); Cutaquig packs in mL (cq-mpr)."""
    privigen = kb.product("privigen")
    assert concentration_g_per_ml(privigen) == pytest.approx(0.1)
    assert vial_sizes_g(privigen, "eu") == [2.5, 5, 10, 20, 40]
    assert vial_sizes_g(privigen, "us") == [5, 10, 20, 40]
    assert vial_sizes_g(kb.product("cutaquig"))[0] == pytest.approx(0.99)
    assert concentration_g_per_ml(kb.product("gammagard-sd"), 10) == pytest.approx(0.1)
    with pytest.raises(InputError, match="concentration_percent"):
        concentration_g_per_ml(kb.product("gammagard-sd"), 7)
    with pytest.raises(InputError, match="sandoglobulin"):
        concentration_g_per_ml(kb.product("sandoglobulin"))
    with pytest.raises(InputError, match="alyglo"):
        vial_sizes_g(kb.product("alyglo"))
    assert product_route(kb.product("gamunex-c")) == "iv"
    assert product_route(kb.product("hizentra")) == "sc"


def test_iga_representative_keeps_the_metric(kb: KnowledgeBase) -> None:
    """Octagam 10 %: US average 106 vs old UK max 400 (oc10-dip, oc10-ukold)."""
    rec = iga_representative(kb.product("octagam-10"))
    assert rec is not None and rec["metric"] == "average" and rec["iga_ug_per_ml"] == 106


def test_iga_unknown_when_the_product_has_no_iga_value(kb: KnowledgeBase) -> None:
    """Gammar-P I.V. is known only from seed-002 Table 2 (no current label, no IgA record):
    its IgA is unknown, not zero or low."""
    gammar_p = kb.product("gammar-p")
    assert not any("iga_ug_per_ml" in r for r in gammar_p.get("iga", []))
    assert iga_representative(gammar_p) is None
    assert iga_representative(gammar_p, "eu") is None


def test_gammaplex_10_iga_and_vials_from_the_uk_smpc(kb: KnowledgeBase) -> None:
    """Gammaplex 10 % UK SmPC section 2 (gp10-uk-smpc): maximum IgA <20 micrograms/ml; vials of
    50, 100 and 200 ml hold 5, 10 and 20 g. The "<20" is held as a maximum of 20 µg/mL, the way
    other "below" label values are held."""
    gammaplex = kb.product("gammaplex-10")
    rec = iga_representative(gammaplex)
    assert rec is not None
    assert (rec["metric"], rec["iga_ug_per_ml"], rec.get("region")) == ("max", 20, "uk")
    assert rec["verified"] is True
    assert "gp10-uk-smpc" in [s if isinstance(s, str) else s["id"] for s in rec["sources"]]
    # a region without its own IgA record falls back to the UK one rather than to "unknown"
    fallback = iga_representative(gammaplex, "us")
    assert fallback is not None and fallback["iga_ug_per_ml"] == 20
    assert vial_sizes_g(gammaplex) == [5, 10, 20]
    assert vial_sizes_g(gammaplex, "uk") == [5, 10, 20]
    with pytest.raises(InputError, match="gammaplex-10"):
        vial_sizes_g(gammaplex, "us")


def test_risk_ids_are_the_public_contract(kb: KnowledgeBase) -> None:
    assert [r["id"] for r in kb.data["risk_factors"]] == list(RISK_FACTOR_IDS)


def test_risk_profile_derives_from_labs_and_age(kb: KnowledgeBase) -> None:
    """IgA < 0.05 g/L (seed-002); age > 65 (pv-box); non-O group (pv-ae)."""
    patient: Any = {
        "sex": "female",
        "age_years": 66,
        "weight_kg": 60,
        "labs": {"iga_g_per_l": 0.04, "blood_group": "A", "egfr_ml_per_min_1_73m2": 90},
        "risk_factors": ["diabetes"],
        "first_infusion": True,
    }
    found = {r["id"]: r for r in derive_risk_profile(kb, patient)}
    assert set(found) == {
        "iga_deficiency",
        "diabetes",
        "age_over_65",
        "non_o_blood_group",
        "first_infusion",
    }
    assert found["iga_deficiency"]["sources"] == ["seed-002"]
    assert "0.04" in found["iga_deficiency"]["reason"]
    patient["labs"] = {"iga_g_per_l": 0.05, "egfr_ml_per_min_1_73m2": 30}
    patient["age_years"] = 65
    found = {r["id"]: r for r in derive_risk_profile(kb, patient)}
    assert "iga_deficiency" not in found and "age_over_65" not in found
    assert found["renal_impairment"]["verified"] is False  # KDIGO threshold, not in the notes


def test_risk_profile_refuses_unknown_ids_and_bad_values(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownIdError, match="hyperprolinaemia"):
        derive_risk_profile(
            kb,
            {"sex": "male", "age_years": 40, "weight_kg": 70, "risk_factors": ["hyperprolinemia"]},
        )
    with pytest.raises(InputError, match="age_years"):
        derive_risk_profile(kb, {"sex": "male", "age_years": -3, "weight_kg": 70})


def test_monitoring_plan_follows_risks_route_and_excipients(kb: KnowledgeBase) -> None:
    plan = build_monitoring_plan(kb, ["renal_impairment", "diabetes"], "octagam-10")
    ids = [e["id"] for e in plan]
    assert "after-creatinine" in ids and "during-glucose-method" in ids
    assert "reaction-slow-stop" in ids  # seed 002: slow or stop, symptomatic treatment
    assert [PHASES.index(e["phase"]) for e in plan] == sorted(
        PHASES.index(e["phase"]) for e in plan
    )
    plan = build_monitoring_plan(kb, [], "hizentra")
    ids = [e["id"] for e in plan]
    assert "before-renal" not in ids and "during-glucose-method" not in ids
    assert "watch-glucose_meter_interference" not in ids
    watch = [e for e in plan if e["id"] == "watch-infusion_reaction"]
    assert "15 %" in watch[0]["text"]


def test_product_checks_report_broken_references(kb: KnowledgeBase) -> None:
    data: dict[str, Any] = copy.deepcopy(dict(kb.data))
    data["regulatory"] = [*data["regulatory"], {"id": "x", "products": ["nope"]}]
    data["ranking_rules"][0]["when_any"] = ["not_a_risk"]
    privigen = next(p for p in data["products"] if p["id"] == "privigen")
    privigen["iv_rates"][0]["steps"][0]["rate"] = 999
    errors: list[str] = []
    for check in CHECKS:
        check(data, lambda f, loc, msg: errors.append(f"{f}: {loc}: {msg}"))
    text = "\n".join(errors)
    assert "unknown product id 'nope'" in text
    assert "unknown risk factor 'not_a_risk'" in text
    assert "above max_rate" in text


def test_product_checks_pass_on_the_real_data(kb: KnowledgeBase) -> None:
    errors: list[str] = []
    for check in CHECKS:
        check(dict(kb.data.items()), lambda f, loc, msg: errors.append(f"{f}: {loc}: {msg}"))
    assert errors == []


@pytest.mark.parametrize(
    "module", ["ivig.core.ranking", "ivig.core.schedule", "ivig.core.monitoring"]
)
def test_core_modules_import_without_pydantic_or_yaml(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = [m for m in ('pydantic', 'yaml', 'rich') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
