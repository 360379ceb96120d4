"""Cards built from a recommendation and its order check (issue 16)."""

from __future__ import annotations

from ivig.app.order_check import check_order
from ivig.contract import validate_request
from ivig.core.recommend import recommend
from ivig.knowledge import KnowledgeBase
from ivig.service.cds.cards import recommendation_cards

REQUEST = {
    "patient": {
        "sex": "male",
        "age_years": 62,
        "height_cm": 178,
        "weight_kg": 85,
        "risk_factors": ["hyperprolinaemia"],
    },
    "condition": "gbs",
    "phase": "induction",
    "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    "jurisdiction": "au",
}


def test_an_excluded_product_makes_the_card_critical_and_says_so(kb: KnowledgeBase) -> None:
    """Hyperprolinaemia excludes proline-stabilised Privigen (hyperprolinaemia-proline; pv-nhs)."""
    request = validate_request(REQUEST)
    rec = recommend(kb, request)
    check = check_order(kb, request, {"product": "privigen"})
    (card,) = recommendation_cards(
        kb,
        rec,
        knowledge_url="https://ivig.example.org/api/kb",
        order={"resourceType": "MedicationRequest", "id": "d1", "status": "draft"},
        patient_ref="Patient/p1",
        references={"patient": "Patient/p1"},
        check=check,
    )
    assert card["indicator"] == "critical"
    assert "excluded" in card["summary"] and "Privigen" in card["summary"]
    assert len(card["summary"]) < 140
