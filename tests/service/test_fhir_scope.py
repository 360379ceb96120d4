"""Only the hook's patient's data is read (an EHR integration test found another patient's newer
weight used as the dosing weight, and a Patient with another id used for ``context.patientId``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.service.fhir.read import bundle_resources, read_resources
from tests._helpers.service import TODAY, gbs_bundle


def _resources(bundle: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return bundle_resources(bundle or gbs_bundle())


def _other_weight(kg: float, subject: object) -> dict[str, Any]:
    weight = next(r for r in _resources() if r.get("id") == "w1")
    other = copy.deepcopy(weight)
    other.update(id="w-other", effectiveDateTime="2026-11-21T08:00:00Z", subject=subject)
    other["valueQuantity"]["value"] = kg
    return other


def _read(kb: KnowledgeBase, resources: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return read_resources(kb, resources, today=TODAY, patient_id="p1", **kw)


@pytest.mark.parametrize(
    "subject",
    [
        {"reference": "Patient/other"},
        {"reference": "https://ehr.example.org/fhir/Patient/other"},
        {"reference": "Group/ward-7"},
    ],
)
def test_a_newer_weight_of_another_patient_is_never_read(
    kb: KnowledgeBase, subject: dict[str, str]
) -> None:
    """The 140 kg weight is a day newer than the patient's own 85 kg: it must not become the
    dosing weight; the notes and the cautions (which raise the card) name it."""
    found = _read(kb, [*_resources(), _other_weight(140, subject)])
    assert found["request"]["patient"]["weight_kg"] == 85
    left_out = [n for n in found["notes"] if "Observation/w-other" in n]
    assert left_out and "not used" in left_out[0] and subject["reference"] in left_out[0]
    assert any("Observation/w-other" in c for c in found["cautions"])


@pytest.mark.parametrize(
    "subject",
    [
        {"reference": "Patient/p1"},
        {"reference": "https://ehr.example.org/fhir/Patient/p1"},
        {"display": "the patient"},  # no reference: the search was for this patient
        {"reference": "urn:uuid:00000000-0000-4000-8000-0000000000aa"},  # nothing sent by it
    ],
)
def test_the_patients_own_data_in_any_reference_form_is_read(
    kb: KnowledgeBase, subject: dict[str, str]
) -> None:
    found = _read(kb, [*_resources(), _other_weight(90, subject)])
    assert found["request"]["patient"]["weight_kg"] == 90
    assert not found["cautions"]


def test_a_bundle_entry_naming_the_patient_by_its_full_url_is_read(kb: KnowledgeBase) -> None:
    bundle = gbs_bundle()
    bundle["entry"][0]["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    other = _other_weight(90, {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"})
    bundle["entry"].append({"fullUrl": "urn:uuid:00000000-0000-4000-8000-0000000000b1",
                            "resource": other})  # fmt: skip
    full_urls: dict[int, str] = {}
    found = _read(kb, bundle_resources(bundle, "Bundle", full_urls), full_urls=full_urls)
    assert found["request"]["patient"]["weight_kg"] == 90


def test_a_second_patients_bundle_entry_is_told_apart_by_its_full_url(kb: KnowledgeBase) -> None:
    bundle = gbs_bundle()
    second = copy.deepcopy(bundle["entry"][0]["resource"])
    second["id"] = "p2"
    bundle["entry"].append({"fullUrl": "urn:uuid:00000000-0000-4000-8000-0000000000c2",
                            "resource": second})  # fmt: skip
    other = _other_weight(140, {"reference": "urn:uuid:00000000-0000-4000-8000-0000000000c2"})
    bundle["entry"].append({"resource": other})
    full_urls: dict[int, str] = {}
    found = _read(kb, bundle_resources(bundle, "Bundle", full_urls), full_urls=full_urls)
    assert found["request"]["patient"]["weight_kg"] == 85


def test_a_patient_with_another_id_is_refused_not_used(kb: KnowledgeBase) -> None:
    resources = _resources()
    resources[0] = {**resources[0], "id": "zzz"}
    with pytest.raises(InputError) as caught:
        _read(kb, resources)
    assert caught.value.field == "Patient.id"
    assert "Patient/zzz" in str(caught.value) and "p1" in str(caught.value)


def test_an_order_for_another_patient_is_refused(kb: KnowledgeBase) -> None:
    resources = _resources()
    order = next(r for r in resources if r["resourceType"] == "MedicationRequest")
    order = {**order, "subject": {"reference": "Patient/other"}, "status": "draft"}
    with pytest.raises(InputError) as caught:
        _read(kb, resources, order=order)
    assert caught.value.field.endswith(".subject")
    assert "Patient/other" in str(caught.value)


def test_a_first_course_inferred_without_the_order_history_is_a_doubt(kb: KnowledgeBase) -> None:
    """A CDS call whose igOrders was neither prefetched nor fetched: the phase "induction" is an
    assumption (a maintenance patient would get a whole induction course suggested), said and
    raised as a caution; with the history received and empty it is a plain reading."""
    resources = [r for r in _resources() if r["resourceType"] != "MedicationRequest"]
    unknown = _read(kb, resources, order_history=False)
    assert unknown["request"]["phase"] == "induction"
    assert any("were not received" in c for c in unknown["cautions"])
    known = _read(kb, resources)
    assert known["request"]["phase"] == "induction"
    assert not any("were not received" in n for n in known["notes"] + known["cautions"])


@pytest.mark.parametrize(
    ("prefetch", "fetched", "received"),
    [
        ({}, [], False),
        ({"igOrders": None}, [], True),  # the EHR says there is none
        ({"igOrders": {"resourceType": "Bundle", "type": "searchset"}}, [], True),
        ({"igOrders": {"resourceType": "OperationOutcome"}}, [], False),
        ({"igOrders": {"resourceType": "OperationOutcome"}}, ["igOrders"], True),
        ({}, ["igOrders"], True),
    ],
)
def test_whether_the_order_history_was_received(
    prefetch: dict[str, Any], fetched: list[str], received: bool
) -> None:
    from ivig.service.routers.cds_hooks import _history_received

    assert _history_received({"prefetch": prefetch}, fetched) is received


@pytest.mark.parametrize(("birth", "doubt"), [("1960", True), ("1960-05", False), ("1950", False)])
def test_a_partial_birth_date_across_a_risk_age_is_a_doubt(
    kb: KnowledgeBase, birth: str, doubt: bool
) -> None:
    """Born in 1960, on 2026-11-22 the patient is 65 or 66: age over 65 (risk factor
    age_over_65, > 65 years; pv-box) holds at 66 only, so the risk is undecided and the card
    says so; born in May 1960 (66) or in 1950 (75 or 76) the risk is the same either way."""
    resources = _resources()
    resources[0] = {**resources[0], "birthDate": birth}
    found = _read(kb, resources)
    cautions = [c for c in found["cautions"] if "age_over_65" in c]
    assert bool(cautions) is doubt
    if doubt:
        assert "65 to 66 years" in cautions[0] and found["request"]["patient"]["age_years"] == 65


@pytest.mark.parametrize("gender", ["unknown", "other", None])
def test_a_patient_without_a_usable_gender_is_read_for_both_sexes_when_asked(
    kb: KnowledgeBase, gender: str | None
) -> None:
    resources = _resources()
    patient = {k: v for k, v in resources[0].items() if k != "gender"}
    if gender is not None:
        patient["gender"] = gender
    resources[0] = patient
    with pytest.raises(InputError):
        _read(kb, resources)  # the FHIR endpoints: the sex is needed
    found = _read(kb, resources, sex_unknown_ok=True)  # the CDS service plans for both
    assert "sex" not in found["request"]["patient"]
    assert any("made for a female and a male patient" in n for n in found["notes"])
