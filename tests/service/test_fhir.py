"""FHIR R4 in and out: units converted, codes mapped through the knowledge base, and what ivig
emits validates against a maintained FHIR model library (fhir.resources, R4B models)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.medicationrequest import MedicationRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.errors import InputError, MissingFieldError
from ivig.knowledge import KnowledgeBase
from ivig.service.fhir.read import bundle_resources, is_ig_medication, read_resources
from ivig.service.fhir.write import to_fhir_bundle
from tests._helpers.service import TODAY, auth, gbs_bundle, resources_of


def _read(kb: KnowledgeBase, bundle: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return read_resources(kb, bundle_resources(bundle), today=TODAY, **kw)


def test_the_bundle_becomes_a_request(kb: KnowledgeBase) -> None:
    found = _read(kb, gbs_bundle())
    request = found["request"]
    patient = request["patient"]
    assert patient == {
        "sex": "male",
        "age_years": 62,
        "weight_kg": 85.0,  # the latest weight (kg), not the older one in lb
        "height_cm": 178.0,  # 1.78 m
        "labs": {"iga_g_per_l": 1.8, "egfr_ml_per_min_1_73m2": 82.0},  # 180 mg/dL
    }
    assert request["condition"] == "gbs"  # ICD-10-CM G61.0 through the knowledge base
    assert request["findings"] == {"able_to_walk_unaided": False, "days_since_onset": 5}
    assert request["phase"] == "induction"
    assert found["references"]["weight_kg"] == "Observation/w1"


def test_pounds_and_inches_are_converted(kb: KnowledgeBase) -> None:
    bundle = gbs_bundle()
    for obs in resources_of(bundle, "Observation"):
        if obs["id"] == "w1":
            obs["valueQuantity"] = {
                "value": 187.4,
                "system": "http://unitsofmeasure.org",
                "code": "[lb_av]",
            }
        if obs["id"] == "h1":
            obs["valueQuantity"] = {
                "value": 70,
                "system": "http://unitsofmeasure.org",
                "code": "[in_i]",
            }
    patient = _read(kb, bundle)["request"]["patient"]
    assert patient["weight_kg"] == pytest.approx(187.4 * 0.45359237, abs=1e-3)
    assert patient["height_cm"] == pytest.approx(177.8)


def test_an_unknown_unit_names_the_element(kb: KnowledgeBase) -> None:
    bundle = gbs_bundle()
    resources_of(bundle, "Observation")[0]["valueQuantity"]["code"] = "stone"
    with pytest.raises(InputError) as err:
        _read(kb, bundle)
    assert err.value.field == "Observation/w1.valueQuantity.code"


def test_no_weight_is_a_missing_field(kb: KnowledgeBase) -> None:
    bundle = gbs_bundle()
    bundle["entry"] = [
        e
        for e in bundle["entry"]
        if not (
            e["resource"]["resourceType"] == "Observation" and e["resource"]["id"] in ("w0", "w1")
        )
    ]
    with pytest.raises(MissingFieldError, match="29463-7"):
        _read(kb, bundle)


def test_snomed_codes_map_too(kb: KnowledgeBase) -> None:
    bundle = gbs_bundle()
    cond = resources_of(bundle, "Condition")[0]
    codes = [(c["system"], c["code"]) for c in kb.condition("cidp").get("codes", [])]
    snomed = next(code for system, code in codes if system == "snomedct")
    cond["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": snomed}]}
    assert _read(kb, bundle)["request"]["condition"] == "cidp"


def test_an_earlier_ig_order_means_maintenance_unless_the_order_says(kb: KnowledgeBase) -> None:
    bundle = gbs_bundle()
    old = copy.deepcopy(resources_of(bundle, "MedicationRequest")[0])
    # an earlier normal-Ig order for the same condition (reasonReference c1), 60 days ago
    old.update(id="mr0", status="completed", authoredOn="2026-09-23")
    bundle["entry"].append({"resource": old})
    assert _read(kb, bundle)["request"]["phase"] == "maintenance"
    draft = resources_of(bundle, "MedicationRequest")[0]
    draft["courseOfTherapyType"] = {"coding": [{"code": "acute"}]}
    assert _read(kb, bundle)["request"]["phase"] == "induction"


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"coding": [{"system": "http://www.whocc.no/atc", "code": "J06BA02"}]}, True),
        ({"text": "Privigen 10% 20 g"}, True),
        ({"text": "IVIG 2 g/kg"}, True),
        ({"text": "Heparin 5000 units"}, False),
        (
            {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1"}]},
            False,
        ),
        # specific immunoglobulins are never normal immunoglobulin (ATC J06BB; issue 16)
        ({"text": "WinRho SDF Rho(D) immune globulin intravenous"}, False),
        ({"coding": [{"system": "urn:oid:2.16.840.1.113883.6.73", "code": "J06BB09"}]}, False),
        ({"text": "Atgam (lymphocyte immune globulin, anti-thymocyte globulin)"}, False),
        ({"text": "HyperRAB rabies immune globulin"}, False),
        ({"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "13533063504"}]}, False),
        ({"text": "subcutaneous immune globulin 20 %"}, True),
        ({"text": "Hizentra 20%"}, True),
        ({"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "44206-0439-10"}]}, True),
    ],
)
def test_immunoglobulin_orders_are_recognised(
    kb: KnowledgeBase, concept: dict[str, Any], expected: bool
) -> None:
    assert is_ig_medication(kb, concept) is expected


def test_a_configured_code_marks_an_order(kb: KnowledgeBase) -> None:
    concept = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "X1"}]}
    assert is_ig_medication(kb, concept, ["X1"])


def test_the_emitted_resources_validate_as_fhir(client: Any) -> None:
    response = client.post("/api/fhir/recommend", json=gbs_bundle(), headers=auth("clinician"))
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    order, plan = (e["resource"] for e in bundle["entry"][:2])
    MedicationRequest.model_validate(order)
    CarePlan.model_validate(plan)
    first = order["dosageInstruction"][0]
    assert first["doseAndRate"][0]["type"]["coding"][0]["code"] == "ordered"
    assert first["doseAndRate"][1]["type"]["coding"][0]["code"] == "calculated"
    grams = sum(
        d["doseAndRate"][1]["doseQuantity"]["value"] * d["timing"]["repeat"]["count"]
        for d in order["dosageInstruction"]
    )
    assert grams == pytest.approx(155.82)
    assert order["reasonReference"] == [{"reference": "Condition/c1"}]
    assert plan["activity"]


def test_fhir_request_endpoint_gives_the_request(client: Any) -> None:
    response = client.post("/api/fhir/request", json=gbs_bundle(), headers=auth("clinician"))
    assert response.status_code == 200
    assert response.json()["request"]["condition"] == "gbs"


def test_a_resource_that_is_not_a_bundle_is_422_as_an_operation_outcome(client: Any) -> None:
    """FHIR endpoint errors are OperationOutcomes in application/fhir+json (issue 16)."""
    response = client.post(
        "/api/fhir/request", json={"resourceType": "Patient"}, headers=auth("clinician")
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Bundle"]
    assert outcome["issue"][0]["severity"] == "error"
    not_json = client.post(
        "/api/fhir/recommend",
        content=b"[1, 2",
        headers={**auth("clinician"), "content-type": "application/json"},
    )
    assert not_json.status_code == 422
    assert not_json.json()["resourceType"] == "OperationOutcome"


@settings(max_examples=25, deadline=None)
@given(
    weight=st.floats(min_value=30, max_value=150),
    height=st.floats(min_value=140, max_value=200),
    sex=st.sampled_from(["female", "male"]),
)
def test_every_emitted_order_validates(
    kb: KnowledgeBase, weight: float, height: float, sex: str
) -> None:
    from ivig.contract import validate_request
    from ivig.core.recommend import recommend

    request = validate_request(
        {
            "patient": {"sex": sex, "age_years": 50, "weight_kg": weight, "height_cm": height},
            "condition": "gbs",
            "phase": "induction",
            "findings": {"able_to_walk_unaided": False, "days_since_onset": 3},
            "jurisdiction": "au",
            # the extreme pairs of the range (30 kg at 2 m) are confirmed as a prescriber would
            "confirm_unusual": ["weight_kg"],
        }
    )
    rec = recommend(kb, request)
    out = to_fhir_bundle(rec, patient_ref="Patient/p1")
    Bundle.model_validate(out)
    order = out["entry"][0]["resource"]
    MedicationRequest.model_validate(order)
    total = sum(
        d["doseAndRate"][1]["doseQuantity"]["value"] * d["timing"]["repeat"]["count"]
        for d in order["dosageInstruction"]
    )
    assert rec["dose"] is not None
    assert total == pytest.approx(rec["dose"]["total_g"], abs=0.01)


def test_a_remembered_classification_is_the_one_computed(kb: KnowledgeBase) -> None:
    """Classifications are remembered by the concept's codes, texts and the local codes (issue
    20); each must equal the one computed afresh, and a local code must not leak from one call to
    another."""
    from ivig.service.fhir import medication as M

    rx = "http://www.nlm.nih.gov/research/umls/rxnorm"
    concepts: list[object] = [
        {"text": "Privigen 10% 20 g"},
        {"text": "WinRho SDF Rho(D) immune globulin intravenous"},
        {"coding": [{"system": rx, "code": "X1"}]},
        {"coding": [{"system": rx, "code": "X1", "display": "Hizentra 20%"}]},
        {"coding": [{"system": 7, "code": ["J06BA02"]}], "text": "Heparin"},
        "not a concept",
    ]
    for local in ((), ("X1",)):
        for concept in concepts * 2:
            assert M.classify_medication(kb, concept, local) == M._classify(kb, concept, local)
    plain = {"coding": [{"system": rx, "code": "X1"}]}
    assert M.classify_medication(kb, plain, ["X1"]) is not None
    assert M.classify_medication(kb, plain) is None


def test_the_memo_of_classifications_stays_bounded(kb: KnowledgeBase) -> None:
    """An EHR (or an attacker) sending ever new medication texts cannot grow the memo past its
    bound."""
    from ivig.service.fhir import medication as M

    for n in range(M.MEMO_SIZE + 50):
        M.classify_medication(kb, {"text": f"drug {n}"})
    assert 0 < len(M._memos[id(kb)][1]) <= M.MEMO_SIZE
