"""A subcutaneous plan is scheduled subcutaneously (pharmacist review, December 2026).

Before: a CIDP maintenance request with ``route: sc`` got an SC dose (0.2 g/kg weekly) but the
infusion table of the first product that can go both ways (Gammagard Liquid) was its IV one,
35 -> 280 mL/h, because the schedule was asked for the product's default route. And a product
labelled for CIDP only intravenously counted as "labelled for cidp" in an SC plan.
"""

from __future__ import annotations

from typing import Any

from ivig.app.recommend import recommend
from ivig.knowledge import KnowledgeBase

PATIENT: dict[str, Any] = {"sex": "female", "age_years": 50, "height_cm": 165, "weight_kg": 70}
FINDINGS = {"previous_ig_response": True, "baseline_measure_recorded": True}


def _sc_cidp(**extra: Any) -> dict[str, Any]:
    return {
        "patient": {**PATIENT, **extra.pop("patient", {})},
        "condition": "cidp",
        "indication": "cidp.maintenance",
        "phase": "maintenance",
        "route": "sc",
        "findings": {**FINDINGS, "anti_mag_antibodies": False},
        **extra,
    }


def test_a_dual_route_product_in_an_sc_plan_gets_its_sc_table(kb: KnowledgeBase) -> None:
    """Gammagard Liquid SC (ggl-dose, ggl-sc): 30 mL/site at 20-30 mL/h/site, at most 8 sites;
    anti-IgA antibodies put the lowest-IgA products first, which brings it to the plan."""
    rec = recommend(
        kb,
        _sc_cidp(
            product="gammagard-liquid",
            patient={
                "labs": {"iga_g_per_l": 0.01, "anti_iga_antibodies": True},
                "first_infusion": False,
            },
        ),
    )
    assert rec["dose"] is not None and rec["dose"]["route"] == "sc"
    infusion = rec["infusion"]
    assert infusion is not None
    assert infusion["route"] == "sc" and infusion["product"] == "gammagard-liquid"
    assert infusion["rate_record"].startswith("gammagard-liquid-sc-")
    sc = infusion["sc"]
    assert sc["max_volume_ml_per_site"] == 30 and sc["max_rate_ml_per_h_per_site"] == 30
    assert sc["sites"] * sc["volume_ml_per_site"] >= 140 - 1e-6  # 14 g at 10 %
    assert sc["sites"] <= 8
    assert all(step["rate_ml_per_h"] <= 8 * 30 for step in infusion["steps"])


def test_an_iv_only_label_does_not_count_for_an_sc_plan(kb: KnowledgeBase) -> None:
    """Gammagard Liquid's CIDP label is intravenous (ggl-cidp); its SC rates name PI only."""
    rec = recommend(kb, _sc_cidp(jurisdiction="us"))
    by_id = {p["id"]: p for p in rec["products"]}
    texts = [r["text"] for r in by_id["gammagard-liquid"]["reasons"]]
    assert any("only intravenously" in t and "pi" in t for t in texts)
    assert any(t.startswith("Labelled for cidp") and "only" not in t
               for t in (r["text"] for r in by_id["hizentra"]["reasons"]))  # fmt: skip
    order = [p["id"] for p in rec["products"]]
    assert order.index("hizentra") < order.index("gammagard-liquid")
    assert rec["infusion"] is not None and rec["infusion"]["route"] == "sc"


def test_an_iv_plan_keeps_the_iv_label(kb: KnowledgeBase) -> None:
    """The same product in an IV CIDP plan stays labelled for CIDP (ggl-cidp)."""
    request = _sc_cidp(jurisdiction="us")
    request["route"] = "iv"
    rec = recommend(kb, request)
    by_id = {p["id"]: p for p in rec["products"]}
    texts = [r["text"] for r in by_id["gammagard-liquid"]["reasons"]]
    assert "Labelled for cidp in US" in texts
    assert rec["infusion"] is None or rec["infusion"]["route"] == "iv"


def test_the_sc_sites_are_on_the_screen_and_the_order_sheet(kb: KnowledgeBase) -> None:
    """Re-review: the SC text and the order sheet showed one "pump rate 150 mL/h"; a nurse
    could run it into one site (5x the per-site maximum). Sites, mL and mL/h per site now."""
    import io

    from rich.console import Console

    from ivig.render.fmt import sc_sites
    from ivig.render.html import render_order_sheet
    from ivig.render.terminal import print_recommendation

    rec = recommend(kb, _sc_cidp(jurisdiction="us"))
    infusion = rec["infusion"]
    assert infusion is not None and infusion["route"] == "sc"
    sc = infusion["sc"]
    line = sc_sites(dict(infusion))
    total = sc["sites"] * sc["rate_ml_per_h_per_site"]
    assert line.startswith(f"Subcutaneous: {sc['sites']:g} site(s) x ")
    assert f"at {sc['rate_ml_per_h_per_site']:g} mL/h per site ({total:g} mL/h in all)" in line
    buf = io.StringIO()
    print_recommendation(Console(file=buf, width=300, color_system=None), dict(rec))
    assert line in buf.getvalue()
    assert line in render_order_sheet(dict(rec))
    iv = recommend(kb, {**_sc_cidp(jurisdiction="us"), "route": "iv"})
    assert iv["infusion"] is None or sc_sites(dict(iv["infusion"])) == ""


def test_an_sc_plan_with_nothing_stated_starts_at_the_first_sc_rates(kb: KnowledgeBase) -> None:
    """Pharmacist re-review: the usual switch from IVIg (a week after the last IV dose) ran at
    Hizentra's later CIDP rates (50 mL/h per site); its first-infusion rates are 20 mL per site
    at 20 mL/h (hz-hcp). Stating ``first_infusion: false`` gives the later ones."""
    first = recommend(kb, _sc_cidp(jurisdiction="us", product="hizentra"))
    infusion = first["infusion"]
    assert infusion is not None and infusion["first_infusion"] is True
    assert infusion["rate_record"] == "hizentra-cidp-first"
    assert infusion["sc"]["max_rate_ml_per_h_per_site"] == 20
    assert "does not say the patient already infuses SC" in infusion["first_infusion_reason"]
    later = recommend(
        kb, _sc_cidp(jurisdiction="us", product="hizentra", patient={"first_infusion": False})
    )
    assert (
        later["infusion"] is not None and later["infusion"]["rate_record"] == "hizentra-cidp-later"
    )
    iv = recommend(kb, {**_sc_cidp(jurisdiction="us"), "route": "iv"})
    assert iv["infusion"] is None or iv["infusion"]["first_infusion"] is False
