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
