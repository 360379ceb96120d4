"""A plan without a product or a schedule is not ``ready`` (pharmacist review, December 2026).

Before: GBS in Ontario gave a dose with no product (the only Canadian product in the catalogue,
Sandoglobulin, has no known concentration), no infusion table and no monitoring, and called the
plan ``ready``.
"""

from __future__ import annotations

from typing import Any

from ivig.app.recommend import recommend
from ivig.knowledge import KnowledgeBase

GBS: dict[str, Any] = {
    "patient": {"sex": "female", "age_years": 74, "height_cm": 158, "weight_kg": 66},
    "condition": "gbs",
    "phase": "induction",
    "findings": {"able_to_walk_unaided": False, "days_since_onset": 4},
}


def test_no_plannable_product_makes_the_plan_provisional(kb: KnowledgeBase) -> None:
    rec = recommend(kb, {**GBS, "jurisdiction": "ontario"})
    assert rec["dose"] is not None and rec["dose"]["product"] is None
    assert rec["infusion"] is None
    assert rec["plan_status"] == "provisional"
    assert rec["to_confirm"] and rec["to_confirm"][0].startswith("the product: none")
    assert rec["warnings"][0].startswith("provisional plan: before authorisation confirm")


def test_a_formulary_product_with_a_schedule_is_ready(kb: KnowledgeBase) -> None:
    """Naming a product the knowledge base can schedule (Privigen, US rates) closes the gap."""
    rec = recommend(kb, {**GBS, "jurisdiction": "ontario", "formulary": ["privigen"]})
    assert rec["dose"] is not None and rec["dose"]["product"] == "privigen"
    assert rec["infusion"] is not None
    assert rec["plan_status"] == "ready" and rec["to_confirm"] == []


def test_a_complete_plan_elsewhere_stays_ready(kb: KnowledgeBase) -> None:
    rec = recommend(kb, {**GBS, "jurisdiction": "au"})
    assert rec["infusion"] is not None and rec["plan_status"] == "ready"


def test_rates_and_intervals_read_as_a_nurse_would_write_them(kb: KnowledgeBase) -> None:
    """Gammagard Liquid starts at 0.5 mL/kg/h = 0.8333 mg/kg/min at 10 % (ggl-dose): shown
    0.83, not 0.833333; a weekly SCIg dose reads "every week", not "every 1 weeks"."""
    import io

    from rich.console import Console

    from ivig.render.fmt import every, mg_per_kg_per_min
    from ivig.render.html import render_order_sheet
    from ivig.render.terminal import print_recommendation

    assert mg_per_kg_per_min(0.5 * 100 / 60) == "0.83" and mg_per_kg_per_min(8.0) == "8"
    assert every(1) == "every week" and every(3) == "every 3 weeks" and every(None) == ""
    request: dict[str, Any] = {
        "patient": {"sex": "female", "age_years": 50, "height_cm": 165, "weight_kg": 70},
        "condition": "cidp",
        "indication": "cidp.maintenance",
        "phase": "maintenance",
        "jurisdiction": "us",
        "product": "gammagard-liquid",
        "regimen": "cidp-maint-iv-ean",
        "findings": {"previous_ig_response": True, "baseline_measure_recorded": True},
    }
    rec = recommend(kb, request)
    assert rec["infusion"] is not None
    first = rec["infusion"]["steps"][0]["rate_mg_per_kg_per_min"]
    assert abs(first - 0.5 * 100 / 60) < 1e-6
    buf = io.StringIO()
    print_recommendation(Console(file=buf, width=200, color_system=None), dict(rec))
    text, html = buf.getvalue(), render_order_sheet(dict(rec))
    assert "0.833333" not in text and "0.833333" not in html
    assert "0.83" in text and "0.83" in html
    weekly = recommend(kb, {**request, "route": "sc", "regimen": "cidp-maint-sc"})
    buf = io.StringIO()
    print_recommendation(Console(file=buf, width=200, color_system=None), dict(weekly))
    assert "every 1 week" not in buf.getvalue() and "every week" in buf.getvalue()


def test_a_dose_not_rounded_still_says_which_vials_to_open(kb: KnowledgeBase) -> None:
    """The GBS example (AU, no rounding rule): 31.16 g a day of Gamunex-C is given from the
    fewest grams of whole vials that cover it; the dose itself is unchanged and what is left
    over is counted as waste (pharmacist review: "Vials to dispense —" on the order sheet)."""
    from ivig.core.catalogue import vial_sizes_g

    rec = recommend(kb, {**GBS, "jurisdiction": "au", "product": "gamunex-c"})
    dose = rec["dose"]
    assert dose is not None and dose["rounding"]["method"] == "none"
    sizes = set(vial_sizes_g(kb.product("gamunex-c")))
    left = 0.0
    for day in dose["days"]:
        vials = day.get("vials")
        assert vials, day
        assert {v["size_g"] for v in vials} <= sizes
        opened = sum(v["size_g"] * v["count"] for v in vials)
        assert day["grams"] <= opened < day["grams"] + min(sizes)  # covers it, no spare vial
        left += opened - day["grams"]
    assert dose["total_g"] == round(sum(d["grams"] for d in dose["days"]), 2)
    assert abs(dose["rounding"]["waste_g"] - left) < 0.011
    assert "whole vials to open" in dose["rounding"]["detail"]
    bare = recommend(kb, {**GBS, "jurisdiction": "ontario"})  # no product: nothing to open
    assert bare["dose"] is not None and all("vials" not in d for d in bare["dose"]["days"])


def test_a_short_patient_and_a_rounding_above_the_maximum_are_said(kb: KnowledgeBase) -> None:
    """Devine starts at 60 in (152.4 cm; on-dose-calculator): a 145 cm woman's ideal weight is
    extrapolated. Ontario rounds to the nearest 5 g (on-dose-calculator), which may pass the
    regimen maximum by less than half a step: both are now warnings, not only in the trace."""
    short = recommend(
        kb,
        {**GBS, "jurisdiction": "us",
         "patient": {"sex": "female", "age_years": 60, "height_cm": 145, "weight_kg": 70}},
    )  # fmt: skip
    assert any("below the ideal-weight formula's base height of 152.4 cm" in w
               for w in short["warnings"])  # fmt: skip
    tall = recommend(kb, {**GBS, "jurisdiction": "us"})
    assert not any("base height" in w for w in tall["warnings"])
    ontario = recommend(
        kb,
        {**GBS, "jurisdiction": "ontario", "formulary": ["privigen"],
         "patient": {"sex": "female", "age_years": 74, "height_cm": 158, "weight_kg": 66,
                     "labs": {"egfr_ml_per_min_1_73m2": 38}}},
    )  # fmt: skip
    dose = ontario["dose"]
    assert dose is not None
    above = dose["total_g"] > dose["max_total_g"]
    assert above == any("above the regimen maximum" in w for w in ontario["warnings"])


def test_a_product_without_pack_sizes_is_still_planned(kb: KnowledgeBase) -> None:
    """Attack review: listing the vials to open made Alyglo, Gammar-P, Intratect 5 % and
    Subcuvia (no pack sizes in the knowledge base) refuse the whole recommendation."""
    for product in ("alyglo", "intratect-5"):
        rec = recommend(kb, {**GBS, "jurisdiction": "au", "product": product})
        assert rec["dose"] is not None and rec["dose"]["product"] == product
        assert "vials not counted" in rec["dose"]["rounding"]["detail"]
        assert all("vials" not in d for d in rec["dose"]["days"])


def test_the_order_sheet_says_a_frequency_and_a_review_once(kb: KnowledgeBase) -> None:
    """The SC CIDP sheet read "every week (after stabilisation on IVIg)), every week" and
    "first review in 26–26 weeks"."""
    import re

    from ivig.render.html import render_order_sheet

    request: dict[str, Any] = {
        "patient": {"sex": "female", "age_years": 50, "height_cm": 165, "weight_kg": 70},
        "condition": "cidp", "indication": "cidp.maintenance", "phase": "maintenance",
        "route": "sc", "jurisdiction": "us",
        "findings": {"previous_ig_response": True, "baseline_measure_recorded": True},
    }  # fmt: skip
    text = re.sub(
        r"\s+", " ", re.sub("<[^>]+>", " ", render_order_sheet(dict(recommend(kb, request))))
    )
    assert text.count("every week") == 1
    assert "26–26" not in text and "first review in 26 weeks" in text
