"""The order check through the CDS Hooks service on loopback, with drafts as Epic writes them
(EHR review, December 2026: doses and rates in other units, timing, the update suggestion).

Before the fix each of these answered an info card "the order gives no dose (grams) to compare"
or read the course as one day; the suggestion kept the draft's dispense quantity (1700 mL for a
tenfold order) and filed the disclaimer in the order's notes.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests._helpers.cds_client import CdsClient, ivig_draft

UCUM = "http://unitsofmeasure.org"
DAILY_5 = {"repeat": {"count": 5, "frequency": 1, "period": 1, "periodUnit": "d"}}
PRIVIGEN = {
    "coding": [
        {
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "1000002",
            "display": "Privigen 100 MG/ML Injectable Solution",
        }
    ],
    "text": "Privigen 10% IV solution",
}


def q(value: Any, code: str, unit: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit or code, "system": UCUM, "code": code}


def _draft(
    entry: dict[str, Any], timing: dict[str, Any] | None = DAILY_5, medication: Any = PRIVIGEN
) -> dict[str, Any]:
    draft = ivig_draft(medicationCodeableConcept=medication)
    dosage = draft["dosageInstruction"][0]
    dosage["doseAndRate"] = [
        {
            "type": {
                "coding": [
                    {"system": "http://epic.com/CodeSystem/dose-rate-type", "code": "ordered"}
                ]
            },
            **entry,
        }
    ]
    if timing is not None:
        dosage["timing"] = timing
    return draft


def _dose_card(cds: CdsClient, draft: dict[str, Any]) -> dict[str, Any]:
    response = cds.call("order-select", "us1", [draft])
    assert response.status_code == 200, response.text
    cards = [c for c in response.json()["cards"] if c["source"]["topic"]["code"] == "dose"]
    assert cards, response.json()["cards"]
    card: dict[str, Any] = cards[0]
    return card


def _lines(card: dict[str, Any], start: str) -> list[str]:
    return [line for line in card["detail"].splitlines() if line.startswith(start)]


def test_a_fivefold_dose_in_mg_per_kg_is_critical(cds: CdsClient) -> None:
    """2000 mg/kg a day x 5 = 10 g/kg, five times the 2 g/kg course (gbs-2g-5d)."""
    card = _dose_card(cds, _draft({"doseQuantity": q(2000, "mg/kg")}))
    assert card["indicator"] == "critical"
    assert "5.0× over" in card["summary"]
    assert any("2000 mg/kg read as" in n and "dosing weight of" in n for n in _lines(card, "- "))


def test_a_tenfold_dose_in_ml_is_critical_on_the_products_concentration(cds: CdsClient) -> None:
    card = _dose_card(cds, _draft({"doseQuantity": q(3400, "mL")}))
    assert card["indicator"] == "critical"
    assert any("3400 mL read as 340 g" in n and "Privigen" in n for n in _lines(card, "- "))


@pytest.mark.parametrize(
    ("entry", "medication", "element"),
    [
        ({"doseQuantity": q(3400, "mL")}, None, "doseQuantity"),
        ({"doseQuantity": {"value": "34", "unit": "g"}}, PRIVIGEN, "doseQuantity.value"),
    ],
    ids=["mL-no-product", "string-value"],
)
def test_an_unreadable_dose_is_a_warning_card_saying_it_was_not_checked(
    cds: CdsClient, entry: dict[str, Any], medication: Any, element: str
) -> None:
    draft = _draft(entry, medication=medication) if medication else _draft(entry)
    if medication is None:
        draft["medicationCodeableConcept"] = ivig_draft()["medicationCodeableConcept"]
    card = _dose_card(cds, draft)
    assert card["indicator"] == "warning"
    assert "could not be read" in card["summary"] and "not checked" in card["summary"]
    (finding,) = _lines(card, "- warning: the order's dose was not checked")
    assert element in finding
    assert any(element in n and "allowed:" in n for n in _lines(card, "- MedicationRequest/"))


def test_a_dose_range_is_checked_at_its_high_end(cds: CdsClient) -> None:
    card = _dose_card(cds, _draft({"doseRange": {"low": q(0.3, "g/kg"), "high": q(1, "g/kg")}}))
    assert card["indicator"] == "critical"  # 1 g/kg a day x 5: 2.5x the course
    assert any("doseRange is read at its high end" in n for n in _lines(card, "- "))


@pytest.mark.parametrize(
    "rate",
    [
        {"rateQuantity": q(20, "mg/kg/min")},
        {"rateQuantity": q(3000, "mL/h", "mL/hr")},
        {"rateQuantity": {"value": 3000, "unit": "mL/hr"}},
        {"rateQuantity": q(0.8, "mL/kg/min")},
        {"rateRatio": {"numerator": q(3000, "mL"), "denominator": q(1, "h")}},
    ],
    ids=["20mg/kg/min", "mL/hr-unit", "mL/hr-text", "mL/kg/min", "rateRatio"],
)
def test_a_rate_far_above_the_label_in_any_unit_is_critical(
    cds: CdsClient, rate: dict[str, Any]
) -> None:
    """Privigen's label maximum is 8 mg/kg/min (privigen-eu-type-all)."""
    card = _dose_card(cds, _draft({"doseQuantity": q(0.4, "g/kg"), **rate}))
    assert card["indicator"] == "critical"
    assert "label maximum" in card["summary"], card["summary"]


def test_an_unreadable_rate_is_a_rate_not_checked_warning(cds: CdsClient) -> None:
    card = _dose_card(cds, _draft({"doseQuantity": q(0.4, "g/kg"), "rateQuantity": q(1, "{fast}")}))
    assert card["indicator"] == "warning"
    assert "(rate not read)" in card["summary"]
    assert _lines(card, "- warning: the order's rate was not checked")


@pytest.mark.parametrize(
    "timing",
    [
        {"repeat": {"boundsDuration": q(120, "h"), "frequency": 1, "period": 1, "periodUnit": "d"}},
        {
            "repeat": {
                "boundsDuration": {"value": 5, "unit": "days"},
                "period": 1,
                "periodUnit": "d",
            }
        },
        {
            "repeat": {
                "boundsPeriod": {"start": "2026-11-22", "end": "2026-11-26"},
                "period": 1,
                "periodUnit": "d",
            }
        },
        {"repeat": {"count": 5.0, "period": 1, "periodUnit": "d"}},
    ],
    ids=["120h", "5-days-text", "boundsPeriod", "count-5.0"],
)
def test_a_five_day_course_however_timed_is_within_policy(
    cds: CdsClient, timing: dict[str, Any]
) -> None:
    """0.4 g/kg a day for 5 days is the 2 g/kg course (gbs-2g-5d); these were read as 1 day
    ("80 % under")."""
    card = _dose_card(cds, _draft({"doseQuantity": q(0.4, "g/kg")}, timing))
    assert "within 10 %" in card["summary"], card["summary"]
    assert not _lines(card, "- warning: ")


def test_twice_daily_doses_count_doses_not_days(cds: CdsClient) -> None:
    """0.2 g/kg twice daily, count 10: 0.4 g/kg a day for 5 days (was 10 days)."""
    timing = {"repeat": {"count": 10, "frequency": 2, "period": 1, "periodUnit": "d"}}
    card = _dose_card(cds, _draft({"doseQuantity": q(0.2, "g/kg")}, timing))
    assert "within 10 %" in card["summary"]
    assert not any("day(s) ordered is outside" in line for line in _lines(card, "- "))


def test_the_update_suggestion_replaces_the_dispense_quantity_and_keeps_the_notes(
    cds: CdsClient,
) -> None:
    draft = _draft({"doseQuantity": q(3400, "mL")})
    draft["dispenseRequest"] = {"numberOfRepeatsAllowed": 0, "quantity": q(17000, "mL")}
    card = _dose_card(cds, draft)
    updated = card["suggestions"][0]["actions"][0]["resource"]
    quantity = updated["dispenseRequest"]["quantity"]
    assert quantity["code"] == "mL" and quantity["value"] < 2000  # the 2 g/kg course, not 17 L
    assert updated["dispenseRequest"]["numberOfRepeatsAllowed"] == 0
    assert updated["note"] == draft["note"]
    assert "does not replace the judgement" in card["detail"]  # the disclaimer stays on the card
