"""Laboratory codes and the order history as EHRs send them (EHR integration review, December
2026): every eGFR LOINC code in use, LOINC and UCUM under their OIDs, and earlier orders that
carry RxNorm or text only (no ATC), fetched by the igOrders prefetch template."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ivig.knowledge import KnowledgeBase
from ivig.service.cds.services import ORDER_PREFETCH
from ivig.service.fhir import codes as C
from ivig.service.fhir.read import bundle_resources, read_resources
from tests._helpers.cds_client import CdsClient, EhrFhirServer, corpus, ivig_draft
from tests._helpers.service import gbs_bundle

TODAY = dt.date(2026, 11, 22)
LOINC_OID = "urn:oid:2.16.840.1.113883.6.1"
UCUM_OID = "urn:oid:2.16.840.1.113883.6.8"


def _egfr(code: str, value: float, *, system: str = C.LOINC, id: str = "e1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-20T08:00:00Z",
        "valueQuantity": {
            "value": value,
            "unit": "mL/min/{1.73_m2}",
            "system": C.UCUM,
            "code": "mL/min/{1.73_m2}",
        },
    }


def _read(kb: KnowledgeBase, observations: list[dict[str, Any]]) -> dict[str, Any]:
    bundle = gbs_bundle()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") != "e1"]
    bundle["entry"] += [{"resource": o} for o in observations]
    found: dict[str, Any] = read_resources(kb, bundle_resources(bundle), today=TODAY)
    return found


@pytest.mark.parametrize(
    "code",
    [
        "48642-3", "48643-1", "77147-7", "62238-1", "33914-3", "50044-7", "70969-1", "76633-7",
        "88293-6", "88294-4", "98979-8", "98980-6", "50210-4", "50384-7",
    ],
)  # fmt: skip
def test_every_egfr_code_in_use_is_read(kb: KnowledgeBase, code: str) -> None:
    labs = _read(kb, [_egfr(code, 25)])["request"]["patient"]["labs"]
    assert labs["egfr_ml_per_min_1_73m2"] == 25


def test_the_egfr_prefetch_asks_for_every_egfr_code() -> None:
    query = parse_qs(urlsplit(ORDER_PREFETCH["egfr"]).query)
    asked = {token.split("|")[1] for token in query["code"][0].split(",")}
    assert asked == set(C.EGFR_CODES)
    assert int(query["_count"][0]) > 1  # the variants reported together, to choose among them


@pytest.mark.parametrize("reverse", [False, True])
def test_the_race_free_egfr_wins_over_the_among_blacks_one_reported_with_it(
    kb: KnowledgeBase, reverse: bool
) -> None:
    """MDRD reported twice at the same time: the non-black value (48642-3) is used, in either
    order of the resources (the 2021 equations dropped the race term)."""
    pair = [_egfr("48643-1", 70, id="e-b"), _egfr("48642-3", 58, id="e-nb")]
    labs = _read(kb, pair[::-1] if reverse else pair)["request"]["patient"]["labs"]
    assert labs["egfr_ml_per_min_1_73m2"] == 58


def test_a_newer_egfr_of_a_less_preferred_code_still_wins(kb: KnowledgeBase) -> None:
    newer = _egfr("48643-1", 40, id="e-new")
    newer["effectiveDateTime"] = "2026-11-21T08:00:00Z"
    labs = _read(kb, [_egfr("98979-8", 60), newer])["request"]["patient"]["labs"]
    assert labs["egfr_ml_per_min_1_73m2"] == 40


def test_loinc_and_ucum_are_read_under_their_oids(kb: KnowledgeBase) -> None:
    obs = _egfr("62238-1", 33, system=LOINC_OID)
    obs["valueQuantity"]["system"] = UCUM_OID
    bundle = gbs_bundle()
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res.get("id") == "w1":
            res["code"]["coding"][0]["system"] = LOINC_OID
            res["valueQuantity"]["value"] = 77
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") != "e1"]
    bundle["entry"].append({"resource": obs})
    found = read_resources(kb, bundle_resources(bundle), today=TODAY)
    patient = found["request"]["patient"]
    assert patient["labs"]["egfr_ml_per_min_1_73m2"] == 33
    assert patient["weight_kg"] == 77


# -- the order history: the igOrders template finds orders without ATC codes -----------------


def _cidp_record() -> dict[str, Any]:
    """The US record with a CIDP Condition and a Privigen order 21 days ago, coded as a US EHR
    codes it: an RxNorm code with the RxNorm display, no ATC."""
    bundle = copy.deepcopy(corpus("us_patient"))
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Condition":
            res["code"] = {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G61.81"}]
            }
            res["onsetDateTime"] = "2025-06-01"
            cidp_url = entry["fullUrl"]
    earlier = {
        "resourceType": "MedicationRequest",
        "id": "us-prev",
        "status": "completed",
        "intent": "order",
        "subject": {"reference": "Patient/us1"},
        "authoredOn": "2026-11-01",
        "reasonReference": [{"reference": cidp_url}],
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "1292383",
                    "display": "immune globulin, human 100 MG/ML Injectable Solution [Privigen]",
                }
            ]
        },
    }
    bundle["entry"].append(
        {"fullUrl": "https://ehr.example.org/fhir/MedicationRequest/us-prev", "resource": earlier}
    )
    return bundle


@pytest.fixture(scope="module")
def ehr() -> Iterator[EhrFhirServer]:
    server = EhrFhirServer()
    server.add("us1", _cidp_record())
    yield server
    server.stop()


def test_an_earlier_order_coded_in_rxnorm_only_makes_the_new_one_maintenance(
    cds: CdsClient,
) -> None:
    """The service fetches igOrders from the EHR (no prefetch) and finds the earlier Privigen
    order, which carries no ATC code (before: the template searched ATC codes only and the
    patient on maintenance looked like a first course)."""
    draft = ivig_draft(reasonReference=[{"reference": "Condition/us-gbs"}])
    response = cds.call("order-sign", "us1", [draft])
    assert response.status_code == 200, response.text
    detail = " ".join(c["detail"] for c in response.json()["cards"])
    assert "set by the earlier order MedicationRequest/us-prev" in detail, detail
