"""Orders an attacker or a confused EHR sends to the CDS order check (attack review, December
2026): a dose per kg, a course of 10^400 days, hundreds of copies of one draft, and a card whose
summary must lead with the product's route."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from ivig.contract import validate_request
from ivig.core.recommend import recommend
from ivig.knowledge import KnowledgeBase
from ivig.service.fhir.read import read_resources
from ivig.service.routers.cds_hooks import MAX_IG_ORDERS
from tests._helpers.cds_client import CdsClient, EhrFhirServer, corpus, dosed, ivig_draft

EHR_ISS = "https://ehr.example.org"


@pytest.fixture
def ehr() -> Iterator[EhrFhirServer]:
    server = EhrFhirServer()
    server.add("us1", corpus("us_patient"))
    yield server
    server.stop()


@pytest.fixture
def cds(live: Any, es_signer: Any, ehr: EhrFhirServer) -> CdsClient:
    return CdsClient(live.url, es_signer, EHR_ISS, ehr)


def _cards(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def _policy(kb: KnowledgeBase) -> dict[str, Any]:
    bundle = corpus("us_patient")
    found = read_resources(
        kb,
        [e["resource"] for e in bundle["entry"]],
        today=__import__("datetime").date(2026, 11, 22),
        patient_id="us1",
        order=ivig_draft(),
        jurisdiction="au",
    )
    dose = recommend(kb, validate_request(found["request"]))["dose"]
    assert dose is not None
    return dict(dose)


def _per_kg(draft: dict[str, Any], g_per_kg: float, days: int) -> dict[str, Any]:
    out = dosed(draft, grams_per_day=1, days=days)
    out["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = {
        "value": g_per_kg, "unit": "g/kg", "system": "http://unitsofmeasure.org", "code": "g/kg",
    }  # fmt: skip
    return out


def test_a_dose_per_kg_is_checked_on_the_plans_dosing_weight(
    cds: CdsClient, kb: KnowledgeBase
) -> None:
    """20 g/kg a day for 5 days is ten times the 2 g/kg course (gbs-2g-5d): it was "no dose
    to compare" (info); read on the plan's dosing weight it is critical."""
    cards = _cards(cds.call("order-sign", "us1", [_per_kg(ivig_draft(), 4, 5)]))
    dose_card = next(c for c in cards if c["source"]["topic"]["code"] == "dose")
    assert dose_card["indicator"] == "critical"
    weight = _policy(kb)["dosing_weight_kg"]
    assert f"dosing weight of {weight:g} kg" in dose_card["detail"]
    fine = _cards(cds.call("order-sign", "us1", [_per_kg(ivig_draft(), 0.4, 5)]))
    assert (
        next(c for c in fine if c["source"]["topic"]["code"] == "dose")["indicator"] != "critical"
    )


def test_a_course_of_more_days_than_a_year_is_a_card_not_a_500(cds: CdsClient) -> None:
    draft = dosed(ivig_draft(), grams_per_day=30, days=5)
    draft["dosageInstruction"][0]["timing"]["repeat"]["count"] = 10**400
    cards = _cards(cds.call("order-sign", "us1", [draft]))
    text = " ".join(c["summary"] + c.get("detail", "") for c in cards)
    assert "timing.repeat.count" in text and "1 to 366" in text


def test_hundreds_of_copies_of_a_draft_check_only_the_first_few(cds: CdsClient) -> None:
    """250 copies of one order blocked the worker for seconds (each read every draft)."""
    base = dosed(ivig_draft(), grams_per_day=30, days=5)
    drafts = []
    for n in range(40):
        copy_n = copy.deepcopy(base)
        copy_n["id"] = f"draft-{n}"
        drafts.append(copy_n)
    cards = _cards(cds.call("order-sign", "us1", drafts))
    dose_cards = [c for c in cards if c["source"]["topic"]["code"] == "dose"]
    assert len(dose_cards) <= MAX_IG_ORDERS
    note = [c for c in cards if "not checked" in c["summary"]]
    assert note and f"{40 - MAX_IG_ORDERS} more immunoglobulin order(s)" in note[0]["summary"]
